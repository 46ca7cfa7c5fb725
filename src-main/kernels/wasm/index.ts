// The WebAssembly SIMD frame kernel (source: ./virtual-kernel.ts, AssemblyScript; binary: the generated base64
// module, rebuilt by `npm run build:wasm`). Pure compute on this module's own linear memory: no I/O, no Node APIs.
//
// One WasmFrameKernel = one WebAssembly instance laid out for one compiled detector set, one dtype and a fixed
// number of frame areas. Memory never grows after construction, so views of it (and fs reads into them) stay
// valid for the kernel's life. Callers put frames into `area(i)` (copy, or read a file straight into it), call
// `run`, read the per-frame stats, and `flushPatterns` into float64 pattern arrays now and then.

import { frameStatsNeeded, type CompiledDetectors } from '../virtual-detectors';
import { WASM_BASE64 } from './virtual-kernel.generated';
import { AreaKernel, HeapLayout, addKernelSums, alignUp, lazyWasm, type WasmMemory } from './loader';

/** Pixel types the wasm kernel handles; everything else uses the JS kernel. */
export type WasmDType = 'uint8' | 'uint16' | 'uint32' | 'float32';

const CODE: Record<WasmDType, number> = { uint8: 0, uint16: 1, uint32: 2, float32: 3 };
const SIZE: Record<WasmDType, number> = { uint8: 1, uint16: 2, uint32: 4, float32: 4 };
/** Per-frame stats before the linear detectors: S, Q, SX, SY, K (see virtual-kernel.ts). */
export const WASM_STATS = 5;
/** Frames whose uint32 per-pixel pattern sums cannot overflow (255 · n < 2^32, 65535 · n < 2^32). */
const FLUSH_LIMIT: Record<WasmDType, number> = { uint8: 16_843_009, uint16: 65_537, uint32: Infinity, float32: Infinity };
const F_MEAN = 1;
const F_MAX = 2;
const F_STATS = 4;

interface KernelExports {
  memory: WasmMemory;
  heapBase(): number;
  processFrames(
    dtype: number, ptr: number, count: number, stride: number, nqy: number, nqx: number, swap: number, flags: number,
    stats: number, col: number, ps: number, pm: number, lin: number, nLin: number,
  ): void;
}

const wasm = lazyWasm(WASM_BASE64);

/**
 * Instances whose kernels were released, for the next kernel on this thread: their memory is already grown and
 * paged in (a fresh instance per worker task cost ~1 ms of set-up and page faults). The module keeps no state
 * outside the memory it is handed pointers into, so a new layout over an old instance is a fresh kernel.
 */
const spareInstances: KernelExports[] = [];
const MAX_SPARE_INSTANCES = 4;

export function wasmAvailable(): boolean {
  return wasm.module() !== null;
}

export function wasmUnavailableReason(): string | null {
  return wasm.reason();
}

export function wasmSupports(dtype: string): dtype is WasmDType {
  return Object.hasOwn(CODE, dtype);
}

export interface WasmKernelOptions {
  /** Accumulate Σ frames per pixel. */
  mean: boolean;
  /** Accumulate the max per pixel. */
  max: boolean;
  /**
   * Compute the per-frame stats S, Q, SX, SY, K (default: when the detectors or the pixel type need them,
   * frameStatsNeeded). false, with no pattern asked for, reads a frame only where a linear detector has pixels; the
   * stats are then zeros.
   */
  stats?: boolean;
  /** Bytes of each frame area (at least one frame). */
  areaBytes: number;
  /** Number of frame areas (e.g. 2 for double-buffered reads; default 1). */
  areas?: number;
}


export class WasmFrameKernel extends AreaKernel {
  readonly dtype: WasmDType;
  readonly npix: number;
  readonly nLin: number;
  /** Float64 values per frame in `stats`: WASM_STATS, then one per linear detector (compiled.linear order). */
  readonly statsPerFrame: number;
  /** Most frames one `run` may process (the stats area's capacity). */
  readonly maxFrames: number;
  private readonly ex: KernelExports;
  private readonly nqy: number;
  private readonly nqx: number;
  private readonly flags: number;
  private readonly col: number;
  private readonly ps: number;
  private readonly pm: number;
  private readonly lin: number;
  private readonly statsPtr: number;
  private released = false;

  constructor(compiled: CompiledDetectors, dtype: WasmDType, opts: WasmKernelOptions) {
    const ex = spareInstances.pop() ?? (wasm.instantiate().exports as unknown as KernelExports);
    const [nqy, nqx] = compiled.detectorShape;
    const frameBytes = nqy * nqx * SIZE[dtype];
    super(ex.memory, alignUp(Math.max(frameBytes, opts.areaBytes), 16), FLUSH_LIMIT[dtype]);
    this.ex = ex;
    this.nqy = nqy;
    this.nqx = nqx;
    this.dtype = dtype;
    this.npix = nqy * nqx;
    this.maxFrames = Math.floor((this.areaBytes - frameBytes) / frameBytes) + 1;
    this.nLin = compiled.linear.length;
    this.statsPerFrame = WASM_STATS + this.nLin;
    this.flags = (opts.mean ? F_MEAN : 0) | (opts.max ? F_MAX : 0) | ((opts.stats ?? frameStatsNeeded(compiled, dtype)) ? F_STATS : 0);

    // Layout: detector table, its arrays, column scratch, patterns, stats, frame areas (each 16-byte aligned).
    const heap = new HeapLayout(this.ex.memory, this.ex.heapBase());
    const take = (bytes: number): number => heap.take(bytes);
    this.lin = take(this.nLin * 20);
    const linArrays = compiled.linear.map((d) => ({
      runs: take(d.runs.byteLength),
      idx: take(d.idx.byteLength),
      w: take(d.w.byteLength),
    }));
    this.col = take(nqx * 8);
    const wide = dtype === 'uint32' || dtype === 'float32';
    this.ps = take(opts.mean ? this.npix * (wide ? 8 : 4) : 0);
    this.pm = take(opts.max ? frameBytes : 0);
    this.statsPtr = take(this.maxFrames * this.statsPerFrame * 8);
    const areas = opts.areas ?? 1;
    // 16 bytes of slack after each area: the uint16 runs read a whole vector at a run's end and mask it.
    for (let i = 0; i < areas; i++) this.areaPtr.push(take(this.areaBytes + 16));
    heap.commit();
    const mem = this.ex.memory;

    const i32 = new Int32Array(mem.buffer);
    compiled.linear.forEach((d, k) => {
      const a = linArrays[k];
      const t = (this.lin >> 2) + k * 5;
      i32[t] = d.runs.length / 2;
      i32[t + 1] = a.runs;
      i32[t + 2] = d.idx.length;
      i32[t + 3] = a.idx;
      i32[t + 4] = a.w;
      i32.set(d.runs, a.runs >> 2);
      i32.set(d.idx, a.idx >> 2);
      new Float64Array(mem.buffer, a.w, d.w.length).set(d.w);
    });
    this.resetPatterns();
  }

  /**
   * Processes `count` frames of area `i`, the first at byte `byteOffset`, `stride` bytes apart; swaps bytes in place
   * first when `swap`. Returns the stats (a view: read it before the next run).
   */
  run(i: number, byteOffset: number, count: number, stride: number, swap: boolean): Float64Array {
    if (this.released) throw new Error('wasm kernel: used after release');
    const frameBytes = this.npix * SIZE[this.dtype];
    if (count > this.maxFrames || (count > 0 && byteOffset + (count - 1) * stride + frameBytes > this.areaBytes)) {
      throw new RangeError(`wasm kernel: ${count} frames of stride ${stride} at ${byteOffset} do not fit its area of ${this.areaBytes} bytes`);
    }
    if (this.needsFlushBefore(count)) throw new RangeError('wasm kernel: flush the patterns first');
    this.ex.processFrames(
      CODE[this.dtype], this.areaPtr[i] + byteOffset, count, stride, this.nqy, this.nqx, swap ? 1 : 0, this.flags,
      this.statsPtr, this.col, this.ps, this.pm, this.lin, this.nLin,
    );
    this.pending += count;
    return new Float64Array(this.ex.memory.buffer, this.statsPtr, count * this.statsPerFrame);
  }

  /** Adds the pending pattern sums into `sum` and merges the max into `max` (NaN-ignoring), then resets. */
  flushPatterns(sum: Float64Array | null, max: Float64Array | null): void {
    if (this.pending === 0) return;
    const buf = this.ex.memory.buffer;
    const n = this.npix;
    if (sum && this.flags & F_MEAN) addKernelSums(buf, this.ps, n, this.dtype === 'uint32' || this.dtype === 'float32', sum);
    if (max && this.flags & F_MAX) {
      const m = this.maxView();
      for (let p = 0; p < n; p++) if (m[p] > max[p]) max[p] = m[p];
    }
    this.resetPatterns();
  }

  /**
   * Hands the instance to the next kernel made on this thread. Only when nothing can still write into its areas
   * (no read in flight); the kernel is unusable afterwards.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (spareInstances.length < MAX_SPARE_INSTANCES) spareInstances.push(this.ex);
  }

  private maxView(): Uint8Array | Uint16Array | Uint32Array | Float32Array {
    const buf = this.ex.memory.buffer;
    switch (this.dtype) {
      case 'uint8': return new Uint8Array(buf, this.pm, this.npix);
      case 'uint16': return new Uint16Array(buf, this.pm, this.npix);
      case 'uint32': return new Uint32Array(buf, this.pm, this.npix);
      case 'float32': return new Float32Array(buf, this.pm, this.npix);
    }
  }

  private resetPatterns(): void {
    const buf = this.ex.memory.buffer;
    const wide = this.dtype === 'uint32' || this.dtype === 'float32';
    if (this.flags & F_MEAN) new Uint8Array(buf, this.ps, this.npix * (wide ? 8 : 4)).fill(0);
    if (this.flags & F_MAX) {
      if (this.dtype === 'float32') this.maxView().fill(-Infinity);
      else this.maxView().fill(0);
    }
    this.pending = 0;
  }
}
