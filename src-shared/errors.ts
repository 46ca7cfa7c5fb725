// Typed errors. Everything that crosses IPC becomes { name, message, detail }; these names are what the
// renderer and the CLI show, so each says what went wrong in the user's words.

export interface ErrorDetail {
  /** The file the problem is in, when there is one. */
  file?: string;
  /** The argument field that failed validation, as a dotted path. */
  field?: string;
  [key: string]: unknown;
}

export class TrackedError extends Error {
  readonly detail: ErrorDetail;
  constructor(message: string, detail: ErrorDetail = {}) {
    super(message);
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
