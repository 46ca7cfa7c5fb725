// Block readers for the extraction pass: bounded memory, reused buffers, and reads in flight ahead of the block being
// summed (the kernel is synchronous, so the next fs reads proceed in libuv's thread pool while this thread adds the
// current block).
//
// Sources with a `direct` layout (contiguous HDF5, uncompressed chunks) are read here with plain fs reads; everything
// else goes through the source's own readFrames. MIB is left to its reader, which validates every frame header.
//
// Two kernels (kernel choice 'auto' | 'js' | 'wasm', like the virtual-imaging pass):
//   - wasm (default for uint8/uint16/uint32/float32): WebAssembly SIMD (../kernels/wasm/extract.ts). Direct reads
//     land straight in the kernel's memory: synchronous while they come from the page cache, then two blocks in
//     flight while a third is summed (../io/read-mode.ts); big-endian pixels are swapped in the kernel's registers.
//     readFrames blocks are copied in.
//   - js (other dtypes, or forced): accumulateFramesInto over two ping-pong buffers, swapped in place. The reference.

import { open, type FileHandle } from 'node:fs/promises';
import { InputError, ParameterError, throwIfAborted } from '../../../src-shared/errors';
import type { DirectLayout, FourDSource } from '../../io/types';
import { readExactly, readExactlySync, swapBytesInPlace } from '../../io/util';
import { readModeFromEnv, SlowReadDetector, type ReadMode } from '../../io/read-mode';
import {
  extractWasmAvailable,
  extractWasmSupports,
  WasmExtractKernel,
  type WasmExtractDType,
} from '../../kernels/wasm/extract';
import { accumulateFramesInto, createAccumulators, type TargetAccumulators, type TargetMap } from '../../kernels/extract';
import type { ExtractKernelChoice } from './types';

import { type PixelArray, type PixelDType, BYTES_PER_PIXEL, NATIVE_LITTLE_ENDIAN, viewPixels, dtypeOf } from '../../../src-shared/pixels';

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

  async read(start: number, count: number, signal?: AbortSignal): Promise<PixelArray> {
    if (count > this.maxFrames) throw new RangeError(`block of ${count} frames exceeds the reader's ${this.maxFrames}`);
    throwIfAborted(signal);
    const buf = this.buffers[this.turn];
    this.turn ^= 1;
    const bytes = new Uint8Array(buf, 0, count * this.frameBytes);
    await readPackedFrames(this.fh, this.path, this.direct, this.frameBytes, bytes, start, count);
    const width = BYTES_PER_PIXEL[this.dtype];
    if (width > 1 && this.direct.littleEndian !== NATIVE_LITTLE_ENDIAN) swapInPlace(bytes, width);
    return viewPixels(this.dtype, buf, 0, (count * this.frameBytes) / width);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Byte offset of frame i of a direct layout. */
function frameOffset(d: DirectLayout, i: number): number {
  return d.frameOffsets ? d.frameOffsets[i] : d.offset + i * d.frameStrideBytes;
}

/**
 * The reads that bring frames [start, start+count) of a direct layout into a buffer, packed `frameBytes` apart:
 * [offset in the buffer, length, position in the file]. Frames that sit back to back in the file are one read.
 */
function* packedReads(direct: DirectLayout, frameBytes: number, start: number, count: number): Generator<[number, number, number]> {
  const fb = frameBytes;
  const stride = direct.frameOffsets ? fb : direct.frameStrideBytes;
  let i = 0;
  while (i < count) {
    let n = 1;
    const first = frameOffset(direct, start + i);
    if (stride === fb) while (i + n < count && frameOffset(direct, start + i + n) === first + n * fb) n++;
    yield [i * fb, n * fb, first];
    i += n;
  }
}

/** Reads frames [start, start+count) of a direct layout into `bytes`, packed `frameBytes` apart. */
async function readPackedFrames(
  fh: FileHandle,
  path: string,
  direct: DirectLayout,
  frameBytes: number,
  bytes: Uint8Array,
  start: number,
  count: number,
): Promise<void> {
  for (const [at, length, position] of packedReads(direct, frameBytes, start, count)) await readExactly(fh, path, bytes, at, length, position);
}

/** readPackedFrames on this thread. */
function readPackedFramesSync(
  fd: number,
  path: string,
  direct: DirectLayout,
  frameBytes: number,
  bytes: Uint8Array,
  start: number,
  count: number,
): void {
  for (const [at, length, position] of packedReads(direct, frameBytes, start, count)) readExactlySync(fd, path, bytes, at, length, position);
}

/** Byte swap in place: Buffer's native swaps where the view is aligned for them, else the generic loop. */
function swapInPlace(bytes: Uint8Array, width: number): void {
  if (bytes.length % width !== 0) return swapBytesInPlace(bytes, width);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (width === 2) b.swap16();
  else if (width === 4) b.swap32();
  else if (width === 8) b.swap64();
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
  /** Inner loops (default 'auto': WebAssembly SIMD for uint8/uint16/uint32/float32, else JS). */
  kernel?: ExtractKernelChoice;
}

export interface UnitResult {
  acc: TargetAccumulators;
  framesRead: number;
  bytesRead: number;
}

/** The kernel `choice` resolves to for `dtype` (ParameterError for 'wasm' where it cannot run). */
export function resolveExtractKernel(choice: ExtractKernelChoice | undefined, dtype: PixelDType): 'js' | 'wasm' {
  if (choice === 'js') return 'js';
  const ok = extractWasmSupports(dtype) && extractWasmAvailable();
  if (choice === 'wasm' && !ok) {
    throw new ParameterError(
      'kernel',
      extractWasmSupports(dtype) ? 'WebAssembly SIMD is not available in this runtime' : `the wasm extraction kernel does not handle ${dtype}`,
    );
  }
  return ok ? 'wasm' : 'js';
}

/** The unit's runs as blocks of at most blockFrames frames, flattened: start0, count0, start1, count1, … */
function blocksOf(plan: UnitPlan): number[] {
  const blocks: number[] = [];
  for (let r = 0; r < plan.runs.length; r += 2) {
    for (let s = plan.runs[r]; s < plan.runs[r + 1]; s += plan.blockFrames) blocks.push(s, Math.min(plan.blockFrames, plan.runs[r + 1] - s));
  }
  return blocks;
}

/**
 * Reads the unit's runs block by block, one read ahead, and sums them into fresh accumulators. With the wasm
 * kernel each block is copied into the kernel's memory (sources without a direct layout; the bytes are already in
 * this thread).
 */
export async function runUnit(plan: UnitPlan, reader: BlockReader, bytesPerPixel: number, signal?: AbortSignal): Promise<UnitResult> {
  const acc = createAccumulators(plan.map.nTargets, plan.npix, plan.saturationLevel !== undefined);
  const blocks = blocksOf(plan);
  let framesRead = 0;
  if (blocks.length === 0) return { acc, framesRead, bytesRead: 0 };
  let next: Promise<PixelArray> | null = reader.read(blocks[0], blocks[1], signal);
  let wasm: WasmExtractKernel | null = null;
  try {
    for (let b = 0; b < blocks.length; b += 2) {
      const data: PixelArray = await next!;
      next = b + 2 < blocks.length ? reader.read(blocks[b + 2], blocks[b + 3], signal) : null;
      throwIfAborted(signal);
      if (b === 0) {
        const dtype = dtypeOf(data);
        if (resolveExtractKernel(plan.kernel, dtype) === 'wasm') {
          wasm = new WasmExtractKernel(plan.map, plan.npix, dtype as WasmExtractDType, {
            saturationLevel: plan.saturationLevel,
            areaBytes: plan.blockFrames * plan.npix * bytesPerPixel,
          });
        }
      }
      const count = blocks[b + 1];
      if (wasm) {
        if (wasm.needsFlushBefore(count)) wasm.flushInto(acc);
        wasm.area(0).set(new Uint8Array(data.buffer, data.byteOffset, count * plan.npix * bytesPerPixel));
        wasm.run(0, blocks[b], count, false);
      } else {
        accumulateFramesInto({ frames: data, start: blocks[b], count, npix: plan.npix, map: plan.map, saturationLevel: plan.saturationLevel }, acc);
      }
      framesRead += count;
      if (plan.progress) Atomics.add(plan.progress, plan.progressSlot ?? 0, count);
    }
    wasm?.flushInto(acc);
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
  /** wasm path: how blocks are read (default env TRACKED_VIRTUAL_READS, else 'auto'; see io/read-mode.ts). */
  reads?: ReadMode;
}

export async function runDirectUnit(args: DirectUnitArgs, signal?: AbortSignal): Promise<UnitResult> {
  if (resolveExtractKernel(args.kernel, args.dtype) === 'wasm') return runDirectUnitWasm(args, args.dtype as WasmExtractDType, signal);
  const reader = await DirectBlockReader.open(args.path, args.direct, args.dtype, args.npix, args.blockFrames);
  try {
    return await runUnit({ ...args, kernel: 'js' }, reader, BYTES_PER_PIXEL[args.dtype], signal);
  } finally {
    await reader.close();
  }
}

/** Reads in flight while a block is summed (wasm path); one more area holds the block being summed. */
const READ_DEPTH = 2;
const AREAS = READ_DEPTH + 1;

/**
 * runDirectUnit with the wasm kernel: fs reads straight into the kernel's memory, synchronous while they come from
 * the page cache, then READ_DEPTH blocks ahead (io/read-mode.ts).
 */
async function runDirectUnitWasm(args: DirectUnitArgs, dtype: WasmExtractDType, signal?: AbortSignal): Promise<UnitResult> {
  const acc = createAccumulators(args.map.nTargets, args.npix, args.saturationLevel !== undefined);
  const blocks = blocksOf(args);
  if (blocks.length === 0) return { acc, framesRead: 0, bytesRead: 0 };
  const frameBytes = args.npix * BYTES_PER_PIXEL[dtype];
  const kernel = new WasmExtractKernel(args.map, args.npix, dtype, {
    saturationLevel: args.saturationLevel,
    areaBytes: args.blockFrames * frameBytes,
    areas: AREAS,
  });
  const swap = BYTES_PER_PIXEL[dtype] > 1 && args.direct.littleEndian !== NATIVE_LITTLE_ENDIAN;
  const fh = await open(args.path, 'r');
  let framesRead = 0;
  const inflight: Array<{ b: number; area: number; done: Promise<void> }> = [];
  let nextBlock = 0;
  let nextArea = 0;
  const issue = (): void => {
    if (nextBlock >= blocks.length) return;
    const b = nextBlock;
    const bytes = kernel.area(nextArea).subarray(0, blocks[b + 1] * frameBytes);
    const done = readPackedFrames(fh, args.path, args.direct, frameBytes, bytes, blocks[b], blocks[b + 1]);
    done.catch(() => undefined); // awaited in order below
    inflight.push({ b, area: nextArea, done });
    nextBlock += 2;
    nextArea = (nextArea + 1) % AREAS;
  };
  const sum = (b: number, area: number): void => {
    const count = blocks[b + 1];
    if (kernel.needsFlushBefore(count)) kernel.flushInto(acc);
    kernel.run(area, blocks[b], count, swap);
    framesRead += count;
    if (args.progress) Atomics.add(args.progress, args.progressSlot ?? 0, count);
  };
  try {
    const slowReads = new SlowReadDetector(args.reads ?? readModeFromEnv() ?? 'auto');
    if (slowReads.startsSync) {
      while (nextBlock < blocks.length) {
        throwIfAborted(signal);
        const b = nextBlock;
        const bytes = kernel.area(0).subarray(0, blocks[b + 1] * frameBytes);
        const t0 = performance.now();
        readPackedFramesSync(fh.fd, args.path, args.direct, frameBytes, bytes, blocks[b], blocks[b + 1]);
        const readMs = performance.now() - t0;
        sum(b, 0);
        nextBlock += 2;
        if (slowReads.record(bytes.length, readMs)) break;
      }
    }
    for (let k = 0; k < READ_DEPTH; k++) issue();
    while (inflight.length > 0) {
      const blk = inflight[0];
      await blk.done;
      throwIfAborted(signal);
      inflight.shift();
      // Keep READ_DEPTH reads queued while this block is summed: the area issued into is neither this one nor one
      // still being read.
      issue();
      sum(blk.b, blk.area);
    }
    kernel.flushInto(acc);
  } finally {
    // Never close the file under a read that is still in flight.
    for (const r of inflight) await r.done.catch(() => undefined);
    await fh.close();
  }
  return { acc, framesRead, bytesRead: framesRead * frameBytes };
}
