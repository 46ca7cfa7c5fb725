// Unit cell from the 3D cloud of reciprocal-space peaks, without assuming right angles.
//
// 1. Real-space vectors by 1D Fourier analysis (Steller, Bolotovsky & Rossmann 1997; DIALS' fft1d): project the
//    points on a direction n; if n runs along a direct-lattice vector t, the projections q·n are multiples of 1/|t|
//    and the histogram of projections is periodic with period 1/|t|: its Fourier transform has a peak at |t|. Over a
//    hemisphere of directions (~1.5° apart) the strongest periodicities are candidate lattice vectors. This suits
//    sparse, wedge-limited ED data: every direction sees every point, and a missing wedge only thins the histogram.
// 2. Each candidate is refined by least squares on the points it indexes (round(q·t) integer), duplicates and
//    collinear candidates are dropped.
// 3. The basis: every triplet of strong candidates scored by the points it indexes (all three q·t within
//    `tolerance` of integers; on at most 6000 points), the best two dozen refined as a whole by least squares, and
//    of those within 2 % of the most points indexed the smallest cell (a supercell indexes as many). Niggli-reduced.
// The result is an orientation matrix in the crystal frame of tilt 0: q = UB·h with UB = (Tᵀ)⁻¹, T the basis vectors.
import FFT from 'fft.js';
import { Matrix, solve } from 'ml-matrix';
import { ParameterError, throwIfAborted } from '../../src-shared/errors';
import { det3, inverse3, transpose, type Mat3, type Vec3 } from '../crystallography/math3';
import { niggliReduce } from '../crystallography/reduction';
import type { Cell } from '../crystallography/lattice';

export interface IndexingOptions {
  /** Shortest and longest direct-lattice vector searched, Å (default 2 … 40). */
  minCellA?: number;
  maxCellA?: number;
  /** A point is indexed when all of q·t1, q·t2, q·t3 lie within this of integers (default 0.15). */
  tolerance?: number;
  /** Angular spacing of the search directions, degrees (default 1.5). */
  directionStepDeg?: number;
  /** Candidate vectors considered for the basis (default 30). */
  maxCandidates?: number;
  signal?: AbortSignal;
}

export interface LatticeVector {
  /** Direct-lattice vector in the crystal frame of tilt 0, Å. */
  t: Vec3;
  /** Strength of its periodicity (Fourier amplitude, relative). */
  score: number;
}

export interface IndexingResult {
  /** q = UB·h, crystal frame of tilt 0, Å⁻¹ (Niggli-reduced primitive cell). */
  ub: Mat3;
  cell: Cell;
  /** Miller indices per point (0,0,0 and `indexed` 0 where not indexed). */
  hkl: Int32Array;
  indexed: Uint8Array;
  indexedFraction: number;
  candidates: LatticeVector[];
}

/** Directions on the upper hemisphere, about `stepDeg` apart (a Fibonacci lattice). */
export function hemisphereDirections(stepDeg: number): Float64Array {
  const step = (stepDeg * Math.PI) / 180;
  const n = Math.max(50, Math.round((2 * Math.PI) / (step * step)));
  const out = new Float64Array(3 * n);
  const golden = Math.PI * (3 - Math.sqrt(5));
  for (let i = 0; i < n; i++) {
    const z = (i + 0.5) / n; // cos θ uniform over [0, 1]: equal area
    const r = Math.sqrt(1 - z * z);
    const phi = i * golden;
    out[3 * i] = r * Math.cos(phi);
    out[3 * i + 1] = r * Math.sin(phi);
    out[3 * i + 2] = z;
  }
  return out;
}

/** Strongest periodicity of the points' projections on each direction: the candidate lattice vectors. */
export function periodicities(q: Float64Array, o: IndexingOptions = {}): LatticeVector[] {
  const minCell = o.minCellA ?? 2;
  const maxCell = o.maxCellA ?? 40;
  const n = q.length / 3;
  let qmax = 0;
  for (let i = 0; i < n; i++) qmax = Math.max(qmax, Math.hypot(q[3 * i], q[3 * i + 1], q[3 * i + 2]));
  if (!(qmax > 0)) return [];
  // Bins fine enough for the shortest vector (4 per period 1/minCell), padded ×4 for the length's precision.
  const range = 2 * qmax;
  let bins = 64;
  while (bins < 4 * range * minCell * 4) bins *= 2;
  bins = Math.min(bins, 4096);
  const size = bins * 4;
  const fft = new FFT(size);
  const input = new Float64Array(size);
  const spec = fft.createComplexArray() as number[];
  const fMin = Math.max(1, Math.floor(minCell * range * 4));
  const fMax = Math.min(size / 2 - 1, Math.ceil(maxCell * range * 4));
  const dirs = hemisphereDirections(o.directionStepDeg ?? 1.5);
  const out: LatticeVector[] = [];
  for (let d = 0; d < dirs.length / 3; d++) {
    if (d % 500 === 0) throwIfAborted(o.signal);
    const nx = dirs[3 * d];
    const ny = dirs[3 * d + 1];
    const nz = dirs[3 * d + 2];
    input.fill(0);
    for (let i = 0; i < n; i++) {
      const p = q[3 * i] * nx + q[3 * i + 1] * ny + q[3 * i + 2] * nz;
      const b = Math.min(bins - 1, Math.max(0, Math.floor(((p + qmax) / range) * bins)));
      input[b] += 1;
    }
    fft.realTransform(spec, input);
    let best = 0;
    let bestF = 0;
    for (let f = fMin; f <= fMax; f++) {
      const m = Math.hypot(spec[2 * f], spec[2 * f + 1]);
      if (m > best) {
        best = m;
        bestF = f;
      }
    }
    if (!bestF) continue;
    // Frequency f (cycles over the padded range 4·range) ↔ a period of 4·range/f in q ↔ |t| = f / (4·range).
    const len = bestF / (4 * range);
    out.push({ t: [nx * len, ny * len, nz * len], score: best / n });
  }
  return out;
}

/** Least-squares refinement of a lattice vector on the points it indexes: t with q·t ≈ round(q·t). */
function refineVector(q: Float64Array, t: Vec3, tol: number): { t: Vec3; fraction: number } {
  let cur = t;
  let fraction = 0;
  for (let it = 0; it < 3; it++) {
    const rows: number[][] = [];
    const rhs: number[] = [];
    for (let i = 0; i < q.length / 3; i++) {
      const p = q[3 * i] * cur[0] + q[3 * i + 1] * cur[1] + q[3 * i + 2] * cur[2];
      const h = Math.round(p);
      if (Math.abs(p - h) > tol) continue;
      rows.push([q[3 * i], q[3 * i + 1], q[3 * i + 2]]);
      rhs.push(h);
    }
    fraction = rows.length / (q.length / 3);
    if (rows.length < 6) break;
    const a = new Matrix(rows);
    const at = a.transpose();
    try {
      const x = solve(at.mmul(a), at.mmul(Matrix.columnVector(rhs)));
      cur = [x.get(0, 0), x.get(1, 0), x.get(2, 0)];
    } catch {
      break;
    }
  }
  return { t: cur, fraction };
}

/** Fraction of points whose q·tᵢ are all within `tol` of integers, for the basis T (columns). */
function indexedFraction(q: Float64Array, T: Mat3, tol: number): number {
  const n = q.length / 3;
  let k = 0;
  for (let i = 0; i < n; i++) {
    let ok = true;
    for (let j = 0; j < 3 && ok; j++) {
      const p = q[3 * i] * T[0][j] + q[3 * i + 1] * T[1][j] + q[3 * i + 2] * T[2][j];
      if (Math.abs(p - Math.round(p)) > tol) ok = false;
    }
    if (ok) k++;
  }
  return k / n;
}

const angleBetween = (a: Vec3, b: Vec3): number => {
  const c = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (Math.hypot(...a) * Math.hypot(...b));
  return (Math.acos(Math.min(1, Math.abs(c))) * 180) / Math.PI;
};

/**
 * Candidate vectors: the strongest periodicities, refined, without repeats (parallel within 5°). A periodicity's
 * multiples are periodicities too (2t scores as well as t): of two parallel candidates the shorter one is kept when
 * it indexes as many points.
 */
export function candidateVectors(q: Float64Array, o: IndexingOptions = {}): LatticeVector[] {
  const tol = o.tolerance ?? 0.15;
  const all = periodicities(q, o).sort((a, b) => b.score - a.score);
  const picked: Array<LatticeVector & { fraction: number }> = [];
  const max = o.maxCandidates ?? 30;
  const len = (t: Vec3): number => Math.hypot(...t);
  // A short vector's periodicity stays strong over a wide cone of directions: compare both the raw direction and
  // the refined vector with what is already picked.
  const parallel = (t: Vec3): number => picked.findIndex((p) => angleBetween(p.t, t) < 5);
  for (const c of all) {
    if (picked.length >= max) break;
    const r = refineVector(q, c.t, tol);
    if (!(r.fraction > 0)) continue;
    const k = parallel(c.t) >= 0 ? parallel(c.t) : parallel(r.t);
    if (k < 0) picked.push({ t: r.t, score: c.score, fraction: r.fraction });
    else if (len(r.t) < 0.75 * len(picked[k]!.t) && r.fraction >= picked[k]!.fraction - 0.02) picked[k] = { t: r.t, score: c.score, fraction: r.fraction };
  }
  return picked.map(({ t, score }) => ({ t, score }));
}

/**
 * At most `max` of the points, spread over the list by a prime stride (k·p mod n, distinct for n < p) so that no
 * pattern in the order of the points (frame by frame, one lattice after another) is picked up by the sampling.
 */
function subsample(q: Float64Array, max: number): Float64Array {
  const n = q.length / 3;
  if (n <= max) return q;
  const p = 2_147_483_647;
  const out = new Float64Array(3 * max);
  for (let k = 0; k < max; k++) {
    const i = (k * p) % n;
    out.set(q.subarray(3 * i, 3 * i + 3), 3 * k);
  }
  return out;
}

/** The basis refined by least squares on the points it indexes: each t_j from (Σ q qᵀ) t_j = Σ q h_j. */
function refineBasis(q: Float64Array, T: Mat3, tol: number): Mat3 {
  let cur = T;
  for (let it = 0; it < 2; it++) {
    const A = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    const rhs = [
      [0, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ];
    let m = 0;
    for (let i = 0; i < q.length / 3; i++) {
      const v = [q[3 * i], q[3 * i + 1], q[3 * i + 2]];
      const h = [0, 1, 2].map((j) => v[0] * cur[0][j] + v[1] * cur[1][j] + v[2] * cur[2][j]);
      if (h.some((p) => Math.abs(p - Math.round(p)) > tol)) continue;
      m++;
      for (let r = 0; r < 3; r++) {
        for (let c = 0; c < 3; c++) A[3 * r + c] += v[r] * v[c];
        for (let j = 0; j < 3; j++) rhs[j][r] += v[r] * Math.round(h[j]);
      }
    }
    if (m < 12) break;
    try {
      const ata = new Matrix([A.slice(0, 3), A.slice(3, 6), A.slice(6, 9)]);
      const cols = rhs.map((b) => solve(ata, Matrix.columnVector(b)).to1DArray());
      cur = [0, 1, 2].map((r) => [cols[0][r], cols[1][r], cols[2][r]]) as Mat3;
    } catch {
      break;
    }
  }
  return cur;
}

/** Points the periodicity search sees (its histograms need no more); the final indices use them all. */
const PERIODICITY_POINTS = 20_000;
/** Points scored per triplet. */
const SCORING_POINTS = 6000;
/** How many of the best-scoring triplets are refined before the final choice. */
const REFINED_TRIPLETS = 24;

/** Indexes the points `q` (3 per point, crystal frame of tilt 0, Å⁻¹); see the module header. */
export function indexPoints(q: Float64Array, o: IndexingOptions = {}): IndexingResult {
  const n = q.length / 3;
  if (n < 10) throw new ParameterError('peaks', `${n} peaks are too few to find a lattice (at least 10, better a few hundred)`);
  const tol = o.tolerance ?? 0.15;
  const sample = subsample(q, SCORING_POINTS);
  const cands = candidateVectors(subsample(q, PERIODICITY_POINTS), o);
  if (cands.length < 3) throw new ParameterError('peaks', 'no three independent periodicities in the peaks: no lattice');
  const triplets: Array<{ T: Mat3; fraction: number }> = [];
  for (let i = 0; i < cands.length; i++) {
    throwIfAborted(o.signal);
    for (let j = i + 1; j < cands.length; j++) {
      if (angleBetween(cands[i].t, cands[j].t) < 10) continue;
      for (let k = j + 1; k < cands.length; k++) {
        const T: Mat3 = [
          [cands[i].t[0], cands[j].t[0], cands[k].t[0]],
          [cands[i].t[1], cands[j].t[1], cands[k].t[1]],
          [cands[i].t[2], cands[j].t[2], cands[k].t[2]],
        ];
        const lens = Math.hypot(...cands[i].t) * Math.hypot(...cands[j].t) * Math.hypot(...cands[k].t);
        if (Math.abs(det3(T)) < 0.2 * lens) continue; // nearly coplanar
        triplets.push({ T, fraction: indexedFraction(sample, T, tol) });
      }
    }
  }
  if (!triplets.length) throw new ParameterError('peaks', 'the candidate periodicities do not make a 3D lattice');
  // The smallest cells among the triplets within 5 % of the most points indexed (a supercell indexes as many as its
  // true cell), each refined as a whole (three separately refined vectors can each be slightly off); then the
  // smallest within 2 % of the best refined.
  const topRaw = Math.max(...triplets.map((t) => t.fraction));
  const contenders = triplets
    .filter((t) => t.fraction >= topRaw - 0.05)
    .sort((p, r) => Math.abs(det3(p.T)) - Math.abs(det3(r.T)))
    .slice(0, REFINED_TRIPLETS);
  const refined = contenders.map(({ T }) => {
    throwIfAborted(o.signal);
    const R = refineBasis(sample, T, tol);
    return { T: R, fraction: indexedFraction(sample, R, tol), volume: Math.abs(det3(R)) };
  });
  const top = Math.max(...refined.map((r) => r.fraction));
  const best = refined.filter((r) => r.fraction >= top - 0.02 && r.volume > 1).sort((p, r) => p.volume - r.volume)[0];
  if (!best) throw new ParameterError('peaks', 'the candidate periodicities do not make a 3D lattice');
  const reduced = niggliReduce(best.T);
  const ub = inverse3(transpose(reduced.basis));
  const { hkl, indexed, fraction } = assignIndices(q, ub, tol);
  return { ub, cell: reduced.cell, hkl, indexed, indexedFraction: fraction, candidates: cands };
}

/** Miller indices of each point for q = UB·h: indexed where all three are within `tol` of integers. */
export function assignIndices(q: Float64Array, ub: Mat3, tol: number): { hkl: Int32Array; indexed: Uint8Array; fraction: number } {
  const n = q.length / 3;
  const inv = inverse3(ub);
  const hkl = new Int32Array(3 * n);
  const indexed = new Uint8Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    let ok = true;
    for (let j = 0; j < 3; j++) {
      const p = inv[j][0] * q[3 * i] + inv[j][1] * q[3 * i + 1] + inv[j][2] * q[3 * i + 2];
      const r = Math.round(p);
      if (Math.abs(p - r) > tol) ok = false;
      hkl[3 * i + j] = r;
    }
    if (ok && (hkl[3 * i] || hkl[3 * i + 1] || hkl[3 * i + 2])) {
      indexed[i] = 1;
      k++;
    } else hkl.fill(0, 3 * i, 3 * i + 3);
  }
  return { hkl, indexed, fraction: k / n };
}
