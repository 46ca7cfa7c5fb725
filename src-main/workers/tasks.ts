// The task table the worker entry dispatches on. One line per kernel; argument and result types come from the
// implementation (`Parameters<typeof fn>`), so the pool's `run(name, args)` is typed without declaring anything
// twice (STYLE: pure kernel + thin worker).

import { fitBeamCentre } from '../kernels/beam-centre';
import { diagnostics } from './diagnostics';
import { runDirectUnit } from '../stages/extraction/unit';
import { virtualBlock, virtualDirect } from '../stages/virtual/unit';

/** What every task receives besides its arguments. */
export interface TaskContext {
  /** Aborted when the pool cancels the task; reads the shared cancel flag, so it is live inside sync loops. */
  signal: AbortSignal;
}

export const tasks = {
  virtualDirect: (a: Parameters<typeof virtualDirect>[0], c: TaskContext) => virtualDirect(a, c.signal),
  virtualBlock: (a: Parameters<typeof virtualBlock>[0], c: TaskContext) => virtualBlock(a, c.signal),
  fitBeamCentre: (a: { pattern: Parameters<typeof fitBeamCentre>[0]; shape: [number, number] }) => fitBeamCentre(a.pattern, a.shape),
  diagnostics: (a: Parameters<typeof diagnostics>[0], c: TaskContext) => diagnostics(a, c.signal),
  extractDirect: (a: Parameters<typeof runDirectUnit>[0], c: TaskContext) => runDirectUnit(a, c.signal),
};

export type Tasks = typeof tasks;
export type TaskName = keyof Tasks;
export type TaskArgs<K extends TaskName> = Parameters<Tasks[K]>[0];
export type TaskResult<K extends TaskName> = Awaited<ReturnType<Tasks[K]>>;
