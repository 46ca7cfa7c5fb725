// One object's extracted frames to an indexed lattice (ARCHITECTURE §9): peaks on every frame, the rotation axis,
// the 3D cloud, the cell, its Bravais lattice, the refined orientation and the per-peak Miller indices, with plain
// statements of what went wrong when something did. Pure functions of the frames and the geometry; the processing
// service runs them in a worker and `tracked run` calls them directly.
import { ParameterError, throwIfAborted } from '../../src-shared/errors';
import type { Severity, Statement } from '../../src-shared/processing';
import {
  bravaisCandidates,
  constrainedCell,
  friedelAgreement,
  symmetryEvidence,
  toConventional,
  type BravaisCandidate,
  type BravaisSymbol,
  type SymmetryEvidence,
} from '../crystallography/bravais';
import { bMatrix, validateCell, type Cell } from '../crystallography/lattice';
import { det3, inverse3, matMul, transpose, type Mat3, type Vec3 } from '../crystallography/math3';
import { niggliReduce } from '../crystallography/reduction';
import { indexPoints } from './indexing';
import { findPeaks, type PeakSearchOptions } from './peaks';
import { crystalVectors, type DetectorPeaks, type ReciprocalGeometry } from './reciprocal';
import { cellEsdOf, cellOfUb, excitationErrors, refineOrientation, refinementInput, rockingWidthInvA, type FrameResidual, type PerFrameCorrections, type RefinedModel, type RefinementInput } from './refine';
import { indexWithModel, searchLattice, type LatticeSearchResult } from './lattice-search';

/** What processing needs of an object: its frames and the geometry they were recorded in. */
export interface ProcessingFrames {
  /** nFrames · nqy · nqx, frame t at t · nqy · nqx. */
  frames: Float32Array;
  detectorShape: readonly [number, number];
  anglesDeg: ArrayLike<number>;
  /** [cx, cy] per frame, detector pixels (NaN where unknown). */
  beamCentres: ArrayLike<number>;
  /** 1 where the frame holds data. */
  included: ArrayLike<number>;
  wavelengthA: number;
  reciprocalPixelInvA: number;
}

export interface PeakParameters {
  /** Integration disk radius, px; default from the direct beam's width (estimateSpotRadiusPx). */
  radiusPx?: number;
  minIOverSigma?: number;
  minSeparationPx?: number;
  excludeRadiusPx?: number;
  /** Resolution limits, Å (dMaxA: the low-resolution end). */
  dMinA?: number;
  dMaxA?: number;
  /** Counts per pixel unit (1 for summed counts). */
  gain?: number;
  maxPeaksPerFrame?: number;
  /** Bad pixels and beam stop, nqy · nqx, non-zero = masked. */
  mask?: Uint8Array;
}

/** A person's corrections to the peak list: peaks removed and added by hand, per frame (detector px). */
export interface PeakEdits {
  removed: Array<{ frame: number; x: number; y: number }>;
  added: Array<{ frame: number; x: number; y: number }>;
}

export interface LatticeParameters {
  /** In-plane rotation axis angle, degrees: set, the search is skipped (it is still refined unless fixAxis). */
  axisDeg?: number;
  fixAxis?: boolean;
  /** A known cell: only the orientation is found and refined. */
  knownCell?: Cell;
  minCellA?: number;
  maxCellA?: number;
  /** Highest metric misfit (degrees) a Bravais candidate may have. */
  maxMisfitDeg?: number;
  perFrame?: PerFrameCorrections;
  /** Fit the rocking-curve centres as well as the positions (default: positions only; refine.ts says why). */
  rockingCentres?: boolean;
}

/** The peak table: one entry per peak, columns as typed arrays. */
export interface PeakTable {
  frame: Int32Array;
  x: Float64Array;
  y: Float64Array;
  intensity: Float64Array;
  sigma: Float64Array;
  positionSigmaPx: Float64Array;
  /** 1 for a peak a person added. */
  manual: Uint8Array;
  radiusPx: number;
}

export type { Severity, Statement };

export interface BravaisRow {
  bravais: BravaisSymbol;
  cell: Cell;
  misfitDeg: number;
  evidence: SymmetryEvidence;
  /** 'for', 'against' or 'inconclusive' (too few equivalent pairs). */
  verdict: 'for' | 'against' | 'inconclusive';
  chosen: boolean;
}

export interface LatticeOutcome {
  status: 'indexed' | 'failed';
  statements: Statement[];
  /** Everything below is absent when status is 'failed' with no lattice at all. */
  axis?: { foundDeg: number | null; refinedDeg: number; esdDeg: number; searchContrast: number | null; direction: { meanS2: number; mirroredMeanS2: number } };
  /** Niggli-reduced cell of the refined orientation, with esds. */
  reducedCell?: Cell;
  reducedCellEsd?: number[];
  bravais?: BravaisSymbol;
  /** The conventional cell of the chosen lattice (constraints applied), its unconstrained values and esds. */
  cell?: Cell;
  cellUnconstrained?: Cell;
  cellEsd?: number[];
  /** q = UB·h in the crystal frame of tilt 0 (Å⁻¹), conventional setting. */
  ub?: Mat3;
  /** The refined UB, the covariance of its nine entries and the change of basis to the conventional cell: esds of the
   * cell in any other setting P of the conventional one come from cellEsdOf(ub, covariance, toConventional·P). */
  esdBasis?: { ub: Mat3; covariance: number[][]; toConventional: Mat3 };
  candidates?: BravaisRow[];
  friedel?: { nPairs: number; cc: number };
  /** Per peak: conventional Miller indices (3), indexed flag. */
  hkl?: Int32Array;
  indexed?: Uint8Array;
  indexedFraction?: number;
  nPeaks: number;
  rmsdPx?: number;
  rmsdPhiDeg?: number;
  perFrame?: FrameResidual[];
  perFrameRefined?: { beamCentre: boolean; tilt: boolean };
  /** Per frame [cx, cy] beam centres after the refined per-frame offsets. */
  beamCentres?: Float64Array;
  /** A second lattice in the unindexed peaks (a neighbour's pattern in the mask). */
  otherLattices?: Array<{ cell: Cell; nPeaks: number }>;
}

const DEG = Math.PI / 180;

/**
 * Spot radius for integration, px, from the direct beam: a reflection is the probe's convergence disk like the
 * direct beam, so its half width at half maximum on the mean frame sets the disk: 1.5 × HWHM, at least 1.5 px.
 */
export function estimateSpotRadiusPx(input: ProcessingFrames): number {
  const [nqy, nqx] = input.detectorShape;
  const npix = nqy * nqx;
  const bins = new Float64Array(24);
  const counts = new Float64Array(24);
  for (let t = 0; t < input.anglesDeg.length; t++) {
    if (!input.included[t]) continue;
    const cx = input.beamCentres[2 * t];
    const cy = input.beamCentres[2 * t + 1];
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) continue;
    for (let y = Math.max(0, Math.floor(cy - 12)); y <= Math.min(nqy - 1, Math.ceil(cy + 12)); y++) {
      for (let x = Math.max(0, Math.floor(cx - 12)); x <= Math.min(nqx - 1, Math.ceil(cx + 12)); x++) {
        const r = Math.hypot(x - cx, y - cy) * 2;
        const b = Math.floor(r);
        if (b >= bins.length) continue;
        bins[b] += input.frames[t * npix + y * nqx + x];
        counts[b]++;
      }
    }
  }
  const prof = Array.from(bins, (v, k) => (counts[k] ? v / counts[k] : NaN));
  const peak = prof[0];
  const floor = Math.min(...prof.slice(14).filter(Number.isFinite));
  if (!Number.isFinite(peak) || !Number.isFinite(floor) || !(peak > floor)) return 2;
  const half = floor + (peak - floor) / 2;
  let hwhm = 2;
  for (let k = 1; k < prof.length; k++) {
    if (prof[k] < half) {
      // Linear interpolation between the bin centres (bins are half a pixel wide).
      const r0 = (k - 1 + 0.5) / 2;
      const f = (prof[k - 1] - half) / (prof[k - 1] - prof[k]);
      hwhm = r0 + f * 0.5;
      break;
    }
  }
  return Math.min(8, Math.max(1.5, 1.8 * hwhm));
}

/** A peak table from rows (frame, x, y, I, σ, centroid σ, manual flag). */
export function peakTableOf(rows: ReadonlyArray<{ f: number; x: number; y: number; I: number; s: number; ps: number; manual: number }>, radiusPx: number): PeakTable {
  return {
    frame: Int32Array.from(rows, (r) => r.f),
    x: Float64Array.from(rows, (r) => r.x),
    y: Float64Array.from(rows, (r) => r.y),
    intensity: Float64Array.from(rows, (r) => r.I),
    sigma: Float64Array.from(rows, (r) => r.s),
    positionSigmaPx: Float64Array.from(rows, (r) => r.ps),
    manual: Uint8Array.from(rows, (r) => r.manual),
    radiusPx,
  };
}

/** Peaks on every included frame, with a person's edits applied. Progress per frame. */
export function searchPeaks(
  input: ProcessingFrames,
  params: PeakParameters = {},
  edits?: PeakEdits,
  opts: { signal?: AbortSignal; progress?: (done: number, total: number) => void } = {},
): PeakTable {
  const [nqy, nqx] = input.detectorShape;
  const npix = nqy * nqx;
  const nF = input.anglesDeg.length;
  if (input.frames.length !== nF * npix) throw new ParameterError('frames', `hold ${input.frames.length} values, expected ${nF} frames of ${nqy}×${nqx}`);
  if (!(input.reciprocalPixelInvA > 0)) throw new ParameterError('calibration', 'the reciprocal pixel size is not known: set it in the calibration');
  if (!(input.wavelengthA > 0)) throw new ParameterError('calibration', 'the wavelength is not known: set the voltage in the calibration');
  const radiusPx = params.radiusPx ?? estimateSpotRadiusPx(input);
  const rows: Array<{ f: number; x: number; y: number; I: number; s: number; ps: number; manual: number }> = [];
  const removed = edits?.removed ?? [];
  for (let f = 0; f < nF; f++) {
    throwIfAborted(opts.signal);
    opts.progress?.(f, nF);
    if (!input.included[f]) continue;
    const cx = input.beamCentres[2 * f];
    const cy = input.beamCentres[2 * f + 1];
    if (!Number.isFinite(cx) || !Number.isFinite(cy)) continue;
    const frame = input.frames.subarray(f * npix, (f + 1) * npix);
    const o: PeakSearchOptions = {
      beamCentre: [cx, cy],
      reciprocalPixelInvA: input.reciprocalPixelInvA,
      radiusPx,
      ...(params.minIOverSigma !== undefined ? { minIOverSigma: params.minIOverSigma } : {}),
      ...(params.minSeparationPx !== undefined ? { minSeparationPx: params.minSeparationPx } : {}),
      ...(params.excludeRadiusPx !== undefined ? { excludeRadiusPx: params.excludeRadiusPx } : {}),
      ...(params.dMaxA ? { dStarMinInvA: 1 / params.dMaxA } : {}),
      ...(params.dMinA ? { dStarMaxInvA: 1 / params.dMinA } : {}),
      ...(params.gain !== undefined ? { gain: params.gain } : {}),
      ...(params.maxPeaksPerFrame !== undefined ? { maxPeaks: params.maxPeaksPerFrame } : {}),
      ...(params.mask ? { mask: params.mask } : {}),
    };
    const found = findPeaks(frame, [nqy, nqx], o, opts.signal);
    const gone = removed.filter((r) => r.frame === f);
    for (const p of found) {
      if (gone.some((r) => Math.hypot(r.x - p.x, r.y - p.y) <= Math.max(1.5, radiusPx))) continue;
      rows.push({ f, x: p.x, y: p.y, I: p.intensity, s: p.sigma, ps: p.positionSigmaPx, manual: 0 });
    }
    const added = (edits?.added ?? []).filter((a) => a.frame === f);
    if (added.length) {
      for (const p of findPeaks(frame, [nqy, nqx], { ...o, positions: added.map((a) => [a.x, a.y] as const) }, opts.signal)) {
        rows.push({ f, x: p.x, y: p.y, I: p.intensity, s: p.sigma, ps: p.positionSigmaPx, manual: 1 });
      }
    }
  }
  opts.progress?.(nF, nF);
  return peakTableOf(rows, radiusPx);
}

const geometryOf = (input: ProcessingFrames): ReciprocalGeometry => ({
  wavelengthA: input.wavelengthA,
  reciprocalPixelInvA: input.reciprocalPixelInvA,
  anglesDeg: input.anglesDeg,
  beamCentres: input.beamCentres,
});

const detectorPeaks = (t: PeakTable): DetectorPeaks => ({
  frame: t.frame,
  x: t.x,
  y: t.y,
  intensity: t.intensity,
  intensitySigma: t.sigma,
  positionSigmaPx: t.positionSigmaPx,
});

const fmtCell = (c: Cell): string =>
  `${c.a.toFixed(3)} ${c.b.toFixed(3)} ${c.c.toFixed(3)} Å, ${c.alpha.toFixed(2)} ${c.beta.toFixed(2)} ${c.gamma.toFixed(2)}°`;

/**
 * Full-reflection intensities keyed "h,k,l" (indices of the reduced setting), for judging symmetry. A still frame
 * records a reflection partially, by its excitation error s: with a Gaussian rocking profile P(s) = exp(−s²/2w²),
 * each observation with P ≥ 0.25 estimates the full intensity as I/P, and a reflection's estimates are averaged
 * with weights P². The width w comes from the data: weighting the profile by itself halves its variance, so
 * w² = 2·Σ I s² / Σ I over the indexed peaks.
 */
function fullIntensities(hRed: Int32Array, indexed: Uint8Array, intensity: Float64Array, s: Float64Array): Map<string, number> {
  const w2 = rockingWidthInvA(intensity, s, indexed) ** 2;
  const acc = new Map<string, { sw: number; swi: number }>();
  for (let i = 0; i < indexed.length; i++) {
    if (!indexed[i] || !Number.isFinite(s[i])) continue;
    const p = Number.isFinite(w2) && w2 > 0 ? Math.exp(-(s[i] * s[i]) / (2 * w2)) : 1;
    if (p < 0.25) continue;
    const k = `${hRed[3 * i]},${hRed[3 * i + 1]},${hRed[3 * i + 2]}`;
    const a = acc.get(k) ?? { sw: 0, swi: 0 };
    a.sw += p * p;
    a.swi += p * p * (Math.max(0, intensity[i]) / p);
    acc.set(k, a);
  }
  return new Map([...acc].map(([k, a]) => [k, a.swi / a.sw]));
}

/**
 * Full-reflection intensities from whole rocking curves, keyed like fullIntensities: a reflection's observations on
 * consecutive frames summed, each weighted by the angle it swept (the frame's step, radians) times the rate its
 * excitation error changes with rotation, |ds/dφ| = |(e × q)_z| (the Lorentz factor of the rotation geometry, e
 * the axis). With ∫P(s) ds = 1 the sum estimates the full intensity whatever the profile's width. Curves that touch
 * the first or last frame of the range are cut and left out; a reflection recorded twice is averaged.
 */
function rockingSumIntensities(hRed: Int32Array, indexed: Uint8Array, table: PeakTable, lab: Float64Array, axisDeg: number, input: ProcessingFrames): Map<string, number> {
  const nF = input.anglesDeg.length;
  const ex = Math.cos(axisDeg * DEG);
  const ey = Math.sin(axisDeg * DEG);
  const step = (f: number): number => {
    const lo = Number(input.anglesDeg[Math.max(0, f - 1)]);
    const hi = Number(input.anglesDeg[Math.min(nF - 1, f + 1)]);
    return (Math.abs(hi - lo) / (f > 0 && f < nF - 1 ? 2 : 1)) * DEG;
  };
  let first = nF;
  let last = -1;
  for (let f = 0; f < nF; f++) {
    if (!input.included[f]) continue;
    first = Math.min(first, f);
    last = f;
  }
  const byKey = new Map<string, Array<{ f: number; w: number }>>();
  for (let i = 0; i < indexed.length; i++) {
    if (!indexed[i]) continue;
    const k = `${hRed[3 * i]},${hRed[3 * i + 1]},${hRed[3 * i + 2]}`;
    const rate = Math.abs(ex * lab[3 * i + 1] - ey * lab[3 * i]);
    const list = byKey.get(k) ?? [];
    list.push({ f: table.frame[i], w: Math.max(0, table.intensity[i]) * step(table.frame[i]) * rate });
    byKey.set(k, list);
  }
  const out = new Map<string, number>();
  for (const [k, obs] of byKey) {
    obs.sort((a, b) => a.f - b.f);
    const runs: Array<{ f0: number; f1: number; sum: number }> = [];
    for (const o of obs) {
      const r = runs.at(-1);
      if (r && o.f <= r.f1 + 1) {
        r.f1 = o.f;
        r.sum += o.w;
      } else runs.push({ f0: o.f, f1: o.f, sum: o.w });
    }
    const whole = runs.filter((r) => r.f0 > first && r.f1 < last);
    if (whole.length) out.set(k, whole.reduce((a, r) => a + r.sum, 0) / whole.length);
  }
  return out;
}

/**
 * Intensities divided by the mean of their resolution shell (as E² is): intensity falls with resolution, and that
 * trend alone would make any two reflections at the same d "agree". Shells of about 30 reflections.
 */
function normaliseByShell(intensities: ReadonlyMap<string, number>, reducedBasis: Mat3): Map<string, number> {
  const gStar = inverse3(matMul(transpose(reducedBasis), reducedBasis));
  const rows = [...intensities].map(([k, v]) => {
    const h = k.split(',').map(Number) as Vec3;
    let d2 = 0;
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) d2 += h[i] * gStar[i][j] * h[j];
    return { k, v, d2 };
  });
  rows.sort((a, b) => a.d2 - b.d2);
  const nShells = Math.max(1, Math.floor(rows.length / 30));
  const out = new Map<string, number>();
  for (let s = 0; s < nShells; s++) {
    const shell = rows.slice(Math.floor((s * rows.length) / nShells), Math.floor(((s + 1) * rows.length) / nShells));
    const mean = shell.reduce((a, r) => a + r.v, 0) / shell.length;
    for (const r of shell) out.set(r.k, mean > 0 ? r.v / mean : r.v);
  }
  return out;
}

/** Friedel mates must agree at least this well (over at least 10 pairs) for intensities to judge symmetry. */
export const MIN_INTENSITY_QUALITY_CC = 0.3;

/**
 * Judges a candidate's symmetry from its equivalents' agreement, measured against what Friedel mates reach with the
 * same data (`quality`: partial rocking curves and noise make even true equivalents disagree somewhat, and Friedel
 * mates, recorded on the same frames, agree better than other equivalents can). With intensities normalised per
 * resolution shell and compared by rank, unrelated reflections correlate near 0: a candidate is against when its
 * equivalents (or those of its worst operator) reach less than half the Friedel level even at the upper end of their
 * correlation's uncertainty (cc + 2.5/√(n − 3)). Too few pairs can then never reject a true symmetry.
 */
function verdictOf(e: SymmetryEvidence, quality: number): BravaisRow['verdict'] {
  if (e.nPairs < 6 || !Number.isFinite(e.cc) || !Number.isFinite(quality)) return 'inconclusive';
  const low = (cc: number, n: number): boolean => cc + 2.5 / Math.sqrt(Math.max(1, n - 3)) < 0.5 * quality;
  if (low(e.cc, e.nPairs) || (e.worstOperatorPairs >= 10 && low(e.worstOperatorCc, e.worstOperatorPairs))) return 'against';
  return 'for';
}

/** The direct basis (columns) of a UB: (UBᵀ)⁻¹. */
const directBasis = (ub: Mat3): Mat3 => inverse3(transpose(ub));

/**
 * A setting of the found lattice that matches a known cell: three short lattice vectors whose lengths and angles
 * are the cell's within tolerance. Returns P (reduced → known setting, columns) or null.
 */
function matchKnownCell(reduced: Mat3, known: Cell, tolRel = 0.03, tolDeg = 3): { p: Mat3; misfit: number } | null {
  const vecs: Array<{ n: Vec3; v: Vec3; len: number }> = [];
  for (let i = -2; i <= 2; i++) {
    for (let j = -2; j <= 2; j++) {
      for (let k = -2; k <= 2; k++) {
        if (!i && !j && !k) continue;
        const v = [0, 1, 2].map((r) => reduced[r][0] * i + reduced[r][1] * j + reduced[r][2] * k) as Vec3;
        vecs.push({ n: [i, j, k], v, len: Math.hypot(...v) });
      }
    }
  }
  const near = (len: number, target: number): boolean => Math.abs(len - target) <= tolRel * target;
  const ang = (a: Vec3, b: Vec3): number => Math.acos(Math.max(-1, Math.min(1, (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (Math.hypot(...a) * Math.hypot(...b))))) / DEG;
  const A = vecs.filter((v) => near(v.len, known.a));
  const B = vecs.filter((v) => near(v.len, known.b));
  const C = vecs.filter((v) => near(v.len, known.c));
  let best: { p: Mat3; misfit: number } | null = null;
  for (const a of A) {
    for (const b of B) {
      const g = Math.abs(ang(a.v, b.v) - known.gamma);
      if (g > tolDeg) continue;
      for (const c of C) {
        const al = Math.abs(ang(b.v, c.v) - known.alpha);
        const be = Math.abs(ang(a.v, c.v) - known.beta);
        if (al > tolDeg || be > tolDeg) continue;
        const p: Mat3 = [
          [a.n[0], b.n[0], c.n[0]],
          [a.n[1], b.n[1], c.n[1]],
          [a.n[2], b.n[2], c.n[2]],
        ];
        if (det3(p) < 0.5) continue; // right-handed settings only
        const misfit = Math.max(g, al, be, (100 * Math.abs(a.len - known.a)) / known.a, (100 * Math.abs(b.len - known.b)) / known.b, (100 * Math.abs(c.len - known.c)) / known.c);
        if (!best || misfit < best.misfit) best = { p, misfit };
      }
    }
  }
  return best;
}

/** Rotation U nearest to M (polar decomposition by iteration: M ← (M + M⁻ᵀ)/2). */
function nearestRotation(m: Mat3): Mat3 {
  let r = m.map((row) => [...row]) as Mat3;
  for (let it = 0; it < 30; it++) {
    const inv = transpose(inverse3(r));
    r = r.map((row, i) => row.map((v, j) => (v + inv[i][j]) / 2)) as Mat3;
  }
  return r;
}

/** Bravais candidates of the reduced lattice, judged by metric and by the intensities of their equivalents. */
function chooseBravais(
  hkl: Int32Array,
  indexed: Uint8Array,
  pRed: Mat3,
  reducedBasis: Mat3,
  table: PeakTable,
  sExc: Float64Array,
  curves: { lab: Float64Array; axisDeg: number; input: ProcessingFrames },
  params: LatticeParameters,
  statements: Statement[],
): { chosen: BravaisCandidate; rows: BravaisRow[]; friedel: { nPairs: number; cc: number } } {
  const n = table.frame.length;
  // Bravais candidates, judged by metric and by intensities of their equivalents.
  const hRed = new Int32Array(hkl.length);
  const pT = transpose(pRed);
  for (let i = 0; i < n; i++) {
    const h: Vec3 = [hkl[3 * i], hkl[3 * i + 1], hkl[3 * i + 2]];
    // h_red = Pᵀ·h
    for (let r = 0; r < 3; r++) hRed[3 * i + r] = Math.round(pT[r][0] * h[0] + pT[r][1] * h[1] + pT[r][2] * h[2]);
  }
  // Two estimates of full intensities (from stills by partiality, from whole rocking curves): the one whose
  // Friedel mates agree better judges.
  const estimates = [fullIntensities(hRed, indexed, table.intensity, sExc), rockingSumIntensities(hRed, indexed, table, curves.lab, curves.axisDeg, curves.input)].map((m) => {
    const sums = normaliseByShell(m, reducedBasis);
    return { sums, friedel: friedelAgreement(sums) };
  });
  const quality = (e: (typeof estimates)[number]): number => (e.friedel.nPairs >= 10 && Number.isFinite(e.friedel.cc) ? e.friedel.cc : -Infinity);
  const { sums, friedel } = quality(estimates[1]!) > quality(estimates[0]!) ? estimates[1]! : estimates[0]!;
  const cands = bravaisCandidates(reducedBasis, params.maxMisfitDeg ?? 2);
  // Intensities judge only where they can: Friedel mates (true equivalents in every lattice) must agree.
  const canJudge = friedel.nPairs >= 10 && friedel.cc >= MIN_INTENSITY_QUALITY_CC;
  const rows: BravaisRow[] = cands.map((c) => {
    const evidence = c.bravais === 'aP' ? { nPairs: friedel.nPairs, cc: friedel.cc, worstOperatorCc: friedel.cc, worstOperatorPairs: friedel.nPairs } : symmetryEvidence(c, sums);
    const verdict: BravaisRow['verdict'] = c.bravais === 'aP' ? 'for' : canJudge ? verdictOf(evidence, friedel.cc) : 'inconclusive';
    return { bravais: c.bravais, cell: c.constrainedCell, misfitDeg: c.misfitDeg, evidence, verdict, chosen: false };
  });
  // The highest symmetry the metric allows and the intensities do not contradict.
  const pick = rows.findIndex((r) => r.verdict !== 'against');
  rows[pick].chosen = true;
  const chosen = cands[pick];
  const rejected = rows.slice(0, pick);
  if (rejected.length) {
    statements.push({
      severity: 'warning',
      code: 'pseudo-symmetry',
      message:
        `the metric nearly allows ${rejected.map((r) => `${r.bravais} (misfit ${r.misfitDeg.toFixed(2)}°)`).join(', ')}, but the intensities of their equivalents disagree ` +
        `(${rejected.map((r) => `${r.bravais}: CC ${r.evidence.cc.toFixed(2)} over ${r.evidence.nPairs} pairs`).join('; ')}; Friedel mates CC ${friedel.cc.toFixed(2)} over ${friedel.nPairs}): ` +
        `${chosen.bravais} chosen`,
    });
  }
  if (chosen.bravais !== 'aP' && rows[pick].verdict === 'inconclusive') {
    statements.push({
      severity: 'warning',
      code: 'symmetry-from-metric',
      message: canJudge
        ? `${chosen.bravais} chosen from the metric alone (misfit ${chosen.misfitDeg.toFixed(2)}°): too few symmetry-equivalent reflections measured to check it with intensities`
        : `${chosen.bravais} chosen from the metric alone (misfit ${chosen.misfitDeg.toFixed(2)}°): the intensities are too partial to judge symmetry (Friedel mates agree to CC ${friedel.cc.toFixed(2)} over ${friedel.nPairs} pairs, below ${MIN_INTENSITY_QUALITY_CC}; a finer tilt step records whole rocking curves)`,
    });
  }
  return { chosen, rows, friedel };
}

/** What the peaks say beyond the lattice: too few indexed, a second lattice, large residuals, outlier frames. */
function diagnose(
  table: PeakTable,
  input: ProcessingFrames,
  lab: Float64Array,
  indexed: Uint8Array,
  fraction: number,
  reducedCell: Cell,
  model: RefinedModel,
  params: LatticeParameters,
  statements: Statement[],
  signal?: AbortSignal,
): { cell: Cell; nPeaks: number } | null {
  const n = table.frame.length;
  if (fraction < 0.5) {
    statements.push({
      severity: 'error',
      code: 'no-lattice',
      message: `the best lattice (reduced cell ${fmtCell(reducedCell)}) indexes only ${(100 * fraction).toFixed(0)} % of ${n} peaks: no single lattice explains them — several crystals in the mask, noise taken for peaks (raise I/σ), or a wrong beam centre`,
    });
  }
  const other = secondLattice(table, input, lab, indexed, model.axisDeg, params, signal);
  if (other) {
    statements.push({
      severity: 'warning',
      code: 'second-lattice',
      message: `a second lattice (reduced cell ${fmtCell(other.cell)}) indexes ${other.nPeaks} of the ${n - Math.round(fraction * n)} unindexed peaks: another crystal's pattern is in this object's frames (a merged neighbour?) — curate the masks and extract again`,
    });
  }
  if (!(model.rmsdPx <= 1)) {
    statements.push({ severity: 'warning', code: 'large-residuals', message: `position residuals are large (RMSD ${model.rmsdPx.toFixed(2)} px): check the beam centres and the peak radius` });
  }
  const outliers = model.perFrame.filter((f) => f.outlier);
  if (outliers.length) {
    statements.push({
      severity: 'info',
      code: 'outlier-frames',
      message: `${outliers.length} frame(s) fit worse than the rest: ${outliers.slice(0, 12).map((f) => `#${f.frame + 1} (${Number(input.anglesDeg[f.frame]).toFixed(2)}°)`).join(', ')}${outliers.length > 12 ? ', …' : ''}`,
    });
  }
  return other;
}

/** Indexes the peaks, finds the lattice and refines it; see the module header. Never throws for bad data: says so. */
export function findLattice(table: PeakTable, input: ProcessingFrames, params: LatticeParameters = {}, signal?: AbortSignal): LatticeOutcome {
  const n = table.frame.length;
  const statements: Statement[] = [];
  const geom = geometryOf(input);
  const peaks = detectorPeaks(table);
  if (params.knownCell) validateCell(params.knownCell, 'cell');
  if (n < 20) {
    statements.push({
      severity: 'error',
      code: 'too-few-peaks',
      message: `${n} peaks are too few to find a lattice (at least 20; a few hundred is usual): lower the I/σ threshold, check the beam centres, or check that the mask holds a crystal`,
    });
    return { status: 'failed', statements, nPeaks: n };
  }
  let found: LatticeSearchResult;
  try {
    found = searchLattice(peaks, geom, {
      ...(params.axisDeg !== undefined ? { axisDeg: params.axisDeg } : {}),
      ...(params.fixAxis ? { fixAxis: true } : {}),
      ...(params.perFrame ? { perFrame: params.perFrame } : {}),
      ...(params.rockingCentres ? { rockingCentres: true } : {}),
      ...(params.minCellA ? { minCellA: params.minCellA } : {}),
      ...(params.maxCellA ? { maxCellA: params.maxCellA } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    if (e instanceof ParameterError) {
      statements.push({ severity: 'error', code: 'no-lattice', message: `no lattice found in ${n} peaks: ${e.message}` });
      return { status: 'failed', statements, nPeaks: n };
    }
    throw e;
  }
  throwIfAborted(signal);
  let model: RefinedModel = found.model;
  let hkl = found.hkl;
  let indexed = found.indexed;
  let fraction = found.indexedFraction;
  const { lab } = found;
  const input2 = (h: Int32Array, use: Uint8Array): RefinementInput => refinementInput(peaks, geom, h, use);
  const maxRes = (): number => Math.max(1.5, 3 * model.rmsdPx);

  // Reduced setting of the refined lattice.
  const reduced = niggliReduce(directBasis(model.ub));
  const pRed = reduced.transform;
  let ubRed = matMul(model.ub, transpose(inverse3(pRed)));
  let reducedCellEsd = cellEsdOf(model.ub, model.ubCovariance, pRed);

  let chosen: BravaisCandidate;
  let rows: BravaisRow[] = [];
  let friedel = { nPairs: 0, cc: NaN };
  if (params.knownCell) {
    const match = matchKnownCell(reduced.basis, params.knownCell);
    if (!match) {
      statements.push({
        severity: 'error',
        code: 'cell-mismatch',
        message: `the given cell (${fmtCell(params.knownCell)}) is not a setting of the lattice in the data (reduced cell ${fmtCell(reduced.cell)}, ${(100 * fraction).toFixed(0)} % of the peaks indexed) within 3 % and 3°: check the cell, or run without it`,
      });
      return { status: 'failed', statements, nPeaks: n, reducedCell: reduced.cell, indexedFraction: fraction };
    }
    // Orientation from the matched vectors, the cell from the user: UB = U·B.
    const ubFound = matMul(ubRed, transpose(inverse3(match.p)));
    const b = bMatrix(params.knownCell);
    const u = nearestRotation(matMul(ubFound, inverse3(b)));
    const ubKnown = matMul(u, b);
    const ix0 = indexWithModel(peaks, lab, geom, ubKnown, model.axisDeg, maxRes());
    model = refineOrientation(input2(ix0.hkl, ix0.indexed), ubKnown, model.axisDeg, {
      fixCell: true,
      refineAxis: !params.fixAxis,
      ...(params.perFrame ? { perFrame: params.perFrame } : {}),
      ...(params.rockingCentres ? { rockingCentres: true } : {}),
    });
    const ix = indexWithModel(peaks, lab, geom, model.ub, model.axisDeg, maxRes());
    ({ hkl, indexed, fraction } = ix);
    statements.push({
      severity: 'info',
      code: 'known-cell',
      message: `oriented with the given cell (${fmtCell(params.knownCell)}; the free lattice matches it within ${match.misfit.toFixed(2)} % / °)`,
    });
    chosen = givenSetting(params.knownCell, match.misfit);
    ubRed = model.ub;
    reducedCellEsd = [0, 0, 0, 0, 0, 0];
  } else {
    ({ chosen, rows, friedel } = chooseBravais(
      hkl,
      indexed,
      pRed,
      reduced.basis,
      table,
      excitationErrors(input2(hkl, indexed), model.ub, model.axisDeg),
      { lab, axisDeg: model.axisDeg, input },
      params,
      statements,
    ));
  }

  // The chosen setting: UB and indices.
  const m = chosen.transform;
  const ubConv = params.knownCell ? model.ub : matMul(ubRed, transpose(inverse3(m)));
  const toSetting = params.knownCell ? null : matMul(pRed, m);
  const hConv = new Int32Array(hkl.length);
  for (let i = 0; i < n; i++) {
    if (!indexed[i]) continue;
    let h: Vec3 = [hkl[3 * i], hkl[3 * i + 1], hkl[3 * i + 2]];
    if (toSetting) h = toConventional(toSetting, h);
    hConv.set(h, 3 * i);
  }
  const cellUnconstrained = cellOfUb(ubConv);
  const cellEsd = params.knownCell ? [0, 0, 0, 0, 0, 0] : cellEsdOf(model.ub, model.ubCovariance, toSetting!);

  const other = diagnose(table, input, lab, indexed, fraction, reduced.cell, model, params, statements, signal);
  const beamCentres = Float64Array.from(input.beamCentres as ArrayLike<number>);
  for (const f of model.perFrame) {
    beamCentres[2 * f.frame] += f.beamCentreOffsetPx[0];
    beamCentres[2 * f.frame + 1] += f.beamCentreOffsetPx[1];
  }
  const failed = fraction < 0.5;
  return {
    status: failed ? 'failed' : 'indexed',
    statements,
    axis: {
      foundDeg: found.axisSearch ? found.axisSearch.axisDeg : null,
      refinedDeg: wrapAxis(model.axisDeg),
      esdDeg: model.axisEsdDeg,
      searchContrast: found.axisSearch ? found.axisSearch.contrast : null,
      direction: found.axisDirection,
    },
    reducedCell: params.knownCell ? cellOfUb(ubConv) : reduced.cell,
    reducedCellEsd,
    bravais: chosen.bravais,
    cell: params.knownCell ? params.knownCell : constrainedCell(cellUnconstrained, chosen.bravais),
    cellUnconstrained,
    cellEsd,
    ub: ubConv,
    ...(toSetting ? { esdBasis: { ub: model.ub, covariance: model.ubCovariance, toConventional: toSetting } } : {}),
    candidates: rows,
    friedel,
    hkl: hConv,
    indexed,
    indexedFraction: fraction,
    nPeaks: n,
    rmsdPx: model.rmsdPx,
    rmsdPhiDeg: model.rmsdPhiDeg,
    perFrame: model.perFrame,
    perFrameRefined: model.perFrameRefined,
    beamCentres,
    ...(other ? { otherLattices: [other] } : {}),
  };
}

/** A user's cell as the setting (no Bravais search: the user said what it is). */
function givenSetting(cell: Cell, misfit: number): BravaisCandidate {
  const identity: Mat3 = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  return { bravais: 'aP', system: 'triclinic', transform: identity, cell, constrainedCell: cell, misfitDeg: misfit, laueOps: [] };
}

/** Axis angle in (−180°, 180°]. */
export const wrapAxis = (deg: number): number => {
  const w = ((((deg + 180) % 360) + 360) % 360) - 180;
  return w === -180 ? 180 : w;
};

/**
 * A second lattice among the peaks the first leaves unindexed: worth a statement when it indexes most of them and
 * they are many (at least 20 and 15 % of all peaks).
 */
function secondLattice(
  table: PeakTable,
  input: ProcessingFrames,
  lab: Float64Array,
  indexed: Uint8Array,
  axisDeg: number,
  params: LatticeParameters,
  signal?: AbortSignal,
): { cell: Cell; nPeaks: number } | null {
  const n = table.frame.length;
  const rest: number[] = [];
  for (let i = 0; i < n; i++) if (!indexed[i]) rest.push(i);
  if (rest.length < Math.max(20, 0.15 * n)) return null;
  const labRest = new Float64Array(3 * rest.length);
  const frameRest = new Int32Array(rest.length);
  rest.forEach((i, k) => {
    labRest.set(lab.subarray(3 * i, 3 * i + 3), 3 * k);
    frameRest[k] = table.frame[i];
  });
  try {
    const r = indexPoints(crystalVectors(labRest, frameRest, input.anglesDeg, axisDeg), {
      ...(params.minCellA ? { minCellA: params.minCellA } : {}),
      ...(params.maxCellA ? { maxCellA: params.maxCellA } : {}),
      ...(signal ? { signal } : {}),
    });
    const k = Math.round(r.indexedFraction * rest.length);
    // Random points index by chance at a rate near (2·tol)³ per cell; a lattice indexes most of its points.
    if (r.indexedFraction >= 0.6 && k >= 20) return { cell: r.cell, nPeaks: k };
  } catch (e) {
    if (!(e instanceof ParameterError)) throw e;
  }
  return null;
}
