// The scaffolding every streaming pass shares (virtual images, extraction): one stop signal that the caller's
// cancel and the first failure both trip, the jobs in flight (bounded where the pass asks), shared progress counters
// that worker tasks write and a timer reads, and one way to end: every job settled, then CancelledError when the
// caller cancelled, else the first failure.

import { setMaxListeners } from 'node:events';
import { CancelledError } from '../../src-shared/errors';

export interface PassOptions {
  /** The caller's cancel. */
  signal?: AbortSignal;
  /** Shared progress counters (Int32Array on a SharedArrayBuffer) the pass's tasks write, one per slot. */
  slots?: number;
  /** Called every `intervalMs` while the pass runs, and once when it ends without error: report progress here. */
  onTick?: () => void;
  /** Default 100 ms. */
  intervalMs?: number;
}

export class PassScheduler {
  /** Stops every job of the pass: aborted on the caller's cancel and on the first failure. */
  readonly signal: AbortSignal;
  /** Progress counters for worker tasks (Atomics.store / Atomics.add), read by `onTick`. */
  readonly counters: Int32Array;
  private readonly stop = new AbortController();
  private readonly pending = new Set<Promise<void>>();
  private error: unknown = null;
  private readonly timer: ReturnType<typeof setInterval> | null;
  private readonly onCallerAbort = (): void => this.stop.abort();

  constructor(private readonly opts: PassOptions = {}) {
    this.signal = this.stop.signal;
    // Every queued pool task listens on this signal (one listener each): by design, not a leak.
    setMaxListeners(0, this.signal);
    this.counters = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, opts.slots ?? 1)));
    opts.signal?.addEventListener('abort', this.onCallerAbort, { once: true });
    if (opts.signal?.aborted) this.stop.abort();
    this.timer = opts.onTick ? setInterval(opts.onTick, opts.intervalMs ?? 100) : null;
    this.timer?.unref();
  }

  /** True once the pass was cancelled or failed: stop queueing work. */
  get stopped(): boolean {
    return this.signal.aborted;
  }

  /** Records a failure (the first one wins) and stops the pass. */
  fail(e: unknown): void {
    this.error ??= e;
    this.stop.abort();
  }

  /** Tracks `job`; its value goes to `then` on this thread. A failure in either stops the pass. */
  add<T>(job: Promise<T>, then: (value: T) => void = () => undefined): void {
    const tracked: Promise<void> = job
      .then(then)
      .catch((e: unknown) => this.fail(e))
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  /** Resolves once fewer than `limit` jobs are in flight. */
  async below(limit: number): Promise<void> {
    while (this.pending.size >= Math.max(1, limit)) await Promise.race(this.pending);
  }

  /** Waits for every job (also those added meanwhile), then throws CancelledError or the first failure. */
  async finish(): Promise<void> {
    try {
      while (this.pending.size > 0) await Promise.all([...this.pending]);
    } finally {
      if (this.timer) clearInterval(this.timer);
      this.opts.signal?.removeEventListener('abort', this.onCallerAbort);
    }
    if (this.opts.signal?.aborted) throw new CancelledError();
    if (this.error) throw this.error;
    this.opts.onTick?.();
  }
}
