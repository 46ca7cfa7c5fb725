// Symmetry operators written as CIF 'x,y,z' text (e.g. '-x+1/2, y, -z+1/2') and their application to
// fractional coordinates. Rotation parts are integer matrices, translations are exact rationals kept as
// numbers (they are multiples of 1/12 or 1/24 in every standard setting, so floating point is exact enough).
import type { Mat3, Vec3 } from './math3';

export interface SymOp {
  /** Integer rotation matrix acting on fractional coordinates (rows = x', y', z'). */
  rotation: Mat3;
  /** Translation in fractions of the cell. */
  translation: Vec3;
  /** The text it was parsed from, normalised (lower case, no spaces). */
  text: string;
}

const AXES: Record<string, number> = { x: 0, y: 1, z: 2 };

function parseNumber(tok: string): number {
  const slash = tok.indexOf('/');
  if (slash >= 0) {
    const num = Number(tok.slice(0, slash));
    const den = Number(tok.slice(slash + 1));
    if (!Number.isFinite(num) || !Number.isFinite(den) || den === 0) return NaN;
    return num / den;
  }
  return tok === '' ? NaN : Number(tok);
}

/** One component such as '-x+1/2', '1/2+x-y', 'z', '+0.25-x'. Throws Error with the reason on nonsense. */
function parseComponent(expr: string): { row: Vec3; t: number } {
  const row: Vec3 = [0, 0, 0];
  let t = 0;
  // Split into signed terms: '-x+1/2' → ['-x', '+1/2'].
  const terms = expr.match(/[+-]?[^+-]+/g);
  if (!terms || terms.join('') !== expr) throw new Error(`cannot read '${expr}'`);
  for (const term of terms) {
    let sign = 1;
    let body = term;
    if (body[0] === '+' || body[0] === '-') {
      sign = body[0] === '-' ? -1 : 1;
      body = body.slice(1);
    }
    if (body === '') throw new Error(`dangling sign in '${expr}'`);
    const axisChar = body[body.length - 1];
    if (axisChar !== undefined && axisChar in AXES) {
      // 'x', '2x', '2*x'
      let coef = body.slice(0, -1);
      if (coef.endsWith('*')) coef = coef.slice(0, -1);
      const k = coef === '' ? 1 : parseNumber(coef);
      if (!Number.isFinite(k)) throw new Error(`bad coefficient in '${expr}'`);
      row[AXES[axisChar]!] += sign * k;
    } else {
      const v = parseNumber(body);
      if (!Number.isFinite(v)) throw new Error(`bad translation in '${expr}'`);
      t += sign * v;
    }
  }
  return { row, t };
}

/** Parses 'x,y,z'-style text. Throws Error (with the reason) if it is not a symmetry operator. */
export function parseSymop(text: string): SymOp {
  const clean = text.trim().replace(/^['"]|['"]$/g, '').replace(/\s+/g, '').toLowerCase();
  const parts = clean.split(',');
  if (parts.length !== 3) throw new Error(`symmetry operator '${text}' must have three comma-separated parts`);
  const rows: Vec3[] = [];
  const trans: number[] = [];
  for (const p of parts) {
    const { row, t } = parseComponent(p);
    rows.push(row);
    trans.push(t);
  }
  const rotation = rows as Mat3;
  const d =
    rotation[0][0] * (rotation[1][1] * rotation[2][2] - rotation[1][2] * rotation[2][1]) -
    rotation[0][1] * (rotation[1][0] * rotation[2][2] - rotation[1][2] * rotation[2][0]) +
    rotation[0][2] * (rotation[1][0] * rotation[2][1] - rotation[1][1] * rotation[2][0]);
  if (Math.abs(Math.abs(d) - 1) > 1e-9) throw new Error(`symmetry operator '${text}' has determinant ${d}, not ±1`);
  return { rotation, translation: [trans[0]!, trans[1]!, trans[2]!], text: clean };
}

/** Applies op to fractional coordinates (no wrapping). */
export function applySymop(op: SymOp, xyz: Readonly<Vec3>): Vec3 {
  const r = op.rotation;
  return [
    r[0][0] * xyz[0] + r[0][1] * xyz[1] + r[0][2] * xyz[2] + op.translation[0],
    r[1][0] * xyz[0] + r[1][1] * xyz[1] + r[1][2] * xyz[2] + op.translation[1],
    r[2][0] * xyz[0] + r[2][1] * xyz[1] + r[2][2] * xyz[2] + op.translation[2],
  ];
}

/** Wraps each fractional coordinate into [0, 1). */
export function wrapFractional(xyz: Readonly<Vec3>): Vec3 {
  const w = (v: number): number => {
    const f = v - Math.floor(v);
    // 1 − 1e-16 rounds to 1; keep the interval half-open.
    return f >= 1 - 1e-12 ? 0 : f;
  };
  return [w(xyz[0]), w(xyz[1]), w(xyz[2])];
}
