// SMV (ADSC) frames for DIALS and XDS, plus an XDS.INP skeleton and a README with the DIALS import line.
//
// What the readers need (dxtbx FormatSMV / FormatSMVADSC, cctbx/dxtbx src/dxtbx/format/):
// - the file starts with exactly "{\nHEADER_BYTES=" and the header is `KEY=VALUE;` records, one per line, closed by
//   a line holding only "}" — values must not contain '=' or ';'. HEADER_BYTES is a multiple of 512 (ADSC practice).
// - FormatSMVADSC.understand() wants BEAM_CENTER_X, BEAM_CENTER_Y, DISTANCE, WAVELENGTH, PIXEL_SIZE, OSC_START,
//   OSC_RANGE, SIZE1, SIZE2, BYTE_ORDER; its scan model also reads TIME. Data are unsigned 16-bit, SIZE1 fast
//   (columns, qx), SIZE2 slow (rows, qy).
// - Beam centre, "Mosflm convention": dxtbx builds the detector with beam centre (BEAM_CENTER_Y, BEAM_CENTER_X) as
//   (fast, slow) millimetres from the corner of the first pixel, fast = +x, slow = −y. So BEAM_CENTER_X is the slow
//   (row) coordinate and BEAM_CENTER_Y the fast (column) one, and a pixel *centre* at our index c (ARCHITECTURE §4: pixel
//   centres at integers) lies (c + 0.5) pixels from the corner.
// - DISTANCE: the equivalent distance p / (λ·s) (geometry.ts), so that DIALS/XDS see the right reciprocal pixel size.
// - Oscillation: frame t is a still at α_t. It is written as the wedge centred on it, OSC_START = α_t − Δ/2,
//   OSC_RANGE = Δ (the tilt step), which makes consecutive frames contiguous — what DIALS needs to build one sweep and
//   XDS assumes (FORMATS §4: treat stepwise frames as contiguous). On a regular series α_t is taken on the grid
//   α_0 + tΔ so the wedges abut exactly. A descending series (Δ < 0) is written as rotation by −α about the reversed
//   axis (the same physical rotation), so OSC_RANGE is always positive; TRACKED_ANGLE_DEG keeps the true α_t.
//
// What the export guarantees (README "SMV export"), so that DIALS reads the frames as one sweep and models them
// as counts:
// - pixel values are counts: the summed counts, rounded to whole numbers (exact for summed detector counts), with
//   GAIN=1; pixels above 65535 are written as 65535, which dxtbx (trusted range up to 65535 − pedestal) and XDS
//   (OVERLOAD=65535) treat as overloaded — in practice the direct beam. Nothing is rescaled.
// - one geometry: every frame is moved by whole pixels so that its direct beam lies on one common centre (the
//   median of the frames' centres) and that centre is in every header. Whole-pixel moves keep the counts exact;
//   what is left (under half a pixel) is in TRACKED_RESIDUAL_X/Y. Pixels moved in from outside the detector are 0.
// - every tilt has a frame, numbered by tilt; a tilt with no data (excluded, or an empty mask) is an all-zero frame
//   with TRACKED_EMPTY=1, listed in README.txt and left out of XDS's data range with EXCLUDE_DATA_RANGE.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ParameterError, throwIfAborted } from '../../../src-shared/errors';
import { writeFileAtomicSync } from '../atomic';

import { extractedTilts, frameNumber } from './frames';
import { centreOf, equivalentDistanceMm, fallbackCentre, oscillationOf, type ExportCalibration } from './geometry';
import { NATIVE_LITTLE_ENDIAN } from '../../../src-shared/pixels';
import type { ExtractedSeries } from '../../../src-shared/domain';

/** Encodes one SMV image: header padded to a multiple of 512 bytes, then little-endian uint16 pixels. */
export function encodeSmv(data: Uint16Array, width: number, height: number, fields: ReadonlyArray<readonly [string, string | number]>): Uint8Array {
  if (data.length !== width * height) throw new RangeError(`SMV data has ${data.length} values for ${width}×${height}`);
  const body = [
    ['DIM', 2],
    ['BYTE_ORDER', 'little_endian'],
    ['TYPE', 'unsigned_short'],
    ['SIZE1', width],
    ['SIZE2', height],
    ...fields,
  ] as ReadonlyArray<readonly [string, string | number]>;
  for (const [k, v] of body) {
    if (/[=;\n}]/.test(k) || /[=;\n}]/.test(String(v))) throw new ParameterError('smv header', `record ${k}=${v} would break the SMV header`);
  }
  const recs = body.map(([k, v]) => `${k}=${v};\n`).join('');
  // HEADER_BYTES is written in a fixed width so that its own length does not depend on the value.
  const fixed = `{\nHEADER_BYTES=${' '.repeat(5)};\n${recs}}\n`.length;
  const headerBytes = Math.ceil(fixed / 512) * 512;
  const text = `{\nHEADER_BYTES=${String(headerBytes).padStart(5, ' ')};\n${recs}}\n`;
  const out = new Uint8Array(headerBytes + data.length * 2);
  out.fill(0x20, 0, headerBytes); // pad with spaces, as ADSC does
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  if (NATIVE_LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), headerBytes);
  else {
    const dv = new DataView(out.buffer);
    for (let i = 0; i < data.length; i++) dv.setUint16(headerBytes + 2 * i, data[i], true);
  }
  return out;
}

/** Parses an SMV header (for tests and for reading our own files back). */
export function parseSmvHeader(bytes: Uint8Array): { headerBytes: number; fields: Record<string, string> } {
  const head = String.fromCharCode(...bytes.subarray(0, Math.min(bytes.length, 64)));
  if (!head.startsWith('{\nHEADER_BYTES=')) throw new ParameterError('smv', 'not an SMV file (no "{\\nHEADER_BYTES=")');
  const headerBytes = parseInt(head.split('\n')[1].split('=')[1].replace(';', '').trim(), 10);
  const text = String.fromCharCode(...bytes.subarray(0, headerBytes));
  const fields: Record<string, string> = {};
  for (const rec of text.split('\n')) {
    if (rec === '}') break;
    if (!rec.includes('=')) continue;
    const [k, v] = rec.replace(';', '').split('=');
    fields[k.trim()] = v.trim();
  }
  return { headerBytes, fields };
}

export interface SmvSeriesOptions {
  calibration: ExportCalibration;
  /** Detector pixel size written as PIXEL_SIZE (mm). Any value works — DISTANCE follows it; default 0.055 (Medipix/Timepix). */
  pixelSizeMm?: number;
  /** File name stem: files are `${stem}_0001.img`… (default 'frame'). */
  stem?: string;
  signal?: AbortSignal;
}

export interface WrittenSmv {
  dir: string;
  files: string[];
  /** The direct-beam centre every header holds, detector pixels (pixel centres at integers). */
  commonCentre: [number, number];
  /** Per tilt, the whole-pixel move [dx, dy] applied to its frame (0 for empty frames). */
  shifts: Array<[number, number]>;
  /** Tilts written as empty frames (no data). */
  emptyTilts: number[];
  /** Pixels written as overloaded (65535), over all frames. */
  overloadedPixels: number;
  distanceMm: number;
  pixelSizeMm: number;
  oscillationStepDeg: number;
  /** True when the axis was reversed to write a descending series with positive OSC_RANGE. */
  axisReversed: boolean;
  /** Things the user should know (irregular angles, frames without a centre fit, non-integer values). */
  warnings: string[];
}

/** Largest value an SMV pixel holds; dxtbx and XDS treat it as overloaded. */
export const SMV_OVERLOAD = 65535;

/**
 * Frame data as whole counts on the common centre: moved by (dx, dy) whole pixels, rounded, clipped at 0 and at
 * SMV_OVERLOAD. Returns the pixels and how many were overloaded and how many were not whole numbers.
 */
export function countsOnCentre(frame: ArrayLike<number>, nqy: number, nqx: number, dx: number, dy: number): { data: Uint16Array; overloaded: number; fractional: number } {
  const data = new Uint16Array(nqy * nqx);
  let overloaded = 0;
  let fractional = 0;
  for (let y = 0; y < nqy; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= nqy) continue;
    for (let x = 0; x < nqx; x++) {
      const sx = x - dx;
      if (sx < 0 || sx >= nqx) continue;
      const v = frame[sy * nqx + sx];
      const r = Math.round(v);
      if (Math.abs(v - r) > 1e-3) fractional++;
      if (!(r > 0)) continue;
      if (r >= SMV_OVERLOAD) {
        data[y * nqx + x] = SMV_OVERLOAD;
        overloaded++;
      } else data[y * nqx + x] = r;
    }
  }
  return { data, overloaded, fractional };
}

/** Writes `dir/${stem}_0001.img`… (one per tilt), plus `XDS.INP` and `README.txt`. */
export function writeSmvSeries(s: ExtractedSeries, dir: string, o: SmvSeriesOptions): WrittenSmv {
  const cal = o.calibration;
  const pixelSizeMm = o.pixelSizeMm ?? 0.055;
  if (!(pixelSizeMm > 0)) throw new ParameterError('pixelSizeMm', 'must be positive');
  const stem = o.stem ?? 'frame';
  if (!/^[A-Za-z0-9_.-]+$/.test(stem)) throw new ParameterError('stem', `'${stem}' is not a plain file-name stem`);
  const [nqy, nqx] = s.detectorShape;
  const npix = nqy * nqx;
  const tilts = extractedTilts(s);
  const warnings: string[] = [];
  if (tilts.length === 0) throw new ParameterError('series', `object '${s.name}' has no extracted frames`);
  mkdirSync(dir, { recursive: true });

  // One tilt (a single 4D scan) is a still: OSC_RANGE 0, which dxtbx reads as a still image.
  const osc = s.nTilts > 1 ? oscillationOf(s.anglesDeg) : { stepDeg: 0, regular: true, maxDeviationDeg: 0 };
  if (s.nTilts > 1 && osc.stepDeg === 0) throw new ParameterError('anglesDeg', 'first and last tilt have the same angle; no oscillation step');
  if (!osc.regular) {
    warnings.push(
      `tilt angles deviate from a regular ${osc.stepDeg.toFixed(4)}° grid by up to ${osc.maxDeviationDeg.toFixed(4)}°; OSC_START follows the true angles, so DIALS may split the series into several sweeps`,
    );
  }
  const reversed = osc.stepDeg < 0;
  const sign = reversed ? -1 : 1;
  const range = Math.abs(osc.stepDeg);
  const phiOf = (t: number): number => sign * (osc.regular ? s.anglesDeg[0] + t * osc.stepDeg : s.anglesDeg[t]);
  const distanceMm = equivalentDistanceMm(pixelSizeMm, cal.wavelengthA, cal.reciprocalPixelInvA);

  const common = fallbackCentre(s);
  const files: string[] = [];
  const shifts: Array<[number, number]> = [];
  const emptyTilts: number[] = [];
  let noCentre = 0;
  let overloadedPixels = 0;
  let fractional = 0;
  for (let t = 0; t < s.nTilts; t++) {
    throwIfAborted(o.signal);
    const has = s.included[t] === 1 && s.probeCount[t] > 0;
    let dx = 0;
    let dy = 0;
    let residual: [number, number] = [0, 0];
    let data: Uint16Array = new Uint16Array(npix);
    if (has) {
      if (!Number.isFinite(s.beamCentre[2 * t])) noCentre++;
      const [cx, cy] = centreOf(s, t, common);
      dx = Math.round(common[0] - cx) || 0; // never −0
      dy = Math.round(common[1] - cy) || 0;
      residual = [cx + dx - common[0], cy + dy - common[1]];
      const c = countsOnCentre(s.frames.subarray(t * npix, (t + 1) * npix), nqy, nqx, dx, dy);
      data = c.data;
      overloadedPixels += c.overloaded;
      fractional += c.fractional;
    } else emptyTilts.push(t);
    shifts.push([dx, dy]);
    const start = phiOf(t) - range / 2;
    const fields: Array<[string, string | number]> = [
      ['PIXEL_SIZE', pixelSizeMm.toFixed(6)],
      ['DISTANCE', distanceMm.toFixed(4)],
      ['WAVELENGTH', cal.wavelengthA.toFixed(8)],
      ['BEAM_CENTER_X', ((common[1] + 0.5) * pixelSizeMm).toFixed(6)],
      ['BEAM_CENTER_Y', ((common[0] + 0.5) * pixelSizeMm).toFixed(6)],
      ['PHI', start.toFixed(6)],
      ['OSC_START', start.toFixed(6)],
      ['OSC_RANGE', range.toFixed(6)],
      ['TWOTHETA', '0.000000'],
      ['AXIS', 'phi'],
      ['TIME', (cal.exposureS ?? 1).toFixed(6)],
      ['DETECTOR_SN', 'unknown'],
      ['BIN', 'none'],
      ['IMAGE_PEDESTAL', 0],
      ['GAIN', '1.0'],
      ['TRACKED_OBJECT', s.name.replace(/[^A-Za-z0-9_.-]/g, '_') || String(s.objectId)],
      ['TRACKED_TILT_INDEX', t],
      ['TRACKED_ANGLE_DEG', s.anglesDeg[t].toFixed(6)],
      ['TRACKED_PROBE_COUNT', s.probeCount[t]],
      ['TRACKED_EMPTY', has ? 0 : 1],
      ['TRACKED_SHIFT_X', dx],
      ['TRACKED_SHIFT_Y', dy],
      ['TRACKED_RESIDUAL_X', residual[0].toFixed(3)],
      ['TRACKED_RESIDUAL_Y', residual[1].toFixed(3)],
    ];
    const file = `${stem}_${frameNumber(t)}.img`;
    writeFileAtomicSync(join(dir, file), encodeSmv(data, nqx, nqy, fields));
    files.push(file);
  }
  if (noCentre > 0) warnings.push(`${noCentre} frame(s) had no beam-centre fit; they are not moved (the common centre is assumed)`);
  if (fractional > 0) {
    warnings.push(
      `${fractional} pixel value(s) were not whole counts (background subtraction or dose normalisation); they were rounded, so DIALS's counting statistics are approximate — export without them for integration`,
    );
  }
  writeFileAtomicSync(
    join(dir, 'XDS.INP'),
    formatXdsInp({ s, stem, tilts, emptyTilts, cal, pixelSizeMm, distanceMm, range, phi0: phiOf(0) - range / 2, sign, centre: common }),
  );
  writeFileAtomicSync(
    join(dir, 'README.txt'),
    formatReadme({ s, stem, cal, sign, distanceMm, pixelSizeMm, warnings, common, shifts, emptyTilts, overloadedPixels }),
  );
  return {
    dir,
    files,
    commonCentre: common,
    shifts,
    emptyTilts,
    overloadedPixels,
    distanceMm,
    pixelSizeMm,
    oscillationStepDeg: osc.stepDeg,
    axisReversed: reversed,
    warnings,
  };
}

/** The rotation axis in our lab frame (ARCHITECTURE §4), times `sign`; null when unknown. */
function axisVector(cal: ExportCalibration, sign: number): [number, number, number] | null {
  if (cal.rotationAxisDeg === undefined || !Number.isFinite(cal.rotationAxisDeg)) return null;
  const a = (cal.rotationAxisDeg * Math.PI) / 180;
  return [sign * Math.cos(a), sign * Math.sin(a), 0];
}

const n6 = (v: number): string => (Math.abs(v) < 5e-7 ? 0 : v).toFixed(6);

interface XdsArgs {
  s: ExtractedSeries;
  stem: string;
  tilts: number[];
  emptyTilts: number[];
  cal: ExportCalibration;
  pixelSizeMm: number;
  distanceMm: number;
  range: number;
  phi0: number;
  sign: number;
  centre: [number, number];
}

/**
 * XDS.INP skeleton (FORMATS §4). XDS's detector frame is ours (X along the fast axis +qx, Y along the slow axis
 * +qy, beam along +Z towards the detector), so the axis vector is written as it is. ORGX/ORGY are the beam position
 * in pixels measured from the detector corner, BEAM_CENTER_Y/QX and BEAM_CENTER_X/QY as generate_XDS.INP reads
 * ADSC headers. Every tilt has a frame; the empty ones are left out with EXCLUDE_DATA_RANGE.
 */
function formatXdsInp(a: XdsArgs): string {
  const n = a.s.nTilts;
  const [nqy, nqx] = a.s.detectorShape;
  const axis = axisVector(a.cal, a.sign);
  const first = 1;
  const last = n;
  const missing: Array<[number, number]> = [];
  for (const t of a.emptyTilts) {
    const prev = missing[missing.length - 1];
    if (prev && prev[1] === t) prev[1] = t + 1;
    else missing.push([t + 1, t + 1]);
  }
  return [
    `! XDS.INP skeleton written by trackED for object '${a.s.name}' (${n} tilts, electron diffraction, stepwise tilt).`,
    '! Check ROTATION_AXIS (and refine it), the space group and the cell before trusting CORRECT.',
    'JOB= XYCORR INIT COLSPOT IDXREF DEFPIX INTEGRATE CORRECT',
    `NAME_TEMPLATE_OF_DATA_FRAMES= ${a.stem}_????.img SMV`,
    `DATA_RANGE= ${first} ${last}`,
    `SPOT_RANGE= ${first} ${last}`,
    `BACKGROUND_RANGE= ${a.tilts[0] + 1} ${Math.min(last, a.tilts[0] + 10)}`,
    ...missing.map(([p, q]) => `EXCLUDE_DATA_RANGE= ${p} ${q}`),
    `STARTING_FRAME= 1`,
    `STARTING_ANGLE= ${n6(a.phi0)}`,
    `OSCILLATION_RANGE= ${n6(a.range)}`,
    axis ? `ROTATION_AXIS= ${n6(axis[0])} ${n6(axis[1])} ${n6(axis[2])}` : '! ROTATION_AXIS= unknown: determine it (e.g. dials.find_rotation_axis) and fill in',
    `X-RAY_WAVELENGTH= ${a.cal.wavelengthA.toFixed(8)}`,
    `DETECTOR= ADSC  MINIMUM_VALID_PIXEL_VALUE= 0  OVERLOAD= 65535`,
    `NX= ${nqx}  NY= ${nqy}  QX= ${a.pixelSizeMm.toFixed(6)}  QY= ${a.pixelSizeMm.toFixed(6)}`,
    `ORGX= ${(a.centre[0] + 0.5).toFixed(3)}  ORGY= ${(a.centre[1] + 0.5).toFixed(3)}`,
    `DETECTOR_DISTANCE= ${a.distanceMm.toFixed(4)}`,
    'DIRECTION_OF_DETECTOR_X-AXIS= 1 0 0',
    'DIRECTION_OF_DETECTOR_Y-AXIS= 0 1 0',
    'INCIDENT_BEAM_DIRECTION= 0 0 1',
    '! electrons: unpolarised, thin sensor',
    'FRACTION_OF_POLARIZATION= 0.5',
    'POLARIZATION_PLANE_NORMAL= 0 1 0',
    'SENSOR_THICKNESS= 0.01',
    'TRUSTED_REGION= 0.0 1.41',
    'INCLUDE_RESOLUTION_RANGE= 50 0',
    'SPACE_GROUP_NUMBER= 0',
    'UNIT_CELL_CONSTANTS= 0 0 0 0 0 0',
    'REFINE(IDXREF)= CELL BEAM ORIENTATION AXIS',
    'REFINE(INTEGRATE)= BEAM ORIENTATION',
    'REFINE(CORRECT)= CELL BEAM ORIENTATION AXIS',
    '',
  ].join('\n');
}

interface ReadmeArgs {
  s: ExtractedSeries;
  stem: string;
  cal: ExportCalibration;
  sign: number;
  distanceMm: number;
  pixelSizeMm: number;
  warnings: string[];
  common: [number, number];
  shifts: Array<[number, number]>;
  emptyTilts: number[];
  overloadedPixels: number;
}

/** Tilt indices as 1-based frame ranges: "3, 7-9". */
function frameRanges(tilts: readonly number[]): string {
  const out: string[] = [];
  for (let k = 0; k < tilts.length; ) {
    let j = k;
    while (j + 1 < tilts.length && tilts[j + 1] === tilts[j] + 1) j++;
    out.push(j > k ? `${tilts[k] + 1}-${tilts[j] + 1}` : `${tilts[k] + 1}`);
    k = j + 1;
  }
  return out.join(', ');
}

/**
 * README with the DIALS commands. dxtbx's lab frame for ADSC has fast = +x, slow = −y and the beam along −z, so
 * our (X, Y, Z) maps to (x, −y, −z) — a 180° rotation about x, which keeps rotations right-handed: our axis
 * (cos ω, sin ω, 0) becomes (cos ω, −sin ω, 0).
 */
function formatReadme(a: ReadmeArgs): string {
  const axis = axisVector(a.cal, a.sign);
  const dialsAxis = axis ? `${n6(axis[0])},${n6(-axis[1])},0` : null;
  const moved = a.shifts.filter(([dx, dy]) => dx !== 0 || dy !== 0).length;
  const maxMove = a.shifts.reduce((m, [dx, dy]) => Math.max(m, Math.abs(dx), Math.abs(dy)), 0);
  return [
    `SMV frames of object '${a.s.name}' extracted by trackED (one summed 4D-STEM pattern per tilt).`,
    '',
    `Files: ${a.stem}_0001.img … ${a.stem}_${frameNumber(a.s.nTilts - 1)}.img, one per tilt (tilt t -> frame t+1).`,
    a.emptyTilts.length
      ? `Frames with no data (excluded or empty mask; all zero, header TRACKED_EMPTY=1): ${frameRanges(a.emptyTilts)}.`
      : 'Every frame holds data.',
    'Intensities: counts (the summed detector counts, GAIN=1), unsigned 16-bit, not rescaled. Values above 65535 are',
    `written as 65535 and read as overloaded by DIALS and XDS (${a.overloadedPixels} pixel(s) in all, in practice the direct beam).`,
    `Beam centre: one for every frame, (${a.common[0].toFixed(2)}, ${a.common[1].toFixed(2)}) px (column, row; pixel centres at integers).`,
    `Each frame was moved by whole pixels so that its own direct beam lies there (${moved} frame(s) moved, at most ${maxMove} px);`,
    'the sub-pixel remainder is in TRACKED_RESIDUAL_X/Y, the move in TRACKED_SHIFT_X/Y.',
    `Geometry: wavelength ${a.cal.wavelengthA.toFixed(6)} A, ${a.cal.reciprocalPixelInvA} A^-1 per pixel, written as pixel ${a.pixelSizeMm} mm`,
    `at an equivalent distance of ${a.distanceMm.toFixed(3)} mm (= pixel / (wavelength * A^-1 per pixel)).`,
    'Each frame is a still at one tilt, written as the wedge of one tilt step centred on it (OSC_START = angle - step/2).',
    a.sign < 0 ? 'The tilt angles decrease; they are written negated about the reversed axis (same rotation), so OSC_RANGE > 0.' : '',
    '',
    'DIALS (run in this folder):',
    dialsAxis
      ? `  dials.import ${a.stem}_*.img goniometer.axis=${dialsAxis}`
      : `  dials.import ${a.stem}_*.img        (rotation axis unknown: run dials.find_rotation_axis after indexing)`,
    '  dials.find_spots imported.expt spotfinder.threshold.dispersion.kernel_size=2,2',
    '  dials.index imported.expt strong.refl detector.fix=distance',
    '  (for ED the distance and the cell correlate: keep the distance fixed when refining)',
    '',
    'XDS: XDS.INP in this folder is a skeleton with the same geometry; run xds_par here.',
    ...(a.warnings.length ? ['', 'Warnings:', ...a.warnings.map((w) => `  ${w}`)] : []),
    '',
  ].join('\n');
}
