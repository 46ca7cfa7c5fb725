// The app's tracking job: runs the tracking stage on a series' virtual images and folds its result into the project,
// honouring the user's work: tilts 'edited', 'locked' or 'excluded' are never overwritten, and only the requested
// range changes (from the current tilt forward/backward until the next locked tilt or N tilts).
import type { CandidateSummary, FrameQuality, FrameState, TrackRunResult } from '../../src-shared/contract';
import { ParameterError } from '../../src-shared/errors';
import { diffMask, isEmptyRuns } from '../../src-shared/mask-runs';
import type { StageContext } from '../stages/context';
import { detectCandidates, trackSeries, type ExistingObject, type ObjectPrompt } from '../stages/tracking';
import type { SeriesSessions } from './series-session';
import { computeVirtual, virtualStack, virtualSummary, suggestDetectors } from './virtual-job';

export interface TrackRunArgs {
  seriesId: string;
  objectIds: number[];
  fromTilt?: number;
  direction: 'forward' | 'backward' | 'both';
  maxFrames?: number;
  image?: string;
  tracker: 'classical' | 'sam2';
  modelDir?: string;
}

/** The stack to track in: the named output of the last virtual pass (computing ADF/BF if none ran yet). */
async function trackingImage(
  sessions: SeriesSessions,
  seriesId: string,
  image: string | undefined,
  ctx: StageContext,
): Promise<{ stack: Float32Array; nTilts: number; ny: number; nx: number; invert: boolean; name: string }> {
  let summary = virtualSummary(sessions, seriesId);
  if (!summary) {
    const d = await suggestDetectors(sessions, seriesId);
    summary = await computeVirtual(
      sessions,
      seriesId,
      [
        { kind: 'disk', radius: d.bfRadius, name: 'bf' },
        { kind: 'annulus', rIn: d.adfInner, rOut: d.adfOuter, name: 'adf' },
      ],
      ctx,
    );
  }
  const name = image && summary.outputs.some((o) => o.name === image) ? image : (summary.outputs.find((o) => o.kind === 'annulus')?.name ?? summary.outputs[0]!.name);
  const kind = summary.outputs.find((o) => o.name === name)!.kind;
  if (kind === 'com') throw new ParameterError('image', `${name} is a centre-of-mass image; track in bf, adf, variance or sum`);
  // Bright field: particles are dark on a bright background.
  return { ...virtualStack(sessions, seriesId, name), invert: kind === 'disk', name };
}

/** The tilts a run may change for one object: from `from` in the direction(s), stopping before a locked tilt. */
export function allowedRange(frameState: readonly FrameState[], from: number, direction: TrackRunArgs['direction'], maxFrames: number): Set<number> {
  const allowed = new Set<number>();
  const walk = (step: 1 | -1): void => {
    for (let k = 1, t = from + step; t >= 0 && t < frameState.length && k <= maxFrames; k++, t += step) {
      if (frameState[t] === 'locked') break;
      allowed.add(t);
    }
  };
  if (direction !== 'backward') walk(1);
  if (direction !== 'forward') walk(-1);
  // The starting tilt itself is tracked only when the user left it to the tracker (no mask of their own).
  if (frameState[from] === 'empty' || frameState[from] === 'tracked') allowed.add(from);
  return allowed;
}

export async function runTracking(sessions: SeriesSessions, args: TrackRunArgs, ctx: StageContext = {}): Promise<TrackRunResult> {
  const t0 = performance.now();
  if (args.tracker === 'sam2' && !args.modelDir) {
    throw new ParameterError('modelDir', 'SAM2 needs a folder with an encoder and a decoder ONNX export');
  }
  const project = await sessions.project(args.seriesId);
  const img = await trackingImage(sessions, args.seriesId, args.image, ctx);
  const { nTilts, ny, nx } = img;
  const n = ny * nx;
  const from = args.fromTilt ?? Math.floor(nTilts / 2);
  if (from < 0 || from >= nTilts) throw new ParameterError('fromTilt', `${from} is outside 0…${nTilts - 1}`);

  const existing: ExistingObject[] = [];
  const prompts: ObjectPrompt[] = [];
  for (const id of args.objectIds) {
    const o = project.get(id);
    const states = [...o.frameState];
    // A mask the user has on the starting tilt (even one a tracker made) is where this run starts.
    const startFrame = o.masks.subarray(from * n, (from + 1) * n);
    if (states[from] === 'tracked' && startFrame.some((v) => v)) states[from] = 'edited';
    existing.push({ objectId: id, masks: o.masks.slice(), frameState: states });
    for (const p of o.prompts) prompts.push({ ...p, objectId: id });
  }

  const maxFrames = args.maxFrames ?? nTilts;
  const result = await trackSeries(
    { stack: img.stack, nTilts, ny, nx, invert: img.invert, existing },
    prompts,
    { direction: args.direction, maxFrames, tracker: args.tracker, ...(args.modelDir ? { modelDir: args.modelDir } : {}), imageName: img.name },
    ctx,
  );

  const summary: TrackRunResult['objects'] = [];
  for (const r of result.objects) {
    const o = project.get(r.objectId);
    const allowed = allowedRange(o.frameState, from, args.direction, maxFrames);
    const frames: Array<{ tilt: number; runs: ReturnType<typeof diffMask>; state: FrameState; quality: FrameQuality | null }> = [];
    let tracked = 0;
    let flagged = 0;
    for (const t of allowed) {
      if (o.frameState[t] === 'edited' || o.frameState[t] === 'locked' || o.frameState[t] === 'excluded') continue;
      const next = r.masks.subarray(t * n, (t + 1) * n);
      const runs = diffMask(o.masks.subarray(t * n, (t + 1) * n), next);
      const state: FrameState = r.frameState[t] === 'tracked' ? 'tracked' : next.some((v) => v) ? 'tracked' : 'empty';
      const q = r.quality[t] ?? null;
      if (state === 'tracked') tracked++;
      if (q?.flagged) flagged++;
      if (!isEmptyRuns(runs) || o.frameState[t] !== state || q) frames.push({ tilt: t, runs, state, quality: q });
    }
    if (frames.length) project.setFrames(r.objectId, frames);
    const stop = r.error ?? r.stops.map((s) => `${s.direction} at tilt ${s.tilt + 1}: ${s.reason}`).join('; ');
    summary.push({ id: r.objectId, framesTracked: tracked, framesFlagged: flagged, ...(stop ? { stopped: stop } : {}) });
  }
  return { objects: summary, seconds: (performance.now() - t0) / 1000 };
}

/** Auto-detect: particle candidates on one tilt of the tracking image, best first. */
export async function findCandidates(sessions: SeriesSessions, seriesId: string, tilt: number, image?: string): Promise<CandidateSummary[]> {
  const img = await trackingImage(sessions, seriesId, image, {});
  if (tilt < 0 || tilt >= img.nTilts) throw new ParameterError('tilt', `${tilt} is outside 0…${img.nTilts - 1}`);
  const n = img.nx * img.ny;
  const d = detectCandidates(img.stack.subarray(tilt * n, (tilt + 1) * n), img.nx, img.ny, { invert: img.invert });
  return d.candidates
    .filter((c) => !c.touchesBorder || c.area > 20)
    .sort((a, b) => b.score - a.score)
    .map((c) => ({ x: c.innerX, y: c.innerY, areaPx: c.area, bbox: [c.bbox.x0, c.bbox.y0, c.bbox.x1, c.bbox.y1], isolated: c.isolated, score: c.score }));
}
