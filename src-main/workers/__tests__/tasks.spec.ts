import { describe, expect, it } from 'vitest';
import { loadTask } from '../tasks';
import { virtualTasks } from '../../stages/virtual/tasks';
import { trackingTasks } from '../../stages/tracking/tasks';
import { extractionTasks } from '../../stages/extraction/tasks';
import { processingTasks } from '../../processing/tasks';
import { hdf5GuardTasks } from '../../stages/hdf5-guard/tasks';

describe('worker task table (loaded by stage on first use)', () => {
  it('finds every stage task in its own stage module, and nothing else', async () => {
    const tables = [virtualTasks, trackingTasks, extractionTasks, processingTasks, hdf5GuardTasks];
    for (const table of tables) {
      for (const [name, fn] of Object.entries(table)) expect(await loadTask(name), name).toBe(fn);
    }
    expect(typeof (await loadTask('diagnostics'))).toBe('function');
    for (const name of ['nope', 'toString', '__proto__', 'constructor']) expect(await loadTask(name), name).toBeUndefined();
  });
});
