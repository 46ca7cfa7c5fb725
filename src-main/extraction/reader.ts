// Block readers for the extraction pass: bounded memory, reused buffers, and one read always in flight ahead of
// the one being summed (double buffering: the kernel is synchronous, so the next fs read proceeds in libuv's thread
// pool while this thread adds the current block).
//
// Sources with a `direct` layout (contiguous HDF5, uncompressed chunks) are read here with plain fs reads into two
// ping-pong buffers; everything else goes through the source's own readFrames. MIB is left to its reader, which
// validates every frame header.

import { open, type FileHandle } from 'node:fs/promises';
import { InputError, throwIfAborted } from '../errors';
import type { DirectLayout, FourDSource, PixelArray, PixelDType } from '../io/types';
import { BYTES_PER_PIXEL, NATIVE_LITTLE_ENDIAN, readExactly, swapBytesInPlace, viewPixels } from '../io/util';
import { accumulateFramesInto, createAccumulators, type TargetAccumulators, type TargetMap } from './kernel';

/** Reads `count` frames from probe index `start`. The returned array may be reused by the reader two calls later. */
export interface BlockReader {
  read(start: number, count: number, signal?: AbortSignal): Promise<PixelArray>;
  close(): Promise<void>;
}

/** True when `direct` can be streamed by DirectBlockReader (MIB goes through its own, header-checking reader). */
export function canReadDirect(direct: DirectLayout | undefined): direct is DirectLayout {
  return !!direct && (direct.kind === 'contiguous' || direct.kind === 'chunked-uncompressed');
}

/** fs reads into two reused buffers of `maxFrames` frames each, handed out alternately. */
export class DirectBlockReader implements BlockReader {
  private readonly buffers: ArrayBuffer[];
  private turn = 0;
  private constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
    private readonly direct: DirectLayout,
    private readonly dtype: PixelDType,
    private readonly frameBytes: number,
    private readonly maxFrames: number,
  ) {
    this.buffers = [new ArrayBuffer(frameBytes * maxFrames), new ArrayBuffer(frameBytes * maxFrames)];
  }

  static async open(path: string, direct: DirectLayout, dtype: PixelDType, npix: number, maxFrames: number): Promise<DirectBlockReader> {
    const fh = await open(path, 'r');
    return new DirectBlockReader(path, fh, direct, dtype, npix * BYTES_PER_PIXEL[dtype], Math.max(1, maxFrames));
  }

  private offsetOf(i: number): number {
    const d = this.direct;
    return d.frameOffsets ? d.frameOffsets[i] : d.offset + i * d.frameStrideBytes;
  }

  async read(start: number, count: number, signal?: AbortSignal): Promise<PixelArray> {
    if (count > this.maxFrames) throw new RangeError(`block of ${count} frames exceeds the reader's ${this.maxFrames}`);
    throwIfAborted(signal);
    const buf = this.buffers[this.turn];
    this.turn ^= 1;
    const bytes = new Uint8Array(buf, 0, count * this.frameBytes);
    const fb = this.frameBytes;
    const stride = this.direct.frameOffsets ? fb : this.direct.frameStrideBytes;
    let i = 0;
    while (i < count) {
      // A run of frames that sit back to back in the file is one read.
      let n = 1;
      const first = this.offsetOf(start + i);
      if (stride === fb) while (i + n < count && this.offsetOf(start + i + n) === first + n * fb) n++;
      await readExactly(this.fh, this.path, bytes, i * fb, n * fb, first);
      i += n;
    }
    const width = BYTES_PER_PIXEL[this.dtype];
    if (width > 1 && this.direct.littleEndian !== NATIVE_LITTLE_ENDIAN) swapBytesInPlace(bytes, width);
    return viewPixels(this.dtype, buf, 0, (count * fb) / width);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Any FourDSource through its readFrames (no buffer reuse: the source decides). */
export class SourceBlockReader implements BlockReader {
  constructor(private readonly source: FourDSource) {}
  async read(start: number, count: number, signal?: AbortSignal): Promise<PixelArray> {
    const npix = this.source.detectorShape[0] * this.source.detectorShape[1];
    const a = await this.source.readFrames(start, count, signal);
    if (a.length < count * npix) {
      throw new InputError(this.source.path, `readFrames(${start}, ${count}) returned ${a.length} pixels, expected ${count * npix}`);
    }
    return a;
  }
  async close(): Promise<void> {}
}

// ───────────────────────────── one unit of work ─────────────────────────────

/** Everything a unit needs besides its reader; structured-cloneable, so a worker_thread can run it. */
export interface UnitPlan {
  /** [start, end) probe ranges to read, flattened: start0, end0, start1, end1, … */
  runs: Int32Array;
  map: TargetMap;
  npix: number;
  saturationLevel?: number;
  /** Frames per read (the block buffer is this many frames, twice). */
  blockFrames: number;
  /** Shared counter of frames done (Atomics.add), for progress across threads; slot `progressSlot`. */
  progress?: Int32Array;
  progressSlot?: number;
}

export interface UnitResult {
  acc: TargetAccumulators;
  framesRead: number;
  bytesRead: number;
}

/** Reads the unit's runs block by block, one read ahead, and sums them into fresh accumulators. */
export async function runUnit(plan: UnitPlan, reader: BlockReader, bytesPerPixel: number, signal?: AbortSignal): Promise<UnitResult> {
  const acc = createAccumulators(plan.map.nTargets, plan.npix, plan.saturationLevel !== undefined);
  const blocks: number[] = [];
  for (let r = 0; r < plan.runs.length; r += 2) {
    for (let s = plan.runs[r]; s < plan.runs[r + 1]; s += plan.blockFrames) blocks.push(s, Math.min(plan.blockFrames, plan.runs[r + 1] - s));
  }
  let framesRead = 0;
  if (blocks.length === 0) return { acc, framesRead, bytesRead: 0 };
  let next: Promise<PixelArray> | null = reader.read(blocks[0], blocks[1], signal);
  try {
    for (let b = 0; b < blocks.length; b += 2) {
      const data: PixelArray = await next!;
      next = b + 2 < blocks.length ? reader.read(blocks[b + 2], blocks[b + 3], signal) : null;
      throwIfAborted(signal);
      accumulateFramesInto(
        { frames: data, start: blocks[b], count: blocks[b + 1], npix: plan.npix, map: plan.map, saturationLevel: plan.saturationLevel },
        acc,
      );
      framesRead += blocks[b + 1];
      if (plan.progress) Atomics.add(plan.progress, plan.progressSlot ?? 0, blocks[b + 1]);
    }
  } finally {
    // A read still in flight when the sum failed or was cancelled must not become an unhandled rejection.
    if (next) next.catch(() => undefined);
  }
  return { acc, framesRead, bytesRead: framesRead * plan.npix * bytesPerPixel };
}

/** A unit over a file with a direct layout: what a worker_thread task runs (it opens the file itself, read-only). */
export interface DirectUnitArgs extends UnitPlan {
  path: string;
  direct: DirectLayout;
  dtype: PixelDType;
}

export async function runDirectUnit(args: DirectUnitArgs, signal?: AbortSignal): Promise<UnitResult> {
  const reader = await DirectBlockReader.open(args.path, args.direct, args.dtype, args.npix, args.blockFrames);
  try {
    return await runUnit(args, reader, BYTES_PER_PIXEL[args.dtype], signal);
  } finally {
    await reader.close();
  }
}
