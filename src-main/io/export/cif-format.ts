// CIF 1.1 text shared by the CIF writers (reflection CIF, .cif_pets): data block names, quoting of text values,
// and fixed-decimal numbers that refuse what CIF cannot hold.
import { ParameterError } from '../../../src-shared/errors';

/** Throws unless `name` can follow `data_` (letters, digits, _ - . only). */
export function checkCifBlockName(name: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ParameterError('name', `'${name}' is not a CIF data block name (letters, digits, _ - . only)`);
}

/** A text value as one CIF token: bare where CIF allows, else quoted, else a semicolon text field. */
export function cifQuote(text: string): string {
  if (/^[^\s'"_#$;[\]][^\s]*$/.test(text) && !/^(data_|loop_|save_|global_|stop_)/i.test(text)) return text;
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes('"')) return `"${text}"`;
  return `\n;${text}\n;`;
}

/** `v` with `decimals` fixed decimals; a NaN or infinity throws ParameterError naming `field`. */
export function cifFixed(v: number, decimals: number, field: string): string {
  if (!Number.isFinite(v)) throw new ParameterError(field, `${v} cannot be written to a CIF`);
  return v.toFixed(decimals);
}
