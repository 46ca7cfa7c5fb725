// Virtual detectors for 4D-STEM, the first half: detector specs (disk, annulus, mask, centre of mass, variance,
// sum) compiled into a compact, structured-cloneable form for one detector shape and beam centre. The second half,
// accumulating frames into images, is ./virtual-accumulate.ts. Pure: no I/O, no module state, no Node APIs, so
// the same code runs on the main thread, in a worker_thread or in the renderer (the detector overlay).
//
// Conventions (docs/ARCHITECTURE.md): detector pixel (qy, qx) → qy * nqx + qx. Pixel (qx, qy) covers the square
// [qx − ½, qx + ½] × [qy − ½, qy + ½]; centres (cx, cy) are in the same pixel coordinates as the beam centre, so a
// disk centred on (cx, cy) = (10, 10) is symmetric about pixel 10.

import { ParameterError } from '../../src-shared/errors';


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

/** Rows y0..y1 and columns x0..x1 of the pixels a circle of radius r about (cx, cy) can touch (empty when off the detector). */
function diskBox(nqy: number, nqx: number, cx: number, cy: number, r: number): [number, number, number, number] {
  return [Math.max(0, Math.floor(cy - r - 1)), Math.min(nqy - 1, Math.ceil(cy + r + 1)), Math.max(0, Math.floor(cx - r - 1)), Math.min(nqx - 1, Math.ceil(cx + r + 1))];
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
  const [y0, y1, x0, x1] = diskBox(nqy, nqx, cx, cy, r);
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
        else w = edgePixelFraction(dx, dy, r2, step);
      }
      if (w !== 0) out[qy * nqx + qx] += sign * w;
    }
  }
}

/**
 * Share of the SUPERSAMPLE² sub-pixel centres of the pixel at offset (dx, dy) from the circle's centre that lie
 * inside it (px² + py² ≤ r²). Per sub-row the inside sub-pixels are one contiguous run, so its ends are solved for
 * and then settled with the same test a sub-pixel-by-sub-pixel count makes: the same weights, 16× fewer tests
 * (a compile per tilt per pass ran on the main thread, time the workers lacked a core for).
 */
function edgePixelFraction(dx: number, dy: number, r2: number, step: number): number {
  const last = SUPERSAMPLE - 1;
  const inside = (sx: number, py2: number): boolean => {
    const px = dx - 0.5 + (sx + 0.5) * step;
    return px * px + py2 <= r2;
  };
  let count = 0;
  for (let sy = 0; sy < SUPERSAMPLE; sy++) {
    const py = dy - 0.5 + (sy + 0.5) * step;
    const py2 = py * py;
    const h2 = r2 - py2;
    if (h2 < 0) continue;
    const h = Math.sqrt(h2);
    // Sub-pixel sx sits at px = dx − 0.5 + (sx + 0.5)·step; inside for px in [−h, h].
    let lo = Math.min(SUPERSAMPLE, Math.max(0, Math.ceil((-h - dx + 0.5) / step - 0.5)));
    let hi = Math.max(-1, Math.min(last, Math.floor((h - dx + 0.5) / step - 0.5)));
    while (lo > 0 && inside(lo - 1, py2)) lo--;
    while (lo <= last && !inside(lo, py2)) lo++;
    while (hi < last && inside(hi + 1, py2)) hi++;
    while (hi >= 0 && !inside(hi, py2)) hi--;
    if (hi >= lo) count += hi - lo + 1;
  }
  return count / (SUPERSAMPLE * SUPERSAMPLE);
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
      // Subtracting two sampled disks can leave ±1e-17 crumbs; snap them so they do not become list entries. Only
      // the inner disk's pixels were subtracted from.
      const [y0, y1, x0, x1] = diskBox(nqy, nqx, cx, cy, spec.rIn);
      for (let qy = y0; qy <= y1; qy++) {
        for (let p = qy * nqx + x0; p <= qy * nqx + x1; p++) {
          const v = out[p];
          if (Math.abs(v) < 1e-12) out[p] = 0;
          else if (Math.abs(v - 1) < 1e-12) out[p] = 1;
        }
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

/** Scratch for linearFromWeights' runs (at most one detector image long), grown on demand. */
let scratchRuns = new Int32Array(0);

/**
 * Rows y0..y1 and columns x0..x1 outside which a linear detector's weights are all zero: the box its outer circle
 * can touch (addDiskWeights writes nothing outside it), the whole detector for a mask.
 */
function linearBox(spec: DetectorSpec, opts: CompileOptions, index: number, nqy: number, nqx: number): [number, number, number, number] {
  if (spec.kind !== 'disk' && spec.kind !== 'annulus') return [0, nqy - 1, 0, nqx - 1];
  const [cx, cy] = centreOf(spec, index, opts.beamCentre);
  return diskBox(nqy, nqx, cx, cy, spec.kind === 'disk' ? spec.radius : spec.rOut);
}

/**
 * Compresses a dense weight image into row runs of weight 1 and an index/weight list for the rest, walking only
 * `box` (all weights outside it are zero). Runs never cross a row end: rows are where detector geometry changes.
 */
function linearFromWeights(weights: Float64Array, nqx: number, output: number, box: [number, number, number, number]): LinearDetector {
  // One walk into a scratch list, then exact-size copies (a compile runs per tilt per pass on the main thread, cold
  // for the first tilts: the walk covers the detector's box, not the whole detector).
  const [y0, y1, x0, x1] = box;
  if (scratchRuns.length < weights.length + 1) scratchRuns = new Int32Array(weights.length + 1);
  const runs = scratchRuns;
  let nRuns = 0;
  const other: number[] = [];
  for (let qy = y0; qy <= y1; qy++) {
    const rowEnd = qy * nqx + x1 + 1;
    let p = qy * nqx + x0;
    while (p < rowEnd) {
      const v = weights[p];
      if (v === 1) {
        let e = p + 1;
        while (e < rowEnd && weights[e] === 1) e++;
        runs[nRuns++] = p;
        runs[nRuns++] = e;
        p = e;
      } else {
        if (v !== 0) other.push(p);
        p++;
      }
    }
  }
  const idx = Int32Array.from(other);
  const w = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) w[k] = weights[idx[k]];
  return { output, runs: runs.slice(0, nRuns), idx, w };
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
        compiled.linear.push(linearFromWeights(detectorWeights(spec, opts, i), nqx, out, linearBox(spec, opts, i, nqy, nqx)));
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

/**
 * Whether a pass over these detectors needs each frame's stats (S, Q, SX, SY): for the sum, variance and COM
 * outputs, and for float frames, whose NaN check is a finite Σ. Without them (integer frames, only disks, annuli
 * and masks, no pattern) the kernel reads just the detectors' pixels.
 */
export function frameStatsNeeded(compiled: CompiledDetectors, dtype: string): boolean {
  return compiled.sum.length > 0 || compiled.variance.length > 0 || compiled.com.length > 0 || dtype === 'float32' || dtype === 'float64';
}

/** True when a spec needs a centre it does not carry itself (disk, annulus or com without cx/cy). */
export function needsBeamCentre(spec: DetectorSpec): boolean {
  return (spec.kind === 'disk' || spec.kind === 'annulus' || spec.kind === 'com') &&
    (spec.cx === undefined || spec.cy === undefined);
}
