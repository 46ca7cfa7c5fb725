// A minimal SHELXL/SHELXT instruction file (.ins) for electron data (FORMATS-ED §2b), to go with an HKLF 4 .hkl:
// TITL; CELL with the electron wavelength; ZERR; LATT and SYMM; one long-form SFAC per element with the electron
// scattering factor refitted to four Gaussians + c (SHELXL allows no fifth; see sfac-fit.ts), f' = f'' = μ = 0, the
// covalent radius and the atomic weight, its fit residual in a REM line above it; UNIT; the refinement defaults a
// SHELXL user starts from (L.S. 10, LIST 4, FMAP 2, PLAN 10, WGHT 0.1, FVAR 1); HKLF 4; END.
// Every line fits SHELX's 80 columns: a long instruction is continued with ' =' and an indented next line.
import { ParameterError } from '../../../src-shared/errors';
import { elementData } from '../../crystallography/elements';
import { validateCell, type Cell } from '../../crystallography/lattice';
import { hasElement } from '../../crystallography/scattering';
import { fitSfac, type SfacFit } from '../../crystallography/sfac-fit';

export interface InsInput {
  title: string;
  wavelengthA: number;
  cell: Cell;
  /** Standard uncertainties of a b c α β γ (Å, degrees); 0 where unknown or fixed by symmetry. */
  cellEsd: readonly number[];
  /** Formula units per cell. */
  z: number;
  /** SHELX lattice type: ±1…7 for P I R F A B C, negative for a non-centrosymmetric group. */
  latt: number;
  /** The SYMM operators other than the identity and those LATT implies, e.g. '1/2-X, -Y, 1/2+Z'. */
  symm: readonly string[];
  /** Atoms per unit cell (the UNIT numbers), one entry per element, in SFAC order. */
  composition: ReadonlyArray<{ element: string; count: number }>;
  /** The reflection file format (only HKLF 4). */
  hklf?: 4;
}

export interface InsSfacFit {
  element: string;
  maxRelativeError: number;
  rmsRelativeError: number;
}

/** SHELX reads 80 columns. */
const MAX_COLUMNS = 80;
const CONTINUATION_INDENT = '    ';

/** One instruction as lines of at most 80 columns, broken between words with ' =' and an indented continuation. */
export function insInstruction(words: readonly string[]): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const next = line ? `${line} ${w}` : w;
    // Every line keeps room for a closing ' =' (formatIns checks the 80 columns of the whole file).
    if (line && next.length > MAX_COLUMNS - 2) {
      lines.push(`${line} =`);
      line = `${CONTINUATION_INDENT}${w}`;
    } else line = next;
  }
  if (line.length > MAX_COLUMNS) throw new ParameterError('ins', `'${line.trim()}' does not fit SHELX's ${MAX_COLUMNS} columns`);
  lines.push(line);
  return lines;
}

const fits = new Map<string, SfacFit>();
/** fitSfac, once per element per process (the fit takes a moment and never changes). */
function sfacFitOf(element: string): SfacFit {
  let f = fits.get(element);
  if (!f) fits.set(element, (f = fitSfac(element)));
  return f;
}

/** Up to `decimals` decimals, trailing zeros dropped: 8 → '8', 16.5 → '16.5'. */
const plain = (v: number, decimals: number): string => String(Number(v.toFixed(decimals)));

/** One coordinate of a SYMM operator: signed parts, each a number (1/2, 0.25) or an optionally scaled X, Y or Z. */
const SYMM_PART = String.raw`(?:(?:\d+(?:/\d+)?|\d*\.\d+)\*?)?[XYZ]|\d+(?:/\d+)?|\d*\.\d+`;
const SYMM_TERM = new RegExp(`^[-+]?(?:${SYMM_PART})(?:[-+](?:${SYMM_PART}))*$`);

/** A SYMM card's operator, checked to be three comma-separated terms of x, y, z and fractions. */
function checkSymm(op: string, n: number): string {
  const terms = op.split(',').map((t) => t.replace(/\s+/g, '').toUpperCase());
  if (terms.length !== 3 || !terms.every((t) => SYMM_TERM.test(t) && /[XYZ]/.test(t))) throw new ParameterError(`symm[${n}]`, `'${op}' is not a symmetry operator like '1/2-X, -Y, 1/2+Z'`);
  return op.trim().replace(/\s+/g, ' ');
}

/** Throws ParameterError for what no SHELX file can say. */
function checkInput(c: InsInput): void {
  if (!(Number.isFinite(c.wavelengthA) && c.wavelengthA > 0)) throw new ParameterError('wavelengthA', `${c.wavelengthA} is not a wavelength`);
  validateCell(c.cell);
  if (c.cellEsd.length !== 6 || !c.cellEsd.every((e) => Number.isFinite(e) && e >= 0)) throw new ParameterError('cellEsd', `[${c.cellEsd.join(', ')}] is not six standard uncertainties ≥ 0`);
  if (!(Number.isFinite(c.z) && c.z > 0)) throw new ParameterError('z', `${c.z} formula units per cell`);
  if (!(Number.isInteger(c.latt) && c.latt !== 0 && Math.abs(c.latt) <= 7)) throw new ParameterError('latt', `${c.latt} is not a SHELX lattice type (±1…7)`);
  if ((c.hklf ?? 4) !== 4) throw new ParameterError('hklf', `HKLF ${c.hklf} is not written (HKLF 4 only)`);
  if (c.composition.length === 0) throw new ParameterError('composition', 'no element to write SFAC and UNIT for');
  const seen = new Set<string>();
  c.composition.forEach(({ element, count }, n) => {
    const e = elementData(element);
    if (!e || !hasElement(e.symbol)) throw new ParameterError(`composition[${n}].element`, `unknown element '${element}' (H…Bi)`);
    if (seen.has(e.symbol)) throw new ParameterError(`composition[${n}].element`, `${e.symbol} is listed twice`);
    seen.add(e.symbol);
    if (!(Number.isFinite(count) && count > 0)) throw new ParameterError(`composition[${n}].count`, `${count} ${e.symbol} atoms per cell: must be > 0`);
  });
}

/** REM line and long-form SFAC instruction of one element. */
function sfacLines(element: string): { lines: string[]; fit: InsSfacFit } {
  const e = elementData(element)!;
  const f = sfacFitOf(e.symbol);
  const coefficients = [0, 1, 2, 3].flatMap((i) => [f.a[i]!.toFixed(5), f.b[i]!.toFixed(5)]);
  const rem = `REM SFAC ${e.symbol}: 4 Gaussians + c refitted to Peng, max error ${(100 * f.maxRelativeError).toFixed(2)} % for s up to ${plain(f.sMaxInvA, 2)}/A`;
  const sfac = ['SFAC', e.symbol, ...coefficients, f.c.toFixed(5), '0', '0', '0', e.covalentRadiusA.toFixed(2), plain(e.atomicWeight, 4)];
  return { lines: [rem, ...insInstruction(sfac)], fit: { element: e.symbol, maxRelativeError: f.maxRelativeError, rmsRelativeError: f.rmsRelativeError } };
}

/** The .ins text, and the residual of each element's refitted scattering factor against Peng's. */
export function formatIns(c: InsInput): { text: string; sfacFits: InsSfacFit[] } {
  checkInput(c);
  const symm = c.symm.map(checkSymm);
  // TITL is free text up to 76 characters; '=' or '!' could read as continuation or comment.
  const title = c.title.replace(/[\s=!]+/g, ' ').trim().slice(0, 76) || 'trackED';
  const { a, b, c: cc, alpha, beta, gamma } = c.cell;
  const esd = c.cellEsd.map((e, i) => e.toFixed(i < 3 ? 4 : 3));
  const sfac = c.composition.map(({ element }) => sfacLines(element));
  const lines = [
    `TITL ${title}`,
    `CELL ${c.wavelengthA.toFixed(6)} ${[a, b, cc].map((v) => v.toFixed(4)).join(' ')} ${[alpha, beta, gamma].map((v) => v.toFixed(3)).join(' ')}`,
    `ZERR ${plain(c.z, 3)} ${esd.join(' ')}`,
    `LATT ${c.latt}`,
    ...symm.map((op) => `SYMM ${op}`),
    ...sfac.flatMap((s) => s.lines),
    ...insInstruction(['UNIT', ...c.composition.map(({ count }) => plain(count, 2))]),
    'L.S. 10',
    'LIST 4',
    'FMAP 2',
    'PLAN 10',
    'WGHT 0.1',
    'FVAR 1',
    'HKLF 4',
    'END',
  ];
  for (const l of lines) if (l.length > MAX_COLUMNS) throw new ParameterError('ins', `'${l}' does not fit SHELX's ${MAX_COLUMNS} columns`);
  return { text: `${lines.join('\n')}\n`, sfacFits: sfac.map((s) => s.fit) };
}
