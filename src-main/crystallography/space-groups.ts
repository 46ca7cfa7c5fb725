// The 230 space groups in their reference settings (cctbx sgtbx's; the symbols are in ./space-group-symbols.ts),
// with every operator derived here from the Hall symbol (Hall 1981; International Tables B, Table A1.4.2.x, as
// sgtbx reads them), and what integration and export need from them: systematic absences, symmetry-equivalent
// indices under the Laue group, a canonical representative of each set, ε and multiplicities, SHELX LATT/SYMM.
//
// Arithmetic is exact: rotation parts are integer matrices and translations integer 24ths of the cell, reduced to
// [0, 24), while the group is closed; the SymOps handed out carry them as numbers n/24, which are exact enough for
// every use (a translation times an index is compared with an integer to within 1e-6).
import { det3, matMul, matVec, type Mat3, type Vec3 } from './math3';
import { parseSymop, type SymOp } from './symmetry';
import { SPACE_GROUP_SYMBOLS } from './space-group-symbols';
import { ParameterError } from '../../src-shared/errors';

export type Centring = 'P' | 'A' | 'B' | 'C' | 'I' | 'F' | 'R';
export type CrystalSystem = 'Triclinic' | 'Monoclinic' | 'Orthorhombic' | 'Tetragonal' | 'Trigonal' | 'Hexagonal' | 'Cubic';
export type LaueClass = '-1' | '2/m' | 'mmm' | '4/m' | '4/mmm' | '-3' | '-3m' | '6/m' | '6/mmm' | 'm-3' | 'm-3m';
export type Hkl = [number, number, number];

export interface SpaceGroup {
  /** International Tables number, 1–230. */
  readonly number: number;
  /** Hermann–Mauguin symbol as cctbx writes the reference setting, e.g. 'P 1 21/c 1', 'F d -3 m :2', 'R 3 :H'. */
  readonly hm: string;
  /** Hall symbol the operators were derived from, e.g. '-P 2ybc'. */
  readonly hall: string;
  /** Every operator, centring translations included: the primitive coset first (identity first), then each centring. */
  readonly operators: readonly SymOp[];
  readonly centring: Centring;
  readonly centrosymmetric: boolean;
  /** Crystal class in International Tables' short notation ('2/m', '-42m', '32', '-62m', …), orientation-free. */
  readonly pointGroup: string;
  readonly laue: LaueClass;
  readonly crystalSystem: CrystalSystem;
  /** Number of operators (centring included). */
  readonly order: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Exact Seitz operators: integer rotation, translation in 24ths of the cell reduced to [0, 24).

const TB = 24;

interface Seitz {
  r: Mat3;
  t: Vec3;
}

const mod = (v: number, m: number): number => ((v % m) + m) % m;

function seitz(r: Mat3, t: Readonly<Vec3> = [0, 0, 0]): Seitz {
  return { r, t: [mod(t[0], TB), mod(t[1], TB), mod(t[2], TB)] };
}

/** A copy as an integer matrix (−0 made 0). */
function imat(rows: readonly (readonly number[])[]): Mat3 {
  return rows.map((row) => [row[0]! + 0, row[1]! + 0, row[2]! + 0]) as Mat3;
}

function negate(m: Readonly<Mat3>): Mat3 {
  return imat(m.map((row) => row.map((v) => (v === 0 ? 0 : -v))));
}

function multiply(a: Seitz, b: Seitz): Seitz {
  const rt = matVec(a.r, b.t);
  return seitz(imat(matMul(a.r, b.r)), [rt[0] + a.t[0], rt[1] + a.t[1], rt[2] + a.t[2]]);
}

const rotationKey = (r: Readonly<Mat3>): string => r.map((row) => row.join(',')).join(';');
const seitzKey = (op: Seitz): string => `${rotationKey(op.r)}|${op.t.join(',')}`;

const IDENTITY: Mat3 = imat([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);

// ---------------------------------------------------------------------------------------------------------------
// Hall symbols.

/** Lattice translations of the Hall lattice symbols, in 24ths (ITB Table A1.4.2.2). */
const LATTICE_TRANSLATIONS: Record<string, Vec3[]> = {
  P: [],
  A: [[0, 12, 12]],
  B: [[12, 0, 12]],
  C: [[12, 12, 0]],
  I: [[12, 12, 12]],
  R: [[16, 8, 8], [8, 16, 16]],
  S: [[8, 8, 16], [16, 16, 8]],
  T: [[8, 16, 8], [16, 8, 16]],
  F: [[0, 12, 12], [12, 0, 12], [12, 12, 0]],
};

/** Translation symbols, in 24ths (ITB Table A1.4.2.3). */
const TRANSLATION_SYMBOLS: Record<string, Vec3> = {
  a: [12, 0, 0],
  b: [0, 12, 0],
  c: [0, 0, 12],
  n: [12, 12, 12],
  u: [6, 0, 0],
  v: [0, 6, 0],
  w: [0, 0, 6],
  d: [6, 6, 6],
};

/** Proper rotations about z (ITB Table A1.4.2.4); ' and " are the two-folds along a−b and a+b, * is 3 along a+b+c. */
const Z_ROTATIONS: Record<string, Mat3> = {
  '1': IDENTITY,
  '2': imat([[-1, 0, 0], [0, -1, 0], [0, 0, 1]]),
  '3': imat([[0, -1, 0], [1, -1, 0], [0, 0, 1]]),
  '4': imat([[0, -1, 0], [1, 0, 0], [0, 0, 1]]),
  '6': imat([[1, -1, 0], [1, 0, 0], [0, 0, 1]]),
  "2'": imat([[0, -1, 0], [-1, 0, 0], [0, 0, -1]]),
  '2"': imat([[0, 1, 0], [1, 0, 0], [0, 0, -1]]),
  '3*': imat([[0, 0, 1], [1, 0, 0], [0, 1, 0]]),
};

/** A z-axis matrix moved to axis x (z→x, x→y, y→z) or y (z→y, x→z, y→x) by relabelling the coordinates. */
function onAxis(mz: Readonly<Mat3>, axis: 'x' | 'y' | 'z'): Mat3 {
  if (axis === 'z') return imat(mz);
  const p = axis === 'x' ? [1, 2, 0] : [2, 0, 1];
  const out = imat([[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) out[p[i]!]![p[j]!] = mz[i]![j]!;
  return out;
}

const hallError = (hall: string, problem: string): ParameterError => new ParameterError('Hall symbol', `'${hall}': ${problem}`);

interface MatrixSymbol {
  order: number;
  axis: string;
}

/** The axis of the i-th matrix symbol when it is not written (Hall's rules for the 2nd and 3rd symbols). */
function impliedAxis(hall: string, i: number, order: number, previous: MatrixSymbol | null): string {
  if (order === 1 || i === 0) return 'z';
  if (i === 1 && order === 2 && previous !== null) {
    if (previous.order === 2 || previous.order === 4) return 'x';
    if (previous.order === 3 || previous.order === 6) return "'";
  }
  if (i === 2 && order === 3) return '*';
  throw hallError(hall, `the axis of matrix symbol ${i + 1} cannot be implied`);
}

/** One matrix symbol such as '2ybc', '-4bd', '61', '2"c', '3*' → its Seitz operator. */
function parseMatrixSymbol(hall: string, token: string, i: number, previous: MatrixSymbol | null): { op: Seitz; sym: MatrixSymbol } {
  const m = /^(-?)([12346])(.*)$/.exec(token);
  if (!m) throw hallError(hall, `'${token}' is not a matrix symbol`);
  const order = Number(m[2]);
  let axis = '';
  let screw = 0;
  const t: Vec3 = [0, 0, 0];
  for (const ch of m[3]!) {
    const tr = TRANSLATION_SYMBOLS[ch];
    if (tr) for (let k = 0; k < 3; k++) t[k] += tr[k]!;
    else if ('xyz\'"*'.includes(ch) && axis === '') axis = ch;
    else if (/[1-5]/.test(ch) && screw === 0 && Number(ch) < order) screw = Number(ch);
    else throw hallError(hall, `'${ch}' in '${token}' is not an axis, translation or screw symbol`);
  }
  if (axis === '') axis = impliedAxis(hall, i, order, previous);
  let mz: Mat3 | undefined;
  let onto: 'x' | 'y' | 'z';
  if (axis === 'x' || axis === 'y' || axis === 'z') {
    mz = Z_ROTATIONS[String(order)];
    onto = axis;
  } else {
    mz = Z_ROTATIONS[`${order}${axis}`];
    // ' and " lie perpendicular to the preceding axis; * is the body diagonal whatever precedes it.
    const ref = previous?.axis;
    onto = axis !== '*' && (ref === 'x' || ref === 'y') ? ref : 'z';
  }
  if (!mz) throw hallError(hall, `no ${order}-fold axis along '${axis}'`);
  if (screw !== 0) {
    if (axis !== 'x' && axis !== 'y' && axis !== 'z') throw hallError(hall, `screw component on a non-principal axis in '${token}'`);
    t['xyz'.indexOf(axis)]! += (screw * TB) / order;
  }
  const r = onAxis(mz, onto);
  return { op: seitz(m[1] === '-' ? negate(r) : r, t), sym: { order, axis } };
}

/** The change of basis in parentheses: Hall's '(0 0 4)' (an origin shift in 12ths) or sgtbx's '(x,y,z+1/3)'. */
function parseChangeOfBasis(hall: string, text: string): Seitz {
  const twelfths = text.trim().split(/\s+/);
  if (twelfths.length === 3 && twelfths.every((v) => /^-?\d+$/.test(v))) {
    return seitz(IDENTITY, twelfths.map((v) => 2 * Number(v)) as Vec3);
  }
  let op: SymOp;
  try {
    op = parseSymop(text);
  } catch (e) {
    throw hallError(hall, `change of basis '(${text})': ${(e as Error).message}`);
  }
  const t = op.translation.map((v) => v * TB);
  const integral = op.rotation.every((row) => row.every(Number.isInteger)) && t.every((v) => Math.abs(v - Math.round(v)) < 1e-9);
  if (!integral || det3(op.rotation) !== 1) throw hallError(hall, `change of basis '(${text})' must be a unimodular integer matrix with a translation in 24ths`);
  return seitz(op.rotation, t.map(Math.round) as Vec3);
}

/** Inverse of an integer matrix of determinant 1 (the adjugate). */
function inverseUnimodular(m: Readonly<Mat3>): Mat3 {
  const c = (i: number, j: number): number => {
    const r = [0, 1, 2].filter((v) => v !== j);
    const s = [0, 1, 2].filter((v) => v !== i);
    return (-1) ** (i + j) * (m[r[0]!]![s[0]!]! * m[r[1]!]![s[1]!]! - m[r[0]!]![s[1]!]! * m[r[1]!]![s[0]!]!);
  };
  return imat([0, 1, 2].map((i) => [0, 1, 2].map((j) => c(i, j))));
}

/** The group closed from its generators (right multiplication until nothing new), identity first. */
function closeGroup(generators: readonly Seitz[]): Seitz[] {
  const ops: Seitz[] = [seitz(IDENTITY)];
  const seen = new Set([seitzKey(ops[0]!)]);
  for (let i = 0; i < ops.length; i++) {
    for (const g of generators) {
      const p = multiply(ops[i]!, g);
      const key = seitzKey(p);
      if (seen.has(key)) continue;
      if (ops.length >= 192) throw new Error('space-group closure exceeded 192 operators');
      seen.add(key);
      ops.push(p);
    }
  }
  return ops;
}

/** Every operator of the group a Hall symbol describes, exact; throws ParameterError on a malformed symbol. */
function hallOperators(hall: string): Seitz[] {
  const m = /^\s*([^()]*?)\s*(?:\(([^()]*)\))?\s*$/.exec(hall);
  if (!m) throw hallError(hall, 'unbalanced parentheses');
  const tokens = m[1]!.split(/\s+/).filter((s) => s !== '');
  const lattice = /^(-?)([PABCIRSTF])$/i.exec(tokens[0] ?? '');
  if (!lattice) throw hallError(hall, 'it must start with a lattice symbol (P, A, B, C, I, R, S, T, F, optionally with -)');
  if (tokens.length > 5) throw hallError(hall, 'at most four matrix symbols');
  const generators: Seitz[] = [];
  let previous: MatrixSymbol | null = null;
  tokens.slice(1).forEach((token, i) => {
    const { op, sym } = parseMatrixSymbol(hall, token, i, previous);
    generators.push(op);
    previous = sym;
  });
  if (lattice[1] === '-') generators.push(seitz(negate(IDENTITY)));
  for (const c of LATTICE_TRANSLATIONS[lattice[2]!.toUpperCase()]!) generators.push(seitz(IDENTITY, c));
  let ops = closeGroup(generators);
  if (m[2] !== undefined) {
    const cb = parseChangeOfBasis(hall, m[2]);
    const inv = { r: inverseUnimodular(cb.r), t: [0, 0, 0] as Vec3 };
    const cbInv = multiply(inv, seitz(IDENTITY, cb.t.map((v) => -v) as Vec3));
    ops = ops.map((op) => multiply(multiply(cb, op), cbInv));
  }
  return ops;
}

// ---------------------------------------------------------------------------------------------------------------
// Operators as text and as SymOps.

function fraction(n24: number): string {
  const n = mod(n24, TB);
  const g = gcd(n, TB);
  return `${n / g}/${TB / g}`;
}

function gcd(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : gcd(b, a % b);
}

/** One row as 'x-y+1/2' (CIF, lower case) or '1/2+X-Y' (SHELX: translation first, upper case). */
function formatRow(row: Readonly<Vec3>, t24: number, shelx: boolean): string {
  let vars = '';
  row.forEach((c, j) => {
    if (c === 0) return;
    const name = shelx ? 'XYZ'[j]! : 'xyz'[j]!;
    const mag = Math.abs(c) === 1 ? '' : String(Math.abs(c));
    vars += `${c < 0 ? '-' : vars === '' ? '' : '+'}${mag}${name}`;
  });
  if (mod(t24, TB) === 0) return vars === '' ? '0' : vars;
  const t = fraction(t24);
  if (shelx) return `${t}${vars.startsWith('-') ? '' : '+'}${vars}`;
  return `${vars}+${t}`;
}

function formatSeitz(op: Seitz, shelx: boolean): string {
  return op.r.map((row, i) => formatRow(row, op.t[i]!, shelx)).join(shelx ? ', ' : ',');
}

function toSymOp(op: Seitz): SymOp {
  return { rotation: imat(op.r), translation: op.t.map((v) => v / TB) as Vec3, text: formatSeitz(op, false) };
}

function fromSymOp(op: SymOp): Seitz {
  return seitz(imat(op.rotation), op.translation.map((v) => Math.round(v * TB)) as Vec3);
}

/** Operators derived from a Hall symbol (e.g. '-P 2ybc', ' P 31 2 (x,y,z+1/3)'), centring included, identity first. */
export function hallSymbolOperators(hall: string): SymOp[] {
  return hallOperators(hall).map(toSymOp);
}

// ---------------------------------------------------------------------------------------------------------------
// Classification: crystal class from the kinds of its rotations, then Laue class and crystal system.

/** Kind of a rotation by determinant and trace: 1 2 3 4 6 | -1 m -3 -4 -6. */
function rotationKind(r: Readonly<Mat3>): number {
  const tr = r[0][0] + r[1][1] + r[2][2];
  const proper: Record<number, number> = { 3: 0, [-1]: 1, 0: 2, 1: 3, 2: 4 };
  const kind = det3(r) > 0 ? proper[tr] : proper[-tr];
  if (kind === undefined) throw new Error(`not a crystallographic rotation: ${rotationKey(r)}`);
  return det3(r) > 0 ? kind : kind + 5;
}

/** How many rotations of each kind (1 2 3 4 6 | -1 m -3 -4 -6) each of the 32 crystal classes has. */
const CLASS_SIGNATURES: Record<string, string> = {
  '1': '1,0,0,0,0,0,0,0,0,0',
  '-1': '1,0,0,0,0,1,0,0,0,0',
  '2': '1,1,0,0,0,0,0,0,0,0',
  m: '1,0,0,0,0,0,1,0,0,0',
  '2/m': '1,1,0,0,0,1,1,0,0,0',
  '222': '1,3,0,0,0,0,0,0,0,0',
  mm2: '1,1,0,0,0,0,2,0,0,0',
  mmm: '1,3,0,0,0,1,3,0,0,0',
  '4': '1,1,0,2,0,0,0,0,0,0',
  '-4': '1,1,0,0,0,0,0,0,2,0',
  '4/m': '1,1,0,2,0,1,1,0,2,0',
  '422': '1,5,0,2,0,0,0,0,0,0',
  '4mm': '1,1,0,2,0,0,4,0,0,0',
  '-42m': '1,3,0,0,0,0,2,0,2,0',
  '4/mmm': '1,5,0,2,0,1,5,0,2,0',
  '3': '1,0,2,0,0,0,0,0,0,0',
  '-3': '1,0,2,0,0,1,0,2,0,0',
  '32': '1,3,2,0,0,0,0,0,0,0',
  '3m': '1,0,2,0,0,0,3,0,0,0',
  '-3m': '1,3,2,0,0,1,3,2,0,0',
  '6': '1,1,2,0,2,0,0,0,0,0',
  '-6': '1,0,2,0,0,0,1,0,0,2',
  '6/m': '1,1,2,0,2,1,1,2,0,2',
  '622': '1,7,2,0,2,0,0,0,0,0',
  '6mm': '1,1,2,0,2,0,6,0,0,0',
  '-62m': '1,3,2,0,0,0,4,0,0,2',
  '6/mmm': '1,7,2,0,2,1,7,2,0,2',
  '23': '1,3,8,0,0,0,0,0,0,0',
  'm-3': '1,3,8,0,0,1,3,8,0,0',
  '432': '1,9,8,6,0,0,0,0,0,0',
  '-43m': '1,3,8,0,0,0,6,0,6,0',
  'm-3m': '1,9,8,6,0,1,9,8,6,0',
};
const CLASS_BY_SIGNATURE = new Map(Object.entries(CLASS_SIGNATURES).map(([name, sig]) => [sig, name]));

const CRYSTAL_SYSTEMS: Record<LaueClass, CrystalSystem> = {
  '-1': 'Triclinic',
  '2/m': 'Monoclinic',
  mmm: 'Orthorhombic',
  '4/m': 'Tetragonal',
  '4/mmm': 'Tetragonal',
  '-3': 'Trigonal',
  '-3m': 'Trigonal',
  '6/m': 'Hexagonal',
  '6/mmm': 'Hexagonal',
  'm-3': 'Cubic',
  'm-3m': 'Cubic',
};

function distinctRotations(rotations: Iterable<Readonly<Mat3>>): Mat3[] {
  const out = new Map<string, Mat3>();
  for (const r of rotations) if (!out.has(rotationKey(r))) out.set(rotationKey(r), imat(r));
  return [...out.values()];
}

/** Crystal class of a point group given as its distinct rotation matrices. */
function crystalClass(rotations: readonly Readonly<Mat3>[]): string {
  const counts = new Array<number>(10).fill(0);
  for (const r of rotations) counts[rotationKind(r)]! += 1;
  const name = CLASS_BY_SIGNATURE.get(counts.join(','));
  if (name === undefined) throw new Error(`not a crystallographic point group (kinds ${counts.join(',')})`);
  return name;
}

/** The rotations of a point group with the inversion added: its Laue group, in the same orientation. */
function withInversion(rotations: readonly Readonly<Mat3>[]): Mat3[] {
  return distinctRotations([...rotations, ...rotations.map(negate)]);
}

const CENTRING_LETTERS: readonly Centring[] = ['P', 'A', 'B', 'C', 'I', 'F', 'R'];

function centringOf(ops: readonly Seitz[]): Centring {
  const pure = ops.filter((op) => rotationKey(op.r) === rotationKey(IDENTITY)).map((op) => op.t.join(','));
  const key = [...pure].sort().join(';');
  for (const letter of CENTRING_LETTERS) {
    const expected = ['0,0,0', ...LATTICE_TRANSLATIONS[letter]!.map((t) => t.join(','))].sort().join(';');
    if (expected === key) return letter;
  }
  throw new Error(`unconventional centring translations ${key}`);
}

// ---------------------------------------------------------------------------------------------------------------
// The table.

/** Ops ordered: a primitive coset (proper rotations first, each with its smallest translation), then each centring. */
function orderOperators(ops: readonly Seitz[], centring: Centring): Seitz[] {
  const byRotation = new Map<string, Seitz>();
  for (const op of ops) {
    const key = rotationKey(op.r);
    const best = byRotation.get(key);
    if (!best || lexGreater(best.t, op.t)) byRotation.set(key, op);
  }
  const reps = [...byRotation.values()];
  reps.sort((a, b) => det3(b.r) - det3(a.r));
  const shifts: Vec3[] = [[0, 0, 0], ...LATTICE_TRANSLATIONS[centring]!];
  return shifts.flatMap((c) => reps.map((op) => seitz(op.r, [op.t[0] + c[0], op.t[1] + c[1], op.t[2] + c[2]])));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

function buildSpaceGroup(number: number, hm: string, hall: string): SpaceGroup {
  const ops = hallOperators(hall);
  const centring = centringOf(ops);
  const ordered = orderOperators(ops, centring);
  if (ordered.length !== ops.length) throw new Error(`space group ${number}: cosets do not tile the group`);
  const rotations = distinctRotations(ops.map((op) => op.r));
  const laue = crystalClass(withInversion(rotations)) as LaueClass;
  const sg: SpaceGroup = {
    number,
    hm,
    hall,
    operators: ordered.map(toSymOp),
    centring,
    centrosymmetric: rotations.some((r) => rotationKey(r) === rotationKey(negate(IDENTITY))),
    pointGroup: crystalClass(rotations),
    laue,
    crystalSystem: CRYSTAL_SYSTEMS[laue],
    order: ops.length,
  };
  return deepFreeze(sg);
}

const cache = new Map<number, SpaceGroup>();

function byNumber(n: number): SpaceGroup {
  let sg = cache.get(n);
  if (!sg) {
    const row = SPACE_GROUP_SYMBOLS[n - 1];
    if (!row || row[0] !== n) throw new Error(`space-group table out of order at ${n}`);
    sg = buildSpaceGroup(row[0], row[1], row[2]);
    cache.set(n, sg);
  }
  return sg;
}

const squash = (s: string): string => s.replace(/[\s_]+/g, '').toLowerCase();

let aliases: Map<string, number> | null = null;

/** Every accepted spelling (without blanks, lower case) → number; a spelling two groups share would be an error. */
function symbolAliases(): Map<string, number> {
  if (aliases) return aliases;
  const map = new Map<string, number>();
  const add = (key: string, n: number): void => {
    const had = map.get(key);
    if (had !== undefined && had !== n) throw new Error(`space-group symbol '${key}' names both ${had} and ${n}`);
    map.set(key, n);
  };
  for (const [n, hm] of SPACE_GROUP_SYMBOLS) {
    add(squash(hm), n);
    const base = hm.replace(/\s*:.*$/, '');
    add(squash(base), n);
    // Short monoclinic symbols are the b-unique ones: 'P 1 21/c 1' → 'P21/c'.
    const parts = base.split(/\s+/);
    if (n >= 3 && n <= 15 && parts.length === 4) add(squash(`${parts[0]}${parts[2]}`), n);
  }
  aliases = map;
  return map;
}

/**
 * A space group in its reference setting, by number (1–230) or Hermann–Mauguin symbol with or without blanks and in
 * any case: 'P21/c', 'P 1 21/c 1', 'Pbca', 'P n m a', 'Fm-3m', 'R-3m' (hexagonal axes), 'Fd-3m' (origin choice 2).
 * Throws ParameterError for anything else.
 */
export function spaceGroup(query: number | string): SpaceGroup {
  if (typeof query === 'number') {
    if (!Number.isInteger(query) || query < 1 || query > 230) throw new ParameterError('space group', `${query} is not a space-group number (1–230)`);
    return byNumber(query);
  }
  const text = String(query).trim();
  if (/^\d+$/.test(text)) return spaceGroup(Number(text));
  const n = symbolAliases().get(squash(text));
  if (n === undefined) {
    throw new ParameterError(
      'space group',
      `'${text}' is not a Hermann–Mauguin symbol of a reference setting (e.g. 'P21/c', 'P 1 21/c 1', 'Pnma', 'Fm-3m') or a number 1–230`,
    );
  }
  return byNumber(n);
}

/** All 230, in order. */
export function allSpaceGroups(): SpaceGroup[] {
  return SPACE_GROUP_SYMBOLS.map(([n]) => byNumber(n));
}

/** Numbers of the space groups with this Laue class and centring letter (candidates to rank by absences). */
export function spaceGroupsOf(laue: LaueClass, centring: Centring): number[] {
  return allSpaceGroups()
    .filter((sg) => sg.laue === laue && sg.centring === centring)
    .map((sg) => sg.number);
}

// ---------------------------------------------------------------------------------------------------------------
// Reciprocal space.

/** The Laue class's conventional orientation, used when only its name is given ('-3m' is -3m1, '2/m' b-unique). */
const LAUE_REFERENCE_GROUP: Record<LaueClass, number> = {
  '-1': 2, '2/m': 10, mmm: 47, '4/m': 83, '4/mmm': 123, '-3': 147, '-3m': 164, '6/m': 175, '6/mmm': 191, 'm-3': 200, 'm-3m': 221,
};

const rotationCache = new WeakMap<SpaceGroup, { point: Mat3[]; laue: Mat3[] }>();

/** The group's point-group and Laue-group rotations, computed once per SpaceGroup object (callers must not modify them). */
function cachedRotations(sg: SpaceGroup): { point: Mat3[]; laue: Mat3[] } {
  let c = rotationCache.get(sg);
  if (!c) {
    const point = distinctRotations(sg.operators.map((op) => op.rotation));
    c = { point, laue: withInversion(point) };
    rotationCache.set(sg, c);
  }
  return c;
}

/** Distinct rotation parts of the group's operators (its point group, in its setting). */
export function pointGroupOps(sg: SpaceGroup): Mat3[] {
  return cachedRotations(sg).point.map(imat);
}

/** Rotation parts of the Laue group (point group plus −1) of a space group, or of a Laue class in its conventional orientation. */
export function laueGroupOps(of: SpaceGroup | LaueClass): Mat3[] {
  if (typeof of === 'string') {
    const n = LAUE_REFERENCE_GROUP[of];
    if (n === undefined) throw new ParameterError('Laue class', `'${String(of)}' is not one of ${Object.keys(LAUE_REFERENCE_GROUP).join(' ')}`);
    return pointGroupOps(byNumber(n));
  }
  return cachedRotations(of).laue.map(imat);
}

/** h·R, indices as a row vector. */
function hklTimes(h: Readonly<Hkl>, r: Readonly<Mat3>): Hkl {
  return [
    h[0] * r[0][0] + h[1] * r[1][0] + h[2] * r[2][0] + 0,
    h[0] * r[0][1] + h[1] * r[1][1] + h[2] * r[2][1] + 0,
    h[0] * r[0][2] + h[1] * r[1][2] + h[2] * r[2][2] + 0,
  ];
}

const sameHkl = (a: Readonly<Hkl>, b: Readonly<Hkl>): boolean => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

/** True when hkl is extinct: some operator (R, t), centring included, has h·R = h and h·t not an integer. */
export function isSystematicallyAbsent(sg: SpaceGroup, h: number, k: number, l: number): boolean {
  const hkl: Hkl = [h, k, l];
  return sg.operators.some((op) => {
    if (!sameHkl(hklTimes(hkl, op.rotation), hkl)) return false;
    const phase = h * op.translation[0] + k * op.translation[1] + l * op.translation[2];
    return Math.abs(phase - Math.round(phase)) > 1e-6;
  });
}

/** True when hkl is centric: some rotation of the point group sends h to −h. */
export function isCentric(sg: SpaceGroup, h: number, k: number, l: number): boolean {
  const minus: Hkl = [-h, -k, -l];
  return cachedRotations(sg).point.some((r) => sameHkl(hklTimes([h, k, l], r), minus));
}

function rotationsOf(sym: SpaceGroup | readonly Readonly<Mat3>[]): readonly Readonly<Mat3>[] {
  return Array.isArray(sym) ? sym : cachedRotations(sym as SpaceGroup).laue;
}

/** Indices equivalent to hkl (itself included, each once) under a space group's Laue group, or under the rotations given. */
export function equivalentIndices(sym: SpaceGroup | readonly Readonly<Mat3>[], h: number, k: number, l: number): Hkl[] {
  const out = new Map<string, Hkl>();
  for (const r of rotationsOf(sym)) {
    const e = hklTimes([h, k, l], r);
    out.set(e.join(','), e);
  }
  return [...out.values()];
}

function lexGreater(a: Readonly<Vec3>, b: Readonly<Vec3>): boolean {
  return a[0] !== b[0] ? a[0] > b[0] : a[1] !== b[1] ? a[1] > b[1] : a[2] > b[2];
}

/**
 * The representative of hkl's equivalents (under the Laue group, or the rotations given): the lexicographically
 * largest. Deterministic and the same for every member of the set, but not cctbx's asymmetric unit.
 */
export function asymmetricUnitIndex(sym: SpaceGroup | readonly Readonly<Mat3>[], h: number, k: number, l: number): Hkl {
  let best: Hkl = [h, k, l];
  for (const e of equivalentIndices(sym, h, k, l)) if (lexGreater(e, best)) best = e;
  return best;
}

/** Number of distinct equivalents of hkl under the Laue group (Friedel mates counted), or under the rotations given. */
export function multiplicity(sym: SpaceGroup | readonly Readonly<Mat3>[], h: number, k: number, l: number): number {
  return equivalentIndices(sym, h, k, l).length;
}

/** ε: how many rotations of the point group leave hkl unchanged (the intensity enhancement of Wilson statistics). */
export function epsilon(sg: SpaceGroup, h: number, k: number, l: number): number {
  const hkl: Hkl = [h, k, l];
  return cachedRotations(sg).point.filter((r) => sameHkl(hklTimes(hkl, r), hkl)).length;
}

// ---------------------------------------------------------------------------------------------------------------
// SHELX.

const SHELX_LATT: Record<Centring, number> = { P: 1, I: 2, R: 3, F: 4, A: 5, B: 6, C: 7 };

/**
 * SHELX's LATT and SYMM for a space group: LATT is the centring code (P 1, I 2, R 3 obverse, F 4, A 5, B 6, C 7),
 * negative when the group has no inversion; SYMM lists one operator per coset of the centring translations (and, when
 * centrosymmetric, of −1 at the origin, which SHELX adds), the identity left out, as '-X, 1/2+Y, 1/2-Z'.
 * Throws if the group is centrosymmetric without an inversion centre at the origin (SHELX cannot express that; no
 * reference setting is like that).
 */
export function shelxLattSymm(sg: SpaceGroup): { latt: number; symm: string[] } {
  const ops = sg.operators.map(fromSymOp);
  const centringShifts = new Set(ops.filter((op) => rotationKey(op.r) === rotationKey(IDENTITY)).map((op) => op.t.join(',')));
  const minusOne = rotationKey(negate(IDENTITY));
  if (sg.centrosymmetric && !ops.some((op) => rotationKey(op.r) === minusOne && centringShifts.has(op.t.join(',')))) {
    throw new ParameterError('space group', `${sg.hm}: the inversion centre is not at the origin, which SHELX's LATT cannot express`);
  }
  const reps = orderOperators(ops, sg.centring).slice(0, ops.length / centringShifts.size);
  const symm = reps
    .filter((op) => rotationKey(op.r) !== rotationKey(IDENTITY) && (!sg.centrosymmetric || det3(op.r) > 0))
    .map((op) => formatSeitz(op, true));
  return { latt: sg.centrosymmetric ? SHELX_LATT[sg.centring] : -SHELX_LATT[sg.centring], symm };
}
