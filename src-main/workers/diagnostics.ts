// Small worker tasks that exercise the pool itself: health checks, and the pool's own tests (errors, crashes,
// cooperative and forced cancellation). They do no numerical work.

import { InputError, throwIfAborted } from '../../src-shared/errors';

export type DiagnosticArgs =
  /** Returns `value` (typed arrays travel back as transfers) after an optional busy wait. */
  | { op: 'echo'; value: unknown; busyMs?: number }
  /** Throws an InputError naming `file`. */
  | { op: 'fail'; file: string; message: string }
  /** Busy loop of `ms`, checking the signal every millisecond: stops promptly on cancel. */
  | { op: 'spin'; ms: number }
  /** Busy loop of `ms` that never looks at the signal: only terminating the thread stops it. */
  | { op: 'hang'; ms: number }
  /** Ends the worker thread abruptly, as a native crash would. */
  | { op: 'crash' }
  /** The worker's thread id after an optional busy wait, to see how work spreads. */
  | { op: 'threadId'; busyMs?: number }
  /** The keys of the worker's start data (setWorkerStartData in ./pool.ts). */
  | { op: 'workerData' };

function busy(ms: number, signal: AbortSignal | undefined): void {
  const end = performance.now() + ms;
  let next = performance.now() + 1;
  while (performance.now() < end) {
    if (signal && performance.now() >= next) {
      throwIfAborted(signal);
      next += 1;
    }
  }
}

export async function diagnostics(a: DiagnosticArgs, signal?: AbortSignal): Promise<unknown> {
  switch (a.op) {
    case 'echo':
      if (a.busyMs) busy(a.busyMs, signal);
      return a.value;
    case 'fail':
      throw new InputError(a.file, a.message);
    case 'spin':
      busy(a.ms, signal);
      return a.ms;
    case 'hang':
      busy(a.ms, undefined);
      return a.ms;
    case 'crash':
      process.exit(3);
      return undefined;
    case 'threadId': {
      if (a.busyMs) busy(a.busyMs, signal);
      const { threadId } = await import('node:worker_threads');
      return threadId;
    }
    case 'workerData': {
      const { workerData } = await import('node:worker_threads');
      return Object.keys((workerData as object | null) ?? {});
    }
  }
}
