// Integration of a stepwise tilt series (ARCHITECTURE §9): every reflection of the refined lattice predicted on every
// frame with its excitation error, integrated on the frames where its rocking curve is excited, and its rocking curve
// summed over those frames with the Lorentz factor of the rotation geometry.
//
// On one frame a reflection is the probe's convergence disk (radius α/λ, the same disk as the direct beam), so it is
// integrated by summation over that disk with the background from an annulus outside it (pixels near other predicted
// reflections and the frame's unindexed peaks left out), and — for weak observations — by fitting a radial profile
// learnt from the strong ones (both estimate the counts inside the disk, so the two agree in scale).
//
// Over the frames: the kinematic intensity integrated over the excitation error, ∫ I(s) ds, is what is proportional to
// |F|² (the crystal's thickness distribution and the convergence only shape the curve, not its integral). A frame at
// tilt φ_f samples I(s(φ_f)); with s changing at |ds/dφ| = |ê × g|_z (ê the rotation axis) the rectangle rule gives
//   ∫ I ds ≈ Σ_f I_f · |ds/dφ|_f · Δφ_f,
// Δφ_f the angular spacing of the frames around f (radians). |ds/dφ| is the spot's distance from the rotation axis on
// the detector, in Å⁻¹; 1/|ds/dφ| is the Lorentz factor. Where the steps are fine against the curve's width the sum is
// (nearly) the integral; with coarse steps it is still unbiased over reflections but noisier. Reflections within a few
// degrees of the axis (|ds/dφ| small) pass through the sphere over many frames and are flagged; curves cut by the ends
// of the tilt range are flagged partial.
import { ParameterError, throwIfAborted } from '../../src-shared/errors';
import { goniometerRotation } from '../crystallography/geometry';
import { inverse3, matMul, transpose, type Mat3 } from '../crystallography/math3';
import type { ProcessingFrames } from './pipeline';

export interface IntegrationParameters {
  /** Resolution limit, Å (default: the detector's corner). */
  dMinA?: number;
  /** Disk radius, px (default: from the direct beam, as the peak search). */
  radiusPx?: number;
  /** Detector counts per pixel unit (1 for summed counts). */
  gain?: number;
  /** Apply the Lorentz factor (default true; off only to show what it does). */
  lorentz?: boolean;
  /** Profile-fit observations whose summation I/σ is below this (default 5; 0 turns profile fitting off). */
  profileBelowIOverSigma?: number;
  /** Bad pixels and beam stop, nqy · nqx, non-zero = masked: a disk that touches one is not integrated. */
  mask?: Uint8Array;
  /** Disks closer than this to the beam centre are not integrated (the direct beam's tail), px (default 2r + 2). */
  excludeRadiusPx?: number;
}

/** The refined model integration predicts from. */
export interface IntegrationModel {
  /** q = R(φ)·UB·h, crystal frame of tilt 0, Å⁻¹. */
  ub: Mat3;
  axisDeg: number;
  /** [cx, cy] per frame (refined), detector px. */
  beamCentres: ArrayLike<number>;
  /** Per-frame tilt corrections, degrees (absent: none). */
  tiltOffsetsDeg?: ArrayLike<number>;
  /** σ of the rocking curve in excitation error, Å⁻¹ (NaN: estimated from the convergence). */
  rockingWidthInvA: number;
}

/** Flags of a reflection (bit set). */
export const REFLECTION_FLAGS = { partial: 1, overlap: 2, nearAxis: 4, edge: 8, masked: 16 } as const;
/** Flags of one frame's observation. */
export const OBSERVATION_FLAGS = { overlap: 1, profileFitted: 2 } as const;

/** One reflection on one frame. */
export interface FrameObservations {
  reflection: Int32Array;
  frame: Int32Array;
  x: Float64Array;
  y: Float64Array;
  /** Excitation error, Å⁻¹. */
  s: Float64Array;
  intensity: Float64Array;
  sigma: Float64Array;
  /** |ds/dφ|·Δφ (Å⁻¹): the weight that turns the frame's intensity into its share of ∫ I ds (1 without Lorentz). */
  lorentz: Float64Array;
  flags: Uint8Array;
}

export interface IntegratedReflections {
  /** Conventional Miller indices, 3 per reflection. */
  hkl: Int32Array;
  dA: Float64Array;
  /** ∫ I ds (counts · Å⁻¹ ·1e3 for readable numbers) and its σ. */
  intensity: Float64Array;
  sigma: Float64Array;
  /** Frames inside the curve's core (|s| within its width): how well the curve was sampled. */
  nFrames: Int32Array;
  firstFrame: Int32Array;
  lastFrame: Int32Array;
  /** Tilt (degrees) where the reflection crosses the Ewald sphere (NaN when it does not in the range). */
  crossingDeg: Float64Array;
  flags: Uint8Array;
  observations: FrameObservations;
  radiusPx: number;
  /** Radial profile used for fitting: fraction of the disk's counts per pixel in 0.25 px bins of distance. */
  profile: Float64Array;
  nProfileFitted: number;
}

const DEG = Math.PI / 180;
/** Scales ∫ I ds (counts·Å⁻¹) into numbers of the size of the frame sums. */
const INTEGRAL_UNIT = 1e3;
const PROFILE_BIN_PX = 0.25;

interface Candidate {
  refl: number;
  frame: number;
  x: number;
  y: number;
  s: number;
  lorentz: number;
  core: boolean;
}

interface Prediction {
  hkl: number[];
  dA: number[];
  candidates: Candidate[];
  flags: number[];
  crossingDeg: number[];
  /** Per frame: predicted positions near the sphere (for overlaps and background), x, y pairs. */
  nearby: number[][];
}

/** Angular spacing around each frame, radians (half the distance to both neighbours among included frames). */
function frameSpacingRad(anglesDeg: ArrayLike<number>, included: ArrayLike<number>): Float64Array {
  const idx: number[] = [];
  for (let f = 0; f < anglesDeg.length; f++) if (included[f]) idx.push(f);
  const out = new Float64Array(anglesDeg.length);
  for (let k = 0; k < idx.length; k++) {
    const a = anglesDeg[idx[Math.max(0, k - 1)]];
    const b = anglesDeg[idx[Math.min(idx.length - 1, k + 1)]];
    const span = idx.length > 1 ? Math.abs(b - a) / (k === 0 || k === idx.length - 1 ? 1 : 2) : 1;
    out[idx[k]] = span * DEG;
  }
  return out;
}

/** Miller-index bounds of the sphere |q| ≤ qMax: |h| ≤ qMax·|a| (a the direct axis). */
function indexBounds(ub: Mat3, qMax: number): [number, number, number] {
  const direct = inverse3(transpose(ub)); // columns: a, b, c
  return [0, 1, 2].map((j) => Math.ceil(qMax * Math.hypot(direct[0][j], direct[1][j], direct[2][j]))) as [number, number, number];
}

/** Every reflection within the resolution limit and on the detector, with the frames its rocking curve excites. */
function predict(
  input: ProcessingFrames,
  model: IntegrationModel,
  radiusPx: number,
  qMax: number,
  lorentz: boolean,
  blocked: { mask?: Uint8Array; excludeRadiusPx: number },
  signal?: AbortSignal,
): Prediction {
  const [nqy, nqx] = input.detectorShape;
  const K = 1 / input.wavelengthA;
  const pix = input.reciprocalPixelInvA;
  const nF = input.anglesDeg.length;
  const rots: Array<Mat3 | null> = [];
  for (let f = 0; f < nF; f++) rots.push(input.included[f] ? matMul(goniometerRotation(model.axisDeg, input.anglesDeg[f] + (model.tiltOffsetsDeg?.[f] ?? 0)), model.ub) : null);
  const spacing = frameSpacingRad(input.anglesDeg, input.included);
  const axis = [Math.cos(model.axisDeg * DEG), Math.sin(model.axisDeg * DEG)];
  const alphaK = radiusPx * pix; // the convergence disk's radius in Å⁻¹ (α·K)
  const w0 = Number.isFinite(model.rockingWidthInvA) ? model.rockingWidthInvA : 0;
  const [hMax, kMax, lMax] = indexBounds(model.ub, qMax);
  const out: Prediction = { hkl: [], dA: [], candidates: [], flags: [], crossingDeg: [], nearby: Array.from({ length: nF }, () => []) };
  const edge = radiusPx + 1;
  for (let h = -hMax; h <= hMax; h++) {
    throwIfAborted(signal);
    for (let k = -kMax; k <= kMax; k++) {
      for (let l = -lMax; l <= lMax; l++) {
        if (!h && !k && !l) continue;
        const g0 = [0, 1, 2].map((j) => model.ub[j][0] * h + model.ub[j][1] * k + model.ub[j][2] * l);
        const q = Math.hypot(g0[0], g0[1], g0[2]);
        if (q > qMax) continue;
        const width = Math.hypot(w0, (alphaK * q) / K); // rocking σ widened by the convergence (α·|g|)
        const refl = out.hkl.length / 3;
        const cands: Candidate[] = [];
        let flags = 0;
        let prevS = NaN;
        let prevF = -1;
        let crossing = NaN;
        let first = -1;
        let last = -1;
        for (let f = 0; f < nF; f++) {
          const m = rots[f];
          if (!m) continue;
          const gx = m[0][0] * h + m[0][1] * k + m[0][2] * l;
          const gy = m[1][0] * h + m[1][1] * k + m[1][2] * l;
          const gz = m[2][0] * h + m[2][1] * k + m[2][2] * l;
          const s = -(2 * K * gz + q * q) / (2 * K);
          const slope = Math.abs(axis[0] * gy - axis[1] * gx); // |ds/dφ|, Å⁻¹ per radian
          if (prevF >= 0 && Math.sign(s) !== Math.sign(prevS) && Number.isNaN(crossing)) {
            crossing = input.anglesDeg[prevF] + ((input.anglesDeg[f] - input.anglesDeg[prevF]) * prevS) / (prevS - s);
          }
          prevS = s;
          prevF = f;
          const window = 3 * width + 0.5 * slope * spacing[f];
          if (Math.abs(s) > window) continue;
          if (first < 0) first = f;
          last = f;
          const x = model.beamCentres[2 * f] + gx / pix;
          const y = model.beamCentres[2 * f + 1] + gy / pix;
          const core = Math.abs(s) <= Math.max(width, 0.5 * slope * spacing[f]);
          // Only a reflection excited on this frame can spill into another's disk or background.
          if (Math.abs(s) <= 2 * width) out.nearby[f].push(x, y);
          if (x < edge || y < edge || x > nqx - 1 - edge || y > nqy - 1 - edge) {
            flags |= REFLECTION_FLAGS.edge;
            continue;
          }
          if (Math.hypot(x - model.beamCentres[2 * f], y - model.beamCentres[2 * f + 1]) < blocked.excludeRadiusPx || touchesMask(blocked.mask, nqx, x, y, radiusPx + 1)) {
            flags |= REFLECTION_FLAGS.masked;
            continue;
          }
          cands.push({ refl, frame: f, x, y, s, lorentz: lorentz ? slope * spacing[f] : 1, core });
        }
        if (!cands.length) continue;
        if (first === firstIncluded(input) || last === lastIncluded(input)) flags |= REFLECTION_FLAGS.partial;
        // Within ~3° of the axis the curve spreads over many frames and 1/|ds/dφ| diverges.
        const gPerp = Math.abs(axis[0] * g0[1] - axis[1] * g0[0]);
        if (gPerp < 0.05 * q && Math.abs(g0[2]) < 0.05 * q) flags |= REFLECTION_FLAGS.nearAxis;
        out.hkl.push(h, k, l);
        out.dA.push(1 / q);
        out.flags.push(flags);
        out.crossingDeg.push(crossing);
        for (const c of cands) out.candidates.push(c);
      }
    }
  }
  return out;
}

/** Whether any masked pixel lies within r of (x, y). */
function touchesMask(mask: Uint8Array | undefined, nqx: number, x: number, y: number, r: number): boolean {
  if (!mask) return false;
  const nqy = mask.length / nqx;
  for (let j = Math.max(0, Math.floor(y - r)); j <= Math.min(nqy - 1, Math.ceil(y + r)); j++) {
    for (let i = Math.max(0, Math.floor(x - r)); i <= Math.min(nqx - 1, Math.ceil(x + r)); i++) {
      if (mask[j * nqx + i] && Math.hypot(i - x, j - y) <= r) return true;
    }
  }
  return false;
}

function firstIncluded(input: ProcessingFrames): number {
  for (let f = 0; f < input.anglesDeg.length; f++) if (input.included[f]) return f;
  return -1;
}
function lastIncluded(input: ProcessingFrames): number {
  for (let f = input.anglesDeg.length - 1; f >= 0; f--) if (input.included[f]) return f;
  return -1;
}

interface DiskSum {
  intensity: number;
  variance: number;
  background: number;
  backgroundVariance: number;
  nDisk: number;
  overlap: boolean;
}

/**
 * Summation over the disk of radius r at (x, y) on one frame with the background from the annulus r + 1 … r + 1 + max(2, r),
 * leaving out pixels within r + 1 of the other positions in `others` (x, y pairs). The background is a trimmed mean
 * (the largest 10 % dropped: unindexed spots that were not predicted). Variance: counts (× gain) plus the
 * background's uncertainty spread over the disk.
 */
export function integrateDisk(frame: Float32Array, nqx: number, nqy: number, x: number, y: number, r: number, others: ArrayLike<number>, gain: number): DiskSum {
  const rb0 = r + 1;
  const rb1 = rb0 + Math.max(2, r);
  const x0 = Math.max(0, Math.floor(x - rb1));
  const x1 = Math.min(nqx - 1, Math.ceil(x + rb1));
  const y0 = Math.max(0, Math.floor(y - rb1));
  const y1 = Math.min(nqy - 1, Math.ceil(y + rb1));
  const near: number[] = [];
  let overlap = false;
  for (let k = 0; k < others.length; k += 2) {
    const d = Math.hypot(others[k] - x, others[k + 1] - y);
    if (d < 1e-6 || d > rb1 + rb0) continue;
    near.push(others[k], others[k + 1]);
    // r is generous (1.8 × the direct beam's HWHM, ≈ 1.8 disk radii): centres closer than 1.5 r put a neighbour's
    // disk into this one's sum.
    if (d < 1.5 * r) overlap = true;
  }
  const bg: number[] = [];
  let sum = 0;
  let nDisk = 0;
  for (let j = y0; j <= y1; j++) {
    for (let i = x0; i <= x1; i++) {
      const d = Math.hypot(i - x, j - y);
      const v = frame[j * nqx + i];
      if (d <= r) {
        sum += v;
        nDisk++;
        continue;
      }
      if (d < rb0 || d > rb1) continue;
      let clear = true;
      for (let k = 0; k < near.length; k += 2) if (Math.hypot(i - near[k], j - near[k + 1]) < rb0) clear = false;
      if (clear) bg.push(v);
    }
  }
  bg.sort((a, b) => a - b);
  const keep = bg.slice(0, Math.max(1, Math.ceil(bg.length * 0.9)));
  const b = keep.length ? keep.reduce((a, v) => a + v, 0) / keep.length : 0;
  const bVar = keep.length ? (gain * Math.max(b, 0)) / keep.length : gain * Math.max(sum / Math.max(1, nDisk), 1);
  return {
    intensity: sum - nDisk * b,
    variance: gain * Math.max(sum, 0) + nDisk * nDisk * bVar + (keep.length ? 0 : 1),
    background: b,
    backgroundVariance: bVar,
    nDisk,
    overlap,
  };
}

/** Learn the radial profile (fraction of the disk counts per pixel, by distance) from strong, clean observations. */
function learnProfile(input: ProcessingFrames, obs: Array<{ x: number; y: number; frame: number; sum: DiskSum }>, r: number): Float64Array {
  const [nqy, nqx] = input.detectorShape;
  const npix = nqy * nqx;
  const nBins = Math.ceil((r + 0.5) / PROFILE_BIN_PX) + 1;
  const acc = new Float64Array(nBins);
  const cnt = new Float64Array(nBins);
  for (const o of obs) {
    for (let j = Math.max(0, Math.floor(o.y - r)); j <= Math.min(nqy - 1, Math.ceil(o.y + r)); j++) {
      for (let i = Math.max(0, Math.floor(o.x - r)); i <= Math.min(nqx - 1, Math.ceil(o.x + r)); i++) {
        const d = Math.hypot(i - o.x, j - o.y);
        if (d > r) continue;
        const b = Math.min(nBins - 1, Math.floor(d / PROFILE_BIN_PX));
        acc[b] += (input.frames[o.frame * npix + j * nqx + i] - o.sum.background) / o.sum.intensity;
        cnt[b]++;
      }
    }
  }
  const out = new Float64Array(nBins);
  for (let b = 0; b < nBins; b++) out[b] = cnt[b] ? Math.max(0, acc[b] / cnt[b]) : 0;
  return out;
}

/**
 * Profile fit of one observation: I = Σ P (c − b)/v / Σ P²/v over the disk, P the learnt profile renormalised to sum 1
 * over this disk's pixels, v = gain·(b + I·P) (two passes). Returns null when the profile has no weight here.
 */
function profileFit(input: ProcessingFrames, frame: number, x: number, y: number, r: number, sum: DiskSum, profile: Float64Array, gain: number): { intensity: number; variance: number } | null {
  const [nqy, nqx] = input.detectorShape;
  const npix = nqy * nqx;
  const px: number[] = [];
  const pv: number[] = [];
  for (let j = Math.max(0, Math.floor(y - r)); j <= Math.min(nqy - 1, Math.ceil(y + r)); j++) {
    for (let i = Math.max(0, Math.floor(x - r)); i <= Math.min(nqx - 1, Math.ceil(x + r)); i++) {
      const d = Math.hypot(i - x, j - y);
      if (d > r) continue;
      px.push(input.frames[frame * npix + j * nqx + i] - sum.background);
      pv.push(profile[Math.min(profile.length - 1, Math.floor(d / PROFILE_BIN_PX))]);
    }
  }
  const norm = pv.reduce((a, v) => a + v, 0);
  if (!(norm > 0)) return null;
  for (let k = 0; k < pv.length; k++) pv[k] /= norm;
  let intensity = Math.max(0, sum.intensity);
  let variance = sum.variance;
  for (let pass = 0; pass < 2; pass++) {
    let num = 0;
    let den = 0;
    for (let k = 0; k < pv.length; k++) {
      const v = gain * Math.max(sum.background + Math.max(0, intensity) * pv[k], 1e-3) + sum.backgroundVariance;
      num += (pv[k] * px[k]) / v;
      den += (pv[k] * pv[k]) / v;
    }
    intensity = num / den;
    variance = 1 / den;
  }
  return { intensity, variance };
}

/** The frame-by-frame observations: summation, then profile fitting of the weak ones. */
function integrateObservations(input: ProcessingFrames, pred: Prediction, unindexed: number[][], r: number, gain: number, profileBelow: number, signal?: AbortSignal): { obs: FrameObservations; profile: Float64Array; nProfileFitted: number } {
  const [nqy, nqx] = input.detectorShape;
  const npix = nqy * nqx;
  const n = pred.candidates.length;
  const obs: FrameObservations = {
    reflection: new Int32Array(n),
    frame: new Int32Array(n),
    x: new Float64Array(n),
    y: new Float64Array(n),
    s: new Float64Array(n),
    intensity: new Float64Array(n),
    sigma: new Float64Array(n),
    lorentz: new Float64Array(n),
    flags: new Uint8Array(n),
  };
  const sums: DiskSum[] = [];
  const others: number[][] = pred.nearby.map((p, f) => p.concat(unindexed[f] ?? []));
  for (let i = 0; i < n; i++) {
    if (i % 4096 === 0) throwIfAborted(signal);
    const c = pred.candidates[i];
    const frame = input.frames.subarray(c.frame * npix, (c.frame + 1) * npix);
    const sum = integrateDisk(frame, nqx, nqy, c.x, c.y, r, others[c.frame], gain);
    sums.push(sum);
    obs.reflection[i] = c.refl;
    obs.frame[i] = c.frame;
    obs.x[i] = c.x;
    obs.y[i] = c.y;
    obs.s[i] = c.s;
    obs.lorentz[i] = c.lorentz;
    obs.intensity[i] = sum.intensity;
    obs.sigma[i] = Math.sqrt(sum.variance);
    if (sum.overlap) obs.flags[i] |= OBSERVATION_FLAGS.overlap;
  }
  const strong = pred.candidates
    .map((c, i) => ({ x: c.x, y: c.y, frame: c.frame, sum: sums[i] }))
    .filter((o) => !o.sum.overlap && o.sum.intensity > 10 * Math.sqrt(o.sum.variance));
  const profile = learnProfile(input, strong.slice(0, 2000), r);
  let nProfileFitted = 0;
  if (profileBelow > 0 && strong.length >= 5) {
    for (let i = 0; i < n; i++) {
      if (!(obs.intensity[i] < profileBelow * obs.sigma[i])) continue;
      const c = pred.candidates[i];
      const fit = profileFit(input, c.frame, c.x, c.y, r, sums[i], profile, gain);
      if (!fit) continue;
      obs.intensity[i] = fit.intensity;
      obs.sigma[i] = Math.sqrt(fit.variance);
      obs.flags[i] |= OBSERVATION_FLAGS.profileFitted;
      nProfileFitted++;
    }
  }
  return { obs, profile, nProfileFitted };
}

/** The rocking-curve sums: ∫ I ds ≈ Σ I_f·|ds/dφ|_f·Δφ_f, with the frame scales `frameScale` divided out. */
export function assembleRockingCurves(obs: FrameObservations, nReflections: number, frameScale?: ArrayLike<number>): { intensity: Float64Array; sigma: Float64Array } {
  const intensity = new Float64Array(nReflections);
  const variance = new Float64Array(nReflections);
  for (let i = 0; i < obs.reflection.length; i++) {
    const k = frameScale ? frameScale[obs.frame[i]] : 1;
    const w = (obs.lorentz[i] * INTEGRAL_UNIT) / k;
    intensity[obs.reflection[i]] += w * obs.intensity[i];
    variance[obs.reflection[i]] += w * w * obs.sigma[i] * obs.sigma[i];
  }
  return { intensity, sigma: variance.map(Math.sqrt) };
}

/** The rocking curve's σ in excitation error from the indexed peaks of the lattice (intensity-weighted). */
export function rockingWidthOf(peaks: { frame: Int32Array; intensity: Float64Array }, hkl: Int32Array, indexed: Uint8Array, input: ProcessingFrames, model: Omit<IntegrationModel, 'rockingWidthInvA'>): number {
  const K = 1 / input.wavelengthA;
  let si = 0;
  let ss = 0;
  const rots = new Map<number, Mat3>();
  for (let i = 0; i < peaks.frame.length; i++) {
    if (!indexed[i] || !(peaks.intensity[i] > 0)) continue;
    const f = peaks.frame[i];
    let m = rots.get(f);
    if (!m) rots.set(f, (m = matMul(goniometerRotation(model.axisDeg, input.anglesDeg[f] + (model.tiltOffsetsDeg?.[f] ?? 0)), model.ub)));
    const g = [0, 1, 2].map((j) => m[j][0] * hkl[3 * i] + m[j][1] * hkl[3 * i + 1] + m[j][2] * hkl[3 * i + 2]);
    const s = -(2 * K * g[2] + g[0] * g[0] + g[1] * g[1] + g[2] * g[2]) / (2 * K);
    si += peaks.intensity[i];
    ss += peaks.intensity[i] * s * s;
  }
  return si > 0 ? Math.sqrt(ss / si) : NaN;
}

/**
 * Integrate every reflection of the model on the frames. `unindexed`: per frame, x, y pairs of peaks that belong to no
 * reflection of this lattice (a neighbour's spots), kept out of the backgrounds.
 */
export function integrateReflections(
  input: ProcessingFrames,
  model: IntegrationModel,
  params: IntegrationParameters & { radiusPx: number },
  unindexed: number[][] = [],
  signal?: AbortSignal,
): IntegratedReflections {
  const [nqy, nqx] = input.detectorShape;
  const pix = input.reciprocalPixelInvA;
  let edgeQ = 0;
  for (let f = 0; f < input.anglesDeg.length; f++) {
    if (!input.included[f]) continue;
    const cx = model.beamCentres[2 * f];
    const cy = model.beamCentres[2 * f + 1];
    edgeQ = Math.max(edgeQ, Math.hypot(Math.max(cx, nqx - 1 - cx), Math.max(cy, nqy - 1 - cy)) * pix);
  }
  const qMax = params.dMinA ? Math.min(edgeQ, 1 / params.dMinA) : edgeQ;
  const r = params.radiusPx;
  if (params.mask && params.mask.length !== nqx * nqy) throw new ParameterError('mask', `has ${params.mask.length} pixels; the detector has ${nqy} × ${nqx}`);
  const pred = predict(input, model, r, qMax, params.lorentz !== false, { mask: params.mask, excludeRadiusPx: params.excludeRadiusPx ?? 2 * r + 2 }, signal);
  const { obs, profile, nProfileFitted } = integrateObservations(input, pred, unindexed, r, params.gain ?? 1, params.profileBelowIOverSigma ?? 5, signal);
  const nRefl = pred.dA.length;
  const { intensity, sigma } = assembleRockingCurves(obs, nRefl);
  const nFrames = new Int32Array(nRefl);
  const firstFrame = new Int32Array(nRefl).fill(-1);
  const lastFrame = new Int32Array(nRefl).fill(-1);
  const flags = Uint8Array.from(pred.flags);
  pred.candidates.forEach((c, i) => {
    if (c.core) nFrames[c.refl]++;
    if (firstFrame[c.refl] < 0) firstFrame[c.refl] = c.frame;
    lastFrame[c.refl] = c.frame;
    if (obs.flags[i] & OBSERVATION_FLAGS.overlap) flags[c.refl] |= REFLECTION_FLAGS.overlap;
  });
  return {
    hkl: Int32Array.from(pred.hkl),
    dA: Float64Array.from(pred.dA),
    intensity,
    sigma,
    nFrames,
    firstFrame,
    lastFrame,
    crossingDeg: Float64Array.from(pred.crossingDeg),
    flags,
    observations: obs,
    radiusPx: r,
    profile,
    nProfileFitted,
  };
}

export { INTEGRAL_UNIT };
