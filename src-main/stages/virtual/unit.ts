// One unit of the virtual-imaging pass, as a worker runs it: bytes in, partial images out.
//
// virtualDirect: the worker opens the file itself (read-only) and streams its probe range (io/frame-stream.ts) into
// memory it owns; the bytes never pass through the main thread, and memory is a few blocks per worker whatever the
// file size.
//   - wasm kernel (default for uint8/uint16/uint32/float32): reads land straight in the kernel's memory, headers
//     included (one read per block, the kernel steps over them); big-endian pixels are swapped in its registers.
//   - JS kernel (other dtypes, or forced): two buffers, Buffer.swap16/32/64 in place for big-endian files.
//
// virtualBlock: the fallback for sources without a direct layout: the main thread reads frames with readFrames and
// transfers them here.

import { threadId } from 'node:worker_threads';
import { InputError, ParameterError } from '../../../src-shared/errors';
import { BYTES_PER_PIXEL, NATIVE_LITTLE_ENDIAN, viewPixels, type PixelArray, type PixelDType } from '../../../src-shared/pixels';
import { packedBlocks, stridedBlocks } from '../../io/frame-blocks';
import { streamBlocks, type BlockTiming } from '../../io/frame-stream';
import type { ReadMode } from '../../io/read-mode';
import type { DirectLayout } from '../../io/types';
import { openForStreaming, swapBytesInPlace } from '../../io/util';
import {
  accumulateFrames,
  createAccumulator,
  resolveKernel,
  writeWasmOutputs,
  type KernelChoice,
  type PatternOptions,
  type VirtualAccumulator,
} from '../../kernels/virtual-accumulate';
import type { CompiledDetectors } from '../../kernels/virtual-detectors';
import { WasmFrameKernel, type WasmDType } from '../../kernels/wasm';

/** What a worker sends back for its range (or block). */
export interface VirtualPartial extends VirtualAccumulator {
  bytesRead: number;
  /** Timeline of the task (only when asked for with `trace`). */
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
  blocks: BlockTiming[];
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
  /** Target bytes per read (default 1 MiB); at least one frame. */
  blockBytes?: number;
  /** Shared progress counters: the task stores its frames done at `progressSlot`. */
  progress?: Int32Array;
  progressSlot?: number;
  /** Inner loops (default 'auto': WebAssembly SIMD for uint8/uint16/uint32/float32, else JS). */
  kernel?: KernelChoice;
  /** Return a VirtualTaskTrace with the result. */
  trace?: boolean;
  /** How blocks are read (default 'auto'; io/read-mode.ts). */
  reads?: ReadMode;
}

const DEFAULT_BLOCK_BYTES = 1 << 20;
/** Areas of the wasm path: two reads in flight while a third block is summed. */
const WASM_AREAS = 3;
const now = (): number => performance.timeOrigin + performance.now();

export async function virtualDirect(a: VirtualDirectArgs, signal?: AbortSignal): Promise<VirtualPartial> {
  const trace: VirtualTaskTrace | undefined = a.trace ? { thread: threadId, start: now(), ready: 0, end: 0, blocks: [] } : undefined;
  const [nqy, nqx] = a.detectorShape;
  const bpe = BYTES_PER_PIXEL[a.dtype];
  const frameBytes = nqy * nqx * bpe;
  const stride = a.layout.frameStrideBytes;
  if (stride < frameBytes) {
    throw new InputError(a.path, `frames are ${stride} bytes apart but a ${nqy}×${nqx} ${a.dtype} frame takes ${frameBytes}`);
  }
  const acc = createAccumulator(a.compiled, a.count, a.patterns);
  const swap = bpe > 1 && a.layout.littleEndian !== NATIVE_LITTLE_ENDIAN;
  const useWasm = resolveKernel(a.kernel, a.dtype) === 'wasm';
  // A strided read takes a block whole, headers included; the JS loops need frames whose starts are a multiple of
  // the element size (always, except odd MIB headers), else the frames are read packed.
  const strided = useWasm || stride % bpe === 0;
  const span = strided ? stride : frameBytes;
  const perBlock = Math.max(1, Math.min(a.count, Math.floor((a.blockBytes ?? DEFAULT_BLOCK_BYTES) / span)));
  const plan = strided
    ? stridedBlocks(a.layout, frameBytes, a.start, a.count, perBlock)
    : packedBlocks(a.layout, frameBytes, [a.start, a.start + a.count], perBlock);
  const areaBytes = (perBlock - 1) * span + frameBytes;

  let areas: Uint8Array[];
  let sum: (block: number, area: number) => void;
  let finish = (): void => undefined;
  let release = (): void => undefined;
  if (useWasm) {
    const kernel = new WasmFrameKernel(a.compiled, a.dtype as WasmDType, { mean: acc.patternSum !== null, max: acc.patternMax !== null, areaBytes, areas: WASM_AREAS });
    areas = Array.from({ length: WASM_AREAS }, (_, i) => kernel.area(i));
    sum = (b, area) => {
      const n = plan.count[b];
      if (kernel.needsFlushBefore(n)) kernel.flushPatterns(acc.patternSum, acc.patternMax);
      writeWasmOutputs(a.compiled, acc, kernel.run(area, 0, n, stride, swap), n, plan.first[b] - a.start);
    };
    finish = () => kernel.flushPatterns(acc.patternSum, acc.patternMax);
    release = () => kernel.release();
  } else {
    areas = [new Uint8Array(areaBytes), new Uint8Array(areaBytes)];
    sum = (b, area) => {
      const bytes = areas[area].subarray(0, plan.blocks[b].bytes);
      if (swap) swapBytesInPlace(bytes, bpe);
      const data = viewPixels(a.dtype, bytes.buffer, 0, Math.floor(bytes.length / bpe));
      accumulateFrames(a.compiled, acc, { data, count: plan.count[b], position: plan.first[b] - a.start, stride: span / bpe }, { signal, kernel: 'js' });
    };
  }
  const fh = openForStreaming(a.path);
  let bytesRead: number;
  try {
    if (trace) trace.ready = now();
    bytesRead = await streamBlocks({
      file: fh,
      path: a.path,
      blocks: plan.blocks,
      areas,
      // The JS loops are slow enough that reading on libuv's pool while they sum pays, as it always did.
      mode: useWasm ? (a.reads ?? 'auto') : 'async',
      signal,
      timings: trace?.blocks,
      onBlock: (b, area) => {
        sum(b, area);
        if (a.progress) Atomics.store(a.progress, a.progressSlot ?? 0, plan.first[b] + plan.count[b] - a.start);
      },
    });
    finish();
    // Every read has landed: the kernel's instance can serve the worker's next task.
    release();
    // The wasm path counts frames here (writeWasmOutputs writes outputs only); the JS path counted them per block.
    if (useWasm) acc.frames = a.count;
  } finally {
    fh.close();
  }
  const part: VirtualPartial = { ...acc, bytesRead };
  if (trace) {
    trace.end = now();
    part.trace = trace;
  }
  return part;
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
  accumulateFrames(a.compiled, acc, { data: a.data, count: a.count, position: 0 }, { signal, kernel: a.kernel });
  return { ...acc, bytesRead: a.data.byteLength };
}
