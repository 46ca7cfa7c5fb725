// Atomic file writes: everything goes to a temporary file in the destination folder and is renamed over
// the final name only when complete, so a reader never sees a partial file and a crash or a cancel leaves
// nothing half-written behind (ARCHITECTURE §6: "writes nothing partial").
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { assertWritableOutput } from './protected-inputs';

let counter = 0;

/**
 * A temporary path beside `finalPath` (same folder, so rename is atomic), unique within the process. Refuses (before
 * anything is written) a destination that is an input file of an open series or whose folder does not exist.
 */
export function tempPathFor(finalPath: string): string {
  assertWritableOutput(finalPath);
  counter = (counter + 1) % 1e9;
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${counter}`);
}

/** Removes a file if it exists; never throws. */
export function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    /* nothing to clean */
  }
}

/** Writes `data` to `path` atomically (temp + fsync + rename). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let off = 0;
      while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
      // Small metadata files are the ones a crash must not leave empty after the rename.
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw e;
  }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  writeFileAtomicSync(path, data);
}

/**
 * Runs `produce(tmpPath)` to create a file at a temporary path, then renames it to `finalPath`. If
 * `produce` throws (or is cancelled), the temporary file is removed and the error propagates.
 */
export async function withAtomicFile<T>(finalPath: string, produce: (tmpPath: string) => Promise<T> | T): Promise<T> {
  const tmp = tempPathFor(finalPath);
  try {
    const result = await produce(tmp);
    // Flushed before the rename, so a power cut cannot leave the final name on an empty file.
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, finalPath);
    return result;
  } catch (e) {
    removeQuietly(tmp);
    throw e;
  }
}

/** A file being written in steps (e.g. streamed blocks); `commit` renames it into place, `abort` deletes it. */
export class AtomicFile {
  readonly finalPath: string;
  readonly tmpPath: string;
  private done = false;
  constructor(finalPath: string) {
    this.finalPath = finalPath;
    this.tmpPath = tempPathFor(finalPath);
  }
  commit(): void {
    if (this.done) throw new Error(`${this.finalPath}: already committed or aborted`);
    renameSync(this.tmpPath, this.finalPath);
    this.done = true;
  }
  abort(): void {
    if (this.done) return;
    removeQuietly(this.tmpPath);
    this.done = true;
  }
}
