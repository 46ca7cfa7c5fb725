// Typed errors. Everything that crosses IPC becomes { name, message, detail } (toWireError); these names are what
// the renderer and the CLI show, so each says what went wrong in the user's words.

import type { WireError } from './contract';

export interface ErrorDetail {
  /** The file the problem is in, when there is one. */
  file?: string;
  /** The argument field that failed validation, as a dotted path. */
  field?: string;
  [key: string]: unknown;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export class TrackedError extends Error {
  readonly detail: ErrorDetail;
  constructor(message: string, detail: ErrorDetail = {}) {
    // Messages quote file names and header fields from the user's files: a control character there (an escape
    // sequence in a name, a NUL in a header) must never reach a terminal or the log as such.
    super(message.replace(CONTROL, '�'));
    this.name = 'TrackedError';
    this.detail = detail;
  }
}

/** Bad input data: truncated file, wrong shape, NaN, missing tilt… Always names the file. */
export class InputError extends TrackedError {
  constructor(file: string, problem: string, detail: ErrorDetail = {}) {
    super(`${file}: ${problem}`, { ...detail, file });
    this.name = 'InputError';
  }
}

/** A format or feature we recognise but do not (yet) read, e.g. an unsupported HDF5 filter. */
export class UnsupportedError extends TrackedError {
  constructor(message: string, detail: ErrorDetail = {}) {
    super(message, detail);
    this.name = 'UnsupportedError';
  }
}

/** An IPC or CLI argument that does not match its schema. */
export class ValidationError extends TrackedError {
  constructor(message: string, detail: ErrorDetail = {}) {
    super(message, detail);
    this.name = 'ValidationError';
  }
}

/**
 * A request main refuses to serve because of where it comes from or what it reaches, e.g. a file path the user never
 * chose (detail: channel, field, path, rule). Not a bad value: the same path chosen with Open… is accepted.
 */
export class SecurityError extends TrackedError {
  constructor(message: string, detail: ErrorDetail = {}) {
    super(message, detail);
    this.name = 'SecurityError';
  }
}

/** An absurd parameter value (negative radius, zero step…). */
export class ParameterError extends TrackedError {
  constructor(parameter: string, problem: string, detail: ErrorDetail = {}) {
    super(`${parameter}: ${problem}`, { ...detail, field: parameter });
    this.name = 'ParameterError';
  }
}

/** Work stopped because the user (or a caller) cancelled it. */
export class CancelledError extends TrackedError {
  constructor(message = 'Cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

/** Throws CancelledError when the signal is aborted. Call between chunks of long work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Anything thrown in main as the { name, message, detail } that crosses the bridge. */
export function toWireError(error: unknown): WireError {
  if (error instanceof TrackedError) {
    return { name: error.name, message: error.message, detail: { ...error.detail } };
  }
  if (error instanceof Error) {
    // Node's system errors carry a code (ENOENT, EACCES…): keep it for the UI to branch on.
    const code = (error as { code?: unknown }).code;
    const detail: Record<string, unknown> = {};
    if (typeof code === 'string') detail.code = code;
    return { name: error.name || 'Error', message: error.message, detail };
  }
  return { name: 'Error', message: String(error) };
}
