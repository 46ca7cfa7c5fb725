// Orientation refinement: weighted least squares on the detector positions of all indexed peaks (and, when asked,
// their rocking-curve centres).
//
// Model (ARCHITECTURE §4, and how a thin crystal's relrods behave): reflection h on frame t lies at
// g = R(ω, α_t + δ_t)·UB·h in the lab frame and is recorded where the Ewald sphere meets its relrod, i.e. at the
// detector position of its transverse components: x = c_x(t) + Δc_x(t) + g_x / s, y likewise. On one frame those
// fix UB's components across the beam; over the tilt range every component turns across the beam and is fixed too.
// A second kind of observation is measured: a reflection seen on consecutive frames has its rocking-curve centre —
// the intensity-weighted mean tilt φ of its run — where it crosses the Ewald sphere, so the model's excitation error
// there, s(φ), should be zero (DIALS' φ centroids; the residual in s, Å⁻¹, so that reflections near the axis, in
// reflection over a wide range, weigh little by themselves). It is reported per frame (degrees) but by default not
// fitted: a frame's scale (the mask's share of the particle, dose, a neighbour) and coarse steps pull the
// intensity-weighted mean towards some tilts, systematically with the geometry, and on every synthetic preset the
// positions alone gave the better cell (hard preset 0.014 % against 0.021 %, pseudo-orthorhombic 0.011 % against
// 0.042 %, 4° presets 0.042 % against 0.057 % on average over five seeds). `rockingCentres` fits them.
//
// Parameters: the nine entries of UB (cell and orientation together; the positions stay linear in them), the
// in-plane axis angle ω, and, where the data support them, per-frame corrections: beam-centre offsets Δc(t) and
// tilt offsets δ_t (the mean of the δ is held at zero: it is a rotation of UB about the axis). Gauss–Newton with
// the normal equations solved by ml-matrix; each kind of residual weighted by its own robust RMS; outliers beyond
// four of those dropped between cycles. A beam-centre offset common to all frames is always free (the detector
// origin). Per-frame corrections are kept when they lower the Bayesian information criterion χ² + k·ln n — with a
// good beam-centre estimate and an exact goniometer they are not.
//
// The axis direction (ω or ω + 180°): the two give the same detector positions exactly (the second is the mirror
// image z → −z of the first, with UB' = diag(1, 1, −1)·UB), but not the same excitation errors: for the right one
// the observed reflections lie on the Ewald sphere (s ≈ 0 within the rocking curve), for the mirror they lie off it
// by about |g|²/K, more the farther out. `chooseAxisDirection` keeps the one with the smaller mean s².
import { Matrix, solve, inverse } from 'ml-matrix';
import { ParameterError } from '../../src-shared/errors';
import { goniometerRotation } from '../crystallography/geometry';
import { inverse3, matMul, rotationAboutAxis, transpose, type Mat3, type Vec3 } from '../crystallography/math3';
import type { Cell } from '../crystallography/lattice';
import { cellOfBasis } from '../crystallography/reduction';
import type { DetectorPeaks, ReciprocalGeometry } from './reciprocal';

/**
 * The peaks (intensities and their σ give the rocking-curve centres; without them only positions count; the
 * centroid σ weighs the positions, uniformly without it), the geometry, and the indexing to refine.
 */
export interface RefinementInput extends DetectorPeaks, ReciprocalGeometry {
  /** Miller indices (3 per peak) and which peaks are indexed. */
  hkl: Int32Array;
  use: Uint8Array;
}

/** The refinement's input from the peaks, the geometry and an indexing. */
export function refinementInput(peaks: DetectorPeaks, geom: ReciprocalGeometry, hkl: Int32Array, use: Uint8Array): RefinementInput {
  return {
    ...peaks,
    hkl,
    use,
    anglesDeg: geom.anglesDeg,
    beamCentres: geom.beamCentres,
    reciprocalPixelInvA: geom.reciprocalPixelInvA,
    wavelengthA: geom.wavelengthA,
  };
}

export type PerFrameCorrections = 'auto' | 'none' | 'beam-centre' | 'tilt' | 'both';

export interface RefinementOptions {
  cycles?: number;
  refineAxis?: boolean;
  /** Per-frame beam-centre and tilt offsets: 'auto' (default) keeps them when significant. */
  perFrame?: PerFrameCorrections;
  /** Hold the cell (a known cell): only the orientation U of UB = U·B turns (three small rotations). */
  fixCell?: boolean;
  /** Fit the rocking-curve centres too (default: measured for the residuals only; see the module header). */
  rockingCentres?: boolean;
}

/** One reflection seen on consecutive frames: its rocking-curve centre, observed and predicted. */
export interface RockingRun {
  hkl: [number, number, number];
  /** Peak indices of the run (one per frame, in tilt order). */
  peaks: number[];
  phiObsDeg: number;
  /** The crossing the model predicts nearest φ_obs (NaN when it never crosses), degrees. */
  phiCalcDeg: number;
  /** The model's excitation error at φ_obs, Å⁻¹ (the refined residual), and ds/dφ there, Å⁻¹ per degree. */
  sInvA: number;
  slopeInvAPerDeg: number;
  used: boolean;
}

export interface FrameResidual {
  frame: number;
  /** Indexed peaks on the frame and how many the refinement used. */
  nIndexed: number;
  nUsed: number;
  /** RMS position residual of the frame's used peaks, px (NaN without peaks). */
  rmsdPx: number;
  /** Weighted mean rocking-centre residual of the runs through this frame, degrees (NaN without runs). */
  phiResidualDeg: number;
  /** Refined corrections (0 where not refined). */
  beamCentreOffsetPx: [number, number];
  tiltOffsetDeg: number;
  /** The frame's residuals are far above the rest (or its tilt offset is): worth a look. */
  outlier: boolean;
}

export interface RefinedModel {
  ub: Mat3;
  axisDeg: number;
  /** RMS of the position residuals of the peaks used, px. */
  rmsdPx: number;
  /** RMS of the rocking-centre residuals of the runs used, degrees (NaN without intensities or runs). */
  rmsdPhiDeg: number;
  /** RMS excitation error at the rocking-curve centres of the runs used, Å⁻¹. */
  rmsExcitationInvA: number;
  /** Peaks used in the last cycle (outliers dropped). */
  used: Uint8Array;
  /** Residual (dx, dy) per peak, px (NaN for peaks not indexed). */
  residuals: Float64Array;
  runs: RockingRun[];
  perFrame: FrameResidual[];
  /** Which per-frame corrections the model holds. */
  perFrameRefined: { beamCentre: boolean; tilt: boolean };
  /** Standard uncertainties: cell (a, b, c, α, β, γ) and the axis angle. */
  cellEsd: number[];
  /** Covariance of the nine UB entries (row-major j·3 + k), for esds in another setting (zeros with a fixed cell). */
  ubCovariance: number[][];
  axisEsdDeg: number;
  cycles: number;
}

const DEG = Math.PI / 180;
/** Floors of the relative σ: what the model cannot describe (pixel-level effects, rocking-curve asymmetry). */
const POSITION_FLOOR_PX = 0.03;
const EXCITATION_FLOOR_INVA = 2e-4;

/** Cell (Å, °) of an orientation matrix UB (q = UB·h): the direct basis is the columns of (UBᵀ)⁻¹. */
export function cellOfUb(ub: Mat3): Cell {
  return cellOfBasis(inverse3(transpose(ub)));
}

const cellArray = (c: Cell): number[] => [c.a, c.b, c.c, c.alpha, c.beta, c.gamma];

/**
 * The tilt (degrees) nearest `nearDeg` at which g0 = UB·h, turned about the axis at axisDeg, crosses the Ewald
 * sphere (s = 0), or NaN when it never does. With n in the detector plane, g_z(α) = A cos α + B sin α with
 * A = g0_z and B the z row of R(90°) applied to g0; s = 0 where 2K·g_z + |g0|² = 0.
 */
export function crossingAngleDeg(g0: readonly [number, number, number], axisDeg: number, wavelengthA: number, nearDeg: number, r90z?: readonly number[]): number {
  const z = r90z ?? goniometerRotation(axisDeg, 90)[2];
  const A = g0[2];
  const B = z[0] * g0[0] + z[1] * g0[1] + z[2] * g0[2];
  const amp = Math.hypot(A, B);
  const target = -((g0[0] * g0[0] + g0[1] * g0[1] + g0[2] * g0[2]) * wavelengthA) / 2;
  if (!(amp > 0) || Math.abs(target) > amp) return NaN;
  const base = Math.atan2(B, A) / DEG;
  const off = Math.acos(target / amp) / DEG;
  let best = NaN;
  for (const c of [base + off, base - off]) {
    const wrapped = c + 360 * Math.round((nearDeg - c) / 360);
    if (Number.isNaN(best) || Math.abs(wrapped - nearDeg) < Math.abs(best - nearDeg)) best = wrapped;
  }
  return best;
}

/**
 * Runs of a reflection over consecutive frames (in tilt order, frames with peaks only), complete on both sides
 * (the frames before and after exist and do not show it) and at least two frames long: their intensity-weighted
 * mean tilt is a rocking-curve centre. One peak per frame (the strongest) per reflection.
 */
export function rockingRuns(inp: RefinementInput, use: Uint8Array): RockingRun[] {
  if (!inp.intensity) return [];
  const byHkl = new Map<string, Map<number, number>>();
  const frames = new Set<number>();
  for (let i = 0; i < inp.frame.length; i++) frames.add(inp.frame[i]);
  for (let i = 0; i < inp.frame.length; i++) {
    if (!use[i]) continue;
    const key = `${inp.hkl[3 * i]},${inp.hkl[3 * i + 1]},${inp.hkl[3 * i + 2]}`;
    let m = byHkl.get(key);
    if (!m) byHkl.set(key, (m = new Map()));
    const prev = m.get(inp.frame[i]);
    if (prev === undefined || inp.intensity[i] > inp.intensity[prev]) m.set(inp.frame[i], i);
  }
  const order = [...frames].sort((a, b) => inp.anglesDeg[a] - inp.anglesDeg[b]);
  const rank = new Map(order.map((f, k) => [f, k]));
  const runs: RockingRun[] = [];
  for (const [key, m] of byHkl) {
    const ranks = [...m.keys()].map((f) => rank.get(f)!).sort((a, b) => a - b);
    let start = 0;
    for (let k = 1; k <= ranks.length; k++) {
      if (k < ranks.length && ranks[k] === ranks[k - 1] + 1) continue;
      const first = ranks[start];
      const last = ranks[k - 1];
      if (k - start >= 2 && first > 0 && last < order.length - 1) {
        const peaks = ranks.slice(start, k).map((r) => m.get(order[r])!);
        let w = 0;
        let wa = 0;
        for (const i of peaks) {
          const v = Math.max(0, inp.intensity[i]);
          w += v;
          wa += v * inp.anglesDeg[inp.frame[i]];
        }
        if (w > 0) {
          const h = key.split(',').map(Number) as [number, number, number];
          runs.push({ hkl: h, peaks, phiObsDeg: wa / w, phiCalcDeg: NaN, sInvA: NaN, slopeInvAPerDeg: NaN, used: true });
        }
      }
      start = k;
    }
  }
  return runs;
}

/** e_m × (column k of ub). */
function crossE(m: number, ub: Mat3, k: number): Vec3 {
  const v: Vec3 = [ub[0][k], ub[1][k], ub[2][k]];
  if (m === 0) return [0, -v[2], v[1]];
  if (m === 1) return [v[2], 0, -v[0]];
  return [-v[1], v[0], 0];
}

interface State {
  ub: Mat3;
  axis: number;
  /** Per frame: beam-centre offset (2) and tilt offset. */
  dc: Float64Array;
  dt: Float64Array;
}

const cloneState = (s: State): State => ({ ub: s.ub.map((r) => [...r]) as Mat3, axis: s.axis, dc: s.dc.slice(), dt: s.dt.slice() });

/** Predicted detector positions (2 per peak) of the peaks in `use`. */
function predictPositions(inp: RefinementInput, st: State, use: Uint8Array, out: Float64Array): void {
  const cache = new Map<number, Mat3>();
  const s = inp.reciprocalPixelInvA;
  for (let i = 0; i < inp.frame.length; i++) {
    if (!use[i]) continue;
    const f = inp.frame[i];
    let m = cache.get(f);
    if (!m) cache.set(f, (m = matMul(goniometerRotation(st.axis, inp.anglesDeg[f] + st.dt[f]), st.ub)));
    const h = inp.hkl[3 * i];
    const k = inp.hkl[3 * i + 1];
    const l = inp.hkl[3 * i + 2];
    out[2 * i] = inp.beamCentres[2 * f] + st.dc[2 * f] + (m[0][0] * h + m[0][1] * k + m[0][2] * l) / s;
    out[2 * i + 1] = inp.beamCentres[2 * f + 1] + st.dc[2 * f + 1] + (m[1][0] * h + m[1][1] * k + m[1][2] * l) / s;
  }
}

/** The run's rocking centre φ (degrees), each frame's weight in it, and φ's σ from the intensities' σ. */
function runObserved(inp: RefinementInput, run: RockingRun, st: State): { phi: number; weights: Array<[number, number]>; sigmaDeg: number } {
  let w = 0;
  let wa = 0;
  const weights: Array<[number, number]> = [];
  for (const i of run.peaks) {
    const v = Math.max(0, inp.intensity![i]);
    const f = inp.frame[i];
    w += v;
    wa += v * (inp.anglesDeg[f] + st.dt[f]);
    weights.push([f, v]);
  }
  const phi = wa / w;
  let varPhi = 0;
  if (inp.intensitySigma) {
    for (const i of run.peaks) {
      const f = inp.frame[i];
      varPhi += (inp.anglesDeg[f] + st.dt[f] - phi) ** 2 * inp.intensitySigma[i] ** 2;
    }
    varPhi /= w * w;
  }
  return { phi, weights: weights.map(([f, v]) => [f, v / w]), sigmaDeg: Math.sqrt(varPhi) };
}

const g0Of = (run: RockingRun, ub: Mat3): [number, number, number] => {
  const [h, k, l] = run.hkl;
  return [0, 1, 2].map((j) => ub[j][0] * h + ub[j][1] * k + ub[j][2] * l) as [number, number, number];
};

function runCalculated(inp: RefinementInput, run: RockingRun, ub: Mat3, axis: number, near: number, r90z: readonly number[]): number {
  return crossingAngleDeg(g0Of(run, ub), axis, inp.wavelengthA, near, r90z);
}

/** Excitation error (Å⁻¹) of the run's reflection at tilt φ: g = R(ω, φ)·UB·h, s = −(2K g_z + |g|²)/(2K). */
function runExcitation(inp: RefinementInput, run: RockingRun, ub: Mat3, axis: number, phiDeg: number): number {
  const g0 = g0Of(run, ub);
  const z = goniometerRotation(axis, phiDeg)[2];
  const gz = z[0] * g0[0] + z[1] * g0[1] + z[2] * g0[2];
  return -(gz + ((g0[0] * g0[0] + g0[1] * g0[1] + g0[2] * g0[2]) * inp.wavelengthA) / 2);
}

interface FitResult {
  st: State;
  use: Uint8Array;
  runUse: boolean[];
  rmsdPx: number;
  /** RMS excitation error at the rocking centres, Å⁻¹. */
  rmsS: number;
  /** χ² with the σ the last cycle was weighted with. */
  chi2: number;
  /** Observations in χ²: two per position, one per rocking-curve centre. */
  nObs: number;
  /** The global σ scales at the end (for comparing models with the same weights). */
  scale: { px: number; s: number };
  cov: Matrix | null;
  cycles: number;
}

/** Where each parameter sits in the normal equations. */
interface Layout {
  P: number;
  nGlobal: number;
  axisCol: number;
  beamCol: Map<number, number>;
  tiltCol: Map<number, number>;
  refineAxis: boolean;
  frameBeam: number[];
  /** Two columns for a beam-centre offset common to every frame (null while per-frame offsets are free). */
  globalBeamCol: number | null;
}

type AddRow = (cols: number[], vals: number[], residual: number, weight: number) => void;

const FD_EPS = 1e-4;

/**
 * JᵀJ and Jᵀr, and a function adding one weighted row. UB entries come as columns −1 − p; with a held cell (`ubFixed`
 * given) they are folded into three small rotations by d(UB_jk)/dθ_m = (e_m × UB column k)_j.
 */
function normalEquations(l: Layout, ubFixed: Mat3 | null): { JtJ: Float64Array; Jtr: Float64Array; addRow: AddRow } {
  const { P } = l;
  const JtJ = new Float64Array(P * P);
  const Jtr = new Float64Array(P);
  const dUb = ubFixed ? [0, 1, 2].map((m) => [0, 1, 2].map((j) => [0, 1, 2].map((k) => crossE(m, ubFixed, k)[j]))) : null;
  const addRow: AddRow = (cols0, vals0, r, w) => {
    let cols = cols0;
    let vals = vals0;
    if (dUb) {
      const rot = [0, 0, 0];
      cols = [];
      vals = [];
      cols0.forEach((c, a) => {
        if (c < 0) for (let m = 0; m < 3; m++) rot[m] += vals0[a] * dUb[m][Math.floor((-1 - c) / 3)][(-1 - c) % 3];
        else {
          cols.push(c);
          vals.push(vals0[a]);
        }
      });
      cols.unshift(0, 1, 2);
      vals.unshift(...rot);
    } else cols = cols0.map((c) => (c < 0 ? -1 - c : c));
    for (let a = 0; a < cols.length; a++) {
      const ca = cols[a];
      const va = vals[a] * w;
      Jtr[ca] += va * r * w;
      for (let b = 0; b < cols.length; b++) JtJ[ca * P + cols[b]] += va * vals[b] * w;
    }
  };
  return { JtJ, Jtr, addRow };
}

/** Two rows (x, y) per used peak: the detector position residual and its derivatives. */
function positionRows(inp: RefinementInput, st: State, idx: number[], pred: Float64Array, l: Layout, addRow: AddRow, weight: (i: number) => number): void {
  const s = inp.reciprocalPixelInvA;
  const eps = FD_EPS;
  const frameM = new Map<number, { R: Mat3; dOmega: Mat3; dTilt: Mat3 }>();
  for (const i of idx) {
    const f = inp.frame[i];
    let fm = frameM.get(f);
    if (!fm) {
      const a = inp.anglesDeg[f] + st.dt[f];
      const R = goniometerRotation(st.axis, a);
      fm = { R, dOmega: matMul(goniometerRotation(st.axis + eps, a), st.ub), dTilt: matMul(goniometerRotation(st.axis, a + eps), st.ub) };
      frameM.set(f, fm);
    }
    const h = [inp.hkl[3 * i], inp.hkl[3 * i + 1], inp.hkl[3 * i + 2]];
    const m0 = matMul(fm.R, st.ub);
    for (let axisRow = 0; axisRow < 2; axisRow++) {
      const cols: number[] = [];
      const vals: number[] = [];
      for (let j = 0; j < 3; j++) {
        for (let k = 0; k < 3; k++) {
          cols.push(-1 - (3 * j + k));
          vals.push((fm.R[axisRow][j] * h[k]) / s);
        }
      }
      const base = m0[axisRow][0] * h[0] + m0[axisRow][1] * h[1] + m0[axisRow][2] * h[2];
      if (l.refineAxis) {
        const v = fm.dOmega[axisRow][0] * h[0] + fm.dOmega[axisRow][1] * h[1] + fm.dOmega[axisRow][2] * h[2];
        cols.push(l.axisCol);
        vals.push((v - base) / eps / s);
      }
      const bc = l.beamCol.get(f) ?? (l.globalBeamCol ?? undefined);
      if (bc !== undefined) {
        cols.push(bc + axisRow);
        vals.push(1);
      }
      const tc = l.tiltCol.get(f);
      if (tc !== undefined) {
        const v = fm.dTilt[axisRow][0] * h[0] + fm.dTilt[axisRow][1] * h[1] + fm.dTilt[axisRow][2] * h[2];
        cols.push(tc);
        vals.push((v - base) / eps / s);
      }
      const obs = axisRow === 0 ? inp.x[i] : inp.y[i];
      addRow(cols, vals, obs - pred[2 * i + axisRow], weight(i));
    }
  }
}

/** A run's observed centre, the model's excitation error there and its slope ds/dφ (Å⁻¹ per degree). */
function runResidual(inp: RefinementInput, run: RockingRun, st: State): { ob: ReturnType<typeof runObserved>; s0: number; slope: number } {
  const ob = runObserved(inp, run, st);
  const s0 = runExcitation(inp, run, st.ub, st.axis, ob.phi);
  return { ob, s0, slope: (runExcitation(inp, run, st.ub, st.axis, ob.phi + FD_EPS) - s0) / FD_EPS };
}

/** The rocking profile's σ in excitation error (Å⁻¹): weighting the profile by itself halves its variance, so
 * w² = 2·Σ I s² / Σ I over the peaks in use. NaN without intensities. */
export function rockingWidthInvA(intensity: ArrayLike<number>, s: ArrayLike<number>, use: ArrayLike<number>): number {
  let si = 0;
  let ss = 0;
  for (let i = 0; i < use.length; i++) {
    if (!use[i] || !(intensity[i] > 0) || !Number.isFinite(s[i])) continue;
    si += intensity[i];
    ss += intensity[i] * s[i] * s[i];
  }
  return si > 0 ? Math.sqrt((2 * ss) / si) : NaN;
}

/** One row per used rocking run: s(φ_obs) = 0. */
function runRows(inp: RefinementInput, st: State, runs: RockingRun[], runUse: boolean[], l: Layout, addRow: AddRow, weight: (slope: number, sigmaDeg: number) => number): void {
  const eps = FD_EPS;
  runs.forEach((run, k) => {
    if (!runUse[k]) return;
    const { ob, s0, slope } = runResidual(inp, run, st);
    const cols: number[] = [];
    const vals: number[] = [];
    for (let p = 0; p < 9; p++) {
      const ub = st.ub.map((r) => [...r]) as Mat3;
      ub[Math.floor(p / 3)][p % 3] += 1e-6;
      cols.push(-1 - p);
      vals.push((runExcitation(inp, run, ub, st.axis, ob.phi) - s0) / 1e-6);
    }
    if (l.refineAxis) {
      cols.push(l.axisCol);
      vals.push((runExcitation(inp, run, st.ub, st.axis + eps, ob.phi) - s0) / eps);
    }
    for (const [f, w] of ob.weights) {
      const tc = l.tiltCol.get(f);
      if (tc !== undefined) {
        cols.push(tc);
        vals.push(slope * w);
      }
    }
    addRow(cols, vals, -s0, weight(slope, ob.sigmaDeg));
  });
}

/** Priors on the per-frame corrections (weak), and the mean tilt offset held at zero (strong). */
function priorRows(st: State, l: Layout, addRow: AddRow): void {
  for (const c of l.beamCol.values()) {
    const f = l.frameBeam[(c - l.nGlobal) / 2];
    addRow([c], [1], -st.dc[2 * f], 1 / 2);
    addRow([c + 1], [1], -st.dc[2 * f + 1], 1 / 2);
  }
  if (l.tiltCol.size) {
    let mean = 0;
    for (const f of l.tiltCol.keys()) mean += st.dt[f];
    mean /= l.tiltCol.size;
    for (const [f, c] of l.tiltCol) addRow([c], [1], -st.dt[f], 1 / 2);
    addRow([...l.tiltCol.values()], [...l.tiltCol.values()].map(() => 1 / l.tiltCol.size), -mean, 1e3);
  }
}

/**
 * Gauss–Newton fit of the state. `frameBeam` / `frameTilt`: the frames whose beam-centre / tilt offsets are free.
 * `sigma`: fixed σ (px, deg) for χ² comparisons; when absent they are re-estimated from the residuals each cycle.
 */
function fit(
  inp: RefinementInput,
  start: State,
  runs: RockingRun[],
  o: { cycles: number; refineAxis: boolean; fixCell?: boolean; frameBeam: number[]; frameTilt: number[]; sigma?: { px: number; s: number }; use?: Uint8Array; runUse?: boolean[] },
): FitResult {
  const n = inp.frame.length;
  const st = cloneState(start);
  const use = (o.use ?? inp.use).slice();
  const runUse = o.runUse ? [...o.runUse] : runs.map(() => true);
  // With σ given (a comparison of models) the observations stay the same: no outliers dropped.
  const dropOutliers = !o.sigma;
  // UB's columns: its nine entries, or three small rotations θ (UB ← Rot(θ)·UB) when the cell is held.
  const nUb = o.fixCell ? 3 : 9;
  const axisCol = nUb;
  // A beam-centre offset common to all frames is always refined (as DIALS refines the detector origin): the centres
  // from the direct beam carry a small common bias (the halo, the disk's edge), which would otherwise go into the cell.
  const globalBeamCol = o.frameBeam.length ? null : o.refineAxis ? nUb + 1 : nUb;
  const nGlobal = (o.refineAxis ? nUb + 1 : nUb) + (globalBeamCol === null ? 0 : 2);
  const beamCol = new Map<number, number>();
  o.frameBeam.forEach((f, k) => beamCol.set(f, nGlobal + 2 * k));
  const tiltCol = new Map<number, number>();
  o.frameTilt.forEach((f, k) => tiltCol.set(f, nGlobal + 2 * o.frameBeam.length + k));
  const P = nGlobal + 2 * o.frameBeam.length + o.frameTilt.length;
  // Each observation's σ is a global scale (estimated from the residuals unless given) times its own relative σ:
  // the centroid's uncertainty for positions, the rocking centre's for runs (in s, with a floor for the model).
  let sigPx = o.sigma?.px ?? 1;
  let sigS = o.sigma?.s ?? 1;
  const posRel = (i: number): number => (inp.positionSigmaPx ? Math.hypot(inp.positionSigmaPx[i], POSITION_FLOOR_PX) : 0.3);
  const runRel = (slope: number, sigmaDeg: number): number => Math.hypot(slope * sigmaDeg, EXCITATION_FLOOR_INVA);
  const pred = new Float64Array(2 * n);
  let rmsdPx = Infinity;
  let rmsS = NaN;
  let chi2 = Infinity;
  let nObs = 0;
  let cov: Matrix | null = null;
  let cycles = 0;
  for (let cycle = 0; cycle < o.cycles; cycle++) {
    cycles++;
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (use[i]) idx.push(i);
    if (idx.length < nGlobal + 3) throw new ParameterError('peaks', `only ${idx.length} indexed peaks: too few to refine ${nGlobal} parameters`);
    const layout: Layout = { P, nGlobal, axisCol, beamCol, tiltCol, refineAxis: o.refineAxis, frameBeam: o.frameBeam, globalBeamCol };
    const { JtJ, Jtr, addRow } = normalEquations(layout, o.fixCell ? st.ub : null);
    predictPositions(inp, st, use, pred);
    positionRows(inp, st, idx, pred, layout, addRow, (i) => 1 / (sigPx * posRel(i)));
    runRows(inp, st, runs, runUse, layout, addRow, (slope, sigmaDeg) => 1 / (sigS * runRel(slope, sigmaDeg)));
    priorRows(st, layout, addRow);
    for (let k = 0; k < P; k++) JtJ[k * P + k] *= 1 + 1e-9;
    const A = new Matrix(P, P);
    for (let a = 0; a < P; a++) for (let b = 0; b < P; b++) A.set(a, b, JtJ[a * P + b]);
    let step: Matrix;
    try {
      step = solve(A, Matrix.columnVector(Array.from(Jtr)));
    } catch {
      throw new ParameterError('peaks', 'the refinement is singular: the indexed peaks do not determine the orientation');
    }
    if (o.fixCell) {
      const th: Vec3 = [step.get(0, 0), step.get(1, 0), step.get(2, 0)];
      const ang = Math.hypot(...th);
      if (ang > 0) st.ub = matMul(rotationAboutAxis(th, ang), st.ub);
    } else for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) st.ub[j][k] += step.get(3 * j + k, 0);
    if (o.refineAxis) st.axis += step.get(axisCol, 0);
    for (const [f, c] of beamCol) {
      st.dc[2 * f] += step.get(c, 0);
      st.dc[2 * f + 1] += step.get(c + 1, 0);
    }
    if (globalBeamCol !== null) {
      for (let f = 0; f < st.dc.length / 2; f++) {
        st.dc[2 * f] += step.get(globalBeamCol, 0);
        st.dc[2 * f + 1] += step.get(globalBeamCol + 1, 0);
      }
    }
    for (const [f, c] of tiltCol) st.dt[f] += step.get(c, 0);
    // Residuals after the step; σ re-estimated; outliers (> 4σ) dropped for the next cycle.
    predictPositions(inp, st, use, pred);
    let s2 = 0;
    const dist = idx.map((i) => Math.hypot(inp.x[i] - pred[2 * i], inp.y[i] - pred[2 * i + 1]));
    for (const d of dist) s2 += d * d;
    const newRmsdPx = Math.sqrt(s2 / idx.length);
    // Residuals normalised by their relative σ: [run, s, s / relative σ].
    const sRes: Array<[number, number, number]> = [];
    runs.forEach((run, k) => {
      if (!runUse[k]) return;
      const { ob, s0, slope } = runResidual(inp, run, st);
      sRes.push([k, s0, s0 / runRel(slope, ob.sigmaDeg)]);
    });
    const newRmsS = sRes.length ? Math.sqrt(sRes.reduce((a, [, v]) => a + v * v, 0) / sRes.length) : NaN;
    const normPx = idx.map((i, k) => dist[k] / posRel(i));
    // Robust scales for weights and outlier cuts: a few wild residuals (a neighbour's spot indexed by chance, a
    // broken run) must not set the scale they are judged by. |(dx, dy)| is Rayleigh (median σ√(2 ln 2)); s normal.
    const median = (a: number[]): number => (a.length ? [...a].sort((p, q) => p - q)[a.length >> 1] : NaN);
    const sigPxNew = median(normPx) / Math.sqrt(2 * Math.LN2);
    const sigSNew = 1.4826 * median(sRes.map((r) => Math.abs(r[2])));
    // χ² with the σ this cycle was weighted with.
    chi2 = normPx.reduce((a, v) => a + (v * v) / (sigPx * sigPx), 0) + sRes.reduce((a, r) => a + (r[2] * r[2]) / (sigS * sigS), 0);
    nObs = 2 * normPx.length + sRes.length;
    let dropped = 0;
    if (dropOutliers) {
      idx.forEach((i, k) => {
        if (normPx[k] > 4.5 * sigPxNew) {
          use[i] = 0;
          dropped++;
        }
      });
      for (const [k, , v] of sRes) {
        if (Math.abs(v) > 4 * sigSNew) {
          runUse[k] = false;
          dropped++;
        }
      }
    }
    const converged = Math.abs(rmsdPx - newRmsdPx) < 1e-6 * Math.max(1, newRmsdPx) && dropped === 0;
    rmsdPx = newRmsdPx;
    rmsS = newRmsS;
    try {
      // Residual variance per unit weight scales the covariance.
      const dof = Math.max(1, 2 * idx.length + sRes.length - P);
      cov = inverse(A).mul(chi2 / dof);
    } catch {
      cov = null;
    }
    if (!o.sigma) {
      // Per-coordinate σ of positions, σ of the rocking centres (with floors so that a perfect fit stays finite).
      sigPx = Math.max(1e-3, sigPxNew);
      if (Number.isFinite(sigSNew)) sigS = Math.max(1e-3, sigSNew);
    }
    if (converged && cycle >= 2) break;
  }
  runs.forEach((r, k) => (r.used = runUse[k]));
  return { st, use, runUse, rmsdPx, rmsS, chi2, nObs, cov, cycles, scale: { px: sigPx, s: sigS } };
}

/** Cell and axis standard uncertainties from the covariance of (UB, ω), by numerical propagation. */
function uncertainties(ub: Mat3, cov: Matrix | null, refineAxis: boolean, fixCell: boolean): { cellEsd: number[]; axisEsdDeg: number; ubCovariance: number[][] } {
  const zeros = Array.from({ length: 9 }, () => new Array<number>(9).fill(0));
  if (!cov) return { cellEsd: [NaN, NaN, NaN, NaN, NaN, NaN], axisEsdDeg: NaN, ubCovariance: zeros };
  const axisCol = fixCell ? 3 : 9;
  const axisEsdDeg = refineAxis ? Math.sqrt(Math.max(0, cov.get(axisCol, axisCol))) : 0;
  if (fixCell) return { cellEsd: [0, 0, 0, 0, 0, 0], axisEsdDeg, ubCovariance: zeros };
  const cu = cov.subMatrix(0, 8, 0, 8);
  return { cellEsd: cellEsdOf(ub, cu.to2DArray()), axisEsdDeg, ubCovariance: cu.to2DArray() };
}

/**
 * Cell esds (a, b, c, α, β, γ) of the setting UB·P⁻ᵀ (P: integer change of basis, identity by default) from the
 * covariance of UB's nine entries, by numerical propagation.
 */
export function cellEsdOf(ub: Mat3, ubCovariance: number[][], p?: Mat3): number[] {
  const toSetting = (u: Mat3): Mat3 => (p ? matMul(u, transpose(inverse3(p))) : u);
  const base = cellArray(cellOfUb(toSetting(ub)));
  const Jc = new Matrix(6, 9);
  for (let q = 0; q < 9; q++) {
    const d = 1e-7;
    const up = ub.map((r) => [...r]) as Mat3;
    up[Math.floor(q / 3)][q % 3] += d;
    const c = cellArray(cellOfUb(toSetting(up)));
    for (let k = 0; k < 6; k++) Jc.set(k, q, (c[k] - base[k]) / d);
  }
  const cc = Jc.mmul(new Matrix(ubCovariance)).mmul(Jc.transpose());
  return [0, 1, 2, 3, 4, 5].map((k) => Math.sqrt(Math.max(0, cc.get(k, k))));
}

/** Refines UB, the axis angle and (where significant) per-frame corrections; see the module header. */
export function refineOrientation(inp: RefinementInput, ub0: Mat3, axis0: number, o: RefinementOptions = {}): RefinedModel {
  const nF = inp.anglesDeg.length;
  const refineAxis = o.refineAxis ?? true;
  const cycles = o.cycles ?? 12;
  const mode = o.perFrame ?? 'auto';
  const start: State = { ub: ub0.map((r) => [...r]) as Mat3, axis: axis0, dc: new Float64Array(2 * nF), dt: new Float64Array(nF) };
  const runs = rockingRuns(inp, inp.use);
  // Rocking-curve centres are measured for the residuals per frame; fitted only when asked (module header).
  const fitted: RockingRun[] = o.rockingCentres ? runs : [];
  const fixCell = o.fixCell ?? false;
  const global = fit(inp, start, fitted, { cycles, refineAxis, fixCell, frameBeam: [], frameTilt: [] });
  let best = global;
  let refined = { beamCentre: false, tilt: false };
  if (mode !== 'none') {
    // Frames with enough peaks to carry their own corrections.
    const count = new Int32Array(nF);
    for (let i = 0; i < inp.frame.length; i++) if (global.use[i]) count[inp.frame[i]]++;
    const rich = [...count.keys()].filter((f) => count[f] >= 6);
    // A frame's tilt offset turns its spots about the axis (the positions measure it) and moves its rocking centres.
    const inRuns = new Int32Array(nF);
    fitted.forEach((r, k) => global.runUse[k] && r.peaks.forEach((i) => inRuns[inp.frame[i]]++));
    const richTilt = fitted.length ? rich.filter((f) => inRuns[f] >= 4) : rich;
    const beam = mode === 'beam-centre' || mode === 'both' || mode === 'auto';
    const tilt = mode === 'tilt' || mode === 'both' || mode === 'auto';
    const beamFrames = beam ? rich : [];
    const tiltFrames = tilt && richTilt.length >= 3 ? richTilt : [];
    if (beamFrames.length || tiltFrames.length) {
      const sigma = global.scale;
      // Every model on the same observations with the same σ; 'auto' keeps the one with the lowest Bayesian
      // information criterion χ² + k·ln n. Per-frame offsets absorb any systematic error, and a plain χ² test keeps
      // them where they only trade accuracy in the cell (along the beam) for a smaller residual.
      const same = { sigma, use: global.use, runUse: global.runUse, refineAxis, fixCell };
      const copy = (): RockingRun[] => fitted.map((r) => ({ ...r }));
      const baseline = fit(inp, global.st, copy(), { ...same, cycles: 2, frameBeam: [], frameTilt: [] });
      const models =
        mode === 'auto'
          ? [
              { frameBeam: beamFrames, frameTilt: [] },
              { frameBeam: [], frameTilt: tiltFrames },
              { frameBeam: beamFrames, frameTilt: tiltFrames },
            ].filter((m) => m.frameBeam.length || m.frameTilt.length)
          : [{ frameBeam: beamFrames, frameTilt: tiltFrames }];
      const bic = (chi2: number, k: number): number => chi2 + k * Math.log(Math.max(2, baseline.nObs));
      let chosen: { frameBeam: number[]; frameTilt: number[]; st: State } | null = null;
      let bestBic = mode === 'auto' ? bic(baseline.chi2, 0) : Infinity;
      // From the converged global fit the offsets settle in a few cycles; the chosen model is refined fully below.
      for (const m of models) {
        const local = fit(inp, global.st, copy(), { ...same, cycles: Math.min(cycles, 4), ...m });
        const b = bic(local.chi2, 2 * m.frameBeam.length + m.frameTilt.length);
        if (b < bestBic) [bestBic, chosen] = [b, { ...m, st: local.st }];
      }
      if (chosen) {
        // Re-fit with σ from the data and the chosen corrections free.
        const { frameBeam, frameTilt } = chosen;
        best = fit(inp, chosen.st, fitted, { cycles, refineAxis, fixCell, frameBeam, frameTilt, use: global.use, runUse: global.runUse });
        refined = { beamCentre: frameBeam.length > 0, tilt: frameTilt.length > 0 };
      }
    }
  }
  const { st } = best;
  // Residuals of every indexed peak (the dropped ones too, for the per-frame view).
  const n = inp.frame.length;
  const pred = new Float64Array(2 * n);
  predictPositions(inp, st, inp.use, pred);
  const residuals = new Float64Array(2 * n).fill(NaN);
  for (let i = 0; i < n; i++) {
    if (!inp.use[i]) continue;
    residuals[2 * i] = inp.x[i] - pred[2 * i];
    residuals[2 * i + 1] = inp.y[i] - pred[2 * i + 1];
  }
  const r90z = goniometerRotation(st.axis, 90)[2];
  for (const run of runs) {
    const ob = runObserved(inp, run, st);
    run.phiObsDeg = ob.phi;
    run.phiCalcDeg = runCalculated(inp, run, st.ub, st.axis, ob.phi, r90z);
    run.sInvA = runExcitation(inp, run, st.ub, st.axis, ob.phi);
    run.slopeInvAPerDeg = (runExcitation(inp, run, st.ub, st.axis, ob.phi + 1e-3) - run.sInvA) / 1e-3;
  }
  if (!o.rockingCentres) {
    // Not fitted: runs whose centre is off by more than four robust σ (a broken run, a neighbour's spot) leave the
    // statistics, as the fit would have dropped them.
    const off = (r: RockingRun): number => Math.abs(r.sInvA / r.slopeInvAPerDeg);
    const sorted = runs.map(off).filter(Number.isFinite).sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1] ?? 0;
    for (const r of runs) r.used = off(r) <= 4 * 1.4826 * median;
  }
  // The rocking residual in degrees, over runs that cross the sphere at a useful angle (not along the axis).
  const slopes = runs.filter((r) => r.used).map((r) => Math.abs(r.slopeInvAPerDeg)).sort((a, b) => a - b);
  const minSlope = 0.25 * (slopes[slopes.length >> 1] ?? 0);
  const dPhi = runs.filter((r) => r.used && Math.abs(r.slopeInvAPerDeg) > minSlope).map((r) => r.sInvA / r.slopeInvAPerDeg);
  const rmsdPhiDeg = dPhi.length ? Math.sqrt(dPhi.reduce((a, v) => a + v * v, 0) / dPhi.length) : NaN;
  const perFrame = frameResiduals(inp, best.use, residuals, runs, st, refined);
  return {
    ub: st.ub,
    axisDeg: st.axis,
    rmsdPx: best.rmsdPx,
    rmsdPhiDeg,
    rmsExcitationInvA: best.rmsS,
    used: best.use,
    residuals,
    runs,
    perFrame,
    perFrameRefined: refined,
    ...uncertainties(st.ub, best.cov, refineAxis, o.fixCell ?? false),
    cycles: best.cycles,
  };
}

function frameResiduals(inp: RefinementInput, used: Uint8Array, residuals: Float64Array, runs: RockingRun[], st: State, refined: { beamCentre: boolean; tilt: boolean }): FrameResidual[] {
  const nF = inp.anglesDeg.length;
  const nIdx = new Int32Array(nF);
  const nUse = new Int32Array(nF);
  const ss = new Float64Array(nF);
  for (let i = 0; i < inp.frame.length; i++) {
    if (!inp.use[i]) continue;
    const f = inp.frame[i];
    nIdx[f]++;
    if (!used[i]) continue;
    nUse[f]++;
    ss[f] += residuals[2 * i] ** 2 + residuals[2 * i + 1] ** 2;
  }
  const phiW = new Float64Array(nF);
  const phiS = new Float64Array(nF);
  const slopes = runs.filter((r) => r.used).map((r) => Math.abs(r.slopeInvAPerDeg)).sort((a, b) => a - b);
  const minSlope = 0.25 * (slopes[slopes.length >> 1] ?? 0);
  for (const r of runs) {
    if (!r.used || !(Math.abs(r.slopeInvAPerDeg) > minSlope)) continue;
    for (const i of r.peaks) {
      const f = inp.frame[i];
      const w = Math.max(0, inp.intensity![i]);
      phiW[f] += w;
      phiS[f] += (w * r.sInvA) / r.slopeInvAPerDeg;
    }
  }
  const frames = [...new Set(Array.from(inp.frame))].sort((a, b) => inp.anglesDeg[a] - inp.anglesDeg[b]);
  const out: FrameResidual[] = frames.map((f) => ({
    frame: f,
    nIndexed: nIdx[f],
    nUsed: nUse[f],
    rmsdPx: nUse[f] ? Math.sqrt(ss[f] / nUse[f]) : NaN,
    phiResidualDeg: phiW[f] > 0 ? phiS[f] / phiW[f] : NaN,
    beamCentreOffsetPx: [refined.beamCentre ? st.dc[2 * f] : 0, refined.beamCentre ? st.dc[2 * f + 1] : 0],
    tiltOffsetDeg: refined.tilt ? st.dt[f] : 0,
    outlier: false,
  }));
  // Outlier frames: position RMS far above the typical frame's, or a rocking residual / tilt offset far above.
  const med = (a: number[]): number => (a.length ? [...a].sort((p, q) => p - q)[a.length >> 1] : NaN);
  const rms = out.filter((r) => r.nUsed >= 3).map((r) => r.rmsdPx);
  const mRms = med(rms);
  const madRms = med(rms.map((v) => Math.abs(v - mRms))) * 1.4826;
  const phis = out.filter((r) => Number.isFinite(r.phiResidualDeg)).map((r) => Math.abs(r.phiResidualDeg + r.tiltOffsetDeg));
  const mPhi = med(phis);
  for (const r of out) {
    const badRms = r.nUsed >= 3 && r.rmsdPx > Math.max(2 * mRms, mRms + 5 * madRms);
    const badIndexed = r.nIndexed >= 5 && r.nUsed < 0.5 * r.nIndexed;
    const phi = Math.abs(r.phiResidualDeg + r.tiltOffsetDeg);
    const badPhi = Number.isFinite(phi) && phis.length >= 5 && phi > Math.max(5 * mPhi, 0.05);
    r.outlier = badRms || badIndexed || badPhi;
  }
  return out;
}

/** Excitation errors s (Å⁻¹) of the indexed peaks for (UB, ω): s = −(2K g_z + |g|²) / (2K). */
export function excitationErrors(inp: RefinementInput, ub: Mat3, axisDeg: number): Float64Array {
  const K = 1 / inp.wavelengthA;
  const out = new Float64Array(inp.frame.length).fill(NaN);
  const rots = new Map<number, Mat3>();
  for (let i = 0; i < inp.frame.length; i++) {
    if (!inp.use[i]) continue;
    const f = inp.frame[i];
    let r = rots.get(f);
    if (!r) rots.set(f, (r = goniometerRotation(axisDeg, inp.anglesDeg[f])));
    const m = matMul(r, ub);
    const h = [inp.hkl[3 * i], inp.hkl[3 * i + 1], inp.hkl[3 * i + 2]];
    const g = [0, 1, 2].map((j) => m[j][0] * h[0] + m[j][1] * h[1] + m[j][2] * h[2]);
    out[i] = -(2 * K * g[2] + g[0] * g[0] + g[1] * g[1] + g[2] * g[2]) / (2 * K);
  }
  return out;
}

/**
 * The axis direction: ω or ω + 180° with the mirrored UB (same detector positions). Returns the one whose indexed
 * peaks sit on the Ewald sphere (smaller mean s²), with both values for the report.
 */
export function chooseAxisDirection(inp: RefinementInput, ub: Mat3, axisDeg: number): { ub: Mat3; axisDeg: number; meanS2: number; mirroredMeanS2: number } {
  const mirrorUb: Mat3 = [ub[0].slice() as Mat3[0], ub[1].slice() as Mat3[0], ub[2].map((v) => -v) as Mat3[0]];
  const mean = (a: Float64Array): number => {
    let s = 0;
    let k = 0;
    for (const v of a) {
      if (!Number.isFinite(v)) continue;
      s += v * v;
      k++;
    }
    return k ? s / k : Infinity;
  };
  const a = mean(excitationErrors(inp, ub, axisDeg));
  const b = mean(excitationErrors(inp, mirrorUb, axisDeg + 180));
  return a <= b ? { ub, axisDeg, meanS2: a, mirroredMeanS2: b } : { ub: mirrorUb, axisDeg: axisDeg + 180, meanS2: b, mirroredMeanS2: a };
}
