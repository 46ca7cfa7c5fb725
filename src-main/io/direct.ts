// Reads frames straight from a file with fs, given a DirectLayout. Used by the HDF5 and MIB sources
// in the main process, and meant for worker_threads too: a worker gets (path, direct, dtype,
// detectorShape, nFrames) — all structured-cloneable — and opens its own DirectFrameReader.

import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { InputError, ParameterError, throwIfAborted } from '../../src-shared/errors.js';
import type { DirectLayout } from './types.js';
import { readExactly, swapBytesInPlace } from './util.js';
import { type PixelArray, type PixelDType, BYTES_PER_PIXEL, NATIVE_LITTLE_ENDIAN, viewPixels } from '../../src-shared/pixels';

export interface DirectSpec {
  path: string;
  direct: DirectLayout;
  dtype: PixelDType;
  detectorShape: [number, number];
  /** Frames the source exposes (ny * nx). */
  nFrames: number;
}

/**
 * Called with the bytes in front of each frame (its header) for 'mib' layouts; throw to reject a
 * frame (e.g. a corrupt or mixed-depth header in the middle of a file).
 */
export type FrameHeaderCheck = (header: Uint8Array, frameIndex: number) => void;

/** Largest single read, so that a big request does not need one huge temporary buffer. */
const MAX_SPAN_BYTES = 64 << 20;

export class DirectFrameReader {
  private constructor(
    private readonly spec: DirectSpec,
    private readonly fh: FileHandle,
    private readonly checkHeader?: FrameHeaderCheck,
  ) {}

  /** Opens the file read-only. */
  static async open(spec: DirectSpec, checkHeader?: FrameHeaderCheck): Promise<DirectFrameReader> {
    const fh = await open(spec.path, 'r');
    return new DirectFrameReader(spec, fh, checkHeader);
  }

  get frameBytes(): number {
    const [h, w] = this.spec.detectorShape;
    return h * w * BYTES_PER_PIXEL[this.spec.dtype];
  }

  /** Byte offset of frame i's pixel data. */
  frameOffset(i: number): number {
    const d = this.spec.direct;
    return d.frameOffsets ? d.frameOffsets[i]! : d.offset + i * d.frameStrideBytes;
  }

  /** Reads `count` frames from flat probe index `start`, in native byte order. */
  async read(start: number, count: number, signal?: AbortSignal): Promise<PixelArray> {
    const { nFrames, dtype, path } = this.spec;
    checkRange(start, count, nFrames);
    const fb = this.frameBytes;
    const out = new Uint8Array(count * fb);
    const d = this.spec.direct;
    const headerBytes = d.kind === 'mib' ? d.frameStrideBytes - fb : 0;
    let i = 0;
    while (i < count) {
      throwIfAborted(signal);
      // Gather a run of frames that sit back to back (with their headers, for MIB) in the file.
      const first = start + i;
      const stride = d.frameOffsets ? fb : d.frameStrideBytes;
      let n = 1;
      while (
        i + n < count &&
        (n + 1) * stride <= MAX_SPAN_BYTES &&
        this.frameOffset(first + n) === this.frameOffset(first) + n * stride
      ) {
        n++;
      }
      const spanStart = this.frameOffset(first) - headerBytes;
      const spanLen = (n - 1) * stride + headerBytes + fb;
      if (stride === fb && headerBytes === 0) {
        await readExactly(this.fh, path, out, i * fb, spanLen, spanStart);
      } else {
        const tmp = new Uint8Array(spanLen);
        await readExactly(this.fh, path, tmp, 0, spanLen, spanStart);
        for (let k = 0; k < n; k++) {
          const at = k * stride;
          if (this.checkHeader) this.checkHeader(tmp.subarray(at, at + headerBytes), first + k);
          out.set(tmp.subarray(at + headerBytes, at + headerBytes + fb), (i + k) * fb);
        }
      }
      i += n;
    }
    const width = BYTES_PER_PIXEL[dtype];
    if (width > 1 && d.littleEndian !== NATIVE_LITTLE_ENDIAN) swapBytesInPlace(out, width);
    return viewPixels(dtype, out.buffer, 0, count * (fb / width));
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Validates a frame request against the number of frames; a ParameterError names what is wrong. */
export function checkRange(start: number, count: number, nFrames: number): void {
  if (!Number.isInteger(start) || start < 0) throw new ParameterError('start', `must be a non-negative integer (got ${start})`);
  if (!Number.isInteger(count) || count < 0) throw new ParameterError('count', `must be a non-negative integer (got ${count})`);
  if (start + count > nFrames) throw new ParameterError('count', `frames ${start}…${start + count - 1} requested but the source has ${nFrames}`);
}

/** Checks that every frame of a direct layout lies inside a file of `fileSize` bytes. */
export function checkDirectInsideFile(file: string, direct: DirectLayout, frameBytes: number, nFrames: number, fileSize: number): void {
  let last = 0;
  if (direct.frameOffsets) {
    for (let i = 0; i < nFrames; i++) last = Math.max(last, direct.frameOffsets[i]! + frameBytes);
  } else if (nFrames > 0) {
    last = direct.offset + (nFrames - 1) * direct.frameStrideBytes + frameBytes;
  }
  if (last > fileSize) {
    throw new InputError(file, `data should extend to byte ${last} but the file has only ${fileSize} bytes (truncated file?)`, {
      expectedBytes: last,
      fileBytes: fileSize,
    });
  }
}
