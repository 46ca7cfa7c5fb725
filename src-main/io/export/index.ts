// Exports of extracted series to the processors users know, in the `tracked run` layout (ARCHITECTURE §6):
//   DIR/frames/0001.tif …   32-bit float TIFF (frames16/ with 16-bit rescaled TIFF on request)
//   DIR/NAME.pts2           PETS2 project over frames/
//   DIR/smv/NAME_0001.img … SMV for DIALS/XDS, with XDS.INP and README.txt
//   DIR/extracted.h5        written separately (writeExtractedHdf5), one file for all objects

import { join } from 'node:path';
import { ParameterError } from '../../../src-shared/errors';

import { extractedTilts, writeTiffFrames, type WrittenFrames } from './frames';
import { centreOf, fallbackCentre, resolveCalibration, type ExportCalibration } from './geometry';
import { writePts2 } from './pts2';
import { writeSmvSeries, type WrittenSmv } from './smv';
import type { ExtractedSeries } from '../../../src-shared/domain';

export { encodeTiff, encodeTiffPages, toUint16, uint16Scale, type TiffOptions, type TiffPage } from './tiff';
export { extractedTilts, frameNumber, writeTiffFrames, type FrameFile, type TiffFramesOptions, type WrittenFrames } from './frames';
export { formatPts2, writePts2, type Pts2Frame, type Pts2Options } from './pts2';
export { countsOnCentre, encodeSmv, parseSmvHeader, SMV_OVERLOAD, writeSmvSeries, type SmvSeriesOptions, type WrittenSmv } from './smv';
export { writeExtractedHdf5, type Hdf5ExportOptions } from './hdf5';
export { formatHklf4, hklfScale, type HklfOptions, type HklfReflection } from './hklf';
export { formatReflnCif, type ReflnCifInput } from './refln-cif';
export { formatIns, insInstruction, type InsInput, type InsSfacFit } from './shelx-ins';
export { formatCifPets, PETS_GEOMETRY, zoneAxisOf, type CifPetsInput, type PetsReflection, type PetsZoneAxis } from './cif-pets';
export {
  centreOf,
  equivalentDistanceMm,
  fallbackCentre,
  oscillationOf,
  resolveCalibration,
  type ExportCalibration,
  type Oscillation,
} from './geometry';

export interface ExportObjectOptions {
  /** File stem for NAME.pts2 and smv/NAME_0001.img (default: the object's name made file-safe). */
  name?: string;
  /** Overrides of the series' calibration (wavelength, aperpixel, axis, exposure). */
  calibration?: Partial<ExportCalibration>;
  /** Also write 16-bit rescaled TIFFs into frames16/ (default false). */
  tiff16?: boolean;
  /** Write smv/ (default true). */
  smv?: boolean;
  /** SMV PIXEL_SIZE in mm (default 0.055). */
  pixelSizeMm?: number;
  signal?: AbortSignal;
}

export interface ExportObjectResult {
  name: string;
  frames: WrittenFrames;
  frames16?: WrittenFrames;
  /** Absent when the calibration lacks the wavelength or the reciprocal pixel size (see warnings). */
  pts2?: string;
  smv?: WrittenSmv;
  warnings: string[];
}

/** Writes frames/, NAME.pts2 and smv/ for one object into `dir`. */
export function exportObject(s: ExtractedSeries, dir: string, o: ExportObjectOptions = {}): ExportObjectResult {
  const name = o.name ?? (s.name.replace(/[^A-Za-z0-9_.-]+/g, '_') || `object_${s.objectId}`);
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ParameterError('name', `'${name}' is not a plain file name`);
  const tilts = extractedTilts(s);
  if (tilts.length === 0) throw new ParameterError('series', `object '${s.name}' has no extracted frames`);
  const warnings: string[] = [];
  const frames = writeTiffFrames(s, join(dir, 'frames'), { depth: 'float32', signal: o.signal });
  const frames16 = o.tiff16 ? writeTiffFrames(s, join(dir, 'frames16'), { depth: 'uint16', signal: o.signal }) : undefined;
  let cal: ExportCalibration;
  try {
    cal = resolveCalibration(s.calibration, o.calibration);
  } catch (e) {
    if (!(e instanceof ParameterError)) throw e;
    // PETS2 and DIALS/XDS need the geometry; the frames do not.
    warnings.push(`${name}: no .pts2 and no smv/ (${e.message}: record it in series.json, or tracked run --voltage KV --q-pixel INV_A); frames/ written`);
    return { name, frames, frames16, warnings };
  }
  const pts2 = join(dir, `${name}.pts2`);
  writePts2(pts2, {
    calibration: cal,
    frames: frames.files.map((f) => ({ path: `frames/${f.file}`, angleDeg: f.angleDeg })),
    centre: centreOf(s, tilts[0], fallbackCentre(s)),
    // Float frames are never clipped: set the limit above the brightest pixel so nothing reads as saturated.
    saturationLimit: Math.max(64000, Math.ceil(frames.maxStored * 1.01) + 1),
    notes: `trackED object ${s.objectId} '${s.name}': ${s.statistic} of the patterns inside its mask; background ${s.background.method}`,
  });
  let smv: WrittenSmv | undefined;
  if (o.smv ?? true) {
    smv = writeSmvSeries(s, join(dir, 'smv'), { calibration: cal, stem: name, pixelSizeMm: o.pixelSizeMm, signal: o.signal });
    warnings.push(...smv.warnings);
  }
  return { name, frames, frames16, pts2, smv, warnings };
}
