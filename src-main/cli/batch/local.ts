// `tracked batch PLAN --out DIR`: the tasks on this machine. Each task is a child process (`tracked batch-task`, the
// same command a SLURM array element runs), so a crash or an out-of-memory kill fails only that task. Parallelism is
// bounded by cores and free memory, and by disk: tasks whose series sit on the same device run one (--per-disk) at a
// time, since two streams of 10–500 GB from one disk are slower than one after the other. A finished task (its
// status ok for the same plan entry, its report.json readable) is skipped; a failed one is tried once more.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { availableParallelism, freemem } from 'node:os';
import { BatchBoard, readProgress } from './board';
import { runMerges } from './merges';
import type { BatchTask, ResolvedPlan } from './plan';
import { summarise, taskOutcome, writeSummary, type BatchSummary, type TaskOutcome } from './summary';
import { readStatus, resolvedPlanFile, taskDone } from './task';

export interface LocalOptions {
  /** The `tracked` entry script the children run (bin/tracked.mjs). */
  entry: string;
  /** Tasks at a time (default: from cores and free memory). */
  jobs?: number;
  /** Tasks at a time reading from one disk (default 1). */
  perDisk?: number;
  /** Run the merge groups after the tasks (default true). */
  merge?: boolean;
  stream?: NodeJS.WriteStream;
}

/** What one task is expected to hold in memory at most (README "Running on a cluster"). */
const TASK_MEMORY_BYTES = 1.5 * 2 ** 30;

/** Tasks at a time: each task already uses every core for its passes, so half the cores, and what memory allows. */
export function defaultJobs(cores = availableParallelism(), free = freemem()): number {
  return Math.max(1, Math.min(Math.floor(cores / 2), Math.floor(free / TASK_MEMORY_BYTES)));
}

/** The device a series is read from (tasks on one device are not run side by side beyond --per-disk). */
function deviceOf(task: BatchTask): string {
  try {
    return String(statSync(task.series).dev);
  } catch {
    return task.series;
  }
}

function runChild(entry: string, plan: string, task: BatchTask, attempt: number): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [entry, 'batch-task', plan, '--index', String(task.index), '--attempt', String(attempt)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', (e) => done({ code: 1, stderr: e.message }));
    child.on('exit', (code, signal) => done({ code: code ?? (signal ? 128 : 1), stderr: signal ? `killed by ${signal}` : stderr }));
  });
}

export async function runLocal(resolved: ResolvedPlan, o: LocalOptions): Promise<BatchSummary> {
  const t0 = Date.now();
  const board = new BatchBoard(resolved.tasks, o.stream);
  const outcomes = new Map<number, TaskOutcome>();
  const queue: Array<{ task: BatchTask; attempt: number }> = [];
  for (const task of resolved.tasks) {
    if (taskDone(task)) {
      outcomes.set(task.index, taskOutcome(task, 'skipped', 0));
      board.set(task.id, 'skipped');
    } else queue.push({ task, attempt: 1 });
  }
  const jobs = Math.max(1, o.jobs ?? defaultJobs());
  const perDisk = Math.max(1, o.perDisk ?? 1);
  const running = new Map<number, string>();
  const poll = setInterval(() => {
    for (const i of running.keys()) board.set(resolved.tasks[i]!.id, 'running', readProgress(resolved.tasks[i]!));
  }, 500);
  poll.unref();
  await new Promise<void>((finished) => {
    const launch = (): void => {
      if (!queue.length && !running.size) return finished();
      while (running.size < jobs) {
        const k = queue.findIndex((q) => [...running.values()].filter((d) => d === deviceOf(q.task)).length < perDisk);
        if (k < 0) break;
        const { task, attempt } = queue.splice(k, 1)[0]!;
        running.set(task.index, deviceOf(task));
        board.set(task.id, 'running');
        void runChild(o.entry, resolvedPlanFile(resolved.out), task, attempt).then(({ code, stderr }) => {
          running.delete(task.index);
          if (code === 0) {
            outcomes.set(task.index, taskOutcome(task, 'ok', attempt));
            board.set(task.id, 'ok');
          } else if (attempt < 2) {
            board.set(task.id, 'retrying');
            queue.push({ task, attempt: attempt + 1 });
          } else {
            const status = readStatus(task);
            outcomes.set(task.index, taskOutcome(task, 'failed', attempt, { error: status?.state === 'failed' ? (status.error ?? null) : stderr.trim().split('\n').pop() || `exit ${code}` }));
            board.set(task.id, 'failed');
          }
          launch();
        });
      }
    };
    launch();
  });
  clearInterval(poll);
  const tasks = resolved.tasks.map((t) => outcomes.get(t.index)!);
  const merges = o.merge === false ? [] : runMerges(resolved, tasks, (text) => board.note(text));
  board.stop();
  const summary = summarise(resolved, 'local', t0, tasks, merges);
  writeSummary(resolved, summary);
  return summary;
}
