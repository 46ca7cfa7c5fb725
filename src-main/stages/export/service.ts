// The export stage: what PETS2, DIALS, XDS and Python users read, written from an extraction (frames/ with NAME.pts2,
// smv/ with XDS.INP, extracted.h5) and from the curated masks (masks/ PNGs and masks.h5). File formats live in
// io/export/ and io/write-masks.ts; this stage decides what goes where (docs/ARCHITECTURE.md, "Contracts").

import { join } from 'node:path';
import { exportObject, writeExtractedHdf5, type ExportObjectResult } from '../../io/export';
import { writeMaskPngs, writeMasksH5, type MaskObject } from '../../io/write-masks';
import type { ExtractResult } from '../extraction';

export interface WrittenExports {
  objects: Array<ExportObjectResult & { objectId: number; dir: string }>;
  hdf5: string;
}

/** One object: frames/, NAME.pts2, smv/ in `outDir`; several: one folder per object; extracted.h5 beside them. */
export async function writeExports(result: ExtractResult, outDir: string, signal?: AbortSignal): Promise<WrittenExports> {
  const objects: WrittenExports['objects'] = [];
  for (const s of result.series) {
    const dir = result.series.length === 1 ? outDir : join(outDir, s.name.replace(/[^A-Za-z0-9_.-]+/g, '_') || `object_${s.objectId}`);
    objects.push({ ...exportObject(s, dir, { tiff16: false, ...(signal ? { signal } : {}) }), objectId: s.objectId, dir });
  }
  const hdf5 = join(outDir, 'extracted.h5');
  await writeExtractedHdf5(hdf5, result.series);
  return { objects, hdf5 };
}

export interface MaskSeries {
  nTilts: number;
  scanShape: [number, number];
  anglesDeg: number[];
  /** Where the series came from (recorded in masks.h5). */
  source: string;
}

/** masks/ in `outDir`: one PNG per tilt and object, and masks.h5. */
export async function writeMasks(objects: readonly MaskObject[], series: MaskSeries, outDir: string): Promise<{ h5: string; pngs: number }> {
  const h5 = join(outDir, 'masks', 'masks.h5');
  const pngs = writeMaskPngs(join(outDir, 'masks'), objects, series.nTilts, series.scanShape);
  await writeMasksH5(h5, objects, series.nTilts, series.scanShape, series.anglesDeg, { series: series.source });
  return { h5, pngs: pngs.length };
}
