// Scaling and merging of integrated reflections (ARCHITECTURE §9).
//
// Frame scales: each reflection's rocking-curve integral is a sum over frames, I_r = Σ_f c_rf / k_f (c_rf its Lorentz-
// weighted frame intensities), so a frame scale k_f (dose fading, a changing illuminated volume, the probe current)
// enters every reflection that frame samples. 1/k is a smooth function of the tilt — linear between knots spread over
// the series — fitted by least squares to make symmetry equivalents agree, alternating with their means, with the mean
// scale held at 1. An optional resolution term exp(B_f·d*²/4) lets the frames' B differ (linear in the tilt).
//
// Error model (as SHELX/AIMLESS users know it): σ'² = a²·(σ² + (b·I)²), a and b chosen so that the deviations of
// equivalents from their means, in units of σ', have unit variance at every intensity.
//
// Merging: inverse-variance weighted means over the Laue group's equivalents; statistics in shells of equal d*³
// volume: completeness (against every reflection the Laue group and centring allow), multiplicity, Rint, Rmeas, CC½
// (a seeded random half split) and ⟨I/σ⟩ of the merged data.
import { Matrix, solve } from 'ml-matrix';
import { throwIfAborted } from '../../src-shared/errors';
import type { Mat3 } from '../crystallography/math3';

export interface ScalingInput {
  /** Conventional hkl, 3 per reflection. */
  hkl: Int32Array;
  dA: Float64Array;
  /** Reflections to use (1) — e.g. not partial, not overlapped. */
  use: Uint8Array;
  /** The frame observations: reflection index, frame, Lorentz-weighted intensity contribution and its σ. */
  obsReflection: Int32Array;
  obsFrame: Int32Array;
  obsContribution: Float64Array;
  obsSigma: Float64Array;
  nFrames: number;
  /** Tilt of each frame, degrees (knots are spread over it). */
  anglesDeg: ArrayLike<number>;
}

export interface ScalingOptions {
  /** Laue-group operators on Miller indices (h' = W·h), −1 included. */
  laueOps: Mat3[];
  /** Fit per-frame scales (default false: see reduce.ts). */
  frameScales?: boolean;
  /** Fit a B that changes linearly with the tilt (default false). */
  bFactor?: boolean;
  /** Knot spacing in degrees (default: the range / 8, at least 3 frames apart). */
  knotSpacingDeg?: number;
  signal?: AbortSignal;
}

export interface ScaledReflections {
  intensity: Float64Array;
  sigma: Float64Array;
  /** Scale per frame (the divisor k_f), mean 1 over the frames with observations. */
  frameScale: Float64Array;
  /** Relative B per frame, Å² (0 without the B term). */
  frameB: Float64Array;
  errorModel: { a: number; b: number };
  /** Key of the unique reflection each reflection belongs to (canonical hkl under the Laue group). */
  unique: Int32Array;
}

/** Canonical representative of h under the Laue group: the largest (h, k, l) in lexicographic order. */
export function canonicalHkl(ops: Mat3[], h: number, k: number, l: number): [number, number, number] {
  let best: [number, number, number] = [h, k, l];
  for (const w of ops) {
    const t: [number, number, number] = [w[0][0] * h + w[0][1] * k + w[0][2] * l, w[1][0] * h + w[1][1] * k + w[1][2] * l, w[2][0] * h + w[2][1] * k + w[2][2] * l];
    if (t[0] > best[0] || (t[0] === best[0] && (t[1] > best[1] || (t[1] === best[1] && t[2] > best[2])))) best = t;
  }
  return best;
}

/** Unique-reflection index per reflection (−1 where not used) and the number of unique reflections. */
export function groupEquivalents(hkl: Int32Array, use: ArrayLike<number>, ops: Mat3[]): { unique: Int32Array; keys: Array<[number, number, number]> } {
  const n = hkl.length / 3;
  const unique = new Int32Array(n).fill(-1);
  const map = new Map<string, number>();
  const keys: Array<[number, number, number]> = [];
  for (let r = 0; r < n; r++) {
    if (!use[r]) continue;
    const c = canonicalHkl(ops, hkl[3 * r], hkl[3 * r + 1], hkl[3 * r + 2]);
    const key = c.join(',');
    let u = map.get(key);
    if (u === undefined) {
      map.set(key, (u = keys.length));
      keys.push(c);
    }
    unique[r] = u;
  }
  return { unique, keys };
}

/** Inverse-variance weighted means of the groups. */
function groupMeans(values: Float64Array, sigma: Float64Array, unique: Int32Array, nUnique: number): Float64Array {
  const num = new Float64Array(nUnique);
  const den = new Float64Array(nUnique);
  for (let r = 0; r < values.length; r++) {
    const u = unique[r];
    if (u < 0 || !(sigma[r] > 0)) continue;
    const w = 1 / (sigma[r] * sigma[r]);
    num[u] += w * values[r];
    den[u] += w;
  }
  return num.map((v, u) => (den[u] > 0 ? v / den[u] : NaN));
}

/** Knot angles and, per frame, the two knots it lies between with their weights. */
function knotBasis(anglesDeg: ArrayLike<number>, spacingDeg: number | undefined): { nKnots: number; lo: Int32Array; wLo: Float64Array } {
  const n = anglesDeg.length;
  let min = Infinity;
  let max = -Infinity;
  for (let f = 0; f < n; f++) {
    min = Math.min(min, anglesDeg[f]);
    max = Math.max(max, anglesDeg[f]);
  }
  const range = Math.max(max - min, 1e-6);
  const step = spacingDeg ?? Math.max(range / 8, (3 * range) / Math.max(1, n - 1));
  const nKnots = Math.max(2, Math.round(range / step) + 1);
  const lo = new Int32Array(n);
  const wLo = new Float64Array(n);
  for (let f = 0; f < n; f++) {
    const x = ((anglesDeg[f] - min) / range) * (nKnots - 1);
    const k = Math.min(nKnots - 2, Math.floor(x));
    lo[f] = k;
    wLo[f] = 1 - (x - k);
  }
  return { nKnots, lo, wLo };
}

/** Rocking sums with per-frame divisors: I_r = Σ c_rf · u_f (u = 1/k), σ likewise. */
function sums(inp: ScalingInput, u: Float64Array): { intensity: Float64Array; sigma: Float64Array } {
  const n = inp.hkl.length / 3;
  const intensity = new Float64Array(n);
  const variance = new Float64Array(n);
  for (let i = 0; i < inp.obsReflection.length; i++) {
    const r = inp.obsReflection[i];
    const w = u[inp.obsFrame[i]];
    intensity[r] += w * inp.obsContribution[i];
    variance[r] += w * w * inp.obsSigma[i] * inp.obsSigma[i];
  }
  return { intensity, sigma: variance.map(Math.sqrt) };
}

/**
 * Fit the knot values v of u_f = Σ_j B_fj v_j (u = 1/k, B the linear interpolation) to I_r ≈ g_u(r):
 * the rows Σ_f c_rf B_fj v_j = g, weighted by 1/σ_r², with a weak pull of every v to the mean (ridge 1e-3).
 */
function fitKnots(inp: ScalingInput, basis: ReturnType<typeof knotBasis>, g: Float64Array, unique: Int32Array, sigma: Float64Array, perB: Float64Array | null): Float64Array {
  const m = basis.nKnots;
  const n = inp.hkl.length / 3;
  const rows = Array.from({ length: n }, () => new Float64Array(m));
  for (let i = 0; i < inp.obsReflection.length; i++) {
    const r = inp.obsReflection[i];
    if (unique[r] < 0) continue;
    const f = inp.obsFrame[i];
    const c = inp.obsContribution[i] * (perB ? perB[i] : 1);
    rows[r][basis.lo[f]] += c * basis.wLo[f];
    rows[r][basis.lo[f] + 1] += c * (1 - basis.wLo[f]);
  }
  const ata = Matrix.zeros(m, m);
  const atb = Matrix.zeros(m, 1);
  let trace = 0;
  for (let r = 0; r < n; r++) {
    const u = unique[r];
    if (u < 0 || !Number.isFinite(g[u]) || !(sigma[r] > 0)) continue;
    const w = 1 / (sigma[r] * sigma[r]);
    for (let a = 0; a < m; a++) {
      if (!rows[r][a]) continue;
      atb.set(a, 0, atb.get(a, 0) + w * rows[r][a] * g[u]);
      for (let b = 0; b < m; b++) ata.set(a, b, ata.get(a, b) + w * rows[r][a] * rows[r][b]);
    }
  }
  for (let a = 0; a < m; a++) trace += ata.get(a, a);
  // Smoothness: a penalty on the knots' second differences worth a twentieth of an average knot's data, so knots the
  // equivalents barely reach (the ends of the range) follow their neighbours instead of running away; a tiny pull
  // towards 1 keeps the system regular (the overall level is set afterwards).
  const lambda = (0.05 * trace) / m || 1;
  for (let j = 1; j + 1 < m; j++) {
    const idx = [j - 1, j, j + 1];
    const c = [1, -2, 1];
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) ata.set(idx[a], idx[b], ata.get(idx[a], idx[b]) + lambda * c[a] * c[b]);
  }
  const ridge = 1e-6 * (trace / m || 1);
  for (let a = 0; a < m; a++) {
    ata.set(a, a, ata.get(a, a) + ridge);
    atb.set(a, 0, atb.get(a, 0) + ridge);
  }
  const v = solve(ata, atb).to1DArray();
  return Float64Array.from(v, (x) => (x > 0.05 ? x : 0.05));
}

/** Per-frame u from knot values; normalised so the mean k over the used frames is 1. */
function frameFactors(basis: ReturnType<typeof knotBasis>, v: Float64Array, usedFrames: Uint8Array): Float64Array {
  const u = new Float64Array(basis.lo.length);
  for (let f = 0; f < u.length; f++) u[f] = basis.wLo[f] * v[basis.lo[f]] + (1 - basis.wLo[f]) * v[basis.lo[f] + 1];
  let s = 0;
  let c = 0;
  for (let f = 0; f < u.length; f++) {
    if (!usedFrames[f]) continue;
    s += 1 / u[f];
    c++;
  }
  const meanK = c ? s / c : 1;
  return u.map((x) => x * meanK);
}

/**
 * The error model: deviations δ = (I − ⟨I⟩_others)/√(σ'² + σ⟨I⟩²) of every reflection with equivalents; b from a grid
 * (the one whose δ variance is flattest over intensity), then a so that var δ = 1.
 */
export function fitErrorModel(intensity: Float64Array, sigma: Float64Array, unique: Int32Array, nUnique: number): { a: number; b: number } {
  const count = new Int32Array(nUnique);
  const num = new Float64Array(nUnique);
  const den = new Float64Array(nUnique);
  for (let r = 0; r < intensity.length; r++) {
    const u = unique[r];
    if (u < 0 || !(sigma[r] > 0)) continue;
    count[u]++;
    num[u] += intensity[r] / sigma[r] ** 2;
    den[u] += 1 / sigma[r] ** 2;
  }
  const rows: Array<{ I: number; s2: number; mean: number; meanVar: number }> = [];
  for (let r = 0; r < intensity.length; r++) {
    const u = unique[r];
    if (u < 0 || count[u] < 2 || !(sigma[r] > 0)) continue;
    // The mean of the others: the group's sums without this reflection.
    const d = den[u] - 1 / sigma[r] ** 2;
    rows.push({ I: intensity[r], s2: sigma[r] ** 2, mean: (num[u] - intensity[r] / sigma[r] ** 2) / d, meanVar: 1 / d });
  }
  if (rows.length < 10) return { a: 1, b: 0 };
  rows.sort((x, y) => x.mean - y.mean);
  const nBins = Math.min(5, Math.floor(rows.length / 5));
  let best = { a: 1, b: 0, spread: Infinity };
  for (let b = 0; b <= 0.5001; b += 0.01) {
    const z2 = rows.map((row) => (row.I - row.mean) ** 2 / (row.s2 + row.meanVar + b * b * (row.I * row.I + row.mean * row.mean)));
    const binVar: number[] = [];
    for (let k = 0; k < nBins; k++) {
      const part = z2.slice(Math.floor((k * z2.length) / nBins), Math.floor(((k + 1) * z2.length) / nBins));
      binVar.push(part.reduce((x, y) => x + y, 0) / part.length);
    }
    const all = z2.reduce((x, y) => x + y, 0) / z2.length;
    const spread = binVar.reduce((x, v) => x + Math.log(v / all) ** 2, 0);
    if (spread < best.spread) best = { a: Math.sqrt(all), b, spread };
  }
  return { a: best.a, b: best.b };
}

/** Per observation, exp(B_f·d*²/4) for the linear-in-tilt B. */
function bTerms(inp: ScalingInput, slopeBPerDeg: number, meanAngle: number): Float64Array {
  const out = new Float64Array(inp.obsReflection.length);
  for (let i = 0; i < out.length; i++) {
    const d = inp.dA[inp.obsReflection[i]];
    const b = slopeBPerDeg * (inp.anglesDeg[inp.obsFrame[i]] - meanAngle);
    out[i] = Math.exp(b / (4 * d * d));
  }
  return out;
}

/** Scale the reflections: frame scales (and B), then the error model; returns the scaled, corrected intensities. */
export function scaleReflections(inp: ScalingInput, o: ScalingOptions): ScaledReflections {
  const { unique, keys } = groupEquivalents(inp.hkl, inp.use, o.laueOps);
  const nF = inp.nFrames;
  const usedFrames = new Uint8Array(nF);
  for (let i = 0; i < inp.obsFrame.length; i++) if (inp.use[inp.obsReflection[i]]) usedFrames[inp.obsFrame[i]] = 1;
  let u: Float64Array = new Float64Array(nF).fill(1);
  const frameB = new Float64Array(nF);
  const unit = sums(inp, u);
  let cur = unit;
  if (o.frameScales === true && keys.length < unique.filter((x) => x >= 0).length) {
    const basis = knotBasis(inp.anglesDeg, o.knotSpacingDeg);
    let meanAngle = 0;
    for (let f = 0; f < nF; f++) meanAngle += inp.anglesDeg[f] / nF;
    const all = fitScales(inp, o, basis, unique, keys.length, usedFrames, meanAngle);
    // Kept only when scales fitted on half of the unique reflections make the other half agree better (two-fold
    // cross-validation): frame scales that only follow the noise of a few equivalents are not applied.
    const half = (k: number): Int32Array => unique.map((u) => (u >= 0 && splitHalf(u) === k ? u : -1));
    let gain = 0;
    for (const k of [0, 1]) {
      const fit = fitScales(inp, o, basis, half(k), keys.length, usedFrames, meanAngle);
      const test = half(1 - k);
      gain += equivalentsChi2(unit, test, keys.length) - equivalentsChi2(fit.sums, test, keys.length);
    }
    if (gain > 0 && equivalentsChi2(all.sums, unique, keys.length) < equivalentsChi2(unit, unique, keys.length)) {
      cur = all.sums;
      u = all.u;
      if (o.bFactor) for (let f = 0; f < nF; f++) frameB[f] = all.slopeB * (inp.anglesDeg[f] - meanAngle);
    }
  }
  const errorModel = fitErrorModel(cur.intensity, cur.sigma, unique, keys.length);
  const sigma = cur.sigma.map((s, r) => errorModel.a * Math.sqrt(s * s + (errorModel.b * cur.intensity[r]) ** 2));
  return { intensity: cur.intensity, sigma, frameScale: u.map((x) => 1 / x), frameB, errorModel, unique };
}

const splitHalf = (u: number): number => (Math.imul(u + 1, 2654435761) >>> 31) & 1;

/** Frame factors (and the B slope) fitted to the equivalents in `unique` by alternating with their means. */
function fitScales(
  inp: ScalingInput,
  o: ScalingOptions,
  basis: ReturnType<typeof knotBasis>,
  unique: Int32Array,
  nUnique: number,
  usedFrames: Uint8Array,
  meanAngle: number,
): { u: Float64Array; slopeB: number; sums: { intensity: Float64Array; sigma: Float64Array } } {
  let slopeB = 0;
  let u: Float64Array = new Float64Array(inp.nFrames).fill(1);
  let fitted = sums(inp, u);
  for (let cycle = 0; cycle < 8; cycle++) {
    throwIfAborted(o.signal);
    const g = groupMeans(fitted.intensity, fitted.sigma, unique, nUnique);
    const perB = o.bFactor ? bTerms(inp, slopeB, meanAngle) : null;
    u = frameFactors(basis, fitKnots(inp, basis, g, unique, fitted.sigma, perB), usedFrames);
    if (o.bFactor) slopeB = fitBSlope(inp, u, g, unique, meanAngle);
    const t = o.bFactor ? bTerms(inp, slopeB, meanAngle) : null;
    fitted = sums(t ? { ...inp, obsContribution: inp.obsContribution.map((c, i) => c * t[i]) } : inp, u);
  }
  return { u, slopeB, sums: fitted };
}

/** Σ ((I − ⟨I⟩)/σ)² over the reflections with equivalents: how well they agree. */
function equivalentsChi2(cur: { intensity: Float64Array; sigma: Float64Array }, unique: Int32Array, nUnique: number): number {
  const g = groupMeans(cur.intensity, cur.sigma, unique, nUnique);
  let chi2 = 0;
  for (let r = 0; r < unique.length; r++) {
    const u = unique[r];
    if (u < 0 || !(cur.sigma[r] > 0) || !Number.isFinite(g[u])) continue;
    chi2 += ((cur.intensity[r] - g[u]) / cur.sigma[r]) ** 2;
  }
  return chi2;
}

/** The B slope (Å² per degree) by a golden-section search on the equivalents' weighted squared deviations. */
function fitBSlope(inp: ScalingInput, u: Float64Array, g: Float64Array, unique: Int32Array, meanAngle: number): number {
  const cost = (slope: number): number => {
    const t = bTerms(inp, slope, meanAngle);
    const cur = sums({ ...inp, obsContribution: inp.obsContribution.map((c, i) => c * t[i]) }, u);
    let s = 0;
    for (let r = 0; r < cur.intensity.length; r++) {
      const q = unique[r];
      if (q < 0 || !Number.isFinite(g[q]) || !(cur.sigma[r] > 0)) continue;
      s += ((cur.intensity[r] - g[q]) / cur.sigma[r]) ** 2;
    }
    return s;
  };
  let lo = -0.5;
  let hi = 0.5;
  for (let it = 0; it < 30; it++) {
    const m1 = lo + (hi - lo) * 0.382;
    const m2 = lo + (hi - lo) * 0.618;
    if (cost(m1) < cost(m2)) hi = m2;
    else lo = m1;
  }
  return (lo + hi) / 2;
}
