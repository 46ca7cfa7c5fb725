// The app's extraction and export jobs: every enabled object's frames summed in one pass over the raw data (the
// extraction stage, on the worker pool), the result kept in the series' session for viewing, and optionally
// written out (the export stage). Also what the renderer asks of an extraction: its summary and single frames.
import type { ExtractSummary } from '../../src-shared/contract';
import { ParameterError } from '../../src-shared/errors';
import type { StageContext } from '../stages/context';
import { extractSeries, type ExtractOptions, type ExtractResult, type ExtractionObject } from '../stages/extraction';
import { writeExports, writeMasks, type WrittenExports } from '../stages/export';
import { sharedPool } from '../workers/pool';
import { particlePurity } from '../kernels/purity';
import type { Project } from './project';
import type { SeriesSessions } from './series-session';
import { tiltBeamCentres, virtualStack, virtualSummary } from './virtual-job';

/** The app's extraction job: extract, keep the result for viewing, optionally export; a summary for the UI. */
export async function runExtractionJob(
  sessions: SeriesSessions,
  args: { seriesId: string; objectIds?: number[]; background: boolean; ringWidth: number; outDir?: string },
  ctx: StageContext = {},
): Promise<ExtractSummary> {
  const result = await extractObjects(sessions, args.seriesId, args.objectIds, { background: args.background ? { ringWidth: args.ringWidth } : false }, ctx);
  sessions.get(args.seriesId).extracted = result;
  await sessions.resultsChanged(args.seriesId, 'extraction');
  const written = args.outDir ? await writeExports(result, args.outDir, ctx.signal) : undefined;
  return summariseExtraction(args.seriesId, result, written, args.outDir);
}

/** Per-tilt numbers for the wire: null where not measured (NaN does not survive JSON). */
function perTilt(a: Float64Array | undefined, nTilts: number): Array<number | null> {
  return Array.from({ length: nTilts }, (_, t) => (a && Number.isFinite(a[t]) ? a[t]! : null));
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
        purity: perTilt(s.purity?.purity, s.nTilts),
        probePurity: perTilt(s.purity?.probes, s.nTilts),
        signalPurity: perTilt(s.purity?.signal, s.nTilts),
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
export function extractedFrame(
  sessions: SeriesSessions,
  seriesId: string,
  objectId: number,
  tilt: number,
): { pattern: Float32Array; nqy: number; nqx: number; probeCount: number; beamCentre: [number, number] | null } {
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
    beamCentre: Number.isFinite(cx) && Number.isFinite(cy) ? [cx, cy] : null,
  };
}

/** Extracts the chosen (default: the enabled) objects of a series, units on the shared worker pool. */
export async function extractObjects(
  sessions: SeriesSessions,
  seriesId: string,
  objectIds: number[] | undefined,
  options: ExtractOptions,
  ctx: StageContext = {},
): Promise<ExtractResult> {
  const project = await sessions.project(seriesId);
  const chosen = [...project.objects.values()].filter((o) => (objectIds ? objectIds.includes(o.id) : o.enabled));
  if (chosen.length === 0) throw new ParameterError('objects', 'no object to extract (create, track and enable one first)');
  const objects: ExtractionObject[] = chosen.map((o) => ({ id: o.id, name: o.name, masks: o.masks, frameState: o.frameState }));
  const summary = sessions.summary(seriesId);
  const sources = [];
  for (let t = 0; t < summary.nTilts; t++) sources.push(await sessions.source(seriesId, t));
  const reference = tiltBeamCentres(sessions, seriesId);
  const result = await extractSeries({ sources, anglesDeg: summary.anglesDeg }, objects, { ...(reference ? { referenceBeamCentre: reference } : {}), ...options }, {
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onProgress: (d, t) => ctx.progress?.(d, t, 'extraction'),
    pool: sharedPool(),
  });
  attachPurity(sessions, seriesId, project, result);
  return result;
}

/**
 * Each extracted object's purity against every other segmented particle: the project's other objects (enabled or
 * not) and the auto-detected neighbours, with the last virtual pass's dark-field image as the scattered signal.
 */
function attachPurity(sessions: SeriesSessions, seriesId: string, project: Project, result: ExtractResult): void {
  const { nTilts } = project;
  const [ny, nx] = project.scanShape;
  const size = nTilts * ny * nx;
  const annulus = virtualSummary(sessions, seriesId)?.outputs.find((o) => o.kind === 'annulus');
  const signal = annulus ? virtualStack(sessions, seriesId, annulus.name).stack : null;
  for (const s of result.series) {
    const others = new Uint8Array(size);
    const nb = project.neighbours?.labels;
    if (nb) for (let i = 0; i < size; i++) if (nb[i]) others[i] = 1;
    for (const o of project.objects.values()) {
      if (o.id === s.objectId) continue;
      for (let i = 0; i < size; i++) if (o.masks[i]) others[i] = 1;
    }
    const p = particlePurity({ mask: project.get(s.objectId).masks, others, signal, nTilts, ny, nx });
    s.purity = { probes: p.probes, signal: p.signal, purity: p.purity };
  }
}

/** masks/ (PNGs + masks.h5) of every object of a series. */
export async function writeSeriesMasks(sessions: SeriesSessions, seriesId: string, outDir: string): Promise<{ h5: string; pngs: number }> {
  const project = await sessions.project(seriesId);
  const summary = sessions.summary(seriesId);
  return writeMasks([...project.objects.values()], { nTilts: summary.nTilts, scanShape: summary.scanShape, anglesDeg: summary.anglesDeg, source: summary.source }, outDir);
}
