// Worker tasks of extraction: one line each around the unit functions, their types taken from them.
import type { TaskContext } from '../../workers/protocol';
import { runDirectUnit } from './unit';

export const extractionTasks = {
  extractDirect: (a: Parameters<typeof runDirectUnit>[0], c: TaskContext) => runDirectUnit(a, c.signal),
};
