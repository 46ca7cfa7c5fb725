// The steps after tracking, shared by `tracked run` and the app: extract every enabled object's frames in
// one pass over the raw data, then write what PETS2, DIALS, XDS and Python users read.
import { join } from 'node:path';
import { extractSeries, type ExtractOptions, type ExtractResult, type ExtractionObject } from './';
import { exportObject, writeExtractedHdf5, type ExportObjectResult } from '../../io/export';
import { writeMaskPngs, writeMasksH5 } from '../../io/write-masks';
import { ParameterError } from '../../../src-shared/errors';
import { sharedPool } from '../../workers/pool';
import type { SeriesSessions } from '../../services/series-session';
import type { ExtractSummary } from '../../../src-shared/contract';

/** The app's extraction job: extract, keep the result for viewing, optionally export; a summary for the UI. */
export async function runExtractionJob(
  sessions: SeriesSessions,
  args: { seriesId: string; objectIds?: number[]; background: boolean; ringWidth: number; outDir?: string },
  ctx: { signal?: AbortSignal; progress?: (done: number, total: number, stage?: string) => void } = {},
): Promise<ExtractSummary> {
  const result = await extractObjects(sessions, args.seriesId, args.objectIds, { background: args.background ? { ringWidth: args.ringWidth } : false }, ctx);
  sessions.get(args.seriesId).extracted = result;
  const written = args.outDir ? await writeExports(result, args.outDir, ctx.signal) : undefined;
  return summariseExtraction(args.seriesId, result, written, args.outDir);
}

/** The renderer's view of an extraction (and of its exports, when written). */
export function summariseExtraction(seriesId: string, result: ExtractResult, written?: WrittenExports, outDir?: string): ExtractSummary {
  return {
    seriesId,
    objects: result.series.map((s) => {
      const w = written?.objects.find((o) => o.objectId === s.objectId);
      return {
        id: s.objectId,
        name: s.name,
        probeCount: Array.from(s.probeCount),
        included: Array.from(s.included),
        sharedSignalFraction: Array.from(s.sharedSignalFraction),
        beamCentre: Array.from({ length: s.nTilts }, (_, t) => [s.beamCentre[2 * t]!, s.beamCentre[2 * t + 1]!] as [number, number]),
        ...(w ? { dir: w.dir, pts2: w.pts2, framesWritten: w.frames.files.length } : {}),
      };
    }),
    warnings: [...result.warnings, ...(written?.objects.flatMap((o) => o.warnings) ?? [])],
    bytesRead: result.bytesRead,
    seconds: result.seconds,
    ...(outDir ? { outDir } : {}),
  };
}

/** One object's extracted frame at one tilt, from the last extraction. */
export function extractedFrame(sessions: SeriesSessions, seriesId: string, objectId: number, tilt: number) {
  const result = sessions.get(seriesId).extracted;
  if (!result) throw new ParameterError('seriesId', 'nothing extracted yet: run the extraction first');
  const s = result.series.find((x) => x.objectId === objectId);
  if (!s) throw new ParameterError('objectId', `object ${objectId} was not in the last extraction`);
  if (tilt < 0 || tilt >= s.nTilts) throw new ParameterError('tilt', `${tilt} is outside 0…${s.nTilts - 1}`);
  const [nqy, nqx] = s.detectorShape;
  const n = nqy * nqx;
  const cx = s.beamCentre[2 * tilt]!;
  const cy = s.beamCentre[2 * tilt + 1]!;
  return {
    pattern: s.frames.slice(tilt * n, (tilt + 1) * n),
    nqy,
    nqx,
    probeCount: s.probeCount[tilt]!,
    beamCentre: Number.isFinite(cx) && Number.isFinite(cy) ? ([cx, cy] as [number, number]) : null,
  };
}

export async function extractObjects(
  sessions: SeriesSessions,
  seriesId: string,
  objectIds: number[] | undefined,
  options: ExtractOptions,
  ctx: { signal?: AbortSignal; progress?: (done: number, total: number, stage?: string) => void } = {},
): Promise<ExtractResult> {
  const project = await sessions.project(seriesId);
  const chosen = [...project.objects.values()].filter((o) => (objectIds ? objectIds.includes(o.id) : o.enabled));
  if (chosen.length === 0) throw new ParameterError('objects', 'no object to extract (create, track and enable one first)');
  const objects: ExtractionObject[] = chosen.map((o) => ({ id: o.id, name: o.name, masks: o.masks, frameState: o.frameState }));
  const summary = sessions.summary(seriesId);
  const sources = [];
  for (let t = 0; t < summary.nTilts; t++) sources.push(await sessions.source(seriesId, t));
  // Units over files with a direct layout run on the worker pool (each worker reads its own byte range).
  const pool = sharedPool();
  return extractSeries({ sources, anglesDeg: summary.anglesDeg }, objects, options, {
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onProgress: (d, t) => ctx.progress?.(d, t, 'extraction'),
    runDirectUnit: (a, signal) => pool.run('extractDirect', a, { ...(signal ? { signal } : {}) }),
    parallelism: pool.size,
  });
}

export interface WrittenExports {
  objects: Array<ExportObjectResult & { objectId: number; dir: string }>;
  hdf5: string;
}

/** One object: frames/, NAME.pts2, smv/ in `outDir` (DESIGN §6); several: one folder per object. */
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

/** masks/ (PNGs + masks.h5) of every object of a series. */
export async function writeMasks(sessions: SeriesSessions, seriesId: string, outDir: string): Promise<{ h5: string; pngs: number }> {
  const project = await sessions.project(seriesId);
  const summary = sessions.summary(seriesId);
  const objects = [...project.objects.values()];
  const h5 = join(outDir, 'masks', 'masks.h5');
  const pngs = writeMaskPngs(join(outDir, 'masks'), objects, summary.nTilts, summary.scanShape);
  await writeMasksH5(h5, objects, summary.nTilts, summary.scanShape, summary.anglesDeg, { series: summary.source });
  return { h5, pngs: pngs.length };
}
