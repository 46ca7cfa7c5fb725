// One batch task, as a SLURM array element or a local child process runs it: `tracked run` in-process into the task's
// folder, with status.json (running → ok | failed, the attempt, the time, the error in one line) written atomically
// and progress.json followed by whoever watches. A task is done when its status says ok for the same hash and its
// report.json reads back: then a rerun skips it.
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../io/atomic';
import type { Cell } from '../../crystallography/lattice';
import { cliErrorMessage } from '../error-message';
import { runPipeline, type RunOptions, type RunReport } from '../run';
import type { BatchTask, ResolvedPlan } from './plan';

export interface TaskStatus {
  id: string;
  hash: string;
  state: 'running' | 'ok' | 'failed';
  attempt: number;
  host: string;
  pid: number;
  startedAt: string;
  finishedAt?: string;
  seconds?: number;
  /** What went wrong, in one line (as `tracked` prints it). */
  error?: string;
}

/** The run options a task's plan entry stands for. */
export function taskRunOptions(task: BatchTask): RunOptions {
  const o = task.options;
  const cell: Cell | undefined = o.cell ? { a: o.cell[0], b: o.cell[1], c: o.cell[2], alpha: o.cell[3], beta: o.cell[4], gamma: o.cell[5] } : undefined;
  const calibration = { ...(o.voltageKV !== undefined ? { voltageKV: o.voltageKV } : {}), ...(o.qPixelInvA !== undefined ? { reciprocalPixelInvA: o.qPixelInvA } : {}) };
  const start = o.angleDeg ?? o.startDeg;
  return {
    out: task.out,
    ...(o.project ? {} : { target: task.target }),
    ...(o.tracker ? { tracker: o.tracker } : {}),
    ...(o.model ? { model: o.model } : {}),
    ...(o.project ? { project: o.project } : {}),
    ...(cell ? { cell } : {}),
    ...(o.axisDeg !== undefined ? { axisDeg: o.axisDeg } : {}),
    ...(o.background ? { background: true } : {}),
    ...(o.process === false ? { process: false } : {}),
    ...(o.dMinA !== undefined ? { peaks: { dMinA: o.dMinA } } : {}),
    reflections: { ...(o.spaceGroup !== undefined ? { spaceGroup: String(o.spaceGroup) } : {}), ...(o.composition ? { composition: o.composition } : {}) },
    series: {
      ...(start !== undefined ? { startDeg: start } : {}),
      ...(o.stepDeg !== undefined ? { stepDeg: o.stepDeg } : {}),
      ...(o.scan ? { scanShape: o.scan } : {}),
      ...(Object.keys(calibration).length ? { calibration } : {}),
    },
  };
}

export const statusFile = (task: BatchTask): string => join(task.out, 'status.json');
export const progressFile = (task: BatchTask): string => join(task.out, 'progress.json');

export function readStatus(task: BatchTask): TaskStatus | null {
  try {
    const s = JSON.parse(readFileSync(statusFile(task), 'utf8')) as TaskStatus;
    return s && typeof s.state === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function readReport(task: BatchTask): RunReport | null {
  try {
    const r = JSON.parse(readFileSync(join(task.out, 'report.json'), 'utf8')) as RunReport;
    return r?.version === 1 && Array.isArray(r.objects) ? r : null;
  } catch {
    return null;
  }
}

/** Finished with this very plan entry (same hash) and its report reads back. */
export function taskDone(task: BatchTask): boolean {
  const s = readStatus(task);
  return s?.state === 'ok' && s.hash === task.hash && readReport(task) !== null;
}

function writeStatus(task: BatchTask, status: TaskStatus): void {
  mkdirSync(task.out, { recursive: true });
  writeFileAtomicSync(statusFile(task), `${JSON.stringify(status, null, 1)}\n`);
}

/** Runs task `index` of the plan in this process; 0 when it succeeded, 1 when it failed (status.json says why). */
export async function runTask(resolved: ResolvedPlan, index: number, attempt = 1): Promise<number> {
  const task = resolved.tasks[index];
  if (!task) throw new RangeError(`the plan has ${resolved.tasks.length} tasks; there is no task ${index}`);
  const t0 = Date.now();
  const base = { id: task.id, hash: task.hash, attempt, host: hostname(), pid: process.pid, startedAt: new Date(t0).toISOString() };
  writeStatus(task, { ...base, state: 'running' });
  const previous = process.env['TRACKED_PROGRESS_FILE'];
  process.env['TRACKED_PROGRESS_FILE'] = progressFile(task);
  try {
    await runPipeline(task.series, taskRunOptions(task));
    writeStatus(task, { ...base, state: 'ok', finishedAt: new Date().toISOString(), seconds: (Date.now() - t0) / 1000 });
    return 0;
  } catch (e) {
    writeStatus(task, { ...base, state: 'failed', finishedAt: new Date().toISOString(), seconds: (Date.now() - t0) / 1000, error: cliErrorMessage(e) });
    return 1;
  } finally {
    if (previous === undefined) delete process.env['TRACKED_PROGRESS_FILE'];
    else process.env['TRACKED_PROGRESS_FILE'] = previous;
  }
}

/** The resolved plan a batch wrote into its output folder (what the SLURM scripts and the local children read). */
export function readResolvedPlan(file: string): ResolvedPlan {
  const r = JSON.parse(readFileSync(file, 'utf8')) as ResolvedPlan;
  if (r?.version !== 1 || !Array.isArray(r.tasks)) throw new Error(`${file} is not a resolved batch plan`);
  return r;
}

export const resolvedPlanFile = (out: string): string => join(out, 'batch-plan.json');
