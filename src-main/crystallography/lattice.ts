// Lattice maths: metric tensors, reciprocal cell, the Busing & Levy (1967) B matrix, UB, d-spacings.
// Conventions (ARCHITECTURE §4): B maps Miller indices to Cartesian reciprocal vectors in the crystal frame,
// q_c = B·h (Å⁻¹, no 2π), with a* along x and b* in the xy plane. The direct-lattice vectors in the same
// frame are the columns of A = (Bᵀ)⁻¹, so that q·r = h·x for r = A·x.
import { ParameterError } from '../../src-shared/errors';
import type { UnitCell } from '../../src-shared/domain';
import { inverse3, matMul, matVec, transpose, type Mat3, type Vec3 } from './math3';

/** Unit cell: lengths in Å, angles in degrees (the data model's UnitCell). */
export type Cell = UnitCell;

const DEG = Math.PI / 180;

/** Throws ParameterError (naming `param`) unless the six numbers describe a real, non-degenerate cell. */
export function validateCell(cell: Cell, param = 'cell'): void {
  for (const k of ['a', 'b', 'c'] as const) {
    if (!Number.isFinite(cell[k]) || cell[k] <= 0) throw new ParameterError(`${param}.${k}`, `cell length must be > 0 Å (got ${cell[k]})`);
  }
  for (const k of ['alpha', 'beta', 'gamma'] as const) {
    if (!Number.isFinite(cell[k]) || cell[k] <= 0 || cell[k] >= 180) {
      throw new ParameterError(`${param}.${k}`, `cell angle must be between 0 and 180° (got ${cell[k]})`);
    }
  }
  const v2 = volumeFactorSquared(cell);
  if (!(v2 > 1e-10)) throw new ParameterError(param, 'cell angles do not describe a three-dimensional cell');
}

function volumeFactorSquared(cell: Cell): number {
  const ca = Math.cos(cell.alpha * DEG);
  const cb = Math.cos(cell.beta * DEG);
  const cg = Math.cos(cell.gamma * DEG);
  return 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg;
}

/** Cell volume in Å³. */
export function cellVolumeA3(cell: Cell): number {
  validateCell(cell);
  return cell.a * cell.b * cell.c * Math.sqrt(volumeFactorSquared(cell));
}

/** Direct metric tensor G (Å²): G_ij = a_i · a_j. */
export function directMetric(cell: Cell): Mat3 {
  validateCell(cell);
  const { a, b, c } = cell;
  const ca = Math.cos(cell.alpha * DEG);
  const cb = Math.cos(cell.beta * DEG);
  const cg = Math.cos(cell.gamma * DEG);
  return [
    [a * a, a * b * cg, a * c * cb],
    [a * b * cg, b * b, b * c * ca],
    [a * c * cb, b * c * ca, c * c],
  ];
}

/** Reciprocal metric tensor G* = G⁻¹ (Å⁻²). */
export function reciprocalMetric(cell: Cell): Mat3 {
  return inverse3(directMetric(cell));
}

/** The reciprocal cell: a*, b*, c* in Å⁻¹ and α*, β*, γ* in degrees. */
export function reciprocalCell(cell: Cell): Cell {
  const gs = reciprocalMetric(cell);
  const as = Math.sqrt(gs[0][0]);
  const bs = Math.sqrt(gs[1][1]);
  const cs = Math.sqrt(gs[2][2]);
  return {
    a: as,
    b: bs,
    c: cs,
    alpha: Math.acos(gs[1][2] / (bs * cs)) / DEG,
    beta: Math.acos(gs[0][2] / (as * cs)) / DEG,
    gamma: Math.acos(gs[0][1] / (as * bs)) / DEG,
  };
}

/**
 * Busing & Levy (1967) eq. 3:
 *   B = [[a*, b* cosγ*,  c* cosβ*          ],
 *        [0,  b* sinγ*, −c* sinβ* cos α    ],
 *        [0,  0,         1/c               ]]
 * (a* along x, b* in the xy plane), in Å⁻¹.
 */
export function bMatrix(cell: Cell): Mat3 {
  const r = reciprocalCell(cell);
  const DEGr = DEG;
  return [
    [r.a, r.b * Math.cos(r.gamma * DEGr), r.c * Math.cos(r.beta * DEGr)],
    [0, r.b * Math.sin(r.gamma * DEGr), -r.c * Math.sin(r.beta * DEGr) * Math.cos(cell.alpha * DEGr)],
    [0, 0, 1 / cell.c],
  ];
}

/** Direct-lattice vectors as the columns of A = (Bᵀ)⁻¹, in Å, in the same Cartesian frame as B. */
export function directMatrix(cell: Cell): Mat3 {
  return inverse3(transpose(bMatrix(cell)));
}

/** UB = U · B: crystal orientation U (a proper rotation) times B. */
export function ubMatrix(u: Mat3, b: Mat3): Mat3 {
  return matMul(u, b);
}

/** |h|* = 1/d in Å⁻¹ for Miller indices (h, k, l). */
export function dInvA(cell: Cell, hkl: Readonly<Vec3>): number {
  const gs = reciprocalMetric(cell);
  const v = matVec(gs, hkl as Vec3);
  return Math.sqrt(Math.max(0, hkl[0] * v[0] + hkl[1] * v[1] + hkl[2] * v[2]));
}

/** Interplanar spacing d(hkl) in Å (Infinity for 000). */
export function dSpacingA(cell: Cell, hkl: Readonly<Vec3>): number {
  const s = dInvA(cell, hkl);
  return s > 0 ? 1 / s : Infinity;
}
