// The job runner: ids, throttled progress events with an ETA, cancellation by AbortSignal, and
// isolation — a job that throws ends as a job:error event, never as an exception in main.
import type { EventMap, EventName } from '../../src-shared/contract';
import { CancelledError, toWireError } from '../../src-shared/errors';

export interface JobContext {
  readonly jobId: string;
  readonly signal: AbortSignal;
  /** Reports progress; throttled to one event per interval (the last one always goes out). */
  progress(done: number, total: number, stage?: string): void;
}

interface Sink {
  emit<E extends EventName>(event: E, payload: EventMap[E]): void;
}

interface RunningJob {
  kind: string;
  controller: AbortController;
  startedAt: number;
}

export class JobRunner {
  private readonly running = new Map<string, RunningJob>();
  private counter = 0;
  private readonly intervalMs: number;

  constructor(
    private readonly sink: Sink,
    options: { progressIntervalMs?: number } = {},
  ) {
    this.intervalMs = options.progressIntervalMs ?? 100;
  }

  /** Starts `run` and returns its id at once; the outcome arrives as job:done or job:error. */
  start(kind: string, run: (ctx: JobContext) => Promise<unknown>): string {
    const jobId = `job-${++this.counter}-${Date.now().toString(36)}`;
    const controller = new AbortController();
    const startedAt = performance.now();
    this.running.set(jobId, { kind, controller, startedAt });

    let lastSent = -Infinity;
    let pending: EventMap['job:progress'] | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = (): void => {
      timer = undefined;
      if (!pending) return;
      lastSent = performance.now();
      this.sink.emit('job:progress', pending);
      pending = undefined;
    };
    const ctx: JobContext = {
      jobId,
      signal: controller.signal,
      progress: (done, total, stage = kind) => {
        const elapsedS = (performance.now() - startedAt) / 1000;
        const etaS = done > 0 && total > done ? (elapsedS * (total - done)) / done : undefined;
        pending = { jobId, kind, done, total, stage, ...(etaS !== undefined ? { etaS } : {}) };
        const wait = lastSent + this.intervalMs - performance.now();
        if (wait <= 0) flush();
        else timer ??= setTimeout(flush, wait);
      },
    };

    // Run on the next tick so the caller gets the id before any event.
    setImmediate(() => {
      Promise.resolve()
        .then(() => {
          controller.signal.throwIfAborted();
          return run(ctx);
        })
        .then(
          (result) => {
            if (timer) clearTimeout(timer);
            flush();
            if (controller.signal.aborted) throw new CancelledError();
            const seconds = (performance.now() - startedAt) / 1000;
            this.sink.emit('job:done', { jobId, kind, result, seconds });
          },
        )
        .catch((error: unknown) => {
          if (timer) clearTimeout(timer);
          pending = undefined;
          const wire =
            controller.signal.aborted && !(error instanceof CancelledError)
              ? toWireError(new CancelledError())
              : toWireError(error);
          this.sink.emit('job:error', { jobId, kind, error: wire });
        })
        .finally(() => this.running.delete(jobId));
    });
    return jobId;
  }

  cancel(jobId: string): boolean {
    const job = this.running.get(jobId);
    if (!job) return false;
    job.controller.abort(new CancelledError());
    return true;
  }

  cancelAll(): void {
    for (const id of [...this.running.keys()]) this.cancel(id);
  }

  active(): Array<{ jobId: string; kind: string }> {
    return [...this.running.entries()].map(([jobId, j]) => ({ jobId, kind: j.kind }));
  }
}
