// Electron scattering factors in the form SHELXL's long SFAC instruction takes: four Gaussians and a constant,
// f(s) = Σ₁⁴ aᵢ exp(−bᵢ s²) + c, refitted to the five-Gaussian Peng (1996) curve of International Tables C 4.3.2.2
// over 0 ≤ s ≤ 2 Å⁻¹ (s = sinθ/λ). SHELXL allows no fifth Gaussian, so the table cannot be copied.
//
// Variable projection: for given widths bᵢ the aᵢ and c are linear and come from weighted least squares in relative
// error (what the high-angle reflections need); the four ln bᵢ are found by Levenberg–Marquardt on the projected
// residual, started from each way of dropping one of Peng's five widths, then reweighted (Lawson) towards the
// smallest largest relative error; the best fit is kept with its residual reported.
import { Matrix, solve } from 'ml-matrix';
import { electronScatteringFactorA, pengCoefficients } from './scattering';

export interface SfacFit {
  element: string;
  a: [number, number, number, number];
  b: [number, number, number, number];
  c: number;
  /** Largest and RMS relative deviation from the Peng curve over the fitted range. */
  maxRelativeError: number;
  rmsRelativeError: number;
  /** The fitted range, s = sinθ/λ in Å⁻¹. */
  sMaxInvA: number;
}

const S_MAX = 2;
const N_POINTS = 201;

interface Projected {
  a: number[];
  c: number;
  /** Relative deviation (f_fit − f)/f at every s, and the same times its weight (what is minimised). */
  relative: number[];
  residual: number[];
}

/** a and c for fixed widths, by weighted linear least squares in relative error; the residuals at every s. */
function project(lnB: readonly number[], s2: readonly number[], f: readonly number[], w: readonly number[]): Projected | null {
  const b = lnB.map(Math.exp);
  const rows = s2.map((x, k) => [...b.map((bi) => Math.exp(-bi * x) / f[k]!), 1 / f[k]!]);
  const A = new Matrix(rows.map((r, k) => r.map((v) => v * w[k]!)));
  const y = Matrix.columnVector([...w]);
  try {
    const x = solve(A.transpose().mmul(A), A.transpose().mmul(y)).to1DArray();
    const relative = rows.map((r) => r.reduce((acc, v, j) => acc + v * x[j]!, 0) - 1);
    return { a: x.slice(0, 4), c: x[4]!, relative, residual: relative.map((r, k) => r * w[k]!) };
  } catch {
    return null;
  }
}

const sumSq = (r: readonly number[]): number => r.reduce((a, v) => a + v * v, 0);

/** Levenberg–Marquardt on the four ln b with a numerical Jacobian of the projected residual. */
function refineWidths(start: number[], s2: number[], f: number[], w: number[]): { lnB: number[]; p: Projected } | null {
  let lnB = [...start];
  let p = project(lnB, s2, f, w);
  if (!p) return null;
  let lambda = 1e-3;
  for (let it = 0; it < 200; it++) {
    const cost = sumSq(p.residual);
    const J: number[][] = s2.map(() => [0, 0, 0, 0]);
    for (let j = 0; j < 4; j++) {
      const h = 1e-6;
      const q = project(lnB.map((v, i) => (i === j ? v + h : v)), s2, f, w);
      if (!q) return { lnB, p };
      q.residual.forEach((v, k) => (J[k]![j] = (v - p!.residual[k]!) / h));
    }
    const Jm = new Matrix(J);
    const JtJ = Jm.transpose().mmul(Jm);
    const g = Jm.transpose().mmul(Matrix.columnVector(p.residual));
    let improved = false;
    for (let tries = 0; tries < 10 && !improved; tries++) {
      const damped = JtJ.clone();
      for (let j = 0; j < 4; j++) damped.set(j, j, damped.get(j, j) * (1 + lambda) + 1e-12);
      let step: number[];
      try {
        step = solve(damped, g).to1DArray();
      } catch {
        lambda *= 10;
        continue;
      }
      const next = lnB.map((v, j) => v - step[j]!);
      const q = project(next, s2, f, w);
      if (q && sumSq(q.residual) < cost) {
        lnB = next;
        p = q;
        lambda = Math.max(1e-9, lambda / 3);
        improved = true;
      } else lambda *= 10;
    }
    if (!improved || cost - sumSq(p.residual) < 1e-14 * Math.max(1, cost)) break;
  }
  return { lnB, p };
}

/** The four-Gaussian-plus-constant fit of an element's electron scattering factor; throws for unknown elements. */
export function fitSfac(element: string): SfacFit {
  const peng = pengCoefficients(element);
  const s = Array.from({ length: N_POINTS }, (_, k) => (k * S_MAX) / (N_POINTS - 1));
  const s2 = s.map((x) => x * x);
  const f = s.map((x) => electronScatteringFactorA(element, x));
  const maxRel = (p: Projected): number => Math.max(...p.relative.map(Math.abs));
  let best: { lnB: number[]; p: Projected } | null = null;
  const starts = [
    ...[0, 1, 2, 3, 4].map((drop) => peng.b.filter((_, i) => i !== drop)),
    // Peng's widths run from tenths to tens of Å²; two generic spreads catch fits the dropped ones miss.
    [0.3, 2, 10, 50],
    [0.5, 3, 15, 80],
  ];
  for (const widths of starts) {
    const start = widths.map((b) => Math.log(Math.max(b, 1e-3)));
    // Least squares first, then Lawson's reweighting towards the smallest largest error (the tolerance is a maximum).
    const r = refineWidths(start, s2, f, s.map(() => 1));
    if (r && (!best || sumSq(r.p.relative) < sumSq(best.p.relative))) best = r;
  }
  if (!best) throw new Error(`no four-Gaussian fit converged for ${element}`);
  // Lawson's reweighting of the best least-squares fit towards the smallest largest error (the tolerance is a
  // maximum), damped: the nonlinear widths jump between basins when the weights move fast.
  let w = s.map(() => 1);
  let cur: { lnB: number[]; p: Projected } | null = best;
  for (let round = 0; cur && round < 12; round++) {
    const rel = cur.p.relative;
    const mean = rel.reduce((acc, v, k) => acc + w[k]! * w[k]! * Math.abs(v), 0) / rel.length;
    w = w.map((wk, k) => Math.sqrt(0.5 * wk * wk + (0.5 * wk * wk * Math.abs(rel[k]!)) / mean));
    cur = refineWidths(cur.lnB, s2, f, w);
    if (cur && maxRel(cur.p) < maxRel(best.p)) best = cur;
  }
  const order = [0, 1, 2, 3].sort((i, j) => best!.lnB[i]! - best!.lnB[j]!);
  const rel = best.p.relative.map(Math.abs);
  return {
    element,
    a: order.map((i) => best!.p.a[i]!) as SfacFit['a'],
    b: order.map((i) => Math.exp(best!.lnB[i]!)) as SfacFit['b'],
    c: best.p.c,
    maxRelativeError: Math.max(...rel),
    rmsRelativeError: Math.sqrt(sumSq(rel) / rel.length),
    sMaxInvA: S_MAX,
  };
}

/** f(s) of a fit, Å. */
export function sfacValue(fit: Pick<SfacFit, 'a' | 'b' | 'c'>, sInvA: number): number {
  const s2 = sInvA * sInvA;
  return fit.a.reduce((acc, ai, i) => acc + ai * Math.exp(-fit.b[i]! * s2), fit.c);
}
