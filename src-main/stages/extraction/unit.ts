// One unit of the extraction pass: the probe runs of one tilt that some target claims, summed into fresh
// accumulators. A worker runs units over files with a direct layout (it opens the file itself, read-only, and
// streams the runs with io/frame-stream.ts); other sources go through their own readFrames on the main thread.
// MIB is left to its reader, which validates every frame header.
//
// Two kernels (choice 'auto' | 'js' | 'wasm', like the virtual-imaging pass):
//   - wasm (default for uint8/uint16/uint32/float32): WebAssembly SIMD (kernels/wasm/extract.ts). Direct reads land
//     straight in the kernel's memory; big-endian pixels are swapped in the kernel's registers. readFrames blocks
//     are copied in.
//   - js (other dtypes, or forced): kernels/extract.ts accumulateFramesInto over two buffers, swapped in place. The
//     reference.

import { InputError, throwIfAborted } from '../../../src-shared/errors';
import { BYTES_PER_PIXEL, NATIVE_LITTLE_ENDIAN, dtypeOf, viewPixels, type PixelArray, type PixelDType } from '../../../src-shared/pixels';
import { packedBlocks } from '../../io/frame-blocks';
import { streamBlocks } from '../../io/frame-stream';
import { readModeFromEnv, type ReadMode } from '../../io/read-mode';
import type { DirectLayout, FourDSource } from '../../io/types';
import { openForStreaming, swapBytesInPlace } from '../../io/util';
import {
  accumulateFramesInto,
  createAccumulators,
  resolveExtractKernel,
  type ExtractKernelChoice,
  type TargetAccumulators,
  type TargetMap,
} from '../../kernels/extract';
import { WasmExtractKernel, type WasmExtractDType } from '../../kernels/wasm/extract';

/** Everything a unit needs besides its source; structured-cloneable, so a worker_thread can run it. */
export interface UnitPlan {
  /** [start, end) probe ranges to read, flattened: start0, end0, start1, end1, … */
  runs: Int32Array;
  map: TargetMap;
  npix: number;
  saturationLevel?: number;
  /** Frames per read block. */
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

/** True when `direct` can be streamed by a worker (MIB goes through its own, header-checking reader). */
export function canReadDirect(direct: DirectLayout | undefined): direct is DirectLayout {
  return !!direct && (direct.kind === 'contiguous' || direct.kind === 'chunked-uncompressed');
}

/** A unit over a file with a direct layout: what a worker_thread task runs (it opens the file itself, read-only). */
export interface DirectUnitArgs extends UnitPlan {
  path: string;
  direct: DirectLayout;
  dtype: PixelDType;
  /** How blocks are read (default env TRACKED_VIRTUAL_READS, else 'auto'; io/read-mode.ts). */
  reads?: ReadMode;
}

/** Areas of the wasm path: two reads in flight while a third block is summed. */
const WASM_AREAS = 3;

/** Sums the unit's runs of a file with a direct layout, streaming them from the file. */
export async function runDirectUnit(args: DirectUnitArgs, signal?: AbortSignal): Promise<UnitResult> {
  const bpp = BYTES_PER_PIXEL[args.dtype];
  const frameBytes = args.npix * bpp;
  const acc = createAccumulators(args.map.nTargets, args.npix, args.saturationLevel !== undefined);
  const plan = packedBlocks(args.direct, frameBytes, args.runs, Math.max(1, args.blockFrames));
  if (plan.blocks.length === 0) return { acc, framesRead: 0, bytesRead: 0 };
  const swap = bpp > 1 && args.direct.littleEndian !== NATIVE_LITTLE_ENDIAN;
  const areaBytes = Math.max(...plan.count) * frameBytes;
  let areas: Uint8Array[];
  let sum: (b: number, area: number) => void;
  let finish = (): void => undefined;
  if (resolveExtractKernel(args.kernel, args.dtype) === 'wasm') {
    const kernel = new WasmExtractKernel(args.map, args.npix, args.dtype as WasmExtractDType, { saturationLevel: args.saturationLevel, areaBytes, areas: WASM_AREAS });
    areas = Array.from({ length: WASM_AREAS }, (_, i) => kernel.area(i));
    sum = (b, area) => {
      if (kernel.needsFlushBefore(plan.count[b])) kernel.flushInto(acc);
      kernel.run(area, plan.first[b], plan.count[b], swap);
    };
    finish = () => kernel.flushInto(acc);
  } else {
    areas = [new Uint8Array(areaBytes), new Uint8Array(areaBytes)];
    sum = (b, area) => {
      const bytes = areas[area].subarray(0, plan.count[b] * frameBytes);
      if (swap) swapBytesInPlace(bytes, bpp);
      const frames = viewPixels(args.dtype, bytes.buffer, 0, plan.count[b] * args.npix);
      accumulateFramesInto({ frames, start: plan.first[b], count: plan.count[b], npix: args.npix, map: args.map, saturationLevel: args.saturationLevel }, acc);
    };
  }
  let framesRead = 0;
  const fh = openForStreaming(args.path);
  try {
    await streamBlocks({
      file: fh,
      path: args.path,
      blocks: plan.blocks,
      areas,
      mode: args.reads ?? readModeFromEnv() ?? 'auto',
      signal,
      onBlock: (b, area) => {
        sum(b, area);
        framesRead += plan.count[b];
        if (args.progress) Atomics.add(args.progress, args.progressSlot ?? 0, plan.count[b]);
      },
    });
    finish();
  } finally {
    fh.close();
  }
  return { acc, framesRead, bytesRead: framesRead * frameBytes };
}

/** Reads `count` frames from `start` through the source's readFrames, checking it returned them all. */
async function readChecked(source: FourDSource, start: number, count: number, signal: AbortSignal | undefined): Promise<PixelArray> {
  const npix = source.detectorShape[0] * source.detectorShape[1];
  const a = await source.readFrames(start, count, signal);
  if (a.length < count * npix) {
    throw new InputError(source.path, `readFrames(${start}, ${count}) returned ${a.length} pixels, expected ${count * npix}`);
  }
  return a;
}

/**
 * Sums the unit's runs of any source through its readFrames, one block read ahead of the one being summed. With the
 * wasm kernel each block is copied into the kernel's memory (the bytes are already in this thread).
 */
export async function runSourceUnit(plan: UnitPlan, source: FourDSource, signal?: AbortSignal): Promise<UnitResult> {
  const bpp = BYTES_PER_PIXEL[source.dtype];
  const acc = createAccumulators(plan.map.nTargets, plan.npix, plan.saturationLevel !== undefined);
  const blocks: number[] = [];
  for (let r = 0; r < plan.runs.length; r += 2) {
    for (let s = plan.runs[r]; s < plan.runs[r + 1]; s += plan.blockFrames) blocks.push(s, Math.min(plan.blockFrames, plan.runs[r + 1] - s));
  }
  let framesRead = 0;
  if (blocks.length === 0) return { acc, framesRead, bytesRead: 0 };
  let next: Promise<PixelArray> | null = readChecked(source, blocks[0], blocks[1], signal);
  let wasm: WasmExtractKernel | null = null;
  try {
    for (let b = 0; b < blocks.length; b += 2) {
      const data: PixelArray = await next!;
      next = b + 2 < blocks.length ? readChecked(source, blocks[b + 2], blocks[b + 3], signal) : null;
      throwIfAborted(signal);
      const dtype = dtypeOf(data);
      if (b === 0 && resolveExtractKernel(plan.kernel, dtype) === 'wasm') {
        wasm = new WasmExtractKernel(plan.map, plan.npix, dtype as WasmExtractDType, { saturationLevel: plan.saturationLevel, areaBytes: plan.blockFrames * plan.npix * bpp });
      }
      const count = blocks[b + 1];
      if (wasm) {
        if (wasm.needsFlushBefore(count)) wasm.flushInto(acc);
        wasm.area(0).set(new Uint8Array(data.buffer, data.byteOffset, count * plan.npix * bpp));
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
  return { acc, framesRead, bytesRead: framesRead * plan.npix * bpp };
}
