// The task table: every stage's worker tasks (stages/<stage>/tasks.ts, one line each around a pure function), plus
// the pool's own diagnostics. Argument and result types come from the implementations, so the pool's
// `run(name, args)` is typed without declaring anything twice. The worker entry loads each stage's table only when
// one of its tasks first arrives (`taskLoaders`): a worker that sums virtual images never loads the tracker's or the
// lattice finder's code and libraries (~100 ms of start-up per worker on 2 cores).

import type { extractionTasks } from '../stages/extraction/tasks';
import type { processingTasks } from '../processing/tasks';
import type { trackingTasks } from '../stages/tracking/tasks';
import type { virtualTasks } from '../stages/virtual/tasks';
import type { hdf5GuardTasks } from '../stages/hdf5-guard/tasks';
import { diagnostics } from './diagnostics';
import type { TaskContext } from './protocol';

export type { TaskContext } from './protocol';

const diagnosticsTasks = {
  diagnostics: (a: Parameters<typeof diagnostics>[0], c: TaskContext) => diagnostics(a, c.signal),
};

export type Tasks = typeof virtualTasks &
  typeof trackingTasks &
  typeof extractionTasks &
  typeof processingTasks &
  typeof hdf5GuardTasks &
  typeof diagnosticsTasks;

type TaskTable = Record<string, (args: never, context: TaskContext) => unknown>;
const stages = {
  virtual: () => import('../stages/virtual/tasks').then((m) => m.virtualTasks as TaskTable),
  tracking: () => import('../stages/tracking/tasks').then((m) => m.trackingTasks as TaskTable),
  extraction: () => import('../stages/extraction/tasks').then((m) => m.extractionTasks as TaskTable),
  processing: () => import('../processing/tasks').then((m) => m.processingTasks as TaskTable),
  hdf5Guard: () => import('../stages/hdf5-guard/tasks').then((m) => m.hdf5GuardTasks as TaskTable),
  diagnostics: () => Promise.resolve(diagnosticsTasks as TaskTable),
};

/** Which stage's table holds each task: a Record over every task name, so a task missing here fails to compile. */
const stageOf: Record<TaskName, keyof typeof stages> = {
  virtualDirect: 'virtual',
  virtualBlock: 'virtual',
  trackClassical: 'tracking',
  extractDirect: 'extraction',
  searchPeaks: 'processing',
  findLattice: 'processing',
  reduceObject: 'processing',
  walkHdf5: 'hdf5Guard',
  diagnostics: 'diagnostics',
};

/** The task's function, its stage's module loaded on first use; undefined for an unknown name. */
export async function loadTask(name: string): Promise<TaskTable[string] | undefined> {
  if (!Object.hasOwn(stageOf, name)) return undefined;
  const table = await stages[stageOf[name as TaskName]]();
  return Object.hasOwn(table, name) ? table[name] : undefined;
}
export type TaskName = keyof Tasks;
export type TaskArgs<K extends TaskName> = Parameters<Tasks[K]>[0];
export type TaskResult<K extends TaskName> = Awaited<ReturnType<Tasks[K]>>;
