// The diffraction pattern model of one probe position, split so that everything that does not depend on
// the probe position is computed once per tilt:
//
//   λ(pixel) = N0 · [ film·Φ(q) + Σ_p diffuse_p·t_p·Δ(q) + T_direct·D(pixel) + Σ_p Σ_g I_g(t_p)·S_g(pixel) ]
//
//   Φ, Δ     amorphous-film rings and the particles' diffuse halo (radial profiles, each summing to 1);
//   D, S_g   disk stamps: a uniform disk of radius α/λ (the probe's convergence) at the predicted spot,
//            anti-aliased and blurred by the detector's point-spread (Gaussian), summing to 1;
//   t_p      the projected thickness of particle p at this probe position (0 outside it);
//   I_g(t)   the kinematic intensity of reflection g, a fraction of the incident beam:
//              I_g(t) = (λ γ |F_g| / V)² · t² · ⟨sinc²(π t s)⟩,   sinc(x) = sin(x)/x,
//            i.e. |π t / ξ_g|² times the rocking curve (ξ_g = π V / (λ γ |F_g|), the extinction distance).
//            ⟨·⟩ averages the rocking curve over the incident directions in the convergent probe: an incident
//            beam tilted by δ (|δ| ≤ αK) changes the excitation error to s_g − δ·g_t/K, so s runs over
//            s_g ± α|g_t| with the semicircle weight of a uniformly filled disk (Gauss–Chebyshev quadrature).
//            Averaging gives each disk its convergence-integrated intensity (the disk itself is drawn uniform;
//            the rocking-curve gradient across a disk is not modelled). I_g(t) is tabulated per tilt on a
//            thickness grid (linear interpolation per probe position), so the per-position work is only
//            scaling and adding stamps.
//   T_direct the unscattered beam: exp(−t/Λ)·(1 − film) − Σ I_g − diffuse, floored at 3 %.
import { type Vec3, type Mat3 } from '../crystallography/math3';
import { excitationErrorInvA } from '../crystallography/geometry';

export interface DetectorSetup {
  nqy: number;
  nqx: number;
  /** Beam centre, detector pixels. */
  cx: number;
  cy: number;
  /** Å⁻¹ per pixel. */
  pixelInvA: number;
  wavelengthA: number;
  /** Lorentz factor γ (scattering-factor scaling). */
  gamma: number;
  convergenceRad: number;
  /** α/λ in pixels. */
  diskRadiusPx: number;
  /** Detector point-spread σ, pixels. */
  psfSigmaPx: number;
  /** Virtual detectors recorded in the ground truth: BF disk radius, ADF annulus radii (pixels). */
  bfRadiusPx: number;
  adfInnerPx: number;
  adfOuterPx: number;
}

/** Sparse image of one disk: pixel indices (qy·nqx + qx) and weights (Σ ≤ 1; less if it leaves the detector). */
export interface Stamp {
  idx: Int32Array;
  w: Float32Array;
  /** Σ w inside the BF and ADF virtual detectors. */
  bf: number;
  adf: number;
  /** Σ w (1 unless part of the disk falls off the detector). */
  total: number;
  /** Cumulative w / total, for placing individual counts. */
  cum: Float32Array;
}

function inBf(s: DetectorSetup, qx: number, qy: number): boolean {
  return Math.hypot(qx - s.cx, qy - s.cy) <= s.bfRadiusPx;
}
function inAdf(s: DetectorSetup, qx: number, qy: number): boolean {
  const r = Math.hypot(qx - s.cx, qy - s.cy);
  return r >= s.adfInnerPx && r <= s.adfOuterPx;
}

/**
 * A disk of radius diskRadiusPx centred at (x, y) (pixel coordinates, pixel centres at integers), area-
 * sampled 5×5 per pixel, then blurred with the Gaussian PSF (separable, ±3σ). Symmetric, so its centroid
 * is (x, y) up to the detector edge.
 */
export function diskStamp(s: DetectorSetup, x: number, y: number): Stamp {
  const r = s.diskRadiusPx;
  const blur = Math.max(0, Math.ceil(3 * s.psfSigmaPx));
  const half = Math.ceil(r + 1) + blur;
  const x0 = Math.floor(x) - half;
  const y0 = Math.floor(y) - half;
  const n = 2 * half + 2;
  const img = new Float64Array(n * n);
  const sub = 5;
  let total = 0;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const px = x0 + i;
      const py = y0 + j;
      let c = 0;
      for (let b = 0; b < sub; b++) {
        const yy = py - 0.5 + (b + 0.5) / sub - y;
        for (let a = 0; a < sub; a++) {
          const xx = px - 0.5 + (a + 0.5) / sub - x;
          if (xx * xx + yy * yy <= r * r) c++;
        }
      }
      img[j * n + i] = c;
      total += c;
    }
  }
  let out = img;
  if (blur > 0 && s.psfSigmaPx > 0) {
    const k = new Float64Array(2 * blur + 1);
    let ks = 0;
    for (let i = -blur; i <= blur; i++) ks += k[i + blur] = Math.exp(-(i * i) / (2 * s.psfSigmaPx * s.psfSigmaPx));
    for (let i = 0; i < k.length; i++) k[i]! /= ks;
    out = blurPass(blurPass(img, n, k, blur, 'rows'), n, k, blur, 'columns');
  }
  const idx: number[] = [];
  const w: number[] = [];
  let bf = 0;
  let adf = 0;
  const cut = 1e-5 * total;
  for (let j = 0; j < n; j++) {
    const py = y0 + j;
    if (py < 0 || py >= s.nqy) continue;
    for (let i = 0; i < n; i++) {
      const px = x0 + i;
      if (px < 0 || px >= s.nqx) continue;
      const v = out[j * n + i]!;
      if (v <= cut) continue;
      const wv = v / total;
      idx.push(py * s.nqx + px);
      w.push(wv);
      if (inBf(s, px, py)) bf += wv;
      if (inAdf(s, px, py)) adf += wv;
    }
  }
  const cum = new Float32Array(w.length);
  let onDetector = 0;
  for (let m = 0; m < w.length; m++) onDetector += w[m]!;
  let run = 0;
  for (let m = 0; m < w.length; m++) {
    run += w[m]!;
    cum[m] = run / onDetector;
  }
  if (cum.length) cum[cum.length - 1] = 1;
  return { idx: Int32Array.from(idx), w: Float32Array.from(w), bf, adf, total: onDetector, cum };
}

export interface RadialFrame {
  /** Per pixel, Σ = 1 over the detector. */
  frame: Float32Array;
  bf: number;
  adf: number;
}

function radialFrame(s: DetectorSetup, profile: (qInvA: number) => number): RadialFrame {
  const frame = new Float32Array(s.nqy * s.nqx);
  let sum = 0;
  for (let j = 0; j < s.nqy; j++)
    for (let i = 0; i < s.nqx; i++) {
      const v = profile(Math.hypot(i - s.cx, j - s.cy) * s.pixelInvA);
      frame[j * s.nqx + i] = v;
      sum += v;
    }
  let bf = 0;
  let adf = 0;
  for (let j = 0; j < s.nqy; j++)
    for (let i = 0; i < s.nqx; i++) {
      const v = (frame[j * s.nqx + i]! /= sum);
      if (inBf(s, i, j)) bf += v;
      if (inAdf(s, i, j)) adf += v;
    }
  return { frame, bf, adf };
}

const gauss = (x: number, mu: number, sig: number): number => Math.exp(-((x - mu) ** 2) / (2 * sig * sig));

/**
 * Amorphous carbon: a forward halo and the broad rings at 1/d ≈ 0.47, 0.83 and 1.2 Å⁻¹ (nearest-neighbour
 * distances 2.1 and 1.2 Å), per pixel (not per ring area).
 */
export function filmFrame(s: DetectorSetup): RadialFrame {
  return radialFrame(s, (q) => 0.6 * gauss(q, 0, 0.12) + gauss(q, 0.47, 0.06) + 0.45 * gauss(q, 0.83, 0.09) + 0.2 * gauss(q, 1.2, 0.12));
}

/** The particles' diffuse scattering: a broad forward halo with a slow tail (TDS, inelastic, amorphous skin). */
export function diffuseFrame(s: DetectorSetup): RadialFrame {
  return radialFrame(s, (q) => gauss(q, 0, 0.25) + 0.15 * Math.exp(-q / 0.6));
}

/** Gauss–Chebyshev (2nd kind) nodes/weights for ∫ f(x) √(1−x²) dx / (π/2) over [−1, 1]. */
const QUAD_N = 16;
const QUAD_X = new Float64Array(QUAD_N);
const QUAD_W = new Float64Array(QUAD_N);
for (let k = 1; k <= QUAD_N; k++) {
  const th = (k * Math.PI) / (QUAD_N + 1);
  QUAD_X[k - 1] = Math.cos(th);
  QUAD_W[k - 1] = ((Math.PI / (QUAD_N + 1)) * Math.sin(th) ** 2) / (Math.PI / 2);
}

/** Convergence-averaged rocking curve ⟨sinc²(π t s)⟩ for s in s0 ± halfRange (t in Å, s in Å⁻¹). */
export function rockingCurve(tA: number, s0: number, halfRangeInvA: number): number {
  let acc = 0;
  for (let k = 0; k < QUAD_N; k++) {
    const x = Math.PI * tA * (s0 - halfRangeInvA * QUAD_X[k]!);
    const v = Math.abs(x) < 1e-8 ? 1 : Math.sin(x) / x;
    acc += QUAD_W[k]! * v * v;
  }
  return acc;
}

/** Per-particle reflection data that does not change with tilt. */
export interface ParticleReflections {
  count: number;
  hkl: Int32Array;
  /** U·B·h at tilt 0 (lab frame), 3 per reflection, Å⁻¹. */
  g0: Float64Array;
  /** |F|² per unit cell, Å². */
  f2: Float64Array;
  /** (λ γ |F| / V)², Å⁻² (multiply by t² in Å²). */
  strength: Float64Array;
}

/** What one particle contributes at one tilt: the excited reflections, their stamps, I(t) tables. */
export interface ParticleTiltPlan {
  nRefl: number;
  /** Index into ParticleReflections of each kept reflection. */
  refl: Int32Array;
  qx: Float64Array;
  qy: Float64Array;
  sInvA: Float64Array;
  stamps: Stamp[];
  /** I_g(t) as a fraction of the beam on the thickness grid: nRefl × nBins, row-major. */
  table: Float32Array;
  nBins: number;
  binNm: number;
  /** Fade factor applied (beam damage). */
  fade: number;
}

export interface PlanOptions {
  /** Largest projected thickness of the particle at this tilt, nm. */
  maxThicknessNm: number;
  /** Electrons per probe position: reflections that can never reach `minCounts` expected counts are dropped. */
  electronsPerProbe: number;
  minCounts: number;
  fade: number;
  binNm?: number;
}

/** Plans one particle at one tilt. `rotation` is R(α); the lab vector of g is R·g0. */
export function planParticleTilt(s: DetectorSetup, refl: ParticleReflections, rotation: Readonly<Mat3>, opts: PlanOptions): ParticleTiltPlan {
  const binNm = opts.binNm ?? 0.5;
  const tMaxA = opts.maxThicknessNm * 10;
  const nBins = Math.max(2, Math.ceil(opts.maxThicknessNm / binNm) + 2);
  const margin = s.diskRadiusPx + 3 * s.psfSigmaPx;
  const keep: number[] = [];
  const kx: number[] = [];
  const ky: number[] = [];
  const ks: number[] = [];
  const r = rotation;
  for (let i = 0; i < refl.count; i++) {
    const a = refl.g0[3 * i]!;
    const b = refl.g0[3 * i + 1]!;
    const c = refl.g0[3 * i + 2]!;
    const g: Vec3 = [r[0][0] * a + r[0][1] * b + r[0][2] * c, r[1][0] * a + r[1][1] * b + r[1][2] * c, r[2][0] * a + r[2][1] * b + r[2][2] * c];
    const qx = s.cx + g[0] / s.pixelInvA;
    const qy = s.cy + g[1] / s.pixelInvA;
    if (qx < -margin || qy < -margin || qx > s.nqx - 1 + margin || qy > s.nqy - 1 + margin) continue;
    const sg = excitationErrorInvA(g, s.wavelengthA);
    const half = s.convergenceRad * Math.hypot(g[0], g[1]);
    // Upper bound of I_g(t) over all t ≤ t_max: sinc² ≤ min(1, 1/(π t s)²) with the smallest |s| in reach.
    const sEff = Math.max(0, Math.abs(sg) - half);
    const bound = refl.strength[i]! * opts.fade * Math.min(tMaxA * tMaxA, sEff > 0 ? 1 / (Math.PI * sEff) ** 2 : Infinity);
    if (bound * opts.electronsPerProbe < opts.minCounts) continue;
    keep.push(i);
    kx.push(qx);
    ky.push(qy);
    ks.push(sg);
  }
  const n = keep.length;
  const table = new Float32Array(n * nBins);
  const stamps: Stamp[] = [];
  for (let k = 0; k < n; k++) {
    const i = keep[k]!;
    // |g_t| is needed for the convergence range; recompute from the detector offset (exact: u = g_x, v = g_y).
    const gt = Math.hypot((kx[k]! - s.cx) * s.pixelInvA, (ky[k]! - s.cy) * s.pixelInvA);
    const half = s.convergenceRad * gt;
    const strength = refl.strength[i]! * opts.fade;
    for (let bIdx = 0; bIdx < nBins; bIdx++) {
      const tA = bIdx * binNm * 10;
      table[k * nBins + bIdx] = strength * tA * tA * rockingCurve(tA, ks[k]!, half);
    }
    stamps.push(diskStamp(s, kx[k]!, ky[k]!));
  }
  return {
    nRefl: n,
    refl: Int32Array.from(keep),
    qx: Float64Array.from(kx),
    qy: Float64Array.from(ky),
    sInvA: Float64Array.from(ks),
    stamps,
    table,
    nBins,
    binNm,
    fade: opts.fade,
  };
}

/** One pass of a separable blur of an n×n image along its rows or columns; outside the image counts as zero. */
function blurPass(src: Float64Array, n: number, k: Float64Array, blur: number, along: 'rows' | 'columns'): Float64Array<ArrayBuffer> {
  const out = new Float64Array(n * n);
  const step = along === 'rows' ? 1 : n;
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++) {
      const c = along === 'rows' ? i : j;
      let v = 0;
      for (let t = -blur; t <= blur; t++) {
        const cc = c + t;
        if (cc >= 0 && cc < n) v += src[j * n + i + t * step]! * k[t + blur]!;
      }
      out[j * n + i] = v;
    }
  return out;
}
