// The app's processing of extracted objects (ARCHITECTURE §9): peak search over the frames, split across the worker
// pool; the lattice (axis, cell, Bravais lattice, refinement) in one worker task; a person's peak edits applied to
// one frame at a time in main (one frame is milliseconds). State per object lives in the series' session, beside
// the extraction it was computed from; a new extraction keeps the parameters and edits and drops the results. The
// reflections integrated with the lattice (reflections-job.ts) are kept beside it and dropped when the peaks or the
// lattice change.
import type { Calibration, ExtractedSeries } from '../../src-shared/domain';
import { ParameterError } from '../../src-shared/errors';
import type { FramePeaks, IntegrationParametersInput, IntegrationReport, LatticeParametersInput, PeakParametersInput, ProcessingSummary } from '../../src-shared/processing';
import { axisStatements, DEFAULT_MAX_MISFIT_DEG, processingFramesOf } from '../processing/object';
import { estimateSpotRadiusPx, searchPeaks, type LatticeOutcome, type PeakEdits, type PeakTable, type ProcessingFrames } from '../processing/pipeline';
import { latticeReport } from '../processing/report';
import type { ReducedObject } from '../processing/reduce';
import type { StageContext } from '../stages/context';
import type { ExtractResult } from '../stages/extraction';
import { sharedPool } from '../workers/pool';
import type { SeriesSessions } from './series-session';

/** One object's processing: its input, what a person set and edited, and the last results. */
export interface ObjectProcessing {
  /** The extraction this was computed from (a new extraction invalidates the results). */
  source: ExtractedSeries;
  input: ProcessingFrames;
  peakParams: PeakParametersInput;
  latticeParams: LatticeParametersInput;
  edits: PeakEdits;
  table: PeakTable | null;
  lattice: LatticeOutcome | null;
  /** The peaks changed after the lattice was found. */
  latticeStale: boolean;
  /** The reflections of the current lattice (services/reflections-job.ts); null once the peaks or the lattice change. */
  integration: ObjectIntegration | null;
}

/** One lattice's integrated, scaled and merged reflections, and what writing their files needs besides. */
export interface ObjectIntegration {
  params: IntegrationParametersInput;
  reduced: ReducedObject;
  /** From the integration model (integrationModelOf). */
  rockingWidthInvA: number;
  tiltOffsetsDeg: ArrayLike<number>;
  report: IntegrationReport;
}

/** Frames are searched in this many pieces, so both workers stay busy and progress moves. */
const PEAK_CHUNKS = 8;

export function objectProcessing(sessions: SeriesSessions, seriesId: string, objectId: number): ObjectProcessing {
  const session = sessions.get(seriesId);
  const extracted = session.extracted;
  if (!extracted) throw new ParameterError('seriesId', 'nothing extracted yet: run the extraction first');
  const s = extracted.series.find((x) => x.objectId === objectId);
  if (!s) throw new ParameterError('objectId', `object ${objectId} was not in the last extraction`);
  const all = (session.processing ??= new Map());
  const old = all.get(objectId);
  if (old?.source === s) return old;
  // The series' calibration already holds the wavelength wherever the voltage is known (io/series.ts).
  const input = processingFramesOf(s, session.series.calibration);
  if (!('frames' in input)) throw new ParameterError('calibration', input.message);
  const fresh: ObjectProcessing = {
    source: s,
    input,
    peakParams: old?.peakParams ?? {},
    latticeParams: old?.latticeParams ?? {},
    edits: old?.edits ?? { removed: [], added: [] },
    table: null,
    lattice: null,
    latticeStale: false,
    integration: null,
  };
  all.set(objectId, fresh);
  return fresh;
}

/** What the project keeps of each object's processing: all but the frames, which are the extraction's. */
export type StoredProcessing = Array<Omit<ObjectProcessing, 'source' | 'input'> & { objectId: number }>;

export function storedProcessing(all: Map<number, ObjectProcessing> | undefined): StoredProcessing {
  return [...(all ?? new Map<number, ObjectProcessing>()).entries()].map(([objectId, { source: _s, input: _i, ...rest }]) => ({ objectId, ...rest }));
}

/** The processing the project kept, joined again to the extraction it was computed from; objects that no longer fit are left out. */
export function restoredProcessing(stored: unknown, extracted: ExtractResult, calibration: Calibration): Map<number, ObjectProcessing> {
  const all = new Map<number, ObjectProcessing>();
  if (!Array.isArray(stored)) return all;
  for (const st of stored as StoredProcessing) {
    const source = extracted.series.find((x) => x.objectId === st?.objectId);
    if (!source || !st.edits || !Array.isArray(st.edits.added) || !Array.isArray(st.edits.removed)) continue;
    const input = processingFramesOf(source, calibration);
    if (!('frames' in input)) continue;
    const { objectId, ...rest } = st;
    all.set(objectId, { ...rest, source, input });
  }
  return all;
}

/** Frames f0 … f1 − 1 of an input as an input of their own (frame indices then start at 0). */
function framesSubset(input: ProcessingFrames, f0: number, f1: number): ProcessingFrames {
  const npix = input.detectorShape[0] * input.detectorShape[1];
  return {
    ...input,
    frames: input.frames.slice(f0 * npix, f1 * npix),
    anglesDeg: Array.from(input.anglesDeg).slice(f0, f1),
    beamCentres: Array.from(input.beamCentres).slice(2 * f0, 2 * f1),
    included: Array.from(input.included).slice(f0, f1),
  };
}
function editsSubset(edits: PeakEdits, f0: number, f1: number): PeakEdits {
  const shift = (list: PeakEdits['added']): PeakEdits['added'] => list.filter((e) => e.frame >= f0 && e.frame < f1).map((e) => ({ ...e, frame: e.frame - f0 }));
  return { removed: shift(edits.removed), added: shift(edits.added) };
}

/** Tables in frame order as one table; each part's frame indices are shifted by its f0. */
function joinTables(parts: Array<{ f0: number; table: PeakTable }>, radiusPx: number): PeakTable {
  const n = parts.reduce((a, p) => a + p.table.frame.length, 0);
  const out: PeakTable = {
    frame: new Int32Array(n),
    x: new Float64Array(n),
    y: new Float64Array(n),
    intensity: new Float64Array(n),
    sigma: new Float64Array(n),
    positionSigmaPx: new Float64Array(n),
    manual: new Uint8Array(n),
    radiusPx,
  };
  let k = 0;
  for (const { f0, table: t } of parts) {
    for (let i = 0; i < t.frame.length; i++, k++) {
      out.frame[k] = t.frame[i]! + f0;
      out.x[k] = t.x[i]!;
      out.y[k] = t.y[i]!;
      out.intensity[k] = t.intensity[i]!;
      out.sigma[k] = t.sigma[i]!;
      out.positionSigmaPx[k] = t.positionSigmaPx[i]!;
      out.manual[k] = t.manual[i]!;
    }
  }
  return out;
}

/** The peak table with frame f's peaks replaced by `frameTable`'s (whose frame indices are 0). */
function replaceFrame(table: PeakTable, f: number, frameTable: PeakTable): PeakTable {
  const parts = [
    { f0: 0, table: selectRows(table, (fr) => fr < f) },
    { f0: f, table: frameTable },
    { f0: 0, table: selectRows(table, (fr) => fr > f) },
  ];
  return joinTables(parts, table.radiusPx);
}
function selectRows(t: PeakTable, keep: (frame: number) => boolean): PeakTable {
  const idx: number[] = [];
  for (let i = 0; i < t.frame.length; i++) if (keep(t.frame[i]!)) idx.push(i);
  return {
    frame: Int32Array.from(idx, (i) => t.frame[i]!),
    x: Float64Array.from(idx, (i) => t.x[i]!),
    y: Float64Array.from(idx, (i) => t.y[i]!),
    intensity: Float64Array.from(idx, (i) => t.intensity[i]!),
    sigma: Float64Array.from(idx, (i) => t.sigma[i]!),
    positionSigmaPx: Float64Array.from(idx, (i) => t.positionSigmaPx[i]!),
    manual: Uint8Array.from(idx, (i) => t.manual[i]!),
    radiusPx: t.radiusPx,
  };
}

/** Peak search on every frame of one object, in pieces on the worker pool. */
export async function runPeakSearch(
  sessions: SeriesSessions,
  args: { seriesId: string; objectId: number; params: PeakParametersInput },
  ctx: StageContext = {},
): Promise<ProcessingSummary> {
  const st = objectProcessing(sessions, args.seriesId, args.objectId);
  const input = st.input;
  const radiusPx = args.params.radiusPx ?? estimateSpotRadiusPx(input);
  const nF = input.anglesDeg.length;
  const step = Math.max(1, Math.ceil(nF / PEAK_CHUNKS));
  const pool = sharedPool();
  let done = 0;
  ctx.progress?.(0, nF, 'peak search');
  const parts = await Promise.all(
    Array.from({ length: Math.ceil(nF / step) }, async (_, k) => {
      const f0 = k * step;
      const f1 = Math.min(nF, f0 + step);
      const table = await pool.run(
        'searchPeaks',
        { input: framesSubset(input, f0, f1), params: { ...args.params, radiusPx }, edits: editsSubset(st.edits, f0, f1) },
        ctx.signal ? { signal: ctx.signal } : {},
      );
      done += f1 - f0;
      ctx.progress?.(done, nF, 'peak search');
      return { f0, table };
    }),
  );
  st.peakParams = args.params;
  st.table = joinTables(parts, radiusPx);
  st.latticeStale = st.lattice !== null;
  st.integration = null;
  await sessions.resultsChanged(args.seriesId, 'processing');
  return processingSummary(sessions, args.seriesId, args.objectId)!;
}

/** Axis, cell, Bravais lattice and refinement of one object's peaks (searched first when there are none). */
export async function runLatticeSearch(
  sessions: SeriesSessions,
  args: { seriesId: string; objectId: number; params: LatticeParametersInput },
  ctx: StageContext = {},
): Promise<ProcessingSummary> {
  let st = objectProcessing(sessions, args.seriesId, args.objectId);
  if (!st.table) {
    await runPeakSearch(sessions, { seriesId: args.seriesId, objectId: args.objectId, params: st.peakParams }, ctx);
    st = objectProcessing(sessions, args.seriesId, args.objectId);
  }
  ctx.progress?.(0, 1, 'lattice');
  const params = { ...args.params, maxMisfitDeg: args.params.maxMisfitDeg ?? DEFAULT_MAX_MISFIT_DEG };
  const lattice = await sharedPool().run('findLattice', { table: st.table!, input: st.input, params }, ctx.signal ? { signal: ctx.signal } : {});
  lattice.statements = [...lattice.statements, ...axisStatements(lattice, sessions.get(args.seriesId).series.calibration.rotationAxisDeg, args.params.axisDeg)];
  ctx.progress?.(1, 1, 'lattice');
  st.latticeParams = args.params;
  st.lattice = lattice;
  st.latticeStale = false;
  st.integration = null;
  await sessions.resultsChanged(args.seriesId, 'processing');
  return processingSummary(sessions, args.seriesId, args.objectId)!;
}

/** What the Processing tab shows of one object; null when it was not extracted. */
export function processingSummary(sessions: SeriesSessions, seriesId: string, objectId: number): ProcessingSummary | null {
  if (!sessions.get(seriesId).extracted?.series.some((s) => s.objectId === objectId)) return null;
  const st = objectProcessing(sessions, seriesId, objectId);
  const nFrames = st.input.anglesDeg.length;
  const t = st.table;
  const perFrame = new Array<number>(nFrames).fill(0);
  if (t) for (const f of t.frame) perFrame[f]!++;
  const l = st.lattice;
  const maxMisfitDeg = st.latticeParams.maxMisfitDeg ?? DEFAULT_MAX_MISFIT_DEG;
  return {
    seriesId,
    objectId,
    nFrames,
    peaks: t
      ? {
          params: st.peakParams,
          radiusPx: t.radiusPx,
          nPeaks: t.frame.length,
          perFrame,
          added: st.edits.added.length,
          removed: st.edits.removed.length,
        }
      : null,
    lattice: l
      ? {
          ...latticeReport(l, st.input.anglesDeg, maxMisfitDeg),
          params: st.latticeParams,
          axis: l.axis ? { foundDeg: l.axis.foundDeg, refinedDeg: l.axis.refinedDeg, esdDeg: l.axis.esdDeg } : null,
        }
      : null,
    latticeStale: st.latticeStale,
    integration: st.integration ? { ...st.integration.report, params: st.integration.params } : null,
  };
}

/** One frame's peaks, with their Miller indices while the lattice matches the peaks. */
export function framePeaks(sessions: SeriesSessions, seriesId: string, objectId: number, frame: number): FramePeaks {
  const st = objectProcessing(sessions, seriesId, objectId);
  const nF = st.input.anglesDeg.length;
  if (!Number.isInteger(frame) || frame < 0 || frame >= nF) throw new ParameterError('frame', `${frame} is outside 0…${nF - 1}`);
  const t = st.table;
  const rows: number[] = [];
  if (t) for (let i = 0; i < t.frame.length; i++) if (t.frame[i] === frame) rows.push(i);
  const l = st.latticeStale ? null : st.lattice;
  const centres = l?.beamCentres ?? st.input.beamCentres;
  const cx = Number(centres[2 * frame]);
  const cy = Number(centres[2 * frame + 1]);
  return {
    frame,
    x: Float32Array.from(rows, (i) => t!.x[i]!),
    y: Float32Array.from(rows, (i) => t!.y[i]!),
    intensity: Float32Array.from(rows, (i) => t!.intensity[i]!),
    sigma: Float32Array.from(rows, (i) => t!.sigma[i]!),
    manual: Uint8Array.from(rows, (i) => t!.manual[i]!),
    indexed: Uint8Array.from(rows, (i) => l?.indexed?.[i] ?? 0),
    hkl: Int32Array.from(rows.flatMap((i) => (l?.hkl ? [l.hkl[3 * i]!, l.hkl[3 * i + 1]!, l.hkl[3 * i + 2]!] : [0, 0, 0]))),
    radiusPx: t?.radiusPx ?? st.peakParams.radiusPx ?? estimateSpotRadiusPx(st.input),
    beamCentre: Number.isFinite(cx) && Number.isFinite(cy) ? [cx, cy] : null,
  };
}

/**
 * A person's correction on one frame: 'remove' drops the peak nearest (x, y) (within the disk radius, at least 3 px);
 * 'add' integrates a disk there, re-centred on its centroid. The frame is searched again with all its edits.
 */
export function editPeak(
  sessions: SeriesSessions,
  args: { seriesId: string; objectId: number; frame: number; x: number; y: number; action: 'add' | 'remove' },
): { summary: ProcessingSummary; peaks: FramePeaks } {
  const st = objectProcessing(sessions, args.seriesId, args.objectId);
  if (!st.table) throw new ParameterError('peaks', 'search the peaks first');
  const { frame, x, y } = args;
  const nF = st.input.anglesDeg.length;
  if (!Number.isInteger(frame) || frame < 0 || frame >= nF) throw new ParameterError('frame', `${frame} is outside 0…${nF - 1}`);
  const [nqy, nqx] = st.input.detectorShape;
  if (!(x >= 0 && y >= 0 && x < nqx && y < nqy)) throw new ParameterError('position', `(${x.toFixed(1)}, ${y.toFixed(1)}) is outside the ${nqx}×${nqy} detector`);
  if (!st.input.included[frame]) throw new ParameterError('frame', `frame ${frame + 1} holds no data (excluded or empty mask)`);
  const reach = Math.max(3, st.table.radiusPx);
  if (args.action === 'remove') {
    let best = -1;
    let bestD = reach;
    for (let i = 0; i < st.table.frame.length; i++) {
      if (st.table.frame[i] !== frame) continue;
      const d = Math.hypot(st.table.x[i]! - x, st.table.y[i]! - y);
      if (d <= bestD) [best, bestD] = [i, d];
    }
    if (best < 0) throw new ParameterError('position', `no peak within ${reach.toFixed(1)} px of (${x.toFixed(1)}, ${y.toFixed(1)}) on frame ${frame + 1}`);
    const px = st.table.x[best]!;
    const py = st.table.y[best]!;
    // A peak a person added is un-added; a found one is remembered as removed.
    const added = st.edits.added.findIndex((a) => a.frame === frame && Math.hypot(a.x - px, a.y - py) <= reach);
    if (st.table.manual[best] && added >= 0) st.edits.added.splice(added, 1);
    else st.edits.removed.push({ frame, x: px, y: py });
  } else {
    st.edits.added.push({ frame, x, y });
  }
  const one = searchPeaks(framesSubset(st.input, frame, frame + 1), { ...st.peakParams, radiusPx: st.table.radiusPx }, editsSubset(st.edits, frame, frame + 1));
  st.table = replaceFrame(st.table, frame, one);
  st.latticeStale = st.lattice !== null;
  st.integration = null;
  // Kept with the project at its next checkpoint; a project that failed to load was reported when the series opened.
  void sessions.resultsChanged(args.seriesId, 'processing').catch(() => undefined);
  return { summary: processingSummary(sessions, args.seriesId, args.objectId)!, peaks: framePeaks(sessions, args.seriesId, args.objectId, frame) };
}
