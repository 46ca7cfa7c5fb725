// Merging of scaled reflections and the merging statistics in resolution shells (ARCHITECTURE §9): inverse-variance
// weighted means over symmetry equivalents; per shell of equal d*³ volume the completeness against every reflection
// the Laue group and lattice centring allow, multiplicity, Rint = Σ|I − ⟨I⟩| / Σ I, Rmeas (the same with
// √(n/(n − 1))), CC½ (equivalents split at random into halves, seeded so a run repeats) and ⟨I/σ⟩ of the merged data.
import { correlation } from '../crystallography/bravais';
import type { Mat3 } from '../crystallography/math3';
import type { ShellStatisticsReport } from '../../src-shared/processing';
import { canonicalHkl } from './scale-merge';

export interface MergedReflections {
  /** Canonical hkl of each unique reflection, 3 per reflection. */
  hkl: Int32Array;
  dA: Float64Array;
  intensity: Float64Array;
  sigma: Float64Array;
  multiplicity: Int32Array;
}

/** One shell's (or all data's) statistics: the report's shape. */
export type ShellStatistics = ShellStatisticsReport;

export interface MergingStatistics {
  overall: ShellStatistics;
  shells: ShellStatistics[];
}

/** Merge reflections grouped by `unique` (−1: left out); keys are the canonical hkl of the groups. */
export function mergeReflections(dA: Float64Array, intensity: Float64Array, sigma: Float64Array, unique: Int32Array, keys: Array<[number, number, number]>): MergedReflections {
  const n = keys.length;
  const num = new Float64Array(n);
  const den = new Float64Array(n);
  const mult = new Int32Array(n);
  const d = new Float64Array(n);
  for (let r = 0; r < intensity.length; r++) {
    const u = unique[r];
    if (u < 0 || !(sigma[r] > 0)) continue;
    const w = 1 / (sigma[r] * sigma[r]);
    num[u] += w * intensity[r];
    den[u] += w;
    mult[u]++;
    d[u] = dA[r];
  }
  return {
    hkl: Int32Array.from(keys.flat()),
    dA: d,
    intensity: num.map((v, u) => (den[u] > 0 ? v / den[u] : NaN)),
    sigma: den.map((v) => (v > 0 ? 1 / Math.sqrt(v) : NaN)),
    multiplicity: mult,
  };
}

/** Half of a CC½ split: observations ordered by a multiplicative hash of their index (a fixed shuffle, so a run repeats). */
const splitOrder = (r: number, seed: number): number => Math.imul((r + 1) ^ seed, 2654435761) >>> 0;

/** Pearson correlation, null where it is undefined. */
function pearson(x: number[], y: number[]): number | null {
  const c = correlation(x, y);
  return Number.isFinite(c) ? c : null;
}

/** Number of unique reflections the Laue group allows per shell (centring absences and 000 excluded). */
export function possibleUnique(ub: Mat3, laueOps: Mat3[], lattice: (h: number, k: number, l: number) => boolean, edgesInvA: number[]): number[] {
  const qMax = edgesInvA[edgesInvA.length - 1];
  const counts = new Array<number>(edgesInvA.length - 1).fill(0);
  const cols = [0, 1, 2].map((j) => [ub[0][j], ub[1][j], ub[2][j]]);
  const bounds = boundsOf(ub, qMax);
  const seen = new Set<string>();
  for (let h = -bounds[0]; h <= bounds[0]; h++) {
    for (let k = -bounds[1]; k <= bounds[1]; k++) {
      for (let l = -bounds[2]; l <= bounds[2]; l++) {
        if ((!h && !k && !l) || !lattice(h, k, l)) continue;
        const qx = cols[0][0] * h + cols[1][0] * k + cols[2][0] * l;
        const qy = cols[0][1] * h + cols[1][1] * k + cols[2][1] * l;
        const qz = cols[0][2] * h + cols[1][2] * k + cols[2][2] * l;
        const q = Math.hypot(qx, qy, qz);
        if (q > qMax || q < edgesInvA[0]) continue;
        const key = canonicalHkl(laueOps, h, k, l).join(',');
        if (seen.has(key)) continue;
        seen.add(key);
        const s = shellOf(edgesInvA, q);
        if (s >= 0) counts[s]++;
      }
    }
  }
  return counts;
}

function boundsOf(ub: Mat3, qMax: number): [number, number, number] {
  // Columns of (UBᵀ)⁻¹ are the direct axes; their lengths bound |h| = q·a·cos ≤ qMax·|a|.
  const m = ub;
  const det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const cof = (i: number, j: number): number => {
    const r = [0, 1, 2].filter((x) => x !== i);
    const c = [0, 1, 2].filter((x) => x !== j);
    return m[r[0]][c[0]] * m[r[1]][c[1]] - m[r[0]][c[1]] * m[r[1]][c[0]];
  };
  // (UBᵀ)⁻¹ = cofactor(UB) / det: column j is the cofactors of column j of UB.
  return [0, 1, 2].map((j) => Math.ceil((qMax * Math.hypot(cof(0, j), cof(1, j), cof(2, j))) / Math.abs(det))) as [number, number, number];
}

/** Shell index of q (Å⁻¹) for ascending edges, −1 outside. */
function shellOf(edges: number[], q: number): number {
  for (let s = 0; s < edges.length - 1; s++) if (q >= edges[s] && q <= edges[s + 1]) return s;
  return -1;
}

/** Shell edges in q = 1/d (Å⁻¹) of equal d*³ volume between the lowest and highest resolution observed. */
export function shellEdges(dA: ArrayLike<number>, nShells: number): number[] {
  let qMin = Infinity;
  let qMax = 0;
  for (let i = 0; i < dA.length; i++) {
    if (!(dA[i] > 0)) continue;
    qMin = Math.min(qMin, 1 / dA[i]);
    qMax = Math.max(qMax, 1 / dA[i]);
  }
  const edges: number[] = [];
  for (let s = 0; s <= nShells; s++) edges.push(Math.cbrt(qMin ** 3 + ((qMax ** 3 - qMin ** 3) * s) / nShells));
  edges[0] = qMin * 0.999999;
  edges[nShells] = qMax * 1.000001;
  return edges;
}

interface ShellInput {
  dA: Float64Array;
  intensity: Float64Array;
  sigma: Float64Array;
  unique: Int32Array;
  merged: MergedReflections;
}

function shellStatistics(inp: ShellInput, members: number[], uniques: number[], nPossible: number, dRange: [number, number], seed: number): ShellStatistics {
  const byUnique = new Map<number, number[]>();
  for (const r of members) {
    const list = byUnique.get(inp.unique[r]);
    if (list) list.push(r);
    else byUnique.set(inp.unique[r], [r]);
  }
  let rNum = 0;
  let rMeasNum = 0;
  let rDen = 0;
  const half1: number[] = [];
  const half2: number[] = [];
  for (const [u, list] of byUnique) {
    const mean = inp.merged.intensity[u];
    if (list.length >= 2) {
      for (const r of list) {
        rNum += Math.abs(inp.intensity[r] - mean);
        rMeasNum += Math.sqrt(list.length / (list.length - 1)) * Math.abs(inp.intensity[r] - mean);
        rDen += Math.abs(inp.intensity[r]);
      }
      const shuffled = [...list].sort((a, b) => splitOrder(a, seed) - splitOrder(b, seed));
      const h = Math.floor(shuffled.length / 2);
      const m1 = shuffled.slice(0, h).reduce((a, r) => a + inp.intensity[r], 0) / h;
      const m2 = shuffled.slice(h).reduce((a, r) => a + inp.intensity[r], 0) / (shuffled.length - h);
      half1.push(m1);
      half2.push(m2);
    }
  }
  const iOverSigma = uniques.map((u) => inp.merged.intensity[u] / inp.merged.sigma[u]).filter(Number.isFinite);
  return {
    dMaxA: dRange[0],
    dMinA: dRange[1],
    nObserved: members.length,
    nUnique: uniques.length,
    nPossible,
    completeness: nPossible > 0 ? Math.min(1, uniques.length / nPossible) : 0,
    multiplicity: uniques.length ? members.length / uniques.length : 0,
    rInt: rDen > 0 ? rNum / rDen : null,
    rMeas: rDen > 0 ? rMeasNum / rDen : null,
    ccHalf: pearson(half1, half2),
    meanIOverSigma: iOverSigma.length ? iOverSigma.reduce((a, b) => a + b, 0) / iOverSigma.length : 0,
  };
}

/** Statistics overall and in `nShells` shells (fewer when there are few reflections: ≥ 20 unique per shell). */
export function mergingStatistics(
  inp: ShellInput,
  ub: Mat3,
  laueOps: Mat3[],
  lattice: (h: number, k: number, l: number) => boolean,
  nShells = 10,
  seed = 1,
): MergingStatistics {
  const used: number[] = [];
  for (let r = 0; r < inp.unique.length; r++) if (inp.unique[r] >= 0 && inp.sigma[r] > 0) used.push(r);
  const nU = inp.merged.intensity.length;
  const shells = Math.max(1, Math.min(nShells, Math.floor(nU / 20)));
  const edges = shellEdges(inp.merged.dA, shells);
  const possible = possibleUnique(ub, laueOps, lattice, edges);
  const members: number[][] = Array.from({ length: shells }, () => []);
  const uniques: number[][] = Array.from({ length: shells }, () => []);
  for (const r of used) {
    const s = shellOf(edges, 1 / inp.dA[r]);
    if (s >= 0) members[s].push(r);
  }
  for (let u = 0; u < nU; u++) {
    const s = shellOf(edges, 1 / inp.merged.dA[u]);
    if (s >= 0) uniques[s].push(u);
  }
  const rows = members.map((m, s) => shellStatistics(inp, m, uniques[s], possible[s], [1 / edges[s], 1 / edges[s + 1]], seed));
  const overall = shellStatistics(inp, used, Array.from({ length: nU }, (_, u) => u), possible.reduce((a, b) => a + b, 0), [1 / edges[0], 1 / edges[shells]], seed);
  return { overall, shells: rows };
}
