// A small worker_threads pool: one task at a time per worker, a FIFO queue, transferables both ways, typed errors
// across the thread boundary, and cancellation that is cooperative first (a flag in shared memory that the task's
// AbortSignal reads) and forced after a grace period (the worker is terminated and replaced). A task that throws
// or a worker that dies fails only that task; the pool and the process carry on.
//
// While at least `size` tasks wait, a busy worker is also handed its next task (it queues it and runs it when the
// current one ends): a worker then never waits for this thread to handle its reply before it can go on, which on
// a 2-core machine with a busy main thread cost 5–20 ms per task. Near the end of the queue tasks go one at a time,
// so a short task never waits behind a long one while another worker idles. Tasks with transfers are never
// queued in a worker (they could not be sent elsewhere if that worker died).
//
// Workers start lazily (up to `size`) and are unref'd while idle, so an idle pool never keeps a CLI process alive.

import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, type TransferListItem } from 'node:worker_threads';
import { CancelledError, TrackedError } from '../../src-shared/errors';
import { resolveBundledScript } from './scripts';
import { reviveError, type ReplyMessage, type TaskMessage } from './protocol';
import type { TaskArgs, TaskName, TaskResult } from './tasks';

export type { TaskArgs, TaskName, TaskResult } from './tasks';

/** A worker thread ended (crash, process.exit, out of memory) while running a task. */
export class WorkerCrashError extends TrackedError {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashError';
  }
}

let workerStartData: (() => object | undefined) | null = null;

/**
 * What every worker started from now on gets as its `workerData` (structured-cloned; a compiled WebAssembly.Module
 * travels as the module itself): set by whoever owns that state (the HDF5 guard hands over the HDF5 library's
 * compiled binary, io/h5wasm-module.ts).
 */
export function setWorkerStartData(provide: () => object | undefined): void {
  workerStartData = provide;
}

export interface PoolOptions {
  /** Number of worker threads (default os.availableParallelism(), at least 1). */
  size?: number;
  /** The worker script; default: env TRACKED_WORKER, else worker.mjs / worker.js next to this bundle. */
  workerPath?: string | URL;
  /** How long a cancelled task may take to notice before its worker is terminated (default 2000 ms). */
  cancelGraceMs?: number;
}

export interface RunOptions {
  /** ArrayBuffers to move (not copy) to the worker; they are detached here afterwards. */
  transfer?: TransferListItem[];
  signal?: AbortSignal;
}

/** The worker script: an explicit path, else env TRACKED_WORKER, else the bundled worker (workers/scripts.ts). */
export function resolveWorkerPath(explicit?: string | URL): string {
  if (explicit) return explicit instanceof URL ? fileURLToPath(explicit) : explicit;
  return resolveBundledScript('worker', 'TRACKED_WORKER');
}

interface Job {
  id: number;
  name: string;
  args: unknown;
  transfer: TransferListItem[];
  signal: AbortSignal | undefined;
  cancel: Int32Array;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onAbort: (() => void) | null;
  graceTimer: NodeJS.Timeout | null;
  settled: boolean;
}

interface Slot {
  worker: Worker;
  /** Sent to this worker, in order: the first is running, the others wait in the worker. */
  jobs: Job[];
}

/** Tasks one worker may hold: the running one and the next. */
const WORKER_DEPTH = 2;

export class WorkerPool {
  readonly size: number;
  private readonly workerPath: string;
  private readonly graceMs: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(opts: PoolOptions = {}) {
    this.size = Math.max(1, Math.floor(opts.size ?? availableParallelism()));
    this.workerPath = resolveWorkerPath(opts.workerPath);
    this.graceMs = opts.cancelGraceMs ?? 2000;
  }

  /** Tasks waiting for a worker plus tasks running. */
  get pending(): number {
    return this.queue.length + this.slots.reduce((n, s) => n + s.jobs.filter((j) => !j.settled).length, 0);
  }

  /** Live worker threads (they start lazily). */
  get threads(): number {
    return this.slots.length;
  }

  /** Runs task `name` on the next free worker. Rejects with the task's own error class, CancelledError, or WorkerCrashError. */
  run<K extends TaskName>(name: K, args: TaskArgs<K>, opts: RunOptions = {}): Promise<TaskResult<K>> {
    return new Promise<TaskResult<K>>((resolve, reject) => {
      if (this.closed) return reject(new TrackedError('worker pool is closed'));
      if (opts.signal?.aborted) return reject(new CancelledError());
      const job: Job = {
        id: this.nextId++,
        name,
        args,
        transfer: opts.transfer ?? [],
        signal: opts.signal,
        cancel: new Int32Array(new SharedArrayBuffer(4)),
        resolve: resolve as (v: unknown) => void,
        reject,
        onAbort: null,
        graceTimer: null,
        settled: false,
      };
      if (opts.signal) {
        job.onAbort = () => this.cancelJob(job);
        opts.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.dispatch();
    });
  }

  /** Terminates every worker; queued and running tasks reject with CancelledError. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) this.settle(job, false, new CancelledError('worker pool closed'));
    const slots = this.slots.splice(0);
    for (const s of slots) for (const j of s.jobs) this.settle(j, false, new CancelledError('worker pool closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /**
   * Starts every worker now (they load their bundle and kernels while this thread opens the input), for a command
   * that will use them; idle workers still never keep the process alive.
   */
  prestart(): void {
    while (!this.closed && this.slots.length < this.size) this.spawn();
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const job = this.queue[0];
      let slot = this.slots.find((s) => s.jobs.length === 0);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot && job.transfer.length === 0 && this.queue.length >= this.size) {
        slot = this.slots.find((s) => s.jobs.length < WORKER_DEPTH);
      }
      if (!slot) return;
      this.queue.shift();
      slot.jobs.push(job);
      slot.worker.ref();
      const msg: TaskMessage = { id: job.id, name: job.name, args: job.args, cancel: job.cancel };
      try {
        slot.worker.postMessage(msg, job.transfer);
      } catch (e) {
        // Not cloneable or a detached buffer: this task fails, the worker is fine.
        slot.jobs.pop();
        if (slot.jobs.length === 0) slot.worker.unref();
        this.settle(job, false, e);
      }
    }
  }

  private spawn(): Slot {
    const workerData = workerStartData?.();
    const worker = new Worker(this.workerPath, workerData ? { workerData } : {});
    const slot: Slot = { worker, jobs: [] };
    worker.on('message', (reply: ReplyMessage) => {
      const i = slot.jobs.findIndex((j) => j.id === reply.id);
      if (i < 0) return; // a late reply for a job already given up on
      const [job] = slot.jobs.splice(i, 1);
      if (slot.jobs.length === 0) worker.unref();
      if (reply.ok) this.settle(job, true, reply.value);
      else this.settle(job, false, job.cancel[0] !== 0 && reply.error.name === 'AbortError' ? new CancelledError() : reviveError(reply.error));
      this.dispatch();
    });
    worker.on('error', (err) => {
      // An exception that escaped the worker's handler: the thread is about to exit; 'exit' cleans up.
      const job = slot.jobs[0];
      if (job) this.settle(job, false, new WorkerCrashError(`worker failed while running '${job.name}': ${err.message}`));
    });
    worker.on('exit', (code) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const [running, ...waiting] = slot.jobs.splice(0);
      if (running) {
        this.settle(
          running,
          false,
          running.cancel[0] !== 0 ? new CancelledError() : new WorkerCrashError(`worker exited (code ${code}) while running '${running.name}'`),
        );
      }
      // Tasks that waited in that worker never started: back to the front of the queue, in order.
      this.requeue(waiting);
      if (!this.closed) this.dispatch();
    });
    this.slots.push(slot);
    // After the listeners: adding a 'message' listener refs the worker's port again, and an idle worker that was
    // started but never given a task (prestart, then an error) would keep the process from exiting.
    worker.unref();
    return slot;
  }

  /** Puts tasks that were sent to a worker that is gone, but never started there, back at the head of the queue. */
  private requeue(jobs: Job[]): void {
    const live = jobs.filter((j) => !j.settled);
    if (this.closed) for (const j of live) this.settle(j, false, new CancelledError('worker pool closed'));
    else this.queue.unshift(...live);
  }

  private cancelJob(job: Job): void {
    if (job.settled) return;
    const qi = this.queue.indexOf(job);
    if (qi >= 0) {
      this.queue.splice(qi, 1);
      this.settle(job, false, new CancelledError());
      return;
    }
    Atomics.store(job.cancel, 0, 1);
    const holder = this.slots.find((s) => s.jobs.includes(job));
    if (holder && holder.jobs[0] !== job) {
      // Waiting in a worker behind another task: it will see the flag and stop as soon as it starts.
      this.settle(job, false, new CancelledError());
      return;
    }
    // A task that does not look at its signal (or is stuck in a long read) is stopped by force.
    job.graceTimer = setTimeout(() => {
      const slot = this.slots.find((s) => s.jobs[0] === job);
      if (!slot || job.settled) return;
      this.settle(job, false, new CancelledError());
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      // The tasks waiting behind it never started: they go back to the queue; the thread is replaced.
      this.requeue(slot.jobs.splice(0).slice(1));
      void slot.worker.terminate();
      this.dispatch();
    }, this.graceMs);
    job.graceTimer.unref();
  }

  private settle(job: Job, ok: boolean, value: unknown): void {
    if (job.settled) return;
    job.settled = true;
    if (job.graceTimer) clearTimeout(job.graceTimer);
    if (job.onAbort && job.signal) job.signal.removeEventListener('abort', job.onAbort);
    if (ok) job.resolve(value);
    else job.reject(value);
  }
}

let shared: WorkerPool | null = null;

/** The process-wide pool (created on first use, sized to the machine). */
export function sharedPool(): WorkerPool {
  shared ??= new WorkerPool();
  return shared;
}
