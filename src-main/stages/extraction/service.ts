// extractSeries: the streaming extraction pass. Every tilt is read once for all objects, and only the probe positions
// some target (an object's mask or its background ring) claims: runs of claimed positions with short gaps bridged,
// in blocks of a few MB. Memory is the block buffers, one set of Float64 accumulators per tilt being summed
// (nTargets × npix), and the outputs.
//
// Work units are the claimed runs of one tilt (./unit.ts). With `ctx.pool` the units over files with a direct layout
// run on the worker pool, pool.size at a time, and their partial sums are merged here; without one they run in this
// thread. Sources without a direct layout are always read here through readFrames.
//
// The inner loop is the WebAssembly SIMD kernel (kernels/wasm/extract.ts) for uint8/uint16/uint32/float32 and the JS
// kernel (kernels/extract.ts, the reference) otherwise, or where `options.kernel` / TRACKED_EXTRACT_KERNEL says 'js';
// both give bit-identical accumulators (tests in __tests__/wasm-kernel.spec.ts).

import type { ExtractedSeries } from '../../../src-shared/domain';
import { InputError, ParameterError, throwIfAborted } from '../../../src-shared/errors';
import { BYTES_PER_PIXEL } from '../../../src-shared/pixels';
import type { FourDSource } from '../../io/types';
import { BeamCentreScratch, fitBeamCentre } from '../../kernels/beam-centre';
import { seriesBeamCentres } from '../../kernels/beam-centre-series';
import {
  backgroundRing,
  badPixelUnion,
  buildTargetMap,
  createAccumulators,
  fillBadPixelsInPlace,
  mergeAccumulators,
  neededRuns,
  resolveExtractKernel,
  type ExtractKernelChoice,
  type TargetAccumulators,
  type TargetMap,
} from '../../kernels/extract';
import { PassScheduler } from '../../workers/pass';
import type { ExtractContext, ExtractionObject, ExtractOptions, ExtractResult } from './types';
import { canReadDirect, runDirectUnit, runSourceUnit, type UnitPlan, type UnitResult } from './unit';

export type * from './types';

const DEFAULT_BLOCK_BYTES = 4 << 20;
/** Gaps up to this many bytes between claimed runs are read through rather than skipped with a new request. */
const BRIDGE_BYTES = 256 << 10;

export interface SeriesInput {
  /** One source per tilt, in tilt order. */
  sources: readonly FourDSource[];
  anglesDeg: readonly number[];
}

interface TiltPlan {
  t: number;
  source: FourDSource;
  map: TargetMap;
  runs: Array<[number, number]>;
  /** Object indices active at this tilt. */
  active: number[];
  frames: number;
}

/** Sums the diffraction patterns inside each object's mask, per tilt. Rejects with InputError, ParameterError or CancelledError. */
export async function extractSeries(
  input: SeriesInput,
  objects: readonly ExtractionObject[],
  options: ExtractOptions = {},
  ctx: ExtractContext = {},
): Promise<ExtractResult> {
  const t0 = performance.now();
  const { sources, anglesDeg } = input;
  const dims = checkInput(input, objects);
  const opts = normaliseOptions(options, dims.npix);
  // A required kernel that cannot run fails here, before any reading.
  for (const s of sources) resolveExtractKernel(opts.kernel, s.dtype);
  throwIfAborted(ctx.signal);
  const warnings: string[] = [];
  const series = objects.map((o) => emptySeries(o, sources[0], anglesDeg, opts));
  const plans = planTilts(sources, objects, dims, opts.ringWidth);
  const doseScale = computeDoseScale(opts.normaliseDose, sources, plans.map((p) => p.t), warnings);
  const totals = await runPass(plans, dims.npix, opts, ctx, (plan, acc) =>
    finishTilt(plan, acc, objects, series, opts, doseScale[plan.t], warnings),
  );
  if (opts.beamCentre) for (const s of series) anchorCentres(s, options, warnings);
  // Tilts no object needed keep probeCount 0; say which objects lost frames to exclusion.
  for (const s of series) {
    const skipped = s.nTilts - s.included.reduce((a, v) => a + v, 0);
    if (skipped > 0) warnings.push(`${s.name}: ${skipped} of ${s.nTilts} tilts not extracted (excluded or empty mask)`);
  }
  return { series, warnings, ...totals, seconds: (performance.now() - t0) / 1000 };
}

interface Dims {
  nTilts: number;
  ny: number;
  nx: number;
  nqy: number;
  nqx: number;
  nProbes: number;
  npix: number;
}

/** Shapes agree across tilts and objects; ids are unique. Returns the series' dimensions. */
function checkInput(input: SeriesInput, objects: readonly ExtractionObject[]): Dims {
  const { sources, anglesDeg } = input;
  const nTilts = sources.length;
  if (nTilts === 0) throw new ParameterError('sources', 'give at least one tilt');
  if (anglesDeg.length !== nTilts) throw new ParameterError('anglesDeg', `has ${anglesDeg.length} angles for ${nTilts} tilts`);
  if (objects.length === 0) throw new ParameterError('objects', 'give at least one object');
  const [ny, nx] = sources[0].scanShape;
  const [nqy, nqx] = sources[0].detectorShape;
  sources.forEach((s, t) => {
    if (s.scanShape[0] !== ny || s.scanShape[1] !== nx || s.detectorShape[0] !== nqy || s.detectorShape[1] !== nqx) {
      throw new InputError(
        s.path,
        `tilt ${t} has scan [${s.scanShape.join(', ')}] and detector [${s.detectorShape.join(', ')}], but tilt 0 has [${ny}, ${nx}] and [${nqy}, ${nqx}]; masks need one scan shape`,
      );
    }
  });
  const seenIds = new Set<number>();
  objects.forEach((o, k) => {
    if (o.masks.length !== nTilts * ny * nx) {
      throw new ParameterError(`objects[${k}].masks`, `has ${o.masks.length} values, expected nTilts·ny·nx = ${nTilts}·${ny}·${nx}`);
    }
    if (o.frameState.length !== nTilts) throw new ParameterError(`objects[${k}].frameState`, `has ${o.frameState.length} states for ${nTilts} tilts`);
    if (seenIds.has(o.id)) throw new ParameterError(`objects[${k}].id`, `id ${o.id} is used twice`);
    seenIds.add(o.id);
  });
  return { nTilts, ny, nx, nqy, nqx, nProbes: ny * nx, npix: nqy * nqx };
}

/** An object's output, allocated once, all tilts not yet extracted. */
function emptySeries(o: ExtractionObject, first: FourDSource, anglesDeg: readonly number[], opts: NormalisedOptions): ExtractedSeries {
  const nTilts = anglesDeg.length;
  const [nqy, nqx] = first.detectorShape;
  const npix = nqy * nqx;
  const withRings = opts.ringWidth > 0;
  return {
    objectId: o.id,
    name: o.name,
    nTilts,
    detectorShape: [nqy, nqx],
    anglesDeg: Float64Array.from(anglesDeg),
    frames: new Float32Array(nTilts * npix),
    statistic: opts.statistic,
    probeCount: new Int32Array(nTilts),
    included: new Uint8Array(nTilts),
    background: {
      method: withRings ? 'ring' : 'none',
      ringWidth: opts.ringWidth,
      ringProbeCount: new Int32Array(nTilts),
      pattern: withRings ? new Float32Array(nTilts * npix) : undefined,
    },
    beamCentre: new Float64Array(nTilts * 2).fill(NaN),
    doseScale: new Float64Array(nTilts).fill(1),
    excludedPixels: new Int32Array(nTilts),
    sharedSignalFraction: new Float64Array(nTilts).fill(NaN),
    calibration: { ...first.calibration },
  };
}

/** Per tilt: which targets claim which probes (objects' masks, then their background rings) and which runs to read. */
function planTilts(sources: readonly FourDSource[], objects: readonly ExtractionObject[], dims: Dims, ringWidth: number): TiltPlan[] {
  const { nProbes, ny, nx, npix } = dims;
  const plans: TiltPlan[] = [];
  for (let t = 0; t < sources.length; t++) {
    const masks: Array<Uint8Array | null> = objects.map((o) => {
      if (o.frameState[t] === 'excluded') return null;
      const m = o.masks.subarray(t * nProbes, (t + 1) * nProbes);
      return m.some((v) => v !== 0) ? m : null;
    });
    const active = masks.flatMap((m, k) => (m ? [k] : []));
    if (active.length === 0) continue;
    const members: Array<Uint8Array | null> = [...masks];
    if (ringWidth > 0) {
      // Union of all objects' masks (excluded ones too: an excluded tilt's mask still marks a crystal, not film).
      const union = new Uint8Array(nProbes);
      for (const o of objects) {
        const m = o.masks.subarray(t * nProbes, (t + 1) * nProbes);
        for (let p = 0; p < nProbes; p++) if (m[p]) union[p] = 1;
      }
      for (const m of masks) members.push(m ? backgroundRing(m, union, ny, nx, ringWidth) : null);
    }
    const map = buildTargetMap(members, objects.length, nProbes);
    const frameBytes = npix * BYTES_PER_PIXEL[sources[t].dtype];
    const runs = neededRuns(map, Math.floor(BRIDGE_BYTES / frameBytes));
    plans.push({ t, source: sources[t], map, runs, active, frames: runs.reduce((a, [s, e]) => a + e - s, 0) });
  }
  return plans;
}

/**
 * Reads every plan's runs, split into units (pool.size per tilt with a pool), merges each tilt's partial sums and
 * hands the tilt to `finish` once all its units are in.
 */
async function runPass(
  plans: TiltPlan[],
  npix: number,
  opts: NormalisedOptions,
  ctx: ExtractContext,
  finish: (plan: TiltPlan, acc: TargetAccumulators) => void,
): Promise<{ bytesRead: number; framesRead: number }> {
  const totalBytes = plans.reduce((a, p) => a + p.frames * npix * BYTES_PER_PIXEL[p.source.dtype], 0);
  const slots = plans.reduce((a, p) => Math.max(a, p.t + 1), 1);
  const pass: PassScheduler = new PassScheduler({
    signal: ctx.signal,
    slots,
    intervalMs: ctx.progressIntervalMs,
    ...(ctx.onProgress
      ? {
          onTick: () => {
            let done = 0;
            for (const p of plans) done += Atomics.load(pass.counters, p.t) * npix * BYTES_PER_PIXEL[p.source.dtype];
            ctx.onProgress!(done, totalBytes, 'extraction');
          },
        }
      : {}),
  });
  const limit = ctx.pool ? ctx.pool.size : 1;
  let bytesRead = 0;
  let framesRead = 0;
  try {
    for (const plan of plans) {
      if (pass.stopped) break;
      const blockFrames = Math.max(1, Math.floor(opts.blockBytes / (npix * BYTES_PER_PIXEL[plan.source.dtype])));
      const parts = splitRuns(plan.runs, limit);
      const tiltAcc = createAccumulators(plan.map.nTargets, npix, opts.saturationLevel !== undefined);
      let remaining = parts.length;
      for (const runs of parts) {
        await pass.below(limit);
        if (pass.stopped) break;
        const unit: UnitPlan = { runs, map: plan.map, npix, saturationLevel: opts.saturationLevel, blockFrames, progress: pass.counters, progressSlot: plan.t, kernel: opts.kernel };
        pass.add(runUnit(plan.source, unit, ctx, pass.signal), (res) => {
          mergeAccumulators(tiltAcc, res.acc);
          bytesRead += res.bytesRead;
          framesRead += res.framesRead;
          if (--remaining === 0) finish(plan, tiltAcc);
        });
      }
    }
  } catch (e) {
    pass.fail(e);
  }
  await pass.finish();
  return { bytesRead, framesRead };
}

function runUnit(source: FourDSource, unit: UnitPlan, ctx: ExtractContext, signal: AbortSignal): Promise<UnitResult> {
  if (canReadDirect(source.direct)) {
    const args = { ...unit, path: source.path, direct: source.direct, dtype: source.dtype };
    return ctx.pool ? ctx.pool.run('extractDirect', args, { signal }) : runDirectUnit(args, signal);
  }
  return runSourceUnit(unit, source, signal);
}

/** Splits runs into at most `k` parts of about equal frame counts (flattened [start, end) pairs). */
export function splitRuns(runs: ReadonlyArray<readonly [number, number]>, k: number): Int32Array[] {
  const total = runs.reduce((a, [s, e]) => a + e - s, 0);
  if (total === 0) return [];
  const per = Math.ceil(total / Math.max(1, k));
  const parts: Int32Array[] = [];
  let cur: number[] = [];
  let have = 0;
  for (const [s0, e] of runs) {
    let s = s0;
    while (s < e) {
      const take = Math.min(e - s, per - have);
      cur.push(s, s + take);
      have += take;
      s += take;
      if (have === per) {
        parts.push(Int32Array.from(cur));
        cur = [];
        have = 0;
      }
    }
  }
  if (cur.length) parts.push(Int32Array.from(cur));
  return parts;
}

interface NormalisedOptions {
  statistic: 'sum' | 'mean';
  ringWidth: number;
  badPixels?: Uint8Array;
  saturationLevel?: number;
  badPixelMode: 'zero' | 'neighbours';
  normaliseDose: ExtractOptions['normaliseDose'];
  beamCentre: boolean;
  refineBeamCentre?: ExtractOptions['refineBeamCentre'];
  blockBytes: number;
  kernel?: ExtractKernelChoice;
  /** Working memory of the beam-centre fits, reused across the pass's tilts. */
  scratch: BeamCentreScratch;
}

function kernelFromEnv(): ExtractKernelChoice | undefined {
  const v = process.env.TRACKED_EXTRACT_KERNEL;
  if (v === undefined || v === '') return undefined;
  if (v === 'auto' || v === 'js' || v === 'wasm') return v;
  throw new ParameterError('TRACKED_EXTRACT_KERNEL', `must be auto, js or wasm, got '${v}'`);
}

function normaliseOptions(o: ExtractOptions, npix: number): NormalisedOptions {
  const ringWidth = o.background ? (o.background.ringWidth ?? 3) : 0;
  if (o.background && (!Number.isFinite(ringWidth) || ringWidth < 1 || !Number.isInteger(ringWidth))) {
    throw new ParameterError('background.ringWidth', `must be a positive integer number of probe steps (got ${ringWidth})`);
  }
  if (o.badPixels && o.badPixels.length !== npix) throw new ParameterError('badPixels', `has ${o.badPixels.length} values for ${npix} detector pixels`);
  if (o.saturationLevel !== undefined && !Number.isFinite(o.saturationLevel)) throw new ParameterError('saturationLevel', 'must be a finite number');
  if (o.statistic && o.statistic !== 'sum' && o.statistic !== 'mean') throw new ParameterError('statistic', `must be 'sum' or 'mean'`);
  const blockBytes = o.blockBytes ?? DEFAULT_BLOCK_BYTES;
  if (!(blockBytes > 0)) throw new ParameterError('blockBytes', 'must be positive');
  const kernel = o.kernel ?? kernelFromEnv();
  if (kernel !== undefined && kernel !== 'auto' && kernel !== 'js' && kernel !== 'wasm') throw new ParameterError('kernel', `must be 'auto', 'js' or 'wasm'`);
  return {
    statistic: o.statistic ?? 'sum',
    ringWidth,
    badPixels: o.badPixels,
    saturationLevel: o.saturationLevel,
    badPixelMode: o.badPixelMode ?? 'neighbours',
    normaliseDose: o.normaliseDose,
    beamCentre: o.beamCentre ?? true,
    refineBeamCentre: o.refineBeamCentre,
    blockBytes,
    kernel,
    scratch: new BeamCentreScratch(),
  };
}

/** mean(dose) / dose[t] for the tilts that are read; 1 everywhere when not normalising or when a dose is unknown. */
function computeDoseScale(
  mode: ExtractOptions['normaliseDose'],
  sources: readonly FourDSource[],
  tilts: readonly number[],
  warnings: string[],
): Float64Array {
  const scale = new Float64Array(sources.length).fill(1);
  if (!mode || tilts.length === 0) return scale;
  const dose = new Float64Array(sources.length).fill(NaN);
  if (mode === 'auto') {
    for (const t of tilts) {
      const dwell = sources[t].calibration.dwellTimeS;
      const current = sources[t].metadata?.beamCurrentA;
      if (dwell !== undefined && dwell > 0) dose[t] = dwell * (typeof current === 'number' && current > 0 ? current : 1);
    }
    const missing = tilts.filter((t) => !(dose[t] > 0));
    if (missing.length > 0) {
      warnings.push(`dose normalisation skipped: ${missing.length} tilt(s) (first: ${sources[missing[0]].path}) record no dwell time`);
      return scale;
    }
  } else {
    if (mode.length !== sources.length) throw new ParameterError('normaliseDose', `gives ${mode.length} doses for ${sources.length} tilts`);
    for (const t of tilts) {
      if (!(mode[t] > 0) || !Number.isFinite(mode[t])) throw new ParameterError(`normaliseDose[${t}]`, `must be a positive number (got ${mode[t]})`);
      dose[t] = mode[t];
    }
  }
  let mean = 0;
  for (const t of tilts) mean += dose[t];
  mean /= tilts.length;
  for (const t of tilts) scale[t] = mean / dose[t];
  return scale;
}

/** Turns one tilt's accumulators into each active object's frame: bad pixels, beam centre, background, dose, statistic. */
function finishTilt(
  plan: TiltPlan,
  acc: TargetAccumulators,
  objects: readonly ExtractionObject[],
  series: ExtractedSeries[],
  opts: NormalisedOptions,
  doseScale: number,
  warnings: string[],
): void {
  const { t, source } = plan;
  const [nqy, nqx] = source.detectorShape;
  const npix = nqy * nqx;
  const raw = new Float64Array(npix);
  for (const k of plan.active) {
    const s = series[k];
    const count = acc.counts[k];
    raw.set(acc.sums.subarray(k * npix, (k + 1) * npix));
    let total = 0;
    for (let q = 0; q < npix; q++) total += raw[q];
    if (!Number.isFinite(total)) {
      throw new InputError(source.path, `frames inside the mask of '${objects[k].name}' at tilt ${t} hold NaN or Inf values`, { tilt: t });
    }
    const bad = badPixelUnion(opts.badPixels, acc.saturated, npix, k * npix);
    s.excludedPixels[t] = bad ? fillBadPixelsInPlace(raw, bad, nqy, nqx, opts.badPixelMode) : 0;
    s.sharedSignalFraction[t] = total !== 0 ? acc.shared[k] / total : 0;
    s.probeCount[t] = count;
    s.included[t] = 1;
    s.doseScale[t] = doseScale;
    if (opts.beamCentre) {
      const c = estimateBeamCentre(raw, [nqy, nqx], opts.scratch);
      if (c) {
        s.beamCentre[2 * t] = c[0];
        s.beamCentre[2 * t + 1] = c[1];
      } else warnings.push(`${objects[k].name}: no direct beam found at tilt ${t}`);
    }
    if (opts.ringWidth > 0) subtractRing(plan, acc, k, objects.length, raw, s, opts, warnings, objects[k].name);
    const f = (opts.statistic === 'mean' ? 1 / count : 1) * doseScale;
    const out = s.frames.subarray(t * npix, (t + 1) * npix);
    for (let q = 0; q < npix; q++) out[q] = raw[q] * f;
    if (opts.refineBeamCentre && Number.isFinite(s.beamCentre[2 * t])) {
      const better = opts.refineBeamCentre(out, [nqy, nqx], [s.beamCentre[2 * t], s.beamCentre[2 * t + 1]]);
      if (better) {
        s.beamCentre[2 * t] = better[0];
        s.beamCentre[2 * t + 1] = better[1];
      }
    }
  }
}

/**
 * One geometry for the series (kernels/beam-centre-series): each frame's centre anchored on the tilt's reference
 * (its mean pattern over all probe positions, when given; else the median of the frames' fits), refined on the frame
 * only within a few pixels of it and only where Friedel symmetry agrees.
 */
function anchorCentres(s: ExtractedSeries, options: ExtractOptions, warnings: string[]): void {
  const ref = options.referenceBeamCentre;
  if (ref && ref.length !== s.nTilts) throw new ParameterError('referenceBeamCentre', `gives ${ref.length} centres for ${s.nTilts} tilts`);
  const r = seriesBeamCentres(s.frames, s.detectorShape, s.included, s.beamCentre, {
    ...(ref ? { reference: ref } : {}),
    ...(options.maxCentreShiftPx !== undefined ? { maxShiftPx: options.maxCentreShiftPx } : {}),
  });
  s.beamCentre.set(r.centres);
  s.beamCentreCheck = {
    reference: r.reference,
    fromFrame: Uint8Array.from(r.source, (v) => (v === 'frame' ? 1 : 0)),
    rejected: r.rejected.map((x) => ({ tilt: x.frame, reason: x.reason })),
    referenceKind: ref ? 'tilt mean pattern' : 'median of the frames',
  };
  if (r.rejected.length) warnings.push(`${s.name}: the beam centre of ${r.rejected.length} frame(s) is the ${ref ? "tilt's mean-pattern" : 'series median'} centre (their own fit was rejected)`);
}

/** Subtracts object k's ring background (its mean pattern per probe, times the object's probe count) from `raw`. */
function subtractRing(
  plan: TiltPlan,
  acc: TargetAccumulators,
  k: number,
  nObj: number,
  raw: Float64Array,
  s: ExtractedSeries,
  opts: NormalisedOptions,
  warnings: string[],
  name: string,
): void {
  const { t, source } = plan;
  const [nqy, nqx] = source.detectorShape;
  const npix = nqy * nqx;
  const r = nObj + k;
  const rc = acc.counts[r];
  s.background.ringProbeCount[t] = rc;
  if (rc === 0) {
    warnings.push(`${name}: no background ring at tilt ${t} (the mask and its neighbours fill the surroundings); nothing subtracted`);
    return;
  }
  const ring = Float64Array.from(acc.sums.subarray(r * npix, (r + 1) * npix));
  const rbad = badPixelUnion(opts.badPixels, acc.saturated, npix, r * npix);
  if (rbad) fillBadPixelsInPlace(ring, rbad, nqy, nqx, opts.badPixelMode);
  const bgOut = s.background.pattern!;
  const count = acc.counts[k];
  for (let q = 0; q < npix; q++) {
    const mean = ring[q] / rc;
    bgOut[t * npix + q] = mean;
    raw[q] -= count * mean;
  }
}

/**
 * Direct-beam centre of a summed pattern: threshold at half of the brightest (3×3-smoothed) region and take the
 * intensity centroid of that disk (kernels/beam-centre), then refine with a least-squares circle through the
 * sub-pixel disk edge. The circle wins unless it strays from the centroid by more than half the disk radius (a
 * Bragg disk touching the direct beam, or too few edge points), where the centroid is the safer answer.
 */
export function estimateBeamCentre(pattern: Float64Array | Float32Array, shape: readonly [number, number], scratch = new BeamCentreScratch()): [number, number] | null {
  const c = fitBeamCentre(pattern, shape, { method: 'centroid', scratch });
  if (!c) return null;
  const r = fitBeamCentre(pattern, shape, { method: 'circle', scratch });
  if (r && r.method === 'circle' && Math.hypot(r.cx - c.cx, r.cy - c.cy) <= Math.max(0.5, 0.5 * c.radius)) return [r.cx, r.cy];
  return [c.cx, c.cy];
}
