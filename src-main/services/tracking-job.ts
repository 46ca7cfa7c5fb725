// The app's tracking job: runs the tracking stage on a series' virtual images and folds its result into the project,
// honouring the user's work: tilts 'edited', 'locked' or 'excluded' are never overwritten, and only the requested
// range changes (from the current tilt forward/backward until the next locked tilt or N tilts).
import type { CandidateSummary, FrameQuality, FrameState, TrackRunResult } from '../../src-shared/contract';
import { ParameterError } from '../../src-shared/errors';
import { diffMask, isEmptyRuns } from '../../src-shared/mask-runs';
import type { StageContext } from '../stages/context';
import { detectCandidates, trackSeries, type ExistingObject, type ObjectPrompt, type TrackChannel } from '../stages/tracking';
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
  /**
   * Other objects' masks are barriers (default true): fixed where they have a mask, so a tracked object never takes
   * those probe positions on any tilt (and they are not found again as neighbours). false: the other objects are
   * ignored, and a tracked object may overlap them.
   */
  barriers?: boolean;
}

/** What is tracked in: one or more virtual-image stacks of the last virtual pass. */
interface TrackingImages {
  channels: TrackChannel[];
  nTilts: number;
  ny: number;
  nx: number;
  /** For progress messages: 'adf + bf', or the one output's name. */
  name: string;
}

/**
 * The stacks to track in: the named output of the last virtual pass, or by default every annular dark-field and
 * bright-field output together (ARCHITECTURE §4: the tracker segments in both, each in units of its own noise).
 * Computes BF and ADF when no virtual pass ran yet.
 */
async function trackingImages(sessions: SeriesSessions, seriesId: string, image: string | undefined, ctx: StageContext): Promise<TrackingImages> {
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
  const outputs = summary.outputs;
  if (image && !outputs.some((o) => o.name === image)) {
    throw new ParameterError('image', `no virtual image '${image}' in the last virtual pass (${outputs.map((o) => o.name).join(', ')})`);
  }
  const chosen = image
    ? outputs.filter((o) => o.name === image)
    : [...outputs.filter((o) => o.kind === 'annulus'), ...outputs.filter((o) => o.kind === 'disk')];
  const use = chosen.length ? chosen : outputs.filter((o) => o.kind !== 'com').slice(0, 1);
  if (!use.length || use.some((o) => o.kind === 'com')) {
    throw new ParameterError('image', `${image ?? 'the last virtual pass'} has only centre-of-mass images; track in bf, adf, variance or sum`);
  }
  const channels = use.map((o) => {
    const v = virtualStack(sessions, seriesId, o.name);
    // Bright field: particles are dark on a bright background.
    return { stack: v.stack, invert: o.kind === 'disk', name: o.name };
  });
  const first = virtualStack(sessions, seriesId, use[0]!.name);
  return { channels, nTilts: first.nTilts, ny: first.ny, nx: first.nx, name: use.map((o) => o.name).join(' + ') };
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
  const img = await trackingImages(sessions, args.seriesId, args.image, ctx);
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
  // Barriers: the user's other objects are particles too, fixed where they have a mask, so a tracked object cannot
  // take them (and they are not found again as neighbours). Their results are not used.
  const barriers = args.barriers !== false ? [...project.objects.values()].filter((o) => !args.objectIds.includes(o.id)) : [];
  for (const o of barriers) {
    const states = o.frameState.map((_, t): FrameState => (o.masks.subarray(t * n, (t + 1) * n).some((v) => v) ? 'locked' : 'empty'));
    if (states.includes('locked')) existing.push({ objectId: o.id, masks: o.masks, frameState: states });
  }

  const maxFrames = args.maxFrames ?? nTilts;
  const result = await trackSeries(
    { stack: img.channels[0]!.stack, invert: img.channels[0]!.invert, channels: img.channels, nTilts, ny, nx, existing },
    prompts,
    { direction: args.direction, maxFrames, tracker: args.tracker, ...(args.modelDir ? { modelDir: args.modelDir } : {}), imageName: img.name },
    ctx,
  );

  await project.setNeighbours(result.neighbours?.labels ?? null);
  const summary: TrackRunResult['objects'] = [];
  for (const r of result.objects) {
    if (!args.objectIds.includes(r.objectId)) continue;
    const o = project.get(r.objectId);
    const allowed = allowedRange(o.frameState, from, args.direction, maxFrames);
    const frames: Array<{ tilt: number; runs: ReturnType<typeof diffMask>; state: FrameState; quality: FrameQuality | null }> = [];
    let tracked = 0;
    let flagged = 0;
    for (const t of allowed) {
      if (o.frameState[t] === 'edited' || o.frameState[t] === 'locked' || o.frameState[t] === 'excluded') continue;
      const next = r.masks.subarray(t * n, (t + 1) * n);
      // The tracker keeps off the barriers' anchors; this makes it a guarantee for every tilt written.
      for (const b of barriers) {
        const theirs = b.masks.subarray(t * n, (t + 1) * n);
        for (let i = 0; i < n; i++) if (theirs[i]) next[i] = 0;
      }
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
  const img = await trackingImages(sessions, seriesId, image, {});
  if (tilt < 0 || tilt >= img.nTilts) throw new ParameterError('tilt', `${tilt} is outside 0…${img.nTilts - 1}`);
  const n = img.nx * img.ny;
  const frame = img.channels.map((c) => ({ data: c.stack.subarray(tilt * n, (tilt + 1) * n), invert: c.invert }));
  const d = detectCandidates(frame, img.nx, img.ny);
  return d.candidates
    .filter((c) => !c.touchesBorder || c.area > 20)
    .sort((a, b) => b.score - a.score)
    .map((c) => ({ x: c.innerX, y: c.innerY, areaPx: c.area, bbox: [c.bbox.x0, c.bbox.y0, c.bbox.x1, c.bbox.y1], isolated: c.isolated, score: c.score }));
}
