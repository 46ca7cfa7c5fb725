// The WebAssembly SIMD extraction kernel (source: ./extract-kernel.ts, AssemblyScript; binary: the generated base64
// module, rebuilt by `npm run build:wasm`). Pure compute on this module's own linear memory: no I/O, no Node APIs.
//
// One WasmExtractKernel = one WebAssembly instance laid out for one target map (one tilt's objects and rings), one
// dtype and a fixed number of frame areas. Memory never grows after construction, so views of it (and fs reads into
// them) stay valid for the kernel's life. Callers put packed frames into `area(i)` (copy, or read a file straight
// into it), `run` them, and `flushInto` the caller's float64 accumulators at the end (and whenever
// `needsFlushBefore` says the uint32 sums could overflow).
//
// The JS kernel (../../extraction/kernel.ts, accumulateFramesInto) is the reference; for integer data both give the
// same accumulators bit for bit, and for float32 too (float64 sums in the same order).

import type { TargetAccumulators, TargetMap } from '../extract';
import { WASM_BASE64 } from './extract-kernel.generated';
import { AreaKernel, HeapLayout, addKernelSums, alignUp, lazyWasm, type WasmMemory } from './loader';

/** Pixel types the wasm extraction kernel handles; everything else uses the JS kernel. */
export type WasmExtractDType = 'uint8' | 'uint16' | 'uint32' | 'float32';

const CODE: Record<WasmExtractDType, number> = { uint8: 0, uint16: 1, uint32: 2, float32: 3 };
const SIZE: Record<WasmExtractDType, number> = { uint8: 1, uint16: 2, uint32: 4, float32: 4 };
const MAX_INT: Record<WasmExtractDType, number> = { uint8: 255, uint16: 65535, uint32: 4294967295, float32: Infinity };
/** Frames whose uint32 per-pixel sums cannot overflow (255 · n < 2^32, 65535 · n < 2^32). */
const FLUSH_LIMIT: Record<WasmExtractDType, number> = { uint8: 16_843_009, uint16: 65_537, uint32: Infinity, float32: Infinity };

interface KernelExports {
  memory: WasmMemory;
  heapBase(): number;
  accumulate(
    dtype: number, ptr: number, count: number, frameBytes: number, npix: number, swap: number,
    offsets: number, ids: number, start: number, nObj: number,
    sums: number, counts: number, shared: number, sat: number, check: number, level: number,
  ): number;
}

const wasm = lazyWasm(WASM_BASE64);

export function extractWasmAvailable(): boolean {
  return wasm.module() !== null;
}

export function extractWasmUnavailableReason(): string | null {
  return wasm.reason();
}

export function extractWasmSupports(dtype: string): dtype is WasmExtractDType {
  return Object.hasOwn(CODE, dtype);
}

/**
 * The threshold, in the pixel's own type, that gives the JS kernel's answer to `value >= level` (level a finite
 * float64): null when no pixel of the type can reach it. Integers: ⌈level⌉ clamped at 0. float32: the smallest
 * float32 ≥ level, as its bit pattern.
 */
export function saturationThreshold(dtype: WasmExtractDType, level: number): number | null {
  if (dtype === 'float32') {
    let f = Math.fround(level);
    if (f < level) {
      // The next float32 up (level is finite, so f is too, or f = max float32 and the next is +Infinity).
      const b = new Float32Array([f]);
      const u = new Uint32Array(b.buffer);
      if (f === 0) u[0] = 1;
      else if (f > 0) u[0] += 1;
      else u[0] -= 1;
      f = b[0];
    }
    return new Uint32Array(new Float32Array([f]).buffer)[0];
  }
  const L = Math.max(0, Math.ceil(level));
  return L > MAX_INT[dtype] ? null : L;
}

export interface WasmExtractOptions {
  /** Pixel values ≥ this are saturated (flags per target); absent: no check. */
  saturationLevel?: number;
  /** Bytes of each frame area (at least one frame). */
  areaBytes: number;
  /** Number of frame areas (e.g. 3 for two reads in flight while one block is summed; default 1). */
  areas?: number;
}


export class WasmExtractKernel extends AreaKernel {
  readonly dtype: WasmExtractDType;
  readonly npix: number;
  readonly frameBytes: number;
  /** Most frames one `run` may take. */
  readonly maxFrames: number;
  private readonly ex: KernelExports;
  private readonly nTargets: number;
  private readonly nObj: number;
  private readonly check: boolean;
  private readonly level: number;
  private readonly offsetsPtr: number;
  private readonly idsPtr: number;
  private readonly sumsPtr: number;
  private readonly countsPtr: number;
  private readonly sharedPtr: number;
  private readonly satPtr: number;
  private readonly nProbes: number;

  constructor(map: TargetMap, npix: number, dtype: WasmExtractDType, opts: WasmExtractOptions) {
    const ex = wasm.instantiate().exports as unknown as KernelExports;
    super(ex.memory, alignUp(Math.max(npix * SIZE[dtype], opts.areaBytes), 16), FLUSH_LIMIT[dtype]);
    this.ex = ex;
    this.dtype = dtype;
    this.npix = npix;
    this.frameBytes = npix * SIZE[dtype];
    this.maxFrames = Math.floor(this.areaBytes / this.frameBytes);
    this.nTargets = map.nTargets;
    this.nObj = map.nObjectTargets;
    this.nProbes = map.offsets.length - 1;
    const threshold = opts.saturationLevel === undefined ? null : saturationThreshold(dtype, opts.saturationLevel);
    this.check = threshold !== null;
    this.level = threshold ?? 0;
    const wide = dtype === 'uint32' || dtype === 'float32';

    // Layout: map, sums, counts, shared, saturation flags, frame areas (each 16-byte aligned).
    const heap = new HeapLayout(this.ex.memory, this.ex.heapBase());
    const take = (bytes: number): number => heap.take(bytes);
    this.offsetsPtr = take(map.offsets.byteLength);
    this.idsPtr = take(map.ids.byteLength);
    this.sumsPtr = take(this.nTargets * npix * (wide ? 8 : 4));
    this.countsPtr = take(this.nTargets * 8);
    this.sharedPtr = take(this.nTargets * 8);
    this.satPtr = take(this.check ? this.nTargets * npix : 0);
    const areas = opts.areas ?? 1;
    for (let i = 0; i < areas; i++) this.areaPtr.push(take(this.areaBytes));
    heap.commit();
    const mem = this.ex.memory;
    // Fresh memory is zero: sums, counts, shared and flags start cleared.
    const i32 = new Int32Array(mem.buffer);
    i32.set(map.offsets, this.offsetsPtr >> 2);
    i32.set(map.ids, this.idsPtr >> 2);
  }

  /**
   * Adds `count` packed frames of area `i` (frame k = probe `start + k`) into their targets; `swap`: the pixels are
   * byte-swapped (big-endian on this host). Returns the number of frames some target claimed.
   */
  run(i: number, start: number, count: number, swap: boolean): number {
    if (count > this.maxFrames) throw new RangeError(`wasm extraction kernel: ${count} frames exceed its area of ${this.maxFrames}`);
    if (start < 0 || start + count > this.nProbes) throw new RangeError(`wasm extraction kernel: probes ${start}…${start + count - 1} outside the map`);
    if (this.needsFlushBefore(count)) throw new RangeError('wasm extraction kernel: flush the sums first');
    const used = this.ex.accumulate(
      CODE[this.dtype], this.areaPtr[i], count, this.frameBytes, this.npix, swap && SIZE[this.dtype] > 1 ? 1 : 0,
      this.offsetsPtr, this.idsPtr, start, this.nObj,
      this.sumsPtr, this.countsPtr, this.sharedPtr, this.satPtr, this.check ? 1 : 0, this.level,
    );
    this.pending += count;
    return used;
  }

  /** Adds the partial sums into `acc` (same map and npix) and clears them; counts, shared and flags as well. */
  flushInto(acc: TargetAccumulators): void {
    const buf = this.ex.memory.buffer;
    const n = this.nTargets * this.npix;
    const wide = this.dtype === 'uint32' || this.dtype === 'float32';
    addKernelSums(buf, this.sumsPtr, n, wide, acc.sums).fill(0);
    const c = new Float64Array(buf, this.countsPtr, this.nTargets);
    const sh = new Float64Array(buf, this.sharedPtr, this.nTargets);
    for (let t = 0; t < this.nTargets; t++) {
      acc.counts[t] += c[t];
      acc.shared[t] += sh[t];
    }
    c.fill(0);
    sh.fill(0);
    if (this.check && acc.saturated) {
      const f = new Uint8Array(buf, this.satPtr, n);
      const out = acc.saturated;
      for (let q = 0; q < n; q++) out[q] |= f[q];
      f.fill(0);
    }
    this.pending = 0;
  }
}
