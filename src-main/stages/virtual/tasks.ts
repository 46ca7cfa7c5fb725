// Worker tasks of virtual imaging: one line each around the unit functions, their types taken from them.
import type { TaskContext } from '../../workers/protocol';
import { virtualBlock, virtualDirect } from './unit';

export const virtualTasks = {
  virtualDirect: (a: Parameters<typeof virtualDirect>[0], c: TaskContext) => virtualDirect(a, c.signal),
  virtualBlock: (a: Parameters<typeof virtualBlock>[0], c: TaskContext) => virtualBlock(a, c.signal),
};
