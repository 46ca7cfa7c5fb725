// Electron scattering factors: International Tables Vol. C (2011) Table 4.3.2.2, the 5-Gaussian fit of
// Peng, Ren, Dudarev & Whelan (1996) for neutral atoms, f(s) = Σ a_i exp(−b_i s²), s = sinθ/λ ≤ 2 Å⁻¹, f in Å.
// The coefficients are data in resources/scattering/peng.json; the JSON is imported so that every bundle
// (Electron main, the CLI, workers) carries it without a file lookup at run time.
import table from '../../resources/scattering/peng.json';

export interface GaussianCoefficients {
  a: readonly [number, number, number, number, number];
  b: readonly [number, number, number, number, number];
}

const ELEMENTS = (table as { elements: Record<string, { a: number[]; b: number[] }> }).elements;

/** The table's own description (source, formula, range). */
export const SCATTERING_TABLE_SOURCE: string = (table as { source: string }).source;

/**
 * 'Ti4+' → 'Ti', 'O2-' → 'O', 'TI' → 'Ti', 'Ga1' → 'Ga', "O'" → 'O'. Returns '' when no letters lead.
 * Ions are mapped to the neutral atom: the ionic tables diverge only at very low s, which
 * kinematic 3D-ED intensities do not sample.
 */
export function normalizeElement(symbol: string): string {
  const m = /^([A-Za-z]{1,2})/.exec(symbol.trim());
  if (!m) return '';
  const s = m[1]!;
  const two = s.length === 2 ? s[0]!.toUpperCase() + s[1]!.toLowerCase() : '';
  if (two && two in ELEMENTS) return two;
  return s[0]!.toUpperCase();
}

export function hasElement(element: string): boolean {
  return Object.prototype.hasOwnProperty.call(ELEMENTS, element);
}

/** The element symbols in the table, in atomic-number order. */
export function tabulatedElements(): string[] {
  return Object.keys(ELEMENTS);
}

/** The five a_i (Å) and b_i (Å²). Throws RangeError for an element the table lacks. */
export function pengCoefficients(element: string): GaussianCoefficients {
  const e = ELEMENTS[element];
  if (!e) throw new RangeError(`no electron scattering factor for element '${element}'`);
  return { a: e.a as unknown as GaussianCoefficients['a'], b: e.b as unknown as GaussianCoefficients['b'] };
}

/** f_e(s) in Å for s = sinθ/λ in Å⁻¹ (= 1/(2d)). */
export function electronScatteringFactorA(element: string, sInvA: number): number {
  const { a, b } = pengCoefficients(element);
  const s2 = sInvA * sInvA;
  let f = 0;
  for (let i = 0; i < 5; i++) f += a[i]! * Math.exp(-b[i]! * s2);
  return f;
}
