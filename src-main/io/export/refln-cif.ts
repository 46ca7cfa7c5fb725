// A reflection CIF (core dictionary items): the cell with its standard uncertainties, the wavelength, the space group
// when known, and the reflections — unmerged, one row per measurement with its frame, and merged when given — for
// programs that read CIF rather than fixed-width HKLF (no F8.2 range limit). Values are written with as many
// decimals as they carry; text is quoted per CIF 1.1 so that any name survives.
import { ParameterError } from '../../../src-shared/errors';
import type { UnitCell } from '../../../src-shared/processing';
import { withSu } from '../../../src-shared/su';
import { checkCifBlockName, cifFixed, cifQuote as quote } from './cif-format';

export { withSu };

export interface ReflnCifInput {
  /** Data block name (letters, digits, _ - . only). */
  name: string;
  cell: UnitCell;
  cellEsd?: UnitCell;
  wavelengthA: number;
  spaceGroupHM?: string;
  unmerged: ReadonlyArray<{ h: number; k: number; l: number; intensity: number; sigma: number; frame: number }>;
  merged?: ReadonlyArray<{ h: number; k: number; l: number; intensity: number; sigma: number }>;
}

const num = (v: number, d: number): string => cifFixed(v, d, 'intensity');

/** The CIF text. */
export function formatReflnCif(c: ReflnCifInput): string {
  checkCifBlockName(c.name);
  if (!(c.wavelengthA > 0)) throw new ParameterError('wavelengthA', `${c.wavelengthA} is not a wavelength`);
  const e = c.cellEsd;
  const lines = [
    `data_${c.name}`,
    '_audit_creation_method trackED',
    `_cell_length_a ${withSu(c.cell.a, e?.a, 4)}`,
    `_cell_length_b ${withSu(c.cell.b, e?.b, 4)}`,
    `_cell_length_c ${withSu(c.cell.c, e?.c, 4)}`,
    `_cell_angle_alpha ${withSu(c.cell.alpha, e?.alpha, 3)}`,
    `_cell_angle_beta ${withSu(c.cell.beta, e?.beta, 3)}`,
    `_cell_angle_gamma ${withSu(c.cell.gamma, e?.gamma, 3)}`,
    `_diffrn_radiation_type electron`,
    `_diffrn_radiation_wavelength ${c.wavelengthA.toFixed(6)}`,
  ];
  if (c.spaceGroupHM) lines.push(`_space_group_name_H-M_alt ${quote(c.spaceGroupHM)}`);
  lines.push('', 'loop_', '_diffrn_refln_index_h', '_diffrn_refln_index_k', '_diffrn_refln_index_l', '_diffrn_refln_intensity_net', '_diffrn_refln_intensity_u', '_diffrn_refln_frame_id');
  for (const r of c.unmerged) lines.push(`${r.h} ${r.k} ${r.l} ${num(r.intensity, 3)} ${num(r.sigma, 3)} ${r.frame}`);
  if (c.merged?.length) {
    lines.push('', 'loop_', '_refln_index_h', '_refln_index_k', '_refln_index_l', '_refln_F_squared_meas', '_refln_F_squared_sigma', '_refln_observed_status');
    for (const r of c.merged) lines.push(`${r.h} ${r.k} ${r.l} ${num(r.intensity, 3)} ${num(r.sigma, 3)} ${r.intensity > 2 * r.sigma ? 'o' : '<'}`);
  }
  return `${lines.join('\n')}\n`;
}
