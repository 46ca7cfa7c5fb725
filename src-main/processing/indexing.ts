// Unit cell from the 3D cloud of reciprocal-space peaks, without assuming right angles.
//
// 1. Real-space vectors by 1D Fourier analysis (Steller, Bolotovsky & Rossmann 1997; DIALS' fft1d): project the
//    points on a direction n; if n runs along a direct-lattice vector t, the projections q·n are multiples of 1/|t|
//    and the histogram of projections is periodic with period 1/|t|: its Fourier transform has a peak at |t|. Over a
//    hemisphere of directions (~1.5° apart) the strongest periodicities are candidate lattice vectors. This suits
//    sparse, wedge-limited ED data: every direction sees every point, and a missing wedge only thins the histogram.
// 2. Each candidate is refined by least squares on the points it indexes (round(q·t) integer), duplicates and
//    collinear candidates are dropped.
// 3. The basis: of the triplets of strong candidates, the one that indexes the most points (all three q·t within
//    `tolerance` of integers); among equally good ones the smallest cell. It is Niggli-reduced.
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

/** Candidate vectors: the strongest periodicities, refined, without repeats (parallel within 5°). */
export function candidateVectors(q: Float64Array, o: IndexingOptions = {}): LatticeVector[] {
  const tol = o.tolerance ?? 0.15;
  const all = periodicities(q, o).sort((a, b) => b.score - a.score);
  const picked: LatticeVector[] = [];
  const max = o.maxCandidates ?? 30;
  // A short vector's periodicity stays strong over a wide cone of directions: compare both the raw direction and
  // the refined vector with what is already picked.
  const seen = (t: Vec3): boolean => picked.some((p) => angleBetween(p.t, t) < 5);
  for (const c of all) {
    if (picked.length >= max) break;
    if (seen(c.t)) continue;
    const r = refineVector(q, c.t, tol);
    if (seen(r.t) || !(r.fraction > 0)) continue;
    picked.push({ t: r.t, score: c.score });
  }
  return picked;
}

/** Indexes the points `q` (3 per point, crystal frame of tilt 0, Å⁻¹); see the module header. */
export function indexPoints(q: Float64Array, o: IndexingOptions = {}): IndexingResult {
  const n = q.length / 3;
  if (n < 10) throw new ParameterError('peaks', `${n} peaks are too few to find a lattice (at least 10, better a few hundred)`);
  const tol = o.tolerance ?? 0.15;
  const cands = candidateVectors(q, o);
  if (cands.length < 3) throw new ParameterError('peaks', 'no three independent periodicities in the peaks: no lattice');
  let best: { T: Mat3; fraction: number; volume: number } | null = null;
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
        const volume = Math.abs(det3(T));
        const lens = Math.hypot(...cands[i].t) * Math.hypot(...cands[j].t) * Math.hypot(...cands[k].t);
        if (volume < 0.2 * lens) continue; // nearly coplanar
        const fraction = indexedFraction(q, T, tol);
        // More points indexed wins; within a point of a percent, the smaller cell (a supercell indexes as much).
        if (!best || fraction > best.fraction + 0.01 || (fraction > best.fraction - 0.01 && volume < best.volume * 0.9)) {
          best = { T, fraction, volume };
        }
      }
    }
  }
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
