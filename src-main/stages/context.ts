// What every stage service gets from its caller: a job in the app (services/jobs.ts JobContext fits it), a progress
// bar in the CLI, nothing in a test.
export interface StageContext {
  signal?: AbortSignal;
  /** Called with work done and total (bytes, frames or tilts, as the stage says) and the current step's name. */
  progress?: (done: number, total: number, stage?: string) => void;
}
