// The PETS2 `.cif_pets` file that Jana2020 reads for dynamical refinement (FORMATS-ED §3), with the items, order and
// number formats of `dials.export format=pets`: the cell and its volume, the wavelength, the UB matrix and the
// rotation-axis angle ω as pairs (five decimals), the measurement details as a text field, one `_diffrn_zone_axis_`
// row per virtual frame and the `_refln_` loop listing each reflection with the virtual frame it was integrated on.
//
// Frame convention (PETS): beam along −Z, rotation axis in the X–Z plane close to +X; UB maps Miller indices to
// reciprocal-lattice vectors in that frame, q = UB·h in Å⁻¹ (no 2π). The caller converts its UB into this frame.
import { ParameterError } from '../../../src-shared/errors';
import { cellVolumeA3, type Cell } from '../../crystallography/lattice';
import type { Mat3, Vec3 } from '../../crystallography/math3';
import { checkCifBlockName, cifFixed } from './cif-format';

/** One virtual frame: its zone axis (see zoneAxisOf) and orientation angles, R = Rω·Rα·Rβ (degrees). */
export interface PetsZoneAxis {
  /** Positive integer, unique; reflections refer to it. */
  id: number;
  u: number;
  v: number;
  w: number;
  /** Half the angular span of the virtual frame (continuous rotation) or the precession semi-angle (0 for stills). */
  precessionAngleDeg: number;
  alphaDeg: number;
  betaDeg: number;
  omegaDeg: number;
  /** Frame scale (1 when unknown). */
  scale: number;
}

export interface PetsReflection {
  h: number;
  k: number;
  l: number;
  intensity: number;
  sigma: number;
  /** The id of the virtual frame (zone-axis row) it was integrated on. */
  zoneAxisId: number;
}

export interface CifPetsInput {
  /** Data block name (letters, digits, _ - . only); DIALS always writes `pets`. */
  name: string;
  wavelengthA: number;
  cell: Cell;
  /** UB in the PETS frame (see the file comment), Å⁻¹. */
  ub: Mat3;
  /** Rotation-axis angle in the detector plane, degrees (`_diffrn_pets_omega`, "rotation axis position"). */
  omegaDeg: number;
  dStarMaxInvA: number;
  rcWidthInvA: number;
  mosaicityDeg: number;
  reflectionSizePx: number;
  geometry: 'stepwise' | 'continuous';
  /** Frames summed into one virtual frame, and the step between virtual frames, in frames. */
  virtualFrames: { nMerged: number; step: number };
  zoneAxes: readonly PetsZoneAxis[];
  reflections: readonly PetsReflection[];
}

/**
 * The `data collection geometry:` line. PETS writes `continuous rotation` or `precession` here (the two values its
 * readers know); a stepwise tilt series — stills, or precessed frames — is PETS' precession geometry, with each
 * frame's precession semi-angle in the zone-axis loop (0 for stills).
 */
export const PETS_GEOMETRY: Readonly<Record<CifPetsInput['geometry'], string>> = {
  continuous: 'continuous rotation',
  stepwise: 'precession',
};

const finite = (v: number, field: string): number => {
  if (!Number.isFinite(v)) throw new ParameterError(field, `${v} is not a number`);
  return v;
};
const nonNegative = (v: number, field: string): number => {
  if (!(finite(v, field) >= 0)) throw new ParameterError(field, `${v} must be ≥ 0`);
  return v;
};
const positiveInteger = (v: number, field: string): number => {
  if (!(Number.isInteger(v) && v > 0)) throw new ParameterError(field, `${v} must be a positive integer`);
  return v;
};
const integer = (v: number, field: string): number => {
  if (!Number.isInteger(v)) throw new ParameterError(field, `${v} must be an integer`);
  return v;
};

/**
 * The zone axis [uvw] of a frame in the `.cif_pets` convention: the direct-lattice direction along the beam,
 * x = UBᵀ·b̂ (the direct-lattice coordinates of the beam direction b̂, as `dials.frame_orientations` computes it),
 * then sign-inverted and scaled so that its largest |component| is 1 — so [uvw] points from the crystal towards the
 * electron source, the direction one looks down. `beamDirection` is the direction the electrons travel, in the frame
 * of `ub` (default: −Z, the PETS frame).
 */
export function zoneAxisOf(ub: Readonly<Mat3>, beamDirection: Readonly<Vec3> = [0, 0, -1]): Vec3 {
  ub.forEach((row, i) => row.forEach((v, j) => finite(v, `ub[${i}][${j}]`)));
  beamDirection.forEach((v, i) => finite(v, `beamDirection[${i}]`));
  const x: Vec3 = [0, 1, 2].map((j) => ub[0][j]! * beamDirection[0] + ub[1][j]! * beamDirection[1] + ub[2][j]! * beamDirection[2]) as Vec3;
  const m = Math.max(...x.map(Math.abs));
  if (!(m > 0)) throw new ParameterError('beamDirection', 'the beam direction and UB give no zone axis (zero vector or singular UB)');
  return x.map((v) => (v === 0 ? 0 : -v / m)) as Vec3;
}

/** The `_diffrn_measurement_details` text field, lines as PETS and DIALS write them. */
function measurementDetails(c: CifPetsInput): string[] {
  const f = (v: number, d: number, width: number, field: string): string => nonNegative(v, field).toFixed(d).padStart(width);
  const nMerged = positiveInteger(c.virtualFrames.nMerged, 'virtualFrames.nMerged');
  const step = positiveInteger(c.virtualFrames.step, 'virtualFrames.step');
  const geometry = PETS_GEOMETRY[c.geometry];
  if (!geometry) throw new ParameterError('geometry', `'${String(c.geometry)}' is neither 'stepwise' nor 'continuous'`);
  return [
    ';',
    `data collection geometry: ${geometry}`,
    `dstarmax: ${f(c.dStarMaxInvA, 3, 6, 'dStarMaxInvA')}`,
    `RC width: ${f(c.rcWidthInvA, 5, 8, 'rcWidthInvA')}`,
    `mosaicity: ${f(c.mosaicityDeg, 3, 6, 'mosaicityDeg')}`,
    `rotation axis position: ${finite(c.omegaDeg, 'omegaDeg').toFixed(3).padStart(8)}`,
    `reflection size: ${f(c.reflectionSizePx, 3, 8, 'reflectionSizePx')}`,
    `Virtual frame settings: number of merged frames:  ${nMerged}`,
    `                        step between frames:      ${step}`,
    '                        sum all intensities:      1',
    ';',
  ];
}

const ZONE_AXIS_ITEMS = ['id', 'u', 'v', 'w', 'precession_angle', 'alpha', 'beta', 'omega', 'scale'];
const REFLN_ITEMS = ['index_h', 'index_k', 'index_l', 'intensity_meas', 'intensity_sigma', 'zone_axis_id'];

/** One `_diffrn_zone_axis_` row: id (4 wide), u v w (8.5f), precession (12.3f), α β ω scale (9.3f). */
function zoneAxisRow(z: PetsZoneAxis, n: number): string {
  const at = (key: keyof PetsZoneAxis, d: number, width: number): string => cifFixed(z[key], d, `zoneAxes[${n}].${key}`).padStart(width);
  return [
    String(positiveInteger(z.id, `zoneAxes[${n}].id`)).padStart(4),
    at('u', 5, 8),
    at('v', 5, 8),
    at('w', 5, 8),
    at('precessionAngleDeg', 3, 12),
    at('alphaDeg', 3, 9),
    at('betaDeg', 3, 9),
    at('omegaDeg', 3, 9),
    at('scale', 3, 9),
  ].join(' ');
}

/** One `_refln_` row: a leading space, h k l (3 wide), I and σ (11.2f), zone-axis id (5 wide). */
function reflnRow(r: PetsReflection, n: number, ids: ReadonlySet<number>): string {
  const hkl = (['h', 'k', 'l'] as const).map((key) => String(integer(r[key], `reflections[${n}].${key}`)).padStart(3));
  const intensity = cifFixed(r.intensity, 2, `reflections[${n}].intensity`).padStart(11);
  const sigma = cifFixed(nonNegative(r.sigma, `reflections[${n}].sigma`), 2, `reflections[${n}].sigma`).padStart(11);
  if (!ids.has(r.zoneAxisId)) throw new ParameterError(`reflections[${n}].zoneAxisId`, `reflection ${r.h} ${r.k} ${r.l} refers to zone axis ${r.zoneAxisId}, which has no row`);
  return [` ${hkl[0]}`, hkl[1], hkl[2], intensity, sigma, String(r.zoneAxisId).padStart(5)].join(' ');
}

/** The `.cif_pets` text. */
export function formatCifPets(c: CifPetsInput): string {
  checkCifBlockName(c.name);
  if (!(finite(c.wavelengthA, 'wavelengthA') > 0)) throw new ParameterError('wavelengthA', `${c.wavelengthA} is not a wavelength`);
  const volume = cellVolumeA3(c.cell);
  if (c.zoneAxes.length === 0) throw new ParameterError('zoneAxes', 'no virtual frame to write');
  if (c.reflections.length === 0) throw new ParameterError('reflections', 'no reflection to write');
  const ids = new Set<number>();
  const zoneRows = c.zoneAxes.map((z, n) => {
    const row = zoneAxisRow(z, n);
    if (ids.has(z.id)) throw new ParameterError(`zoneAxes[${n}].id`, `zone axis id ${z.id} appears twice`);
    ids.add(z.id);
    return row;
  });
  const pair = (item: string, v: number, field: string): string => `${item} ${cifFixed(v, 5, field)}`;
  const lines = [
    `data_${c.name}`,
    pair('_cell_length_a', c.cell.a, 'cell.a'),
    pair('_cell_length_b', c.cell.b, 'cell.b'),
    pair('_cell_length_c', c.cell.c, 'cell.c'),
    pair('_cell_angle_alpha', c.cell.alpha, 'cell.alpha'),
    pair('_cell_angle_beta', c.cell.beta, 'cell.beta'),
    pair('_cell_angle_gamma', c.cell.gamma, 'cell.gamma'),
    pair('_cell_volume', volume, 'cell'),
    pair('_diffrn_radiation_wavelength', c.wavelengthA, 'wavelengthA'),
    ...[0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => pair(`_diffrn_orient_matrix_UB_${i + 1}${j + 1}`, c.ub[i]![j]!, `ub[${i}][${j}]`))),
    pair('_diffrn_pets_omega', c.omegaDeg, 'omegaDeg'),
    '_diffrn_measurement_details',
    ...measurementDetails(c),
    '',
    'loop_',
    ...ZONE_AXIS_ITEMS.map((item) => `_diffrn_zone_axis_${item}`),
    ...zoneRows,
    '',
    'loop_',
    ...REFLN_ITEMS.map((item) => `_refln_${item}`),
    ...c.reflections.map((r, n) => reflnRow(r, n, ids)),
  ];
  return `${lines.join('\n')}\n`;
}
