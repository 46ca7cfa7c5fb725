// Worker-side virtual imaging: the glue between bytes and the pure kernel.
//
// virtualDirect: the worker opens the file itself (read-only) and streams its probe range with fs reads into
// reused buffers; the bytes never pass through the main thread, and memory is a few blocks per worker whatever
// the file size.
//   - wasm kernel (default for uint8/uint16/uint32/float32): the reads land straight in the WebAssembly kernel's
//     memory: synchronous on the worker while they come from the page cache, two blocks in flight once one comes
//     from the device; big-endian pixels are swapped in the kernel's registers.
//   - JS kernel (other dtypes, or forced): two buffers (the next read runs on libuv's thread pool while this
//     block is summed), Buffer.swap16/32/64 in place for big-endian files.
//
// virtualBlock: the fallback for sources without a direct layout: the main thread reads frames with readFrames
// and transfers them here.

import { readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { threadId } from 'node:worker_threads';
import { InputError, ParameterError, throwIfAborted } from '../../../src-shared/errors';
import type { DirectLayout } from '../../io/types';
import {
  accumulateFrames,
  createAccumulator,
  resolveKernel,
  writeWasmOutputs,
  type CompiledDetectors,
  type KernelChoice,
  type PatternOptions,
  type VirtualAccumulator,
} from '../../kernels/virtual-detectors';
import { WasmFrameKernel, type WasmDType } from '../../kernels/wasm';

import { SlowReadDetector, type ReadMode } from '../../io/read-mode';
import { type PixelArray, type PixelDType, BYTES_PER_PIXEL } from '../../../src-shared/pixels';

/** A typed view of `length` elements of `dtype` at the start of `buf`. */
export function viewAs(dtype: PixelDType, buf: ArrayBuffer, length: number): PixelArray {
  switch (dtype) {
    case 'uint8': return new Uint8Array(buf, 0, length);
    case 'int8': return new Int8Array(buf, 0, length);
    case 'uint16': return new Uint16Array(buf, 0, length);
    case 'int16': return new Int16Array(buf, 0, length);
    case 'uint32': return new Uint32Array(buf, 0, length);
    case 'int32': return new Int32Array(buf, 0, length);
    case 'float32': return new Float32Array(buf, 0, length);
    case 'float64': return new Float64Array(buf, 0, length);
  }
}

/** What a worker sends back for its range (or block). */
export interface VirtualPartial {
  outputs: Float32Array[];
  patternSum: Float64Array | null;
  patternMax: Float64Array | null;
  frames: number;
  /** Position within the range of the first frame with NaN/Inf, or −1. */
  firstNonFinite: number;
  bytesRead: number;
  /** Timeline of the task (only when asked for with `trace`): epoch milliseconds (performance.timeOrigin based). */
  trace?: VirtualTaskTrace;
}

/** Where a direct task's time went, for profiling (`npm run bench -- virtual`). Times in epoch ms. */
export interface VirtualTaskTrace {
  thread: number;
  start: number;
  /** File open and kernel set-up done. */
  ready: number;
  end: number;
  /** Per block: read issued, read complete, kernel start, kernel end. */
  blocks: Array<[number, number, number, number]>;
}

function partialOf(acc: VirtualAccumulator, bytesRead: number): VirtualPartial {
  return { ...acc, bytesRead };
}

export interface VirtualDirectArgs {
  path: string;
  layout: DirectLayout;
  dtype: PixelDType;
  detectorShape: [number, number];
  compiled: CompiledDetectors;
  patterns: PatternOptions;
  /** First flat probe index of the range and number of frames. */
  start: number;
  count: number;
  /** Target bytes per read (default 4 MiB); at least one frame. */
  blockBytes?: number;
  /** Shared progress counters: the task stores its frames done at `progressSlot`. */
  progress?: Int32Array;
  progressSlot?: number;
  /** Inner loops (default 'auto': WebAssembly SIMD for uint8/uint16/uint32/float32, else JS). */
  kernel?: KernelChoice;
  /** Return a VirtualTaskTrace with the result (wasm path only). */
  trace?: boolean;
  /**
   * wasm path, how blocks are read: 'sync' on this thread; 'async' with READ_DEPTH reads in flight on libuv's pool;
   * 'auto' (default) sync while the reads come at page-cache speed, async from the first read that does not.
   */
  reads?: ReadMode;
}

const DEFAULT_BLOCK_BYTES = 4 << 20;

export async function virtualDirect(a: VirtualDirectArgs, signal?: AbortSignal): Promise<VirtualPartial> {
  if (resolveKernel(a.kernel, a.dtype) === 'wasm') return virtualDirectWasm(a, a.dtype as WasmDType, signal);
  const [nqy, nqx] = a.detectorShape;
  const npix = nqy * nqx;
  const bpe = BYTES_PER_PIXEL[a.dtype];
  const frameBytes = npix * bpe;
  const stride = a.layout.frameStrideBytes;
  if (stride < frameBytes) {
    throw new InputError(a.path, `frames are ${stride} bytes apart but a ${nqy}×${nqx} ${a.dtype} frame takes ${frameBytes}`);
  }
  const acc = createAccumulator(a.compiled, a.count, a.patterns);
  // When every frame starts at a multiple of the element size (always, except odd MIB headers), one read covers a
  // whole block, headers included, and the kernel steps over the headers with its stride. Otherwise each frame's
  // pixels are read into a packed block.
  const aligned = stride % bpe === 0;
  const span = aligned ? stride : frameBytes;
  const perBlock = Math.max(1, Math.floor((a.blockBytes ?? DEFAULT_BLOCK_BYTES) / span));
  const bufBytes = (perBlock - 1) * span + frameBytes;
  const bufs = [new ArrayBuffer(bufBytes), new ArrayBuffer(bufBytes)];
  const swap = bpe > 1 && a.layout.littleEndian !== isLittleEndianHost();
  const fh = await open(a.path, 'r');
  let bytesRead = 0;

  const readFully = async (buf: Buffer, position: number): Promise<void> => {
    let got = 0;
    while (got < buf.length) {
      const { bytesRead: n } = await fh.read(buf, got, buf.length - got, position + got);
      if (n === 0) {
        throw new InputError(a.path, `file ends at byte ${position + got}, frames need bytes up to ${position + buf.length} (truncated?)`);
      }
      got += n;
    }
    bytesRead += got;
  };

  /** Reads frames [first, first+n) of the range into bufs[which]; resolves to the block's byte length. */
  const readBlock = async (first: number, n: number, which: number): Promise<number> => {
    const frame0 = a.start + first;
    if (aligned) {
      const len = (n - 1) * stride + frameBytes;
      await readFully(Buffer.from(bufs[which], 0, len), a.layout.offset + frame0 * stride);
      return len;
    }
    for (let k = 0; k < n; k++) {
      await readFully(Buffer.from(bufs[which], k * frameBytes, frameBytes), a.layout.offset + (frame0 + k) * stride);
    }
    return n * frameBytes;
  };

  let pending: Promise<number> | null = null;
  try {
    let first = 0;
    let which = 0;
    let n = Math.min(perBlock, a.count);
    pending = a.count > 0 ? readBlock(0, n, 0) : null;
    while (pending) {
      const len = await pending;
      pending = null;
      throwIfAborted(signal);
      const nextFirst = first + n;
      const nextN = Math.min(perBlock, a.count - nextFirst);
      if (nextN > 0) pending = readBlock(nextFirst, nextN, 1 - which);
      if (swap) {
        const b = Buffer.from(bufs[which], 0, len);
        if (bpe === 2) b.swap16();
        else if (bpe === 4) b.swap32();
        else b.swap64();
      }
      accumulateFrames(
        a.compiled,
        acc,
        { data: viewAs(a.dtype, bufs[which], len / bpe), count: n, position: first, stride: span / bpe },
        signal,
        'js',
      );
      if (a.progress) Atomics.store(a.progress, a.progressSlot ?? 0, nextFirst);
      first = nextFirst;
      n = nextN;
      which = 1 - which;
    }
  } finally {
    // Never close the file under a read that is still in flight.
    if (pending) await pending.catch(() => undefined);
    await fh.close();
  }
  return partialOf(acc, bytesRead);
}

/** Reads in flight while a block is summed (wasm path); one more area holds the block being summed. */
const READ_DEPTH = 2;
const AREAS = READ_DEPTH + 1;

const now = (): number => performance.timeOrigin + performance.now();

/**
 * virtualDirect with the wasm kernel: the file is read straight into the kernel's memory, headers included, so one
 * read per block whatever the frame alignment; the kernel swaps big-endian pixels in its registers. Reads are
 * synchronous while they come from the page cache, then pipelined (READ_DEPTH in flight while a block is summed).
 */
async function virtualDirectWasm(a: VirtualDirectArgs, dtype: WasmDType, signal?: AbortSignal): Promise<VirtualPartial> {
  const trace: VirtualTaskTrace | undefined = a.trace ? { thread: threadId, start: now(), ready: 0, end: 0, blocks: [] } : undefined;
  const [nqy, nqx] = a.detectorShape;
  const bpe = BYTES_PER_PIXEL[dtype];
  const frameBytes = nqy * nqx * bpe;
  const stride = a.layout.frameStrideBytes;
  if (stride < frameBytes) {
    throw new InputError(a.path, `frames are ${stride} bytes apart but a ${nqy}×${nqx} ${dtype} frame takes ${frameBytes}`);
  }
  const acc = createAccumulator(a.compiled, a.count, a.patterns);
  const perBlock = Math.max(1, Math.min(a.count, Math.floor((a.blockBytes ?? DEFAULT_BLOCK_BYTES) / stride)));
  const kernel = new WasmFrameKernel(a.compiled, dtype, {
    mean: acc.patternSum !== null,
    max: acc.patternMax !== null,
    areaBytes: (perBlock - 1) * stride + frameBytes,
    areas: AREAS,
  });
  const swap = bpe > 1 && a.layout.littleEndian !== isLittleEndianHost();
  const fh = await open(a.path, 'r');
  let bytesRead = 0;

  const blockLength = (n: number): number => (n - 1) * stride + frameBytes;
  const positionOf = (first: number): number => a.layout.offset + (a.start + first) * stride;
  const truncated = (at: number, end: number): InputError =>
    new InputError(a.path, `file ends at byte ${at}, frames need bytes up to ${end} (truncated?)`);

  /** Reads frames [first, first+n) of the range into area `which`. */
  const readBlock = async (first: number, n: number, which: number): Promise<void> => {
    const area = kernel.area(which);
    const len = blockLength(n);
    const buf = Buffer.from(area.buffer, area.byteOffset, len);
    const position = positionOf(first);
    let got = 0;
    while (got < len) {
      const { bytesRead: m } = await fh.read(buf, got, len - got, position + got);
      if (m === 0) throw truncated(position + got, position + len);
      got += m;
    }
    bytesRead += got;
  };

  /** The same, on this thread. */
  const readBlockSync = (first: number, n: number, which: number): void => {
    const area = kernel.area(which);
    const len = blockLength(n);
    const position = positionOf(first);
    let got = 0;
    while (got < len) {
      const m = readSync(fh.fd, area, got, len - got, position + got);
      if (m === 0) throw truncated(position + got, position + len);
      got += m;
    }
    bytesRead += got;
  };

  const sum = (first: number, n: number, which: number): void => {
    if (kernel.needsFlushBefore(n)) kernel.flushPatterns(acc.patternSum, acc.patternMax);
    writeWasmOutputs(a.compiled, acc, kernel.run(which, 0, n, stride, swap), n, first);
    if (a.progress) Atomics.store(a.progress, a.progressSlot ?? 0, first + n);
  };

  // Every area holds a read in flight except the one being summed (READ_DEPTH blocks ahead), so the device
  // always has requests queued from this worker while the kernel runs.
  const inflight: Array<{ first: number; n: number; area: number; done: Promise<void>; t: [number, number, number, number] | null }> = [];
  let nextFirst = 0;
  let nextArea = 0;
  const issue = (): void => {
    const n = Math.min(perBlock, a.count - nextFirst);
    if (n <= 0) return;
    const t: [number, number, number, number] | null = trace ? [now(), 0, 0, 0] : null;
    const done = t ? readBlock(nextFirst, n, nextArea).then(() => void (t[1] = now())) : readBlock(nextFirst, n, nextArea);
    done.catch(() => undefined); // awaited in order below
    if (t) trace!.blocks.push(t);
    inflight.push({ first: nextFirst, n, area: nextArea, done, t });
    nextFirst += n;
    nextArea = (nextArea + 1) % AREAS;
  };
  try {
    if (trace) trace.ready = now();
    // Synchronous phase while reads come from the page cache, then pipelined (see io/read-mode.ts).
    const slowReads = new SlowReadDetector(a.reads ?? 'auto');
    if (slowReads.startsSync) {
      while (nextFirst < a.count) {
        throwIfAborted(signal);
        const n = Math.min(perBlock, a.count - nextFirst);
        const t0 = performance.now();
        readBlockSync(nextFirst, n, 0);
        const readMs = performance.now() - t0;
        if (trace) trace.blocks.push([performance.timeOrigin + t0, now(), now(), 0]);
        sum(nextFirst, n, 0);
        if (trace) trace.blocks[trace.blocks.length - 1][3] = now();
        nextFirst += n;
        if (slowReads.record(blockLength(n), readMs)) break;
      }
    }
    for (let k = 0; k < AREAS; k++) issue();
    while (inflight.length > 0) {
      const blk = inflight[0];
      await blk.done;
      throwIfAborted(signal);
      inflight.shift();
      if (blk.t) blk.t[2] = now();
      sum(blk.first, blk.n, blk.area);
      if (blk.t) blk.t[3] = now();
      issue(); // into the area just summed: only now is it free
    }
    kernel.flushPatterns(acc.patternSum, acc.patternMax);
    acc.frames = a.count;
  } finally {
    // Never close the file under a read that is still in flight.
    for (const r of inflight) await r.done.catch(() => undefined);
    await fh.close();
  }
  const part = partialOf(acc, bytesRead);
  if (trace) {
    trace.end = now();
    part.trace = trace;
  }
  return part;
}

let hostLE: boolean | undefined;
function isLittleEndianHost(): boolean {
  hostLE ??= new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  return hostLE;
}

export interface VirtualBlockArgs {
  compiled: CompiledDetectors;
  patterns: PatternOptions;
  data: PixelArray;
  count: number;
  kernel?: KernelChoice;
}

export function virtualBlock(a: VirtualBlockArgs, signal?: AbortSignal): VirtualPartial {
  const npix = a.compiled.detectorShape[0] * a.compiled.detectorShape[1];
  if (a.data.length < a.count * npix) {
    throw new ParameterError('data', `holds ${a.data.length} pixels, ${a.count} frames need ${a.count * npix}`);
  }
  const acc = createAccumulator(a.compiled, a.count, a.patterns);
  accumulateFrames(a.compiled, acc, { data: a.data, count: a.count, position: 0 }, signal, a.kernel);
  return partialOf(acc, a.data.byteLength);
}
