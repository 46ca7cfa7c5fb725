// A PETS2 project (.pts2) for a stepwise ("static") tilt series of TIFF frames (FORMATS §3: keywords as PETS2
// writes them — `lambda`, `aperpixel`, `detector`, `geometry`, `phi`, `omega ω g l`, `bin`, `center`, `centermode`,
// `saturationlimit`, and `imagelist` … `endimagelist` with one `"frames/0001.tif" α` line per frame; a new project
// needs only the name and α of each frame, PETS fills the other imagelist columns itself).
// Everything not written keeps PETS2's own default.

import { writeFileAtomicSync } from '../atomic';
import type { ExportCalibration } from './geometry';

export interface Pts2Frame {
  /** Path relative to the .pts2 file, e.g. `frames/0001.tif`. */
  path: string;
  angleDeg: number;
}

export interface Pts2Options {
  calibration: ExportCalibration;
  frames: readonly Pts2Frame[];
  /** Beam centre on the first frame, detector pixels; omitted → `center AUTO`. */
  centre?: readonly [number, number];
  /** PETS detector type (default 'default'). */
  detector?: 'default' | 'asi' | 'olympus' | 'cetad';
  /** Above this a pixel counts as saturated (default 64000, PETS's own). */
  saturationLimit?: number;
  /** Free text for the project notes (object name, scale factor of 16-bit frames…). */
  notes?: string;
  /** Reflection diameter in pixels (PETS default 8). */
  reflectionSize?: number;
}

const f = (v: number, d: number): string => v.toFixed(d);

/** The .pts2 text. */
export function formatPts2(o: Pts2Options): string {
  const c = o.calibration;
  const axisKnown = c.rotationAxisDeg !== undefined && Number.isFinite(c.rotationAxisDeg);
  // omega ω g l: g = global search, l = local refinement. A known axis is refined locally only; an unknown one is
  // searched for from 0.
  const omega = axisKnown ? `omega  ${f(c.rotationAxisDeg as number, 4)} 0 1` : 'omega  0.0000 1 1';
  const lines: string[] = [
    '# PETS2 project written by trackED (stepwise 4D-STEM tomography; one summed pattern per tilt)',
    '',
    '# wavelength in angstroms',
    `lambda  ${f(c.wavelengthA, 8)}`,
    '',
    '# image calibration in reciprocal angstroms per pixel',
    `aperpixel  ${f(c.reciprocalPixelInvA, 8)}`,
    '',
    `detector ${o.detector ?? 'default'}`,
    '',
    ...(c.exposureS !== undefined ? ['# exposure time per frame in seconds', `exposureperframe  ${f(c.exposureS, 6)}`, ''] : []),
    '# each frame is a still at one tilt: static geometry, no precession',
    'geometry static',
    'phi  0.00000',
    '',
    '# angle between the horizontal image axis and the tilt axis; search and refinement flags',
    omega,
    '',
    'bin  1',
    `reflectionsize  ${f(o.reflectionSize ?? 8, 1)}`,
    '',
    `center ${o.centre ? `${f(o.centre[0], 4)} ${f(o.centre[1], 4)}` : 'AUTO'}`,
    'centermode centralbeam',
    '',
    `saturationlimit  ${Math.round(o.saturationLimit ?? 64000)}`,
    '',
    ...(o.notes ? ['notes', ...o.notes.split('\n').map((l) => l.slice(0, 200)), 'endnotes', ''] : []),
    'imagelist',
    ...o.frames.map((fr) => `"${fr.path}"  ${f(fr.angleDeg, 4)}`),
    'endimagelist',
    '',
  ];
  return lines.join('\n');
}

/** Writes the project atomically. */
export function writePts2(path: string, o: Pts2Options): void {
  writeFileAtomicSync(path, formatPts2(o));
}
