// Niggli reduction of a lattice basis: the Křivý & Gruber (1976) algorithm with the epsilon comparisons of
// Grosse-Kunstleve, Sauter & Adams (2004), "Numerically stable algorithms for the computation of reduced unit cells"
// (Acta Cryst. A60, 1–6). It works on the basis vectors themselves (columns of a 3×3 matrix), so the transformation
// from the input basis is kept exactly as an integer matrix.
//
// G6 = (A, B, C, ξ, η, ζ) = (a·a, b·b, c·c, 2 b·c, 2 a·c, 2 a·b). Steps A1–A8 each either fix the basis or apply an
// integer unimodular change; the loop ends when none applies.
import { ParameterError } from '../../src-shared/errors';
import { det3, matMul, type Mat3 } from './math3';
import type { Cell } from './lattice';

export interface NiggliResult {
  /** The reduced basis: columns a, b, c (same units and frame as the input). */
  basis: Mat3;
  /** Integer matrix P with reduced = input · P (columns are the reduced vectors' coefficients). */
  transform: Mat3;
  cell: Cell;
}

type G6 = [number, number, number, number, number, number];

function col(m: Mat3, j: number): [number, number, number] {
  return [m[0][j], m[1][j], m[2][j]];
}

function g6(basis: Mat3): G6 {
  const a = col(basis, 0);
  const b = col(basis, 1);
  const c = col(basis, 2);
  const d = (u: number[], v: number[]): number => u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  return [d(a, a), d(b, b), d(c, c), 2 * d(b, c), 2 * d(a, c), 2 * d(a, b)];
}

/** Cell parameters (Å, °) of a basis (columns). */
export function cellOfBasis(basis: Mat3): Cell {
  const [A, B, C, xi, eta, zeta] = g6(basis);
  const a = Math.sqrt(A);
  const b = Math.sqrt(B);
  const c = Math.sqrt(C);
  const deg = (x: number): number => (Math.acos(Math.max(-1, Math.min(1, x))) * 180) / Math.PI;
  return { a, b, c, alpha: deg(xi / (2 * b * c)), beta: deg(eta / (2 * a * c)), gamma: deg(zeta / (2 * a * b)) };
}

const sign = (x: number): number => (x > 0 ? 1 : x < 0 ? -1 : 0);

/**
 * Niggli-reduces the lattice spanned by the columns of `basis`. `relativeEpsilon` scales the comparisons with the
 * cell's size (default 1e-5, as cctbx). Throws ParameterError for a degenerate basis.
 */
export function niggliReduce(basis: Mat3, relativeEpsilon = 1e-5): NiggliResult {
  const v = det3(basis);
  if (!(Math.abs(v) > 0) || !Number.isFinite(v)) throw new ParameterError('basis', 'the three vectors do not span a 3D lattice');
  let b: Mat3 = basis.map((r) => [...r]) as Mat3;
  let p: Mat3 = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  // A left-handed input basis is made right-handed first (the reduced cell is always right-handed).
  if (v < 0) {
    b = matMul(b, [
      [-1, 0, 0],
      [0, -1, 0],
      [0, 0, -1],
    ]);
    p = matMul(p, [
      [-1, 0, 0],
      [0, -1, 0],
      [0, 0, -1],
    ]);
  }
  const eps = relativeEpsilon * Math.pow(Math.abs(v), 2 / 3);
  const apply = (m: Mat3): void => {
    b = matMul(b, m);
    p = matMul(p, m);
  };
  for (let iteration = 0; iteration < 1000; iteration++) {
    let [A, B, C, xi, eta, zeta] = g6(b);
    // A1
    if (A > B + eps || (Math.abs(A - B) <= eps && Math.abs(xi) > Math.abs(eta) + eps)) {
      apply([
        [0, -1, 0],
        [-1, 0, 0],
        [0, 0, -1],
      ]);
      [, B, C, xi, eta, zeta] = g6(b);
    }
    // A2
    if (B > C + eps || (Math.abs(B - C) <= eps && Math.abs(eta) > Math.abs(zeta) + eps)) {
      apply([
        [-1, 0, 0],
        [0, 0, -1],
        [0, -1, 0],
      ]);
      continue;
    }
    const l = xi < -eps ? -1 : xi > eps ? 1 : 0;
    const m = eta < -eps ? -1 : eta > eps ? 1 : 0;
    const n = zeta < -eps ? -1 : zeta > eps ? 1 : 0;
    if (l * m * n === 1) {
      // A3: all acute.
      apply([
        [l, 0, 0],
        [0, m, 0],
        [0, 0, n],
      ]);
    } else {
      // A4: all non-acute.
      const f = [1, 1, 1];
      let free = -1;
      [l, m, n].forEach((s, k) => {
        if (s === 1) f[k] = -1;
        else if (s === 0) free = k;
      });
      if (f[0] * f[1] * f[2] < 0) {
        if (free < 0) throw new ParameterError('basis', 'Niggli reduction reached an inconsistent sign state');
        f[free] = -1;
      }
      apply([
        [f[0], 0, 0],
        [0, f[1], 0],
        [0, 0, f[2]],
      ]);
    }
    [A, B, , xi, eta, zeta] = g6(b);
    // A5
    if (Math.abs(xi) > B + eps || (Math.abs(B - xi) <= eps && 2 * eta < zeta - eps) || (Math.abs(B + xi) <= eps && zeta < -eps)) {
      apply([
        [1, 0, 0],
        [0, 1, -sign(xi)],
        [0, 0, 1],
      ]);
      continue;
    }
    // A6
    if (Math.abs(eta) > A + eps || (Math.abs(A - eta) <= eps && 2 * xi < zeta - eps) || (Math.abs(A + eta) <= eps && zeta < -eps)) {
      apply([
        [1, 0, -sign(eta)],
        [0, 1, 0],
        [0, 0, 1],
      ]);
      continue;
    }
    // A7
    if (Math.abs(zeta) > A + eps || (Math.abs(A - zeta) <= eps && 2 * xi < eta - eps) || (Math.abs(A + zeta) <= eps && eta < -eps)) {
      apply([
        [1, -sign(zeta), 0],
        [0, 1, 0],
        [0, 0, 1],
      ]);
      continue;
    }
    // A8
    const s = xi + eta + zeta + A + B;
    if (s < -eps || (Math.abs(s) <= eps && 2 * (A + eta) + zeta > eps)) {
      apply([
        [1, 0, 1],
        [0, 1, 1],
        [0, 0, 1],
      ]);
      continue;
    }
    return { basis: b, transform: p, cell: cellOfBasis(b) };
  }
  throw new ParameterError('basis', 'Niggli reduction did not converge in 1000 steps');
}
