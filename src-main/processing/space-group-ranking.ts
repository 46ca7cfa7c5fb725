// Laue class and space group from the integrated data (ARCHITECTURE §9), ranked with their evidence the way
// POINTLESS and dials.symmetry report it.
//
// Laue class: within the lattice's crystal system, every rotation of the holohedry is scored by the rank correlation
// of the shell-normalised intensities it relates (E² of h against E² of W·h); a Laue class is accepted when each of
// its operators reaches at least half the agreement of Friedel mates (the best the data can show) — or, when too few
// pairs test an operator, it is inconclusive and the higher class is not claimed. The highest accepted class wins.
//
// Space group: for each group of that Laue class and lattice centring, in every setting of our cell, the reflections it
// makes systematically absent (beyond the centring) are tested by a log-likelihood ratio: absent, I ~ N(0, σ²) (with a
// 10 % allowance for violations: multiple scattering), against present, I an acentric Wilson intensity (mean ⟨I⟩ of
// its shell) measured with σ. Groups are ranked by their summed log-likelihood; groups
// with the same absences tie, and then the centrosymmetric one is listed first (absences cannot tell them apart; the
// structure solution does).
import { rankCorrelation } from '../crystallography/bravais';
import { inverse3, type Mat3 } from '../crystallography/math3';
import { isSystematicallyAbsent, laueGroupOps, spaceGroup, type Centring, type LaueClass, type SpaceGroup } from '../crystallography/space-groups';
import type { BravaisSymbol } from '../../src-shared/processing';
import { canonicalHkl } from './scale-merge';

export interface LaueOperatorScore {
  /** The operator on Miller indices, as text (e.g. '-h,k,-l'). */
  operator: string;
  nPairs: number;
  cc: number;
}

export interface LaueCandidate {
  laue: string;
  /** Space-group number whose point-group orientation defines this class's setting. */
  referenceNumber: number;
  /** Miller-index operators (h' = W·h), −1 included. */
  ops: Mat3[];
  /** The weakest operator's agreement relative to Friedel mates' (1 = as good as Friedel). */
  worstRelativeCc: number | null;
  verdict: 'accepted' | 'rejected' | 'inconclusive';
  chosen: boolean;
}

export interface SpaceGroupCandidate {
  number: number;
  hm: string;
  /** The group's standard setting in terms of our conventional axes: new basis = ours · P (columns), as text ('c,a,b'). */
  setting: string;
  p: Mat3;
  /** Reflections this group makes absent beyond the centring, measured; and how many of them are clearly present (I > 3σ). */
  nAbsentTested: number;
  nViolations: number;
  meanIOverSigmaAbsent: number | null;
  logLikelihood: number;
  chosen: boolean;
}

export interface SymmetryRanking {
  friedel: { nPairs: number; cc: number | null };
  operators: LaueOperatorScore[];
  laue: LaueCandidate[];
  spaceGroups: SpaceGroupCandidate[];
}

/** Reference groups of the Laue classes a lattice can hold (its system's classes, highest first). */
const LAUE_OF_LATTICE: Record<BravaisSymbol, number[]> = {
  aP: [2],
  mP: [10],
  mC: [12],
  oP: [47],
  oC: [65],
  oI: [71],
  oF: [69],
  tP: [123, 83],
  tI: [139, 87],
  hP: [191, 175, 164, 162, 147],
  hR: [166, 148],
  cP: [221, 200],
  cI: [229, 204],
  cF: [225, 202],
};

const transposeM = (m: Readonly<Mat3>): Mat3 => [0, 1, 2].map((i) => [m[0][i], m[1][i], m[2][i]]) as Mat3;
const apply = (w: Mat3, h: readonly number[]): number[] => [0, 1, 2].map((r) => w[r][0] * h[0] + w[r][1] * h[1] + w[r][2] * h[2]);
const key = (h: readonly number[]): string => h.join(',');

/** Miller-index operators of a space group's Laue group (the transposes of its rotations act on indices). */
export function millerLaueOps(sg: SpaceGroup | LaueClass): Mat3[] {
  return laueGroupOps(sg).map(transposeM);
}

function operatorText(w: Mat3): string {
  const names = ['h', 'k', 'l'];
  return w
    .map((row) => {
      let t = '';
      row.forEach((c, j) => {
        if (!c) return;
        t += (c > 0 ? (t ? '+' : '') : '-') + (Math.abs(c) === 1 ? '' : String(Math.abs(c))) + names[j];
      });
      return t || '0';
    })
    .join(',');
}

/** Shell-normalised intensities E² = I/⟨I⟩ (10 shells in d*²), keyed by hkl, for the reflections given. */
function normalised(hkl: Int32Array, dA: Float64Array, intensity: Float64Array, use: ArrayLike<number>): Map<string, number> {
  const rows: Array<{ k: string; q2: number; I: number }> = [];
  for (let r = 0; r < dA.length; r++) if (use[r] && Number.isFinite(intensity[r])) rows.push({ k: key([hkl[3 * r], hkl[3 * r + 1], hkl[3 * r + 2]]), q2: 1 / dA[r] ** 2, I: intensity[r] });
  rows.sort((a, b) => a.q2 - b.q2);
  const out = new Map<string, number>();
  const nShell = Math.max(1, Math.min(10, Math.floor(rows.length / 15)));
  for (let s = 0; s < nShell; s++) {
    const part = rows.slice(Math.floor((s * rows.length) / nShell), Math.floor(((s + 1) * rows.length) / nShell));
    const mean = part.reduce((a, x) => a + Math.max(0, x.I), 0) / Math.max(1, part.length);
    for (const x of part) {
      const v = mean > 0 ? x.I / mean : 0;
      // Two measurements of one hkl: the mean.
      out.set(x.k, out.has(x.k) ? (out.get(x.k)! + v) / 2 : v);
    }
  }
  return out;
}

/** Pairs (h, W·h) with both measured, h ≠ ±W·h, each pair once. */
function operatorPairs(e2: Map<string, number>, w: Mat3): [number[], number[]] {
  const xs: number[] = [];
  const ys: number[] = [];
  const seen = new Set<string>();
  for (const [k, v] of e2) {
    const h = k.split(',').map(Number);
    const h2 = apply(w, h);
    const k2 = key(h2);
    const kn = key(h2.map((x) => -x));
    if (k2 === k || kn === k) continue;
    const other = e2.get(k2) ?? e2.get(kn);
    if (other === undefined) continue;
    const pk = [k, k2].sort().join('|');
    if (seen.has(pk)) continue;
    seen.add(pk);
    xs.push(v);
    ys.push(other);
  }
  return [xs, ys];
}

/** The Laue class: operator scores and the classes of the lattice's system, ranked. */
export function rankLaueClasses(hkl: Int32Array, dA: Float64Array, intensity: Float64Array, use: ArrayLike<number>, bravais: BravaisSymbol): Pick<SymmetryRanking, 'friedel' | 'operators' | 'laue'> {
  const e2 = normalised(hkl, dA, intensity, use);
  const fx: number[] = [];
  const fy: number[] = [];
  for (const [k, v] of e2) {
    const h = k.split(',').map(Number);
    if (h[0] > 0 || (h[0] === 0 && (h[1] > 0 || (h[1] === 0 && h[2] > 0)))) {
      const o = e2.get(key(h.map((x) => -x)));
      if (o !== undefined) {
        fx.push(v);
        fy.push(o);
      }
    }
  }
  const friedelCc = fx.length >= 5 ? rankCorrelation(fx, fy) : NaN;
  const refs = LAUE_OF_LATTICE[bravais];
  const holohedry = millerLaueOps(spaceGroup(refs[0]));
  const scores = new Map<string, LaueOperatorScore>();
  for (const w of holohedry) {
    const tr = w[0][0] + w[1][1] + w[2][2];
    if (Math.abs(tr) === 3) continue;
    const [xs, ys] = operatorPairs(e2, w);
    scores.set(operatorText(w), { operator: operatorText(w), nPairs: xs.length, cc: xs.length >= 4 ? rankCorrelation(xs, ys) : NaN });
  }
  const level = Number.isFinite(friedelCc) && friedelCc > 0.2 ? friedelCc : 0.6;
  const laue: LaueCandidate[] = refs.map((n) => {
    const sg = spaceGroup(n);
    const ops = millerLaueOps(sg);
    let worst: number | null = null;
    let inconclusive = false;
    for (const w of ops) {
      const tr = w[0][0] + w[1][1] + w[2][2];
      if (Math.abs(tr) === 3) continue;
      const s = scores.get(operatorText(w));
      if (!s || !Number.isFinite(s.cc)) {
        inconclusive = true;
        continue;
      }
      const rel = s.cc / level;
      worst = worst === null ? rel : Math.min(worst, rel);
    }
    const verdict = worst !== null && worst < 0.5 ? 'rejected' : inconclusive && refs.length > 1 && n !== refs[refs.length - 1] ? 'inconclusive' : 'accepted';
    return { laue: sg.laue === '-3m' && n === 162 ? '-31m' : sg.laue === '-3m' && n === 164 ? '-3m1' : sg.laue, referenceNumber: n, ops, worstRelativeCc: worst, verdict, chosen: false };
  });
  const pick = laue.find((c) => c.verdict === 'accepted') ?? laue[laue.length - 1];
  pick.chosen = true;
  return { friedel: { nPairs: fx.length, cc: Number.isFinite(friedelCc) ? friedelCc : null }, operators: [...scores.values()], laue };
}

/** log of the density of a measured I (σ) for an acentric Wilson intensity of mean m: the exponential ⊗ the Gaussian. */
function logPresent(I: number, sigma: number, m: number): number {
  const z = (I - (sigma * sigma) / m) / sigma;
  // log Φ(z) with a tail-safe form.
  const logPhi = z > -5 ? Math.log(0.5 * erfc(-z / Math.SQRT2)) : -0.5 * z * z - Math.log(-z * Math.sqrt(2 * Math.PI));
  return -Math.log(m) + (sigma * sigma) / (2 * m * m) - I / m + logPhi;
}

function logAbsent(I: number, sigma: number): number {
  return -0.5 * (I / sigma) ** 2 - Math.log(sigma * Math.sqrt(2 * Math.PI));
}

/** Share of "absent" reflections allowed to carry intensity anyway (multiple scattering, a neighbour's disk). */
const ABSENCE_VIOLATION_RATE = 0.1;

/**
 * An absent reflection measured: mostly N(0, σ²), but with probability ABSENCE_VIOLATION_RATE as strong as a present
 * one — electrons scatter more than once, so a few violations must not sink the right group (POINTLESS does likewise).
 */
function logAbsentRobust(I: number, sigma: number, m: number): number {
  const a = Math.log(1 - ABSENCE_VIOLATION_RATE) + logAbsent(I, sigma);
  const b = Math.log(ABSENCE_VIOLATION_RATE) + logPresent(I, sigma, m);
  const top = Math.max(a, b);
  return top + Math.log(Math.exp(a - top) + Math.exp(b - top));
}

/** Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

/** One way to choose the axes of our conventional cell: new basis = ours · P, and the centring it then has. */
export interface LatticeSetting {
  p: Mat3;
  label: string;
  centring: Centring;
  /** Preference among settings the data cannot tell apart (0 = our cell as it is). */
  cost: number;
}

const CENTRING_VECTORS: Record<string, number[][]> = {
  P: [],
  A: [[0, 0.5, 0.5]],
  B: [[0.5, 0, 0.5]],
  C: [[0.5, 0.5, 0]],
  I: [[0.5, 0.5, 0.5]],
  F: [
    [0, 0.5, 0.5],
    [0.5, 0, 0.5],
    [0.5, 0.5, 0],
  ],
};

const frac = (v: number): number => {
  const f = v - Math.floor(v + 1e-9);
  return Math.abs(f) < 1e-6 || Math.abs(f - 1) < 1e-6 ? 0 : f;
};

/** The centring letter of the lattice `letter` seen in the basis ours · P (null when it is not a standard one). */
function centringIn(letter: string, p: Mat3): Centring | null {
  const pinv = inverse3(p);
  const vecs = (CENTRING_VECTORS[letter] ?? []).map((t) => [0, 1, 2].map((i) => frac(pinv[i][0] * t[0] + pinv[i][1] * t[1] + pinv[i][2] * t[2])));
  // The new cell may hold lattice points the old centring did not name (a smaller cell): then it is not a setting.
  const key = (v: number[]): string => v.map((x) => x.toFixed(3)).join(',');
  const got = new Set(vecs.filter((v) => v.some((x) => x !== 0)).map(key));
  for (const [name, list] of Object.entries(CENTRING_VECTORS)) {
    if (list.length === got.size && list.every((v) => got.has(key(v)))) return name as Centring;
  }
  return null;
}

function settingLabel(p: Mat3): string {
  const names = ['a', 'b', 'c'];
  return [0, 1, 2]
    .map((j) => {
      let t = '';
      for (let i = 0; i < 3; i++) {
        const c = p[i][j];
        if (!c) continue;
        t += (c > 0 ? (t ? '+' : '') : '-') + (Math.abs(c) === 1 ? '' : String(Math.abs(c))) + names[i];
      }
      return t;
    })
    .join(',');
}

const det = (m: Mat3): number => m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);

/**
 * The settings a space group's standard setting may take on our conventional cell: the six axis permutations of an
 * orthorhombic cell (a Pnma may be our Pbnm), the unimodular a–c changes of a monoclinic cell with b kept (cell
 * choices 1–3 of P2₁/c, P2₁/n, P2₁/a; β ≥ 90° preferred), our cell as it is for every other system.
 */
export function latticeSettings(bravais: BravaisSymbol, cell?: { beta: number }): LatticeSetting[] {
  const out: LatticeSetting[] = [];
  const add = (p: Mat3, cost: number): void => {
    if (Math.round(det(p)) !== 1) return;
    const centring = centringIn(bravais[1], p);
    if (centring && !out.some((s) => s.p.every((row, i) => row.every((v, j) => v === p[i][j])))) out.push({ p, label: settingLabel(p), centring, cost });
  };
  if (bravais[0] === 'o') {
    const perms = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [1, 0, 2], [0, 2, 1], [2, 1, 0]];
    perms.forEach((perm, k) => {
      const p = [0, 1, 2].map((i) => [0, 1, 2].map((j) => (perm[j] === i ? 1 : 0))) as Mat3;
      if (k >= 3) for (let i = 0; i < 3; i++) p[i][2] = -p[i][2]; // odd permutations: keep a right-handed basis
      add(p, k === 0 ? 0 : 1);
    });
  } else if (bravais[0] === 'm') {
    const v = [-1, 0, 1];
    for (const b of [1, -1]) for (const p11 of v) for (const p13 of v) for (const p31 of v) for (const p33 of v) {
      const p: Mat3 = [[p11, 0, p13], [0, b, 0], [p31, 0, p33]];
      if (Math.abs(p11 * p33 - p13 * p31) !== 1) continue;
      add(p, settingCost(p, cell?.beta ?? 90));
    }
  } else {
    add([[1, 0, 0], [0, 1, 0], [0, 0, 1]], 0);
  }
  return out.sort((x, y) => x.cost - y.cost);
}

/** Monoclinic: β of the new cell as close to 90° as possible and not below it; our own cell first among equals. */
function settingCost(p: Mat3, betaDeg: number): number {
  // With a = (1, 0, 0), c = (cos β, 0, sin β) in the a–c plane, the new a and c are p11·a + p31·c and p13·a + p33·c.
  const b = (betaDeg * Math.PI) / 180;
  const a2 = [p[0][0] + p[2][0] * Math.cos(b), p[2][0] * Math.sin(b)];
  const c2 = [p[0][2] + p[2][2] * Math.cos(b), p[2][2] * Math.sin(b)];
  let beta2 = (Math.acos((a2[0] * c2[0] + a2[1] * c2[1]) / Math.hypot(...a2) / Math.hypot(...c2)) * 180) / Math.PI;
  // b reversed with a handedness-keeping change: the angle between the new a and c is still β₂.
  if (p[1][1] < 0) beta2 = 180 - beta2;
  const identity = p[0][0] === 1 && p[2][2] === 1 && !p[0][2] && !p[2][0] && p[1][1] === 1;
  return (beta2 < 90 - 1e-6 ? 1000 : 0) + Math.abs(beta2 - 90) + (identity ? 0 : 0.001);
}

/** h in the setting P: h' = Pᵀ·h. */
export function hklInSetting(p: Mat3, h: number, k: number, l: number): [number, number, number] {
  return [p[0][0] * h + p[1][0] * k + p[2][0] * l, p[0][1] * h + p[1][1] * k + p[2][1] * l, p[0][2] * h + p[1][2] * k + p[2][2] * l];
}

/**
 * The space groups most often met in determined structures, most frequent first (the well-known ordering of the CSD
 * and ICSD statistics): used only to order groups whose absences the data cannot tell apart (P2/c, P2₁/c and Pc
 * when no 0k0 was measured), as XPREP and SHELXT users expect.
 */
const COMMON_GROUPS = [14, 2, 15, 19, 4, 61, 33, 62, 9, 29, 5, 1, 60, 56, 225, 12, 148, 63, 194, 13, 11, 227, 166, 221, 139, 7, 18, 43, 88, 57];

function commonness(n: number): number {
  const i = COMMON_GROUPS.indexOf(n);
  return i < 0 ? COMMON_GROUPS.length : i;
}

/** Wilson means in 10 shells of d*², per merged reflection. */
function wilsonMeans(merged: { dA: Float64Array; intensity: Float64Array; sigma: Float64Array }): { order: number[]; meanOf: Float64Array } {
  const n = merged.dA.length;
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => Number.isFinite(merged.intensity[i]) && merged.sigma[i] > 0).sort((a, b) => merged.dA[b] - merged.dA[a]);
  const meanOf = new Float64Array(n);
  const nShell = Math.max(1, Math.min(10, Math.floor(order.length / 15)));
  for (let s = 0; s < nShell; s++) {
    const part = order.slice(Math.floor((s * order.length) / nShell), Math.floor(((s + 1) * order.length) / nShell));
    const m = Math.max(1e-9, part.reduce((a, i) => a + Math.max(0, merged.intensity[i]), 0) / Math.max(1, part.length));
    for (const i of part) meanOf[i] = m;
  }
  return { order, meanOf };
}

/**
 * Space groups of a Laue class (by its reference group's orientation) in every setting of the lattice, ranked by
 * their absences; `only` restricts the groups (a group the user gave: its best setting).
 */
export function rankSpaceGroups(
  merged: { hkl: Int32Array; dA: Float64Array; intensity: Float64Array; sigma: Float64Array },
  laue: LaueCandidate,
  bravais: BravaisSymbol,
  cell?: { beta: number },
  only?: number,
): SpaceGroupCandidate[] {
  const ref = spaceGroup(laue.referenceNumber);
  const refOps = new Set(laue.ops.map((w) => key(w.flat())));
  const settings = latticeSettings(bravais, cell);
  const groups: SpaceGroup[] = [];
  for (let n = 1; n <= 230; n++) {
    if (only !== undefined && n !== only) continue;
    const sg = spaceGroup(n);
    if (sg.laue !== ref.laue) continue;
    const ops = millerLaueOps(sg);
    if (ops.length !== refOps.size || !ops.every((w) => refOps.has(key(w.flat())))) continue;
    groups.push(sg);
  }
  const { order, meanOf } = wilsonMeans(merged);
  const rows: Array<SpaceGroupCandidate & { cost: number }> = [];
  for (const sg of groups) {
    for (const st of settings) {
      if (st.centring !== sg.centring) continue;
      let ll = 0;
      let tested = 0;
      let violations = 0;
      let ios = 0;
      for (const i of order) {
        const h = hklInSetting(st.p, merged.hkl[3 * i], merged.hkl[3 * i + 1], merged.hkl[3 * i + 2]);
        if (!isSystematicallyAbsent(sg, h[0], h[1], h[2])) continue;
        const I = merged.intensity[i];
        const s = merged.sigma[i];
        tested++;
        ios += I / s;
        if (I > 3 * s) violations++;
        ll += logAbsentRobust(I, s, meanOf[i]) - logPresent(I, s, meanOf[i]);
      }
      rows.push({ number: sg.number, hm: sg.hm, setting: st.label, p: st.p, nAbsentTested: tested, nViolations: violations, meanIOverSigmaAbsent: tested ? ios / tested : null, logLikelihood: ll, chosen: false, cost: st.cost });
    }
  }
  // Equal evidence: the centrosymmetric group, the more common group, the preferred setting, the lower number.
  const centro = (n: number): number => Number(spaceGroup(n).centrosymmetric);
  rows.sort((a, b) => b.logLikelihood - a.logLikelihood || centro(b.number) - centro(a.number) || commonness(a.number) - commonness(b.number) || a.cost - b.cost || a.number - b.number);
  // One row per group: its best setting.
  const seen = new Set<number>();
  const out = rows.filter((r) => (seen.has(r.number) ? false : (seen.add(r.number), true))).map(({ cost: _c, ...r }) => r);
  if (out.length) out[0].chosen = true;
  return out;
}

/** Canonical hkl (under the chosen Laue class) of every reflection: the key merging uses. */
export function canonicalUnder(laue: LaueCandidate, h: number, k: number, l: number): [number, number, number] {
  return canonicalHkl(laue.ops, h, k, l);
}
