// A CIF 1.1 subset reader: enough to build a structure model for kinematic diffraction.
// Reads the first data block: _cell_*, the symmetry operators (_space_group_symop_operation_xyz or the
// older _symmetry_equiv_pos_as_xyz), the space-group name, and the _atom_site_* loop (fract_x/y/z,
// type_symbol or label, occupancy, U_iso_or_equiv or B_iso_or_equiv). Numbers may carry standard
// uncertainties ('5.4558(3)'); values may be quoted or given as ;-delimited text fields.
import { InputError } from '../../src-shared/errors';
import { validateCell, type Cell } from './lattice';
import type { Vec3 } from './math3';
import { normalizeElement, hasElement } from './scattering';
import { applySymop, parseSymop, wrapFractional, type SymOp } from './symmetry';
import { directMetric } from './lattice';

export interface AtomSite {
  label: string;
  /** Element symbol as in the scattering table ('Ti', 'O'). */
  element: string;
  fract: Vec3;
  occupancy: number;
  /** Isotropic displacement parameter U in Å² (B = 8π²U). */
  uIsoA2: number;
}

export interface CrystalStructure {
  /** Data block name (after 'data_'). */
  name: string;
  /** The file it came from (for messages). */
  source: string;
  cell: Cell;
  spaceGroup: string | null;
  /** Always contains at least the identity. */
  symops: SymOp[];
  /** The asymmetric unit as listed in the file. */
  atoms: AtomSite[];
}

type Token = { text: string; quoted: boolean; line: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!;
    if (line.startsWith(';')) {
      // Text field: runs until a line starting with ';'.
      const parts = [line.slice(1)];
      let lj = li + 1;
      while (lj < lines.length && !lines[lj]!.startsWith(';')) parts.push(lines[lj++]!);
      tokens.push({ text: parts.join('\n').trim(), quoted: true, line: li + 1 });
      li = lj;
      continue;
    }
    let i = 0;
    while (i < line.length) {
      const ch = line[i]!;
      if (ch === ' ' || ch === '\t') {
        i++;
        continue;
      }
      if (ch === '#') break;
      if (ch === "'" || ch === '"') {
        // A quote closes only when followed by whitespace or end of line (CIF 1.1 rule).
        let j = i + 1;
        while (j < line.length && !(line[j] === ch && (j + 1 === line.length || /\s/.test(line[j + 1]!)))) j++;
        tokens.push({ text: line.slice(i + 1, j), quoted: true, line: li + 1 });
        i = j + 1;
        continue;
      }
      let j = i;
      while (j < line.length && !/\s/.test(line[j]!)) j++;
      tokens.push({ text: line.slice(i, j), quoted: false, line: li + 1 });
      i = j;
    }
  }
  return tokens;
}

interface CifBlock {
  name: string;
  items: Map<string, string>;
  loops: { tags: string[]; rows: string[][] }[];
}

function parseFirstBlock(text: string, file: string): CifBlock {
  const tokens = tokenize(text);
  let i = 0;
  while (i < tokens.length && !(!tokens[i]!.quoted && tokens[i]!.text.toLowerCase().startsWith('data_'))) i++;
  if (i === tokens.length) throw new InputError(file, 'no data_ block: not a CIF file');
  const block: CifBlock = { name: tokens[i]!.text.slice(5), items: new Map(), loops: [] };
  i++;
  const isTag = (t: Token): boolean => !t.quoted && t.text.startsWith('_');
  const isKeyword = (t: Token): boolean => !t.quoted && /^(loop_|data_|save_|global_|stop_)/i.test(t.text);
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (!t.quoted && t.text.toLowerCase().startsWith('data_')) break; // only the first block
    if (!t.quoted && t.text.toLowerCase() === 'loop_') {
      i++;
      const tags: string[] = [];
      while (i < tokens.length && isTag(tokens[i]!)) tags.push(tokens[i++]!.text.toLowerCase());
      if (tags.length === 0) throw new InputError(file, `line ${t.line}: loop_ without tags`);
      const values: string[] = [];
      while (i < tokens.length && !isTag(tokens[i]!) && !isKeyword(tokens[i]!)) values.push(tokens[i++]!.text);
      if (values.length % tags.length !== 0) {
        throw new InputError(file, `line ${t.line}: loop with ${tags.length} tags has ${values.length} values (not a multiple)`);
      }
      const rows: string[][] = [];
      for (let r = 0; r < values.length; r += tags.length) rows.push(values.slice(r, r + tags.length));
      block.loops.push({ tags, rows });
      continue;
    }
    if (isTag(t)) {
      const v = tokens[i + 1];
      if (!v || isTag(v) || isKeyword(v)) throw new InputError(file, `line ${t.line}: ${t.text} has no value`);
      block.items.set(t.text.toLowerCase(), v.text);
      i += 2;
      continue;
    }
    i++; // stray value (e.g. save frames we do not model): skip
  }
  return block;
}

/** '5.4558(3)' → 5.4558; '.' and '?' → NaN. */
export function cifNumber(value: string | undefined): number {
  if (value === undefined) return NaN;
  const v = value.trim();
  if (v === '.' || v === '?' || v === '') return NaN;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:\(\d+\))?$/.exec(v);
  return m ? Number(m[1]) : NaN;
}

function findLoop(block: CifBlock, tag: string): { tags: string[]; rows: string[][] } | undefined {
  return block.loops.find((l) => l.tags.includes(tag));
}

const SYMOP_TAGS = ['_space_group_symop_operation_xyz', '_symmetry_equiv_pos_as_xyz', '_space_group_symop.operation_xyz'];

/** Parses CIF text. `file` names the source in every error. */
export function parseCif(text: string, file: string): CrystalStructure {
  const block = parseFirstBlock(text, file);
  const num = (tag: string): number => cifNumber(block.items.get(tag));
  const cell: Cell = {
    a: num('_cell_length_a'),
    b: num('_cell_length_b'),
    c: num('_cell_length_c'),
    alpha: num('_cell_angle_alpha'),
    beta: num('_cell_angle_beta'),
    gamma: num('_cell_angle_gamma'),
  };
  const missing = (Object.keys(cell) as (keyof Cell)[]).filter((k) => !Number.isFinite(cell[k]));
  if (missing.length) {
    throw new InputError(file, `missing or unreadable cell parameter(s): ${missing.map((k) => (k.length === 1 ? `_cell_length_${k}` : `_cell_angle_${k}`)).join(', ')}`);
  }
  try {
    validateCell(cell);
  } catch (e) {
    throw new InputError(file, `impossible cell: ${(e as Error).message}`);
  }

  const spaceGroup =
    block.items.get('_space_group_name_h-m_alt') ?? block.items.get('_symmetry_space_group_name_h-m') ?? block.items.get('_space_group_name_h-m') ?? null;

  let symops: SymOp[] = [];
  for (const tag of SYMOP_TAGS) {
    const loop = findLoop(block, tag);
    const single = block.items.get(tag);
    const texts = loop ? loop.rows.map((r) => r[loop.tags.indexOf(tag)]!) : single !== undefined ? [single] : [];
    if (texts.length) {
      symops = texts.map((t) => {
        try {
          return parseSymop(t);
        } catch (e) {
          throw new InputError(file, (e as Error).message);
        }
      });
      break;
    }
  }
  if (symops.length === 0) symops = [parseSymop('x,y,z')];
  else if (!symops.some((op) => op.text === 'x,y,z')) symops.unshift(parseSymop('x,y,z'));

  const atomLoop = findLoop(block, '_atom_site_fract_x');
  if (!atomLoop) throw new InputError(file, 'no _atom_site_ loop with _atom_site_fract_x/y/z');
  const col = (tag: string): number => atomLoop.tags.indexOf(tag);
  const ix = col('_atom_site_fract_x');
  const iy = col('_atom_site_fract_y');
  const iz = col('_atom_site_fract_z');
  if (iy < 0 || iz < 0) throw new InputError(file, 'atom_site loop lacks _atom_site_fract_y or _atom_site_fract_z');
  const iLabel = col('_atom_site_label');
  const iType = col('_atom_site_type_symbol');
  const iOcc = col('_atom_site_occupancy');
  const iU = col('_atom_site_u_iso_or_equiv');
  const iB = col('_atom_site_b_iso_or_equiv');
  if (iLabel < 0 && iType < 0) throw new InputError(file, 'atom_site loop has neither _atom_site_label nor _atom_site_type_symbol');

  const atoms: AtomSite[] = atomLoop.rows.map((row, r) => {
    const label = iLabel >= 0 ? row[iLabel]! : `${row[iType]!}${r + 1}`;
    const rawType = iType >= 0 ? row[iType]! : label;
    const element = normalizeElement(rawType);
    if (!element || !hasElement(element)) {
      throw new InputError(file, `atom ${label}: unknown element '${rawType}' (no electron scattering factor)`);
    }
    const fract: Vec3 = [cifNumber(row[ix]), cifNumber(row[iy]), cifNumber(row[iz])];
    if (!fract.every(Number.isFinite)) throw new InputError(file, `atom ${label}: unreadable fractional coordinates`);
    let occupancy = iOcc >= 0 ? cifNumber(row[iOcc]) : 1;
    if (!Number.isFinite(occupancy)) occupancy = 1;
    if (occupancy < 0 || occupancy > 1.0001) throw new InputError(file, `atom ${label}: occupancy ${occupancy} outside 0…1`);
    let uIsoA2 = iU >= 0 ? cifNumber(row[iU]) : NaN;
    if (!Number.isFinite(uIsoA2) && iB >= 0) uIsoA2 = cifNumber(row[iB]) / (8 * Math.PI * Math.PI);
    // No displacement parameter given: a static lattice (U = 0), as cctbx assumes.
    if (!Number.isFinite(uIsoA2)) uIsoA2 = 0;
    if (uIsoA2 < 0) throw new InputError(file, `atom ${label}: negative U_iso ${uIsoA2}`);
    return { label, element, fract, occupancy, uIsoA2 };
  });
  if (atoms.length === 0) throw new InputError(file, 'atom_site loop is empty');

  return { name: block.name, source: file, cell, spaceGroup, symops, atoms };
}

export interface UnitCellAtom extends AtomSite {
  /** Index into CrystalStructure.atoms of the site it was generated from. */
  site: number;
}

/**
 * All atoms of the unit cell: each site under every operator, wrapped into [0,1), with copies closer than
 * `toleranceA` (special positions) merged. Occupancies are kept as given (partial sites stay partial).
 */
export function unitCellAtoms(structure: CrystalStructure, toleranceA = 0.01): UnitCellAtom[] {
  const g = directMetric(structure.cell);
  const out: UnitCellAtom[] = [];
  const tol2 = toleranceA * toleranceA;
  structure.atoms.forEach((atom, site) => {
    const mine: Vec3[] = [];
    for (const op of structure.symops) {
      const p = wrapFractional(applySymop(op, atom.fract));
      const dup = mine.some((q) => {
        // Minimum-image distance with the metric tensor.
        const d: Vec3 = [p[0] - q[0], p[1] - q[1], p[2] - q[2]].map((v) => v - Math.round(v)) as Vec3;
        const d2 =
          g[0][0] * d[0] * d[0] + g[1][1] * d[1] * d[1] + g[2][2] * d[2] * d[2] + 2 * (g[0][1] * d[0] * d[1] + g[0][2] * d[0] * d[2] + g[1][2] * d[1] * d[2]);
        return d2 < tol2;
      });
      if (!dup) {
        mine.push(p);
        out.push({ ...atom, fract: p, site });
      }
    }
  });
  return out;
}
