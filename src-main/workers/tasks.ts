// The task table the worker entry dispatches on: every stage's worker tasks (stages/<stage>/tasks.ts, one line each
// around a pure function), plus the pool's own diagnostics. Argument and result types come from the implementations,
// so the pool's `run(name, args)` is typed without declaring anything twice.

import { extractionTasks } from '../stages/extraction/tasks';
import { processingTasks } from '../processing/tasks';
import { trackingTasks } from '../stages/tracking/tasks';
import { virtualTasks } from '../stages/virtual/tasks';
import { diagnostics } from './diagnostics';
import { hdf5GuardTasks } from '../stages/hdf5-guard/tasks';
import type { TaskContext } from './protocol';

export type { TaskContext } from './protocol';

export const tasks = {
  ...virtualTasks,
  ...trackingTasks,
  ...extractionTasks,
  ...processingTasks,
  ...hdf5GuardTasks,
  diagnostics: (a: Parameters<typeof diagnostics>[0], c: TaskContext) => diagnostics(a, c.signal),
};

export type Tasks = typeof tasks;
export type TaskName = keyof Tasks;
export type TaskArgs<K extends TaskName> = Parameters<Tasks[K]>[0];
export type TaskResult<K extends TaskName> = Awaited<ReturnType<Tasks[K]>>;
