// Virtual detectors for 4D-STEM: pure kernels on typed arrays (no I/O, no Node APIs), so the same code runs
// on the main thread, in a worker_thread or in the renderer.
//
// Two steps:
//   compileDetectors(specs, opts)  → CompiledDetectors: a compact, structured-cloneable description
//                                    (row runs of full-weight pixels + an index/weight list for partial pixels).
//   accumulateFrames(compiled, acc, block, signal?, kernel?) → reads every pixel of every frame of the block
//                                    ONCE and writes all requested per-position outputs, plus the running sum
//                                    (for the mean pattern) and the max pattern.
//
// Two implementations of the inner loops give the same results (tests compare them output by output):
//   - JS (below): loops generated per dtype, every dtype; the reference, and the fallback.
//   - WebAssembly SIMD (./wasm, AssemblyScript source, committed binary): uint8/uint16/uint32/float32, ~5× faster
//     per core; the default for those dtypes ('auto'). Per frame both produce the same stats (Σv, Σ(v−K)², Σx·v,
//     Σy·v, K) and writeFrameOutputs turns them into images, so integer data give bit-identical sum, com,
//     variance (8/16-bit) and weight-1 detectors; fractional edges and float data agree to float32 rounding.
//   Speed notes (256×256 uint16): COM uses per-frame column sums (Σx·v = Σ x·colsum[x]) and row sums; variance
//   is an exact integer Σv² shifted to Σ(v−K)²; patterns are summed in uint32 per pixel and flushed to float64;
//   the max pattern stays in the native type; uint16 frames go two at a time (half the pattern traffic).
//
// Conventions (DESIGN §4): probe position (ry, rx) → ry * nx + rx; detector pixel (qy, qx) → qy * nqx + qx.
// Pixel (qx, qy) covers the square [qx − ½, qx + ½] × [qy − ½, qy + ½]; centres (cx, cy) are in the same
// pixel coordinates as the beam centre, so a disk centred on (cx, cy) = (10, 10) is symmetric about pixel 10.
//
// NaN / Inf policy: PROPAGATED, never skipped. The inner loops do no per-pixel checks (they would cost a branch
// per pixel and hide broken data). A frame with a NaN or ±Inf pixel gives a non-finite whole-frame sum; the
// accumulator records the first such probe position in `firstNonFinite` (a per-frame check), and the service
// turns it into an InputError naming the file and the position. The max pattern ignores NaN (comparisons with NaN
// are false), the mean pattern becomes NaN at that pixel.
//
// Exactness: all sums are float64. Integer pixels (every integer dtype) are therefore summed exactly while the
// sums stay below 2^53 (a 512×512 uint32 frame of full-scale values is 2^50), and the variance is computed from
// sums of (v − k) with k = the frame's first pixel, which keeps it exact for integers and avoids most of the
// cancellation for floats. Outputs are stored as float32 (the image format of DESIGN §3).

import { ParameterError, throwIfAborted } from '../../src-shared/errors';

import { WASM_STATS, WasmFrameKernel, wasmAvailable, wasmSupports } from './wasm';
import { dtypeOf, type PixelArray, type PixelDType } from '../../src-shared/pixels';

// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
// Detector specs

/** Centre coordinates in detector pixels; omitted → the beam centre given to compileDetectors. */
interface Centred {
  cx?: number;
  cy?: number;
}

export type DetectorSpec =
  /** Bright field: a disk of `radius` pixels. */
  | ({ kind: 'disk'; radius: number; name?: string } & Centred)
  /** Annular dark field: rIn < d ≤ rOut (so disk(r) + annulus(r, R) = disk(R) exactly, also at fractional edges). */
  | ({ kind: 'annulus'; rIn: number; rOut: number; name?: string } & Centred)
  /** Any detector drawn by the user: boolean (Uint8Array, nonzero = 1) or weighted (Float32Array), nqy * nqx. */
  | { kind: 'mask'; mask: Uint8Array | Float32Array; name?: string }
  /** Centre of mass of each pattern, relative to (cx, cy): two outputs, `<name>X` and `<name>Y`, in pixels. */
  | ({ kind: 'com'; name?: string } & Centred)
  /** Population variance of the frame's pixel values (EDyssey's "variance" image; bright where crystals diffract). */
  | { kind: 'variance'; name?: string }
  /** Whole-detector sum. */
  | { kind: 'sum'; name?: string };

export type DetectorKind = DetectorSpec['kind'];

/** How disk and annulus edges are drawn. */
export type EdgeMode =
  /** Each edge pixel weighted by the fraction of its area inside (16×16 supersampling): images change smoothly
   *  as the user drags a radius. */
  | 'fractional'
  /** A pixel counts fully when its centre is inside (d² ≤ r²), otherwise not at all: the py4DSTEM convention. */
  | 'binary';

export interface CompileOptions {
  /** [nqy, nqx] detector pixels. */
  detectorShape: readonly [number, number];
  /** Beam centre [cx, cy] used by every disk, annulus or com spec that gives no centre of its own. */
  beamCentre?: readonly [number, number];
  /** Default 'fractional'. */
  edge?: EdgeMode;
}

export interface OutputInfo {
  /** Unique name: the spec's name, or bf / adf / mask / comX / comY / variance / sum, numbered when repeated. */
  name: string;
  kind: DetectorKind;
  /** Index of the spec this output comes from. */
  detector: number;
}

/** A linear detector (disk, annulus, mask): output = Σ runs (weight 1) + Σ idx·w (other nonzero weights). */
export interface LinearDetector {
  output: number;
  /** Pairs [start, end) of flat pixel indices with weight exactly 1. */
  runs: Int32Array;
  /** Flat pixel indices with a weight other than 0 and 1, and their weights. */
  idx: Int32Array;
  w: Float64Array;
}

export interface ComDetector {
  outX: number;
  outY: number;
  cx: number;
  cy: number;
}

/** The compiled, structured-cloneable form of a list of specs for one detector shape and beam centre. */
export interface CompiledDetectors {
  detectorShape: [number, number];
  outputs: OutputInfo[];
  linear: LinearDetector[];
  sum: number[];
  variance: number[];
  com: ComDetector[];
}

const SUPERSAMPLE = 16;

function checkFinite(name: string, v: number): void {
  if (!Number.isFinite(v)) throw new ParameterError(name, `must be a finite number, got ${v}`);
}

function centreOf(spec: Centred, i: number, beam: readonly [number, number] | undefined): [number, number] {
  if (spec.cx !== undefined && spec.cy !== undefined) {
    checkFinite(`detectors[${i}].cx`, spec.cx);
    checkFinite(`detectors[${i}].cy`, spec.cy);
    return [spec.cx, spec.cy];
  }
  if (spec.cx !== undefined || spec.cy !== undefined) {
    throw new ParameterError(`detectors[${i}]`, 'give both cx and cy, or neither (to use the beam centre)');
  }
  if (!beam) throw new ParameterError(`detectors[${i}]`, 'has no centre and no beam centre was given');
  checkFinite('beamCentre[0]', beam[0]);
  checkFinite('beamCentre[1]', beam[1]);
  return [beam[0], beam[1]];
}

/**
 * Fraction of each pixel's area inside the circle of radius r about (cx, cy), written into `out` (length nqy*nqx)
 * with `sign` (+1 adds, −1 subtracts), touching only pixels that can intersect the circle.
 */
function addDiskWeights(
  out: Float64Array,
  nqy: number,
  nqx: number,
  cx: number,
  cy: number,
  r: number,
  edge: EdgeMode,
  sign: number,
): void {
  if (r <= 0) return;
  const r2 = r * r;
  const y0 = Math.max(0, Math.floor(cy - r - 1));
  const y1 = Math.min(nqy - 1, Math.ceil(cy + r + 1));
  const x0 = Math.max(0, Math.floor(cx - r - 1));
  const x1 = Math.min(nqx - 1, Math.ceil(cx + r + 1));
  const step = 1 / SUPERSAMPLE;
  for (let qy = y0; qy <= y1; qy++) {
    const dy = qy - cy;
    for (let qx = x0; qx <= x1; qx++) {
      const dx = qx - cx;
      let w: number;
      if (edge === 'binary') {
        w = dx * dx + dy * dy <= r2 ? 1 : 0;
      } else {
        // Nearest and farthest points of the pixel square from the centre decide "all in / all out" cheaply.
        const nx = Math.max(Math.abs(dx) - 0.5, 0);
        const ny = Math.max(Math.abs(dy) - 0.5, 0);
        const fx = Math.abs(dx) + 0.5;
        const fy = Math.abs(dy) + 0.5;
        if (fx * fx + fy * fy <= r2) w = 1;
        else if (nx * nx + ny * ny >= r2) w = 0;
        else {
          let inside = 0;
          for (let sy = 0; sy < SUPERSAMPLE; sy++) {
            const py = dy - 0.5 + (sy + 0.5) * step;
            const py2 = py * py;
            for (let sx = 0; sx < SUPERSAMPLE; sx++) {
              const px = dx - 0.5 + (sx + 0.5) * step;
              if (px * px + py2 <= r2) inside++;
            }
          }
          w = inside / (SUPERSAMPLE * SUPERSAMPLE);
        }
      }
      if (w !== 0) out[qy * nqx + qx] += sign * w;
    }
  }
}

function checkShape(shape: readonly [number, number]): [number, number] {
  const [nqy, nqx] = shape;
  if (!Number.isInteger(nqy) || !Number.isInteger(nqx) || nqy < 1 || nqx < 1) {
    throw new ParameterError('detectorShape', `must be two positive integers, got [${nqy}, ${nqx}]`);
  }
  return [nqy, nqx];
}

/**
 * The dense weight image (nqy*nqx) of one linear spec (disk, annulus or mask): what the detector overlay draws
 * and what compileDetectors compresses. Throws ParameterError for absurd geometry.
 */
export function detectorWeights(
  spec: DetectorSpec,
  opts: CompileOptions,
  index = 0,
): Float64Array {
  const [nqy, nqx] = checkShape(opts.detectorShape);
  const edge = opts.edge ?? 'fractional';
  const out = new Float64Array(nqy * nqx);
  const field = `detectors[${index}]`;
  switch (spec.kind) {
    case 'disk': {
      checkFinite(`${field}.radius`, spec.radius);
      if (spec.radius <= 0) throw new ParameterError(`${field}.radius`, `must be > 0, got ${spec.radius}`);
      const [cx, cy] = centreOf(spec, index, opts.beamCentre);
      addDiskWeights(out, nqy, nqx, cx, cy, spec.radius, edge, 1);
      return out;
    }
    case 'annulus': {
      checkFinite(`${field}.rIn`, spec.rIn);
      checkFinite(`${field}.rOut`, spec.rOut);
      if (spec.rIn < 0) throw new ParameterError(`${field}.rIn`, `must be ≥ 0, got ${spec.rIn}`);
      if (!(spec.rOut > spec.rIn)) {
        throw new ParameterError(`${field}.rOut`, `must be > rIn (${spec.rIn}), got ${spec.rOut}`);
      }
      const [cx, cy] = centreOf(spec, index, opts.beamCentre);
      addDiskWeights(out, nqy, nqx, cx, cy, spec.rOut, edge, 1);
      addDiskWeights(out, nqy, nqx, cx, cy, spec.rIn, edge, -1);
      // Subtracting two sampled disks can leave ±1e-17 crumbs; snap them so they do not become list entries.
      for (let p = 0; p < out.length; p++) {
        const v = out[p];
        if (Math.abs(v) < 1e-12) out[p] = 0;
        else if (Math.abs(v - 1) < 1e-12) out[p] = 1;
      }
      return out;
    }
    case 'mask': {
      const m = spec.mask;
      if (m.length !== nqy * nqx) {
        throw new ParameterError(`${field}.mask`, `has ${m.length} values, the detector has ${nqy}×${nqx} = ${nqy * nqx}`);
      }
      if (m instanceof Uint8Array) {
        for (let p = 0; p < m.length; p++) out[p] = m[p] !== 0 ? 1 : 0;
      } else {
        for (let p = 0; p < m.length; p++) {
          const v = m[p];
          if (!Number.isFinite(v)) throw new ParameterError(`${field}.mask`, `weight at pixel ${p} is ${v}`);
          out[p] = v;
        }
      }
      return out;
    }
    default:
      throw new ParameterError(`${field}.kind`, `'${spec.kind}' is not a linear detector`);
  }
}

/** Compresses a dense weight image into row runs of weight 1 and an index/weight list for the rest. */
function linearFromWeights(weights: Float64Array, nqx: number, output: number): LinearDetector {
  const runs: number[] = [];
  const idx: number[] = [];
  const w: number[] = [];
  const n = weights.length;
  let p = 0;
  while (p < n) {
    const v = weights[p];
    if (v === 1) {
      // A run never crosses a row end: rows are where detector geometry changes, and keeping runs per row keeps
      // the structure obvious when debugging the overlay.
      const rowEnd = (Math.floor(p / nqx) + 1) * nqx;
      let e = p + 1;
      while (e < rowEnd && weights[e] === 1) e++;
      runs.push(p, e);
      p = e;
    } else {
      if (v !== 0) {
        idx.push(p);
        w.push(v);
      }
      p++;
    }
  }
  return { output, runs: Int32Array.from(runs), idx: Int32Array.from(idx), w: Float64Array.from(w) };
}

const DEFAULT_NAMES: Record<DetectorKind, string> = {
  disk: 'bf',
  annulus: 'adf',
  mask: 'mask',
  com: 'com',
  variance: 'variance',
  sum: 'sum',
};

/** Turns specs into the compact form accumulateFrames runs. Validates every spec (ParameterError). */
export function compileDetectors(specs: readonly DetectorSpec[], opts: CompileOptions): CompiledDetectors {
  const [nqy, nqx] = checkShape(opts.detectorShape);
  if (specs.length === 0) throw new ParameterError('detectors', 'give at least one detector');
  const compiled: CompiledDetectors = {
    detectorShape: [nqy, nqx],
    outputs: [],
    linear: [],
    sum: [],
    variance: [],
    com: [],
  };
  const used = new Map<string, number>();
  const unique = (base: string): string => {
    const n = used.get(base) ?? 0;
    used.set(base, n + 1);
    return n === 0 ? base : `${base}${n + 1}`;
  };
  specs.forEach((spec, i) => {
    const base = spec.name ?? DEFAULT_NAMES[spec.kind];
    switch (spec.kind) {
      case 'disk':
      case 'annulus':
      case 'mask': {
        const out = compiled.outputs.push({ name: unique(base), kind: spec.kind, detector: i }) - 1;
        compiled.linear.push(linearFromWeights(detectorWeights(spec, opts, i), nqx, out));
        break;
      }
      case 'com': {
        const [cx, cy] = centreOf(spec, i, opts.beamCentre);
        const name = unique(base);
        const outX = compiled.outputs.push({ name: `${name}X`, kind: 'com', detector: i }) - 1;
        const outY = compiled.outputs.push({ name: `${name}Y`, kind: 'com', detector: i }) - 1;
        compiled.com.push({ outX, outY, cx, cy });
        break;
      }
      case 'variance':
        compiled.variance.push(compiled.outputs.push({ name: unique(base), kind: 'variance', detector: i }) - 1);
        break;
      case 'sum':
        compiled.sum.push(compiled.outputs.push({ name: unique(base), kind: 'sum', detector: i }) - 1);
        break;
      default: {
        const never: never = spec;
        throw new ParameterError(`detectors[${i}].kind`, `unknown detector ${JSON.stringify(never)}`);
      }
    }
  });
  return compiled;
}

/** True when a spec needs a centre it does not carry itself (disk, annulus or com without cx/cy). */
export function needsBeamCentre(spec: DetectorSpec): boolean {
  return (spec.kind === 'disk' || spec.kind === 'annulus' || spec.kind === 'com') &&
    (spec.cx === undefined || spec.cy === undefined);
}

// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────
// Accumulation

/** Per-range results. Outputs are per probe position of the range; the patterns are sums over all frames seen. */
export interface VirtualAccumulator {
  /** One Float32Array per compiled output, `nPositions` long. */
  outputs: Float32Array[];
  /** Σ frames, per detector pixel (divide by `frames` for the mean pattern); null when not requested. */
  patternSum: Float64Array | null;
  /** Max over frames, per detector pixel (−Infinity before the first frame); null when not requested. */
  patternMax: Float64Array | null;
  /** Frames accumulated so far. */
  frames: number;
  /** First position (index into `outputs`) whose frame held a NaN or ±Inf, or −1. */
  firstNonFinite: number;
}

export interface PatternOptions {
  /** Accumulate Σ frames for the mean pattern (default true). */
  mean?: boolean;
  /** Accumulate the max pattern (default true). */
  max?: boolean;
}

export function createAccumulator(
  compiled: CompiledDetectors,
  nPositions: number,
  patterns: PatternOptions = {},
): VirtualAccumulator {
  if (!Number.isInteger(nPositions) || nPositions < 0) {
    throw new ParameterError('nPositions', `must be a non-negative integer, got ${nPositions}`);
  }
  const npix = compiled.detectorShape[0] * compiled.detectorShape[1];
  return {
    outputs: compiled.outputs.map(() => new Float32Array(nPositions)),
    patternSum: patterns.mean === false ? null : new Float64Array(npix),
    patternMax: patterns.max === false ? null : new Float64Array(npix).fill(-Infinity),
    frames: 0,
    firstNonFinite: -1,
  };
}

/** A block of frames in one typed array (never mutated). */
export interface FrameBlock {
  data: PixelArray;
  /** Number of frames in the block. */
  count: number;
  /** Index (in the accumulator's outputs) of the block's first frame. */
  position: number;
  /** Element offset of the first frame's pixels in `data` (default 0). */
  offset?: number;
  /** Elements from one frame's start to the next (default nqy*nqx; larger when frames carry headers, as in MIB). */
  stride?: number;
}

// The inner loops are generated once per (dtype, frames-per-pass, features) and cached. Why generate:
// - a separate function per dtype keeps every element access monomorphic (V8 specialises a function on the
//   typed-array kind it has seen; one shared function fed uint16 and float32 blocks goes polymorphic and slows);
// - processing FRAMES_PER_PASS frames side by side in one pass over the pixel index (unrolled by the generator)
//   gives independent add chains (float adds have 3–4 cycles latency) and divides the traffic on the mean and max
//   pattern arrays by that factor: measured ≈ 1.3× faster than frame by frame on uint16 256×256;
// - features not requested (variance, com, mean, max) cost nothing, without a branch per pixel.
// Only fixed identifiers and integers go into the source: no data or user text is ever evaluated.
const FRAMES_PER_PASS = 4;

interface DenseFeatures {
  variance: boolean;
  com: boolean;
  mean: boolean;
  max: boolean;
}

/** (data, o, stride, nqy, nqx, patternSum, patternMax, stats) → writes 4 stats + shift per frame into stats. */
type DenseFn = (
  f: PixelArray,
  o: number,
  stride: number,
  nqy: number,
  nqx: number,
  mean: Float64Array | null,
  max: Float64Array | null,
  stats: Float64Array,
) => void;

/** Σ of a linear detector over one frame starting at element o. */
type LinearFn = (f: PixelArray, o: number, runs: Int32Array, idx: Int32Array, w: Float64Array) => number;

/** Layout of the per-frame stats written by a DenseFn: frame b uses stats[b*STATS + k]. */
const STATS = 5;
const ST_SUM = 0;
const ST_SQDEV = 1;
const ST_SUMX = 2;
const ST_SUMY = 3;
const ST_SHIFT = 4;

function denseSource(frames: number, ft: DenseFeatures): string {
  const B = Array.from({ length: frames }, (_, b) => b);
  const at = (b: number): string => (b === 0 ? 'p' : `p + o${b}`);
  const L: string[] = ['"use strict";'];
  for (const b of B) if (b > 0) L.push(`const o${b} = ${b} * stride;`);
  for (const b of B) L.push(`let s${b} = 0;`);
  if (ft.variance) for (const b of B) L.push(`const k${b} = f[o${b > 0 ? ` + o${b}` : ''}]; let q${b} = 0;`);
  if (ft.com) for (const b of B) L.push(`let x${b} = 0, y${b} = 0;`);
  L.push('let p = o, c = 0;');
  L.push('for (let y = 0; y < nqy; y++) {');
  for (const b of B) L.push(`  let r${b} = 0;`);
  L.push('  for (let x = 0; x < nqx; x++, p++, c++) {');
  for (const b of B) L.push(`    const v${b} = f[${at(b)}];`);
  for (const b of B) L.push(`    r${b} += v${b};`);
  if (ft.com) for (const b of B) L.push(`    x${b} += v${b} * x;`);
  if (ft.variance) for (const b of B) L.push(`    const d${b} = v${b} - k${b}; q${b} += d${b} * d${b};`);
  if (ft.mean) L.push(`    mean[c] += ${B.map((b) => `v${b}`).join(' + ')};`);
  if (ft.max) {
    L.push('    let m = max[c];');
    for (const b of B) L.push(`    if (v${b} > m) m = v${b};`);
    L.push('    max[c] = m;');
  }
  L.push('  }');
  for (const b of B) L.push(`  s${b} += r${b};`);
  if (ft.com) for (const b of B) L.push(`  y${b} += r${b} * y;`);
  L.push('}');
  for (const b of B) {
    const base = b * STATS;
    L.push(`stats[${base + ST_SUM}] = s${b};`);
    if (ft.variance) L.push(`stats[${base + ST_SQDEV}] = q${b}; stats[${base + ST_SHIFT}] = k${b};`);
    if (ft.com) L.push(`stats[${base + ST_SUMX}] = x${b}; stats[${base + ST_SUMY}] = y${b};`);
  }
  return L.join('\n');
}

// Four independent accumulators: a single `a += f[p]` chain is bound by float-add latency.
const LINEAR_SOURCE = `"use strict";
let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
for (let r = 0; r < runs.length; r += 2) {
  let p = o + runs[r];
  const e = o + runs[r + 1];
  for (; p + 3 < e; p += 4) { a0 += f[p]; a1 += f[p + 1]; a2 += f[p + 2]; a3 += f[p + 3]; }
  for (; p < e; p++) a0 += f[p];
}
const n = idx.length;
let k = 0;
for (; k + 1 < n; k += 2) { a1 += w[k] * f[o + idx[k]]; a2 += w[k + 1] * f[o + idx[k + 1]]; }
for (; k < n; k++) a3 += w[k] * f[o + idx[k]];
return (a0 + a1) + (a2 + a3);`;

const denseCache = new Map<string, DenseFn>();
const linearCache = new Map<string, LinearFn>();

function denseFor(dtype: string, frames: number, ft: DenseFeatures): DenseFn {
  const key = `${dtype}/${frames}/${+ft.variance}${+ft.com}${+ft.mean}${+ft.max}`;
  let fn = denseCache.get(key);
  if (!fn) {
    fn = new Function('f', 'o', 'stride', 'nqy', 'nqx', 'mean', 'max', 'stats', denseSource(frames, ft)) as DenseFn;
    denseCache.set(key, fn);
  }
  return fn;
}

function linearFor(dtype: string): LinearFn {
  let fn = linearCache.get(dtype);
  if (!fn) {
    fn = new Function('f', 'o', 'runs', 'idx', 'w', LINEAR_SOURCE) as LinearFn;
    linearCache.set(dtype, fn);
  }
  return fn;
}

/** Frames between AbortSignal checks: ~8 MB of uint16 256×256 frames, a few ms of work. */
const CHECK_EVERY = 64;

/**
 * Which inner loops run: 'wasm' (WebAssembly SIMD, uint8/uint16/uint32/float32 only), 'js' (the generated JS
 * loops: the reference, every dtype) or 'auto' (wasm where it applies and loads, else js).
 */
export type KernelChoice = 'auto' | 'js' | 'wasm';

/** The kernel `choice` resolves to for `dtype` (throws ParameterError for 'wasm' where it cannot run). */
export function resolveKernel(choice: KernelChoice | undefined, dtype: PixelDType): 'js' | 'wasm' {
  if (choice === 'js') return 'js';
  const ok = wasmSupports(dtype) && wasmAvailable();
  if (choice === 'wasm' && !ok) {
    throw new ParameterError('kernel', wasmSupports(dtype) ? 'WebAssembly SIMD is not available in this runtime' : `the wasm kernel does not handle ${dtype}`);
  }
  return ok ? 'wasm' : 'js';
}

/**
 * Writes the dense outputs (sum, variance, com) of one frame from its stats: S = Σv, Q = Σ(v − K)², SX = Σx·v,
 * SY = Σy·v, K = the shift. Shared by both kernels, so equal stats give bit-equal images. Returns false when the
 * frame is not finite.
 */
export function writeFrameOutputs(
  compiled: CompiledDetectors,
  outs: Float32Array[],
  pos: number,
  npix: number,
  s: number,
  q: number,
  sx: number,
  sy: number,
  k: number,
): boolean {
  for (const out of compiled.sum) outs[out][pos] = s;
  if (compiled.variance.length) {
    // Σ(v−k) = s − n·k exactly for integers; population variance of the frame's pixels.
    const sd = s - npix * k;
    const v = (q - (sd * sd) / npix) / npix;
    for (const out of compiled.variance) outs[out][pos] = v > 0 ? v : 0;
  }
  if (compiled.com.length) {
    // An empty frame has no centre of mass: report it at the beam centre (0, 0) rather than NaN, which would
    // poison contrast limits and thresholds downstream.
    const inv = s !== 0 ? 1 / s : 0;
    const mx = sx * inv;
    const my = sy * inv;
    for (const c of compiled.com) {
      outs[c.outX][pos] = s !== 0 ? mx - c.cx : 0;
      outs[c.outY][pos] = s !== 0 ? my - c.cy : 0;
    }
  }
  return Number.isFinite(s);
}

function checkBlock(compiled: CompiledDetectors, acc: VirtualAccumulator, block: FrameBlock): { offset: number; stride: number; npix: number } {
  const [nqy, nqx] = compiled.detectorShape;
  const npix = nqy * nqx;
  const { data, count, position } = block;
  const offset = block.offset ?? 0;
  const stride = block.stride ?? npix;
  const nPositions = acc.outputs[0]?.length ?? 0;
  if (!Number.isInteger(count) || count < 0) throw new ParameterError('block.count', `must be ≥ 0, got ${count}`);
  if (stride < npix) throw new ParameterError('block.stride', `${stride} is smaller than a frame (${npix})`);
  if (count > 0 && offset + (count - 1) * stride + npix > data.length) {
    throw new ParameterError('block.data', `holds ${data.length} pixels, ${count} frames need ${offset + (count - 1) * stride + npix}`);
  }
  if (position < 0 || position + count > nPositions) {
    throw new ParameterError('block.position', `frames ${position}…${position + count - 1} fall outside 0…${nPositions - 1}`);
  }
  return { offset, stride, npix };
}

/**
 * Processes every frame of `block` once, writing all compiled outputs at positions block.position … +count−1
 * and adding to the accumulator's patterns. Never mutates block.data. Throws CancelledError between groups of
 * frames when `signal` is aborted, ParameterError when the block does not fit. `kernel` picks the inner loops
 * (default 'auto': WebAssembly SIMD for uint8/uint16/uint32/float32; both give the same results, see the tests).
 */
export function accumulateFrames(
  compiled: CompiledDetectors,
  acc: VirtualAccumulator,
  block: FrameBlock,
  signal?: AbortSignal,
  kernel: KernelChoice = 'auto',
): void {
  const { offset, stride } = checkBlock(compiled, acc, block);
  if (resolveKernel(kernel, dtypeOf(block.data)) === 'wasm') accumulateWasm(compiled, acc, block, offset, stride, signal);
  else accumulateJs(compiled, acc, block, offset, stride, signal);
  acc.frames += block.count;
}

function accumulateJs(
  compiled: CompiledDetectors,
  acc: VirtualAccumulator,
  block: FrameBlock,
  offset: number,
  stride: number,
  signal: AbortSignal | undefined,
): void {
  const [nqy, nqx] = compiled.detectorShape;
  const npix = nqy * nqx;
  const { data, count, position } = block;
  const ft: DenseFeatures = {
    variance: compiled.variance.length > 0,
    com: compiled.com.length > 0,
    mean: acc.patternSum !== null,
    max: acc.patternMax !== null,
  };
  const dtype = dtypeOf(data);
  const denseN = denseFor(dtype, FRAMES_PER_PASS, ft);
  const dense1 = denseFor(dtype, 1, ft);
  const linear = linearFor(dtype);
  const stats = new Float64Array(STATS * FRAMES_PER_PASS);
  const outs = acc.outputs;

  let done = 0;
  while (done < count) {
    throwIfAborted(signal);
    const groupEnd = Math.min(count, done + CHECK_EVERY);
    while (done < groupEnd) {
      const n = groupEnd - done >= FRAMES_PER_PASS ? FRAMES_PER_PASS : 1;
      const o = offset + done * stride;
      (n === FRAMES_PER_PASS ? denseN : dense1)(data, o, stride, nqy, nqx, acc.patternSum, acc.patternMax, stats);
      for (let b = 0; b < n; b++) {
        const pos = position + done + b;
        const st = b * STATS;
        const finite = writeFrameOutputs(
          compiled, outs, pos, npix,
          stats[st + ST_SUM], stats[st + ST_SQDEV], stats[st + ST_SUMX], stats[st + ST_SUMY], stats[st + ST_SHIFT],
        );
        if (!finite && acc.firstNonFinite < 0) acc.firstNonFinite = pos;
        const fo = o + b * stride;
        for (const d of compiled.linear) outs[d.output][pos] = linear(data, fo, d.runs, d.idx, d.w);
      }
      done += n;
    }
  }
}

/** Bytes of frames copied into the wasm kernel per run (when the frames are not already in its memory). */
const WASM_CHUNK_BYTES = 4 << 20;

/** One reusable kernel for accumulateFrames (synchronous, so never used by two calls at once). */
let scratch: { compiled: CompiledDetectors; dtype: string; mean: boolean; max: boolean; kernel: WasmFrameKernel } | null = null;

/** Same detector tables (a worker receives a fresh structured clone of the same CompiledDetectors per task). */
function sameTables(a: CompiledDetectors, b: CompiledDetectors): boolean {
  if (a === b) return true;
  const eq = (x: ArrayLike<number>, y: ArrayLike<number>): boolean => {
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  };
  return a.detectorShape[0] === b.detectorShape[0] && a.detectorShape[1] === b.detectorShape[1] &&
    a.linear.length === b.linear.length &&
    a.linear.every((d, i) => eq(d.runs, b.linear[i].runs) && eq(d.idx, b.linear[i].idx) && eq(d.w, b.linear[i].w));
}

function scratchKernel(compiled: CompiledDetectors, dtype: 'uint8' | 'uint16' | 'uint32' | 'float32', mean: boolean, max: boolean): WasmFrameKernel {
  if (!scratch || scratch.dtype !== dtype || scratch.mean !== mean || scratch.max !== max || !sameTables(scratch.compiled, compiled)) {
    scratch = { compiled, dtype, mean, max, kernel: new WasmFrameKernel(compiled, dtype, { mean, max, areaBytes: WASM_CHUNK_BYTES }) };
  }
  // A previous call that threw (cancel) may have left frames in the patterns: drop them.
  scratch.kernel.flushPatterns(null, null);
  return scratch.kernel;
}

/**
 * Reads the stats of `count` frames from a wasm run and writes every output; the first non-finite frame is
 * recorded in acc.firstNonFinite. Used by accumulateFrames and by workers that read files straight into the
 * kernel's memory.
 */
export function writeWasmOutputs(compiled: CompiledDetectors, acc: VirtualAccumulator, stats: Float64Array, count: number, position: number): void {
  const npix = compiled.detectorShape[0] * compiled.detectorShape[1];
  const per = WASM_STATS + compiled.linear.length;
  const outs = acc.outputs;
  for (let b = 0; b < count; b++) {
    const st = b * per;
    const pos = position + b;
    const finite = writeFrameOutputs(compiled, outs, pos, npix, stats[st], stats[st + 1], stats[st + 2], stats[st + 3], stats[st + 4]);
    if (!finite && acc.firstNonFinite < 0) acc.firstNonFinite = pos;
    for (let d = 0; d < compiled.linear.length; d++) outs[compiled.linear[d].output][pos] = stats[st + WASM_STATS + d];
  }
}

function accumulateWasm(
  compiled: CompiledDetectors,
  acc: VirtualAccumulator,
  block: FrameBlock,
  offset: number,
  stride: number,
  signal: AbortSignal | undefined,
): void {
  const { data, count, position } = block;
  const dtype = dtypeOf(data) as 'uint8' | 'uint16' | 'uint32' | 'float32';
  const k = scratchKernel(compiled, dtype, acc.patternSum !== null, acc.patternMax !== null);
  const bpe = data.BYTES_PER_ELEMENT;
  const frameBytes = k.npix * bpe;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const area = k.area(0);
  const per = Math.min(k.maxFrames, CHECK_EVERY);
  let done = 0;
  try {
    while (done < count) {
      throwIfAborted(signal);
      const n = Math.min(per, count - done);
      if (k.needsFlushBefore(n)) k.flushPatterns(acc.patternSum, acc.patternMax);
      // Copy the frames packed (headers dropped): the kernel swaps and may not touch the caller's data.
      for (let b = 0; b < n; b++) {
        const at = (offset + (done + b) * stride) * bpe;
        area.set(bytes.subarray(at, at + frameBytes), b * frameBytes);
      }
      const stats = k.run(0, 0, n, frameBytes, false);
      writeWasmOutputs(compiled, acc, stats, n, position + done);
      done += n;
    }
    k.flushPatterns(acc.patternSum, acc.patternMax);
  } finally {
    if (done < count) k.flushPatterns(null, null);
  }
}

/** Adds `from`'s patterns and frame count into `into` (outputs are per range and are not touched). */
export function mergePatterns(into: VirtualAccumulator, from: Pick<VirtualAccumulator, 'patternSum' | 'patternMax' | 'frames'>): void {
  if (into.patternSum && from.patternSum) {
    const a = into.patternSum;
    const b = from.patternSum;
    for (let p = 0; p < a.length; p++) a[p] += b[p];
  }
  if (into.patternMax && from.patternMax) {
    const a = into.patternMax;
    const b = from.patternMax;
    for (let p = 0; p < a.length; p++) if (b[p] > a[p]) a[p] = b[p];
  }
  into.frames += from.frames;
}

/** Mean pattern (Σ / frames) as float32; zeros when no frame was seen. */
export function meanPattern(acc: Pick<VirtualAccumulator, 'patternSum' | 'frames'>, npix: number): Float32Array {
  const out = new Float32Array(npix);
  if (acc.patternSum && acc.frames > 0) {
    const inv = 1 / acc.frames;
    for (let p = 0; p < npix; p++) out[p] = acc.patternSum[p] * inv;
  }
  return out;
}

/** Max pattern as float32; zeros when no frame was seen. */
export function maxPattern(acc: Pick<VirtualAccumulator, 'patternMax' | 'frames'>, npix: number): Float32Array {
  const out = new Float32Array(npix);
  if (acc.patternMax && acc.frames > 0) for (let p = 0; p < npix; p++) out[p] = acc.patternMax[p];
  return out;
}
