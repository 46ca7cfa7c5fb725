// Bravais-lattice search from a reduced cell, in the spirit of Le Page (1982) and `dials.refine_bravais_settings`:
// every higher-symmetry lattice that the metric nearly allows, with its conventional setting and how far the metric
// is from it. Then, because a metric can be pseudo-symmetric (β-Ga2O3's monoclinic cell is within 0.06° of an
// orthorhombic C cell), the intensities are asked too: symmetry-equivalent reflections of a true lattice symmetry
// agree about as well as Friedel mates do; those of a pseudo-symmetry do not.
//
// Candidates are built from short lattice vectors (the 100 shortest with coefficients −3…3 of the reduced basis): a monoclinic setting is
// a vector b with two independent lattice vectors nearly perpendicular to it; an orthorhombic one three nearly
// perpendicular vectors; tetragonal, hexagonal, rhombohedral and cubic add equal lengths (and 120°). Each setting's
// volume ratio to the reduced cell (1, 2, 3 or 4) and its centring vector give P, C, I, R or F.
//
// Misfit (degrees): the largest deviation of a constrained angle from its ideal value, with an equal-length
// constraint counted as the angle 2·atan(|a − b| / (a + b)) (the tilt of the two-fold axis between a and b away from
// where the symmetry puts it). It is the δ that DIALS lists.
import { cellOfBasis } from './reduction';
import { det3, inverse3, matMul, transpose, type Mat3, type Vec3 } from './math3';
import type { Cell } from './lattice';
import type { BravaisSymbol } from '../../src-shared/processing';

export type { BravaisSymbol };

export interface BravaisCandidate {
  bravais: BravaisSymbol;
  system: 'triclinic' | 'monoclinic' | 'orthorhombic' | 'tetragonal' | 'hexagonal' | 'rhombohedral' | 'cubic';
  /** Integer matrix M: conventional basis = reduced basis · M (columns). Miller indices: h_conv = Mᵀ·h_reduced. */
  transform: Mat3;
  /** The conventional cell as the data have it (unconstrained). */
  cell: Cell;
  /** The conventional cell with the lattice's constraints applied (equal lengths averaged, angles set). */
  constrainedCell: Cell;
  /** Largest constraint deviation (degrees, see the module header). */
  misfitDeg: number;
  /** Laue-group operators on conventional Miller indices (h' = W·h), identity and inversion included. */
  laueOps: Mat3[];
}

const DEG = Math.PI / 180;

const SYSTEM: Record<BravaisSymbol, BravaisCandidate['system']> = {
  aP: 'triclinic',
  mP: 'monoclinic',
  mC: 'monoclinic',
  oP: 'orthorhombic',
  oC: 'orthorhombic',
  oI: 'orthorhombic',
  oF: 'orthorhombic',
  tP: 'tetragonal',
  tI: 'tetragonal',
  hP: 'hexagonal',
  hR: 'rhombohedral',
  cP: 'cubic',
  cI: 'cubic',
  cF: 'cubic',
};

interface LatticeVector {
  /** Coefficients in the reduced basis. */
  n: Vec3;
  v: Vec3;
  len: number;
}

function shortVectors(basis: Mat3, maxCount: number): LatticeVector[] {
  const out: LatticeVector[] = [];
  for (let i = -3; i <= 3; i++) {
    for (let j = -3; j <= 3; j++) {
      for (let k = -3; k <= 3; k++) {
        // One of ±v (the first non-zero coefficient positive), primitive ones only (no 2·v).
        const first = i || j || k;
        if (first <= 0) continue;
        if (gcd(gcd(Math.abs(i), Math.abs(j)), Math.abs(k)) !== 1) continue;
        const v: Vec3 = [0, 1, 2].map((r) => basis[r][0] * i + basis[r][1] * j + basis[r][2] * k) as Vec3;
        out.push({ n: [i, j, k], v, len: Math.hypot(v[0], v[1], v[2]) });
      }
    }
  }
  return out.sort((a, b) => a.len - b.len).slice(0, maxCount);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

const cross3 = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

const angleDeg = (a: LatticeVector, b: LatticeVector): number =>
  Math.acos(Math.max(-1, Math.min(1, (a.v[0] * b.v[0] + a.v[1] * b.v[1] + a.v[2] * b.v[2]) / (a.len * b.len)))) / DEG;

/** Deviation from perpendicular of two vectors (either sign), degrees. */
const perpDev = (a: LatticeVector, b: LatticeVector): number => Math.abs(90 - angleDeg(a, b));
const lengthMisfitDeg = (a: number, b: number): number => (2 * Math.atan(Math.abs(a - b) / (a + b))) / DEG;

/** Columns → matrix. */
const fromColumns = (a: Vec3, b: Vec3, c: Vec3): Mat3 => [
  [a[0], b[0], c[0]],
  [a[1], b[1], c[1]],
  [a[2], b[2], c[2]],
];

/** (2/3, 1/3, 1/3)-type translations of an R-centred cell in hexagonal axes (obverse or reverse). */
function isRhombohedral(v: Vec3): boolean {
  const near = (x: number, y: number): boolean => Math.abs(x - y) < 1e-6;
  const pats: Vec3[] = [
    [2 / 3, 1 / 3, 1 / 3],
    [1 / 3, 2 / 3, 2 / 3],
    [1 / 3, 2 / 3, 1 / 3],
    [2 / 3, 1 / 3, 2 / 3],
  ];
  return pats.some((p) => near(p[0], v[0]) && near(p[1], v[1]) && near(p[2], v[2]));
}

/** The centring of a setting M (|det| > 1): which fractional translations the reduced lattice adds. */
function centring(m: Mat3): 'P' | 'A' | 'B' | 'C' | 'I' | 'F' | 'R' | '?' {
  const d = Math.round(Math.abs(det3(m)));
  if (d === 1) return 'P';
  const inv = inverse3(m);
  const frac = (x: number): number => {
    const f = x - Math.floor(x + 1e-9);
    return Math.abs(f) < 1e-6 || Math.abs(f - 1) < 1e-6 ? 0 : f;
  };
  const t: Vec3[] = [0, 1, 2].map((j) => [frac(inv[0][j]), frac(inv[1][j]), frac(inv[2][j])] as Vec3);
  const half = (x: number): boolean => Math.abs(x - 0.5) < 1e-6;
  const kinds = new Set<string>();
  for (const v of t) {
    if (v[0] === 0 && v[1] === 0 && v[2] === 0) continue;
    if (half(v[0]) && half(v[1]) && v[2] === 0) kinds.add('C');
    else if (half(v[0]) && v[1] === 0 && half(v[2])) kinds.add('B');
    else if (v[0] === 0 && half(v[1]) && half(v[2])) kinds.add('A');
    else if (half(v[0]) && half(v[1]) && half(v[2])) kinds.add('I');
    else if (d === 3 && isRhombohedral(v)) kinds.add('R');
    else kinds.add('?');
  }
  if (d === 4 && kinds.size >= 2 && !kinds.has('?') && !kinds.has('I')) return 'F';
  if (kinds.size === 1) return [...kinds][0] as 'A' | 'B' | 'C' | 'I' | 'R' | '?';
  // Two translations of the same kind plus their sum (e.g. C and its combination): take the single kind present.
  return kinds.has('?') ? '?' : ([...kinds][0] as 'A' | 'B' | 'C' | 'I');
}

// Laue-group generators on direct coordinates (x' = W·x) of the conventional setting; Miller indices take Wᵀ.
const I3: Mat3 = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];
const INV: Mat3 = [
  [-1, 0, 0],
  [0, -1, 0],
  [0, 0, -1],
];
const TWO_A: Mat3 = [
  [1, 0, 0],
  [0, -1, 0],
  [0, 0, -1],
];
const TWO_B: Mat3 = [
  [-1, 0, 0],
  [0, 1, 0],
  [0, 0, -1],
];
const TWO_C: Mat3 = [
  [-1, 0, 0],
  [0, -1, 0],
  [0, 0, 1],
];
const FOUR_C: Mat3 = [
  [0, -1, 0],
  [1, 0, 0],
  [0, 0, 1],
];
const SIX_C: Mat3 = [
  [1, -1, 0],
  [1, 0, 0],
  [0, 0, 1],
];
const THREE_C: Mat3 = [
  [0, -1, 0],
  [1, -1, 0],
  [0, 0, 1],
];
const TWO_A_HEX: Mat3 = [
  [1, -1, 0],
  [0, -1, 0],
  [0, 0, -1],
];
const THREE_111: Mat3 = [
  [0, 0, 1],
  [1, 0, 0],
  [0, 1, 0],
];

const GENERATORS: Record<BravaisCandidate['system'], Mat3[]> = {
  triclinic: [INV],
  monoclinic: [INV, TWO_B],
  orthorhombic: [INV, TWO_A, TWO_B, TWO_C],
  tetragonal: [INV, FOUR_C, TWO_A],
  hexagonal: [INV, SIX_C, TWO_A_HEX],
  rhombohedral: [INV, THREE_C, TWO_A_HEX],
  cubic: [INV, TWO_A, TWO_B, TWO_C, THREE_111, FOUR_C],
};

const key = (m: Mat3): string => m.map((r) => r.join(',')).join(';');

/** The group generated by `gens` (closure under products), as operators on Miller indices (Wᵀ). */
/** The crystal system of a Bravais lattice. */
export function bravaisSystem(sym: BravaisSymbol): BravaisCandidate['system'] {
  return SYSTEM[sym];
}

/** Whether hkl is allowed by the lattice centring of a Bravais symbol (conventional setting; hR in hexagonal axes, obverse). */
export function centringAllows(sym: BravaisSymbol, h: number, k: number, l: number): boolean {
  switch (sym[1]) {
    case 'C':
      return (h + k) % 2 === 0;
    case 'I':
      return (h + k + l) % 2 === 0;
    case 'F':
      return (h + k) % 2 === 0 && (k + l) % 2 === 0;
    case 'R':
      return (((-h + k + l) % 3) + 3) % 3 === 0;
    default:
      return true;
  }
}

export function laueGroup(system: BravaisCandidate['system']): Mat3[] {
  const gens = GENERATORS[system];
  const seen = new Map<string, Mat3>([[key(I3), I3]]);
  let frontier: Mat3[] = [I3];
  while (frontier.length) {
    const next: Mat3[] = [];
    for (const a of frontier) {
      for (const g of gens) {
        const p = matMul(a, g);
        const k = key(p);
        if (!seen.has(k)) {
          seen.set(k, p);
          next.push(p);
        }
      }
    }
    frontier = next;
  }
  return [...seen.values()].map((w) => transpose(w));
}

/** `c` with the constraints of lattice type `sym` applied: equal lengths averaged, angles set. */
export function constrainedCell(c: Cell, sym: BravaisSymbol): Cell {
  const s = SYSTEM[sym];
  if (s === 'monoclinic') return { ...c, alpha: 90, gamma: 90 };
  if (s === 'orthorhombic') return { ...c, alpha: 90, beta: 90, gamma: 90 };
  if (s === 'tetragonal') {
    const a = (c.a + c.b) / 2;
    return { a, b: a, c: c.c, alpha: 90, beta: 90, gamma: 90 };
  }
  if (s === 'hexagonal' || s === 'rhombohedral') {
    const a = (c.a + c.b) / 2;
    return { a, b: a, c: c.c, alpha: 90, beta: 90, gamma: 120 };
  }
  if (s === 'cubic') {
    const a = (c.a + c.b + c.c) / 3;
    return { a, b: a, c: a, alpha: 90, beta: 90, gamma: 90 };
  }
  return { ...c };
}

/** A right-handed setting from three vectors (the third negated when needed). */
function setting(a: LatticeVector, b: LatticeVector, c: LatticeVector): { m: Mat3; vecs: [Vec3, Vec3, Vec3] } | null {
  let m = fromColumns(a.n, b.n, c.n);
  let vc = c.v;
  const d = det3(m);
  if (Math.abs(d) < 0.5) return null;
  if (d < 0) {
    m = fromColumns(a.n, b.n, c.n.map((x) => -x) as Vec3);
    vc = c.v.map((x) => -x) as Vec3;
  }
  return { m, vecs: [a.v, b.v, vc] };
}

function candidate(sym: BravaisSymbol, m: Mat3, vecs: [Vec3, Vec3, Vec3], misfitDeg: number): BravaisCandidate {
  const cell = cellOfBasis(fromColumns(...vecs));
  return { bravais: sym, system: SYSTEM[sym], transform: m, cell, constrainedCell: constrainedCell(cell, sym), misfitDeg, laueOps: laueGroup(SYSTEM[sym]) };
}

/** Orthorhombic-type symbol from volume ratio and centring (null when the combination is not a lattice type). */
function orthoSymbol(d: number, cen: string): 'oP' | 'oC' | 'oI' | 'oF' | null {
  if (d === 1) return 'oP';
  if (d === 2 && cen === 'C') return 'oC';
  if (d === 2 && cen === 'I') return 'oI';
  if (d === 4 && cen === 'F') return 'oF';
  return null;
}

/**
 * All Bravais settings of the lattice spanned by `reducedBasis` (columns, a Niggli-reduced cell) within
 * `maxMisfitDeg`, the best setting per lattice type and (for monoclinic and orthorhombic) per distinct unique axis,
 * sorted by symmetry (highest first), then misfit. Always includes aP (the reduced cell itself).
 */
export function bravaisCandidates(reducedBasis: Mat3, maxMisfitDeg = 3): BravaisCandidate[] {
  const vecs = shortVectors(reducedBasis, 100);
  const best = new Map<string, BravaisCandidate>();
  // Per lattice type (and unique axis) the setting with the smallest misfit; within 0.01° of it, the shortest.
  const offer = (keyName: string, c: BravaisCandidate, rankLen: number): void => {
    const prev = best.get(keyName);
    if (!prev || c.misfitDeg < prev.misfitDeg - 0.01 || (c.misfitDeg <= prev.misfitDeg + 0.01 && rankLen < volumeRank(prev) - 1e-6)) best.set(keyName, c);
  };
  const volumeRank = (c: BravaisCandidate): number => c.cell.a + c.cell.b + c.cell.c;
  best.set('aP', candidate('aP', I3, [0, 1, 2].map((j) => [reducedBasis[0][j], reducedBasis[1][j], reducedBasis[2][j]] as Vec3) as [Vec3, Vec3, Vec3], 0));
  const n = vecs.length;
  for (let ib = 0; ib < n; ib++) {
    const b = vecs[ib];
    // Vectors nearly perpendicular to b.
    const perp = vecs.filter((v, k) => k !== ib && perpDev(v, b) <= maxMisfitDeg);
    // Monoclinic: b unique, a and c spanning the plane perpendicular to it.
    for (let i = 0; i < perp.length; i++) {
      for (let j = 0; j < perp.length; j++) {
        if (j === i) continue;
        const s = setting(perp[i], b, perp[j]);
        if (!s) continue;
        const d = Math.round(Math.abs(det3(s.m)));
        if (d > 2) continue;
        const cen = centring(s.m);
        if (d === 2 && cen !== 'C') continue;
        // The misfit is the angle between b and the normal of the (a, c) plane: the same for every basis of that
        // plane, so that the shortest basis wins the tie below.
        const nrm = cross3(perp[i].v, perp[j].v);
        const cosN = Math.abs(nrm[0] * b.v[0] + nrm[1] * b.v[1] + nrm[2] * b.v[2]) / (Math.hypot(...nrm) * b.len);
        const misfit = Math.acos(Math.min(1, cosN)) / DEG;
        const sym = d === 1 ? 'mP' : 'mC';
        // β ≥ 90° by convention (a → −a with b → −b keeps the handedness).
        const [va, vb, vc] = s.vecs;
        const obtuse = va[0] * vc[0] + va[1] * vc[1] + va[2] * vc[2] <= 0;
        const m = obtuse ? s.m : (s.m.map((row) => [-row[0], -row[1], row[2]]) as Mat3);
        const vecs3: [Vec3, Vec3, Vec3] = obtuse ? s.vecs : [va.map((x) => -x) as Vec3, vb.map((x) => -x) as Vec3, vc];
        offer(`${sym}:${b.n.join(',')}`, candidate(sym, m, vecs3, misfit), perp[i].len + perp[j].len + b.len);
      }
    }
    // Orthorhombic and up: a, b, c mutually perpendicular (a = the first perpendicular, c perpendicular to both).
    for (let i = 0; i < perp.length; i++) {
      const a = perp[i];
      for (let j = 0; j < perp.length; j++) {
        if (j === i || perpDev(perp[j], a) > maxMisfitDeg) continue;
        const c = perp[j];
        const s = setting(a, b, c);
        if (!s) continue;
        const d = Math.round(Math.abs(det3(s.m)));
        if (d > 4) continue;
        const cen = centring(s.m);
        const misfit = Math.max(perpDev(a, b), perpDev(a, c), perpDev(b, c));
        const o = orthoSymbol(d, cen);
        const lenSum = a.len + b.len + c.len;
        if (o) offer(`${o}`, candidate(o, s.m, s.vecs, misfit), lenSum);
        // Tetragonal: a = b, c unique (P or I).
        if (d === 1 || (d === 2 && cen === 'I')) {
          const t = d === 1 ? 'tP' : 'tI';
          offer(t, candidate(t, s.m, s.vecs, Math.max(misfit, lengthMisfitDeg(a.len, b.len))), lenSum);
        }
        // Cubic: a = b = c (P, I or F).
        if (d === 1 || (d === 2 && cen === 'I') || (d === 4 && cen === 'F')) {
          const cs = d === 1 ? 'cP' : d === 2 ? 'cI' : 'cF';
          const lm = Math.max(lengthMisfitDeg(a.len, b.len), lengthMisfitDeg(b.len, c.len), lengthMisfitDeg(a.len, c.len));
          offer(cs, candidate(cs, s.m, s.vecs, Math.max(misfit, lm)), lenSum);
        }
      }
    }
  }
  // Hexagonal and rhombohedral (hexagonal axes): a, b of equal length at 120°, c perpendicular to both.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const a = vecs[i];
      const bRaw = vecs[j];
      const ang = angleDeg(a, bRaw);
      // Take b or −b so that the angle is near 120°.
      const flip = ang < 90;
      const gammaDev = Math.abs((flip ? 180 - ang : ang) - 120);
      if (gammaDev > maxMisfitDeg) continue;
      const b: LatticeVector = flip ? { n: bRaw.n.map((x) => -x) as Vec3, v: bRaw.v.map((x) => -x) as Vec3, len: bRaw.len } : bRaw;
      const lm = lengthMisfitDeg(a.len, b.len);
      if (lm > maxMisfitDeg) continue;
      for (const c of vecs) {
        if (perpDev(c, a) > maxMisfitDeg || perpDev(c, b) > maxMisfitDeg) continue;
        const s = setting(a, b, c);
        if (!s) continue;
        const d = Math.round(Math.abs(det3(s.m)));
        if (d !== 1 && !(d === 3 && centring(s.m) === 'R')) continue;
        const misfit = Math.max(gammaDev, lm, perpDev(c, a), perpDev(c, b));
        const sym = d === 1 ? 'hP' : 'hR';
        offer(sym, candidate(sym, s.m, s.vecs, misfit), a.len + b.len + c.len);
      }
    }
  }
  const order = (c: BravaisCandidate): number => c.laueOps.length;
  return [...best.values()].filter((c) => c.misfitDeg <= maxMisfitDeg).sort((p, q) => order(q) - order(p) || p.misfitDeg - q.misfitDeg);
}

/** Indices in the conventional setting of a candidate: h_conv = Mᵀ·h_reduced. */
export function toConventional(m: Mat3, h: Readonly<Vec3>): Vec3 {
  return [0, 1, 2].map((j) => m[0][j] * h[0] + m[1][j] * h[1] + m[2][j] * h[2]) as Vec3;
}

/** Evidence from intensities for one candidate: how well its symmetry-equivalent reflections agree. */
export interface SymmetryEvidence {
  /** Pairs of distinct equivalents (under the candidate's operators other than ±identity) both measured. */
  nPairs: number;
  /** Correlation of their intensities (NaN with fewer than 3 pairs). */
  cc: number;
  /** The worst single operator with at least 4 pairs: its correlation and pair count. */
  worstOperatorCc: number;
  worstOperatorPairs: number;
}

/** Pearson correlation of paired values. */
export function correlation(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  if (n < 3) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Ranks 1…n (ties share their mean rank). */
function ranks(v: readonly number[]): number[] {
  const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(v.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/**
 * Spearman's rank correlation: what intensity agreement is judged by. Partial rocking curves and dynamical
 * scattering leave a few equivalents wildly off; ranks keep one such pair from deciding a lattice.
 */
export function rankCorrelation(x: readonly number[], y: readonly number[]): number {
  return x.length < 3 ? NaN : correlation(ranks(x), ranks(y));
}

/**
 * Symmetry evidence for a candidate from reflection intensities keyed by conventional-free reduced indices
 * "h,k,l" (each reflection once; Friedel mates separately when both were measured).
 */
export function symmetryEvidence(c: BravaisCandidate, intensities: ReadonlyMap<string, number>): SymmetryEvidence {
  const mInvT = transpose(inverse3(c.transform));
  const pairsAll: [number[], number[]] = [[], []];
  let worst = { cc: NaN, n: 0 };
  for (const w of c.laueOps) {
    const tr = w[0][0] + w[1][1] + w[2][2];
    if (Math.abs(tr) === 3) continue; // identity or inversion
    const xs: number[] = [];
    const ys: number[] = [];
    const seen = new Set<string>();
    for (const [k, v] of intensities) {
      const h = k.split(',').map(Number) as Vec3;
      const hc = toConventional(c.transform, h);
      const hc2: Vec3 = [0, 1, 2].map((r) => w[r][0] * hc[0] + w[r][1] * hc[1] + w[r][2] * hc[2]) as Vec3;
      const h2 = [0, 1, 2].map((r) => Math.round(mInvT[r][0] * hc2[0] + mInvT[r][1] * hc2[1] + mInvT[r][2] * hc2[2]));
      const k2 = h2.join(',');
      const kNeg = h2.map((x) => -x).join(',');
      if (k2 === k || kNeg === k) continue; // on the operator's axis or plane: no information
      const other = intensities.get(k2) ?? intensities.get(kNeg);
      if (other === undefined) continue;
      const pairKey = [k, k2].sort().join('|');
      if (seen.has(pairKey)) continue;
      seen.add(pairKey);
      xs.push(v);
      ys.push(other);
    }
    pairsAll[0].push(...xs);
    pairsAll[1].push(...ys);
    if (xs.length >= 4) {
      const cc = rankCorrelation(xs, ys);
      if (!(worst.cc <= cc)) worst = { cc, n: xs.length };
    }
  }
  return { nPairs: pairsAll[0].length, cc: rankCorrelation(pairsAll[0], pairsAll[1]), worstOperatorCc: worst.cc, worstOperatorPairs: worst.n };
}

/** Friedel-mate agreement (h and −h both measured): the level true equivalents reach with these data. */
export function friedelAgreement(intensities: ReadonlyMap<string, number>): { nPairs: number; cc: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [k, v] of intensities) {
    const h = k.split(',').map(Number);
    if (h[0] < 0 || (h[0] === 0 && (h[1] < 0 || (h[1] === 0 && h[2] < 0)))) continue;
    const other = intensities.get(h.map((x) => -x).join(','));
    if (other === undefined) continue;
    xs.push(v);
    ys.push(other);
  }
  return { nPairs: xs.length, cc: rankCorrelation(xs, ys) };
}

