// The message protocol between WorkerPool (main side) and worker.ts (thread side), and the helpers both use:
// typed errors across the thread boundary, transfer lists, and a cancel flag in shared memory.

import {
  CancelledError,
  InputError,
  ParameterError,
  TrackedError,
  UnsupportedError,
  ValidationError,
  type ErrorDetail,
} from '../../src-shared/errors';

/** What every worker task receives besides its arguments. */
export interface TaskContext {
  /** Aborted when the pool cancels the task; reads the shared cancel flag, so it is live inside sync loops. */
  signal: AbortSignal;
}

/** main → worker */
export interface TaskMessage {
  id: number;
  name: string;
  args: unknown;
  /** Int32Array(1) on a SharedArrayBuffer: the pool stores 1 to ask the task to stop. */
  cancel: Int32Array;
}

/** worker → main */
export type ReplyMessage =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerialisedError };

export interface SerialisedError {
  name: string;
  message: string;
  detail?: ErrorDetail;
  stack?: string;
}

export function serialiseError(e: unknown): SerialisedError {
  if (e instanceof TrackedError) return { name: e.name, message: e.message, detail: e.detail, stack: e.stack };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

// Error classes by `name`, so that `instanceof InputError` etc. hold on the main side. CancelledError's name is
// 'AbortError' (the DOM convention), which also covers an AbortSignal's own reason.
const ERROR_CLASSES: Record<string, { prototype: Error }> = {
  TrackedError,
  InputError,
  ParameterError,
  UnsupportedError,
  ValidationError,
  AbortError: CancelledError,
};

/**
 * Rebuilds an error thrown in a worker as an instance of the same class, with its message, detail and the
 * worker's stack (which is where the bug is). Unknown names become a plain Error carrying the name.
 */
export function reviveError(s: SerialisedError): Error {
  const cls = ERROR_CLASSES[s.name];
  // Object.create, not `new`: the typed constructors rebuild their message from parts (file, problem), and the
  // message arrives already built.
  const err = Object.create(cls ? cls.prototype : Error.prototype) as Error & { detail?: ErrorDetail };
  Object.defineProperty(err, 'message', { value: s.message, writable: true, configurable: true });
  Object.defineProperty(err, 'name', { value: s.name, writable: true, configurable: true });
  if (cls) err.detail = s.detail ?? {};
  if (s.stack) Object.defineProperty(err, 'stack', { value: s.stack, writable: true, configurable: true });
  return err;
}

/**
 * Buffers worth transferring from a result: those of typed arrays (at most two levels of objects/arrays deep)
 * that own their whole, non-shared ArrayBuffer. A view into a bigger buffer is left to structured clone: moving
 * the buffer would detach memory the sender still uses.
 */
export function transferablesOf(value: unknown, depth = 0, out: ArrayBuffer[] = []): ArrayBuffer[] {
  if (value === null || typeof value !== 'object' || depth > 3) return out;
  if (ArrayBuffer.isView(value)) {
    const buf = value.buffer;
    if (buf instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buf.byteLength && !out.includes(buf)) {
      out.push(buf);
    }
    return out;
  }
  if (value instanceof ArrayBuffer) {
    if (!out.includes(value)) out.push(value);
    return out;
  }
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const v of items) transferablesOf(v, depth + 1, out);
  return out;
}

/**
 * An AbortSignal whose `aborted` reads the shared cancel flag directly, so a kernel busy in a synchronous loop
 * (which never lets the worker's event loop deliver a 'cancel' message) still sees the request at its next
 * between-blocks check. Reading it also fires the signal's 'abort' event once, for code that listens.
 */
export function signalFromFlag(flag: Int32Array): AbortSignal {
  const controller = new AbortController();
  const signal = controller.signal;
  let aborted = false;
  Object.defineProperty(signal, 'aborted', {
    configurable: true,
    get(): boolean {
      if (!aborted && Atomics.load(flag, 0) !== 0) {
        aborted = true;
        controller.abort(new CancelledError());
      }
      return aborted;
    },
  });
  return signal;
}

/**
 * A progress callback for a worker task that reports (done, total) into a shared Int32Array [done, total], which the
 * caller on the main thread reads with `readProgress`; a no-op when there is no counter.
 */
export function progressWriter(counter: Int32Array | undefined): ((done: number, total: number) => void) | undefined {
  if (!counter) return undefined;
  return (done, total) => {
    Atomics.store(counter, 1, total);
    Atomics.store(counter, 0, done);
  };
}

/** A shared [done, total] counter for progressWriter. */
export function progressCounter(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}
