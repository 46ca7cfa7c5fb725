// Runs a tracker on a series' virtual images and folds its result into the project, honouring the
// user's work: frames 'edited' or 'locked' are never overwritten, and only the requested range changes
// (from the current tilt forward/backward until the next locked frame or N frames).
import type { CandidateSummary, FrameQuality, FrameState, TrackRunResult } from '../../../src-shared/contract';
import { diffMask, isEmptyRuns } from '../../../src-shared/mask-runs';
import { ParameterError } from '../../../src-shared/errors';
import { detectCandidates, trackObjects, type ExistingObject, type TrackPrompt as TrackerPrompt } from './';
import type { SeriesSessions } from '../../services/series-session';
import { resolveBundledScript } from '../../workers/scripts';
import { Sam2WorkerClient } from './sam2/client';
import type { FrameState as TrackerFrameState, TrackedObjectResult } from './';

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
  ctx: { signal?: AbortSignal; progress?: (d: number, t: number, s?: string) => void },
): Promise<{ stack: Float32Array; nTilts: number; ny: number; nx: number; invert: boolean; name: string }> {
  let summary = sessions.virtualSummary(seriesId);
  if (!summary) {
    const d = await sessions.suggestDetectors(seriesId);
    summary = await sessions.computeVirtual(
      seriesId,
      [
        { kind: 'disk', radius: d.bfRadius, name: 'bf' },
        { kind: 'annulus', rIn: d.adfInner, rOut: d.adfOuter, name: 'adf' },
      ],
      ctx,
    );
  }
  const name = image && summary.outputs.some((o) => o.name === image) ? image : summary.outputs.find((o) => o.kind === 'annulus')?.name ?? summary.outputs[0]!.name;
  const kind = summary.outputs.find((o) => o.name === name)!.kind;
  if (kind === 'com') throw new ParameterError('image', `${name} is a centre-of-mass image; track in bf, adf, variance or sum`);
  // Bright field: particles are dark on a bright background.
  return { ...sessions.virtualStack(seriesId, name), invert: kind === 'disk', name };
}

/** The tilts a run may change for one object: from `from` in the direction(s), stopping before a locked frame. */
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
  // The starting frame itself is tracked only when the user left it to the tracker (no mask of their own).
  if (frameState[from] === 'empty' || frameState[from] === 'tracked') allowed.add(from);
  return allowed;
}

export async function runTracking(
  sessions: SeriesSessions,
  args: TrackRunArgs,
  ctx: { signal?: AbortSignal; progress?: (done: number, total: number, stage?: string) => void } = {},
): Promise<TrackRunResult> {
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
  const prompts: TrackerPrompt[] = [];
  for (const id of args.objectIds) {
    const o = project.get(id);
    const states = [...o.frameState];
    // A mask the user has on the starting frame (even one a tracker made) is where this run starts.
    const startFrame = o.masks.subarray(from * n, (from + 1) * n);
    if (states[from] === 'tracked' && startFrame.some((v) => v)) states[from] = 'edited';
    existing.push({ objectId: id, masks: o.masks.slice(), frameState: states });
    for (const p of o.prompts) {
      prompts.push({
        objectId: id,
        frame: p.tilt,
        points: p.points,
        ...(p.box ? { box: { x0: p.box[0], y0: p.box[1], x1: p.box[2], y1: p.box[3] } } : {}),
      });
    }
  }

  const maxFrames = args.maxFrames ?? nTilts;
  const result =
    args.tracker === 'sam2'
      ? await trackWithSam2(args.modelDir!, img, existing, prompts, ctx)
      : await trackObjects(
          { stack: img.stack, nTilts, ny, nx, invert: img.invert, existing },
          prompts,
          { direction: args.direction, maxFrames },
          { signal: ctx.signal, onProgress: (d, t) => ctx.progress?.(d, t, `tracking in ${img.name}`) },
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
    const stop = r.error ?? r.stops.map((s) => `${s.direction} at tilt ${s.frame + 1}: ${s.reason}`).join('; ');
    summary.push({ id: r.objectId, framesTracked: tracked, framesFlagged: flagged, ...(stop ? { stopped: stop } : {}) });
  }
  return { objects: summary, seconds: (performance.now() - t0) / 1000 };
}

/** The bundled SAM2 worker: next to this bundle (out/cli or out/main), or TRACKED_SAM2_WORKER. */
export function sam2WorkerPath(): string {
  return resolveBundledScript('sam2-worker', 'TRACKED_SAM2_WORKER');
}

/** Runs SAM2 in its own worker thread (ONNX sessions, embeddings cache) and returns the classical tracker's shape. */
async function trackWithSam2(
  modelDir: string,
  img: { stack: Float32Array; nTilts: number; ny: number; nx: number; invert: boolean },
  existing: ExistingObject[],
  prompts: TrackerPrompt[],
  ctx: { signal?: AbortSignal; progress?: (done: number, total: number, stage?: string) => void },
): Promise<{ objects: TrackedObjectResult[] }> {
  const client = Sam2WorkerClient.start(sam2WorkerPath());
  try {
    await client.request('load', { folder: modelDir });
    await client.request('setImages', { images: { data: img.stack.slice(), nTilts: img.nTilts, ny: img.ny, nx: img.nx }, intensity: { invert: img.invert } });
    const objects = existing.map((e) => ({
      id: String(e.objectId),
      prompts: Object.fromEntries(
        prompts
          .filter((p) => p.objectId === e.objectId)
          .map((p) => [p.frame, { points: p.points.map((q) => ({ x: q.x, y: q.y, label: q.positive ? (1 as const) : (0 as const) })), ...(p.box ? { box: p.box } : {}) }]),
      ),
      masks: e.masks,
      frameState: e.frameState,
    }));
    const call = client.call('propagate', { objects }, { onProgress: (p) => ctx.progress?.(p.done, p.total, 'SAM2') });
    const onAbort = (): void => void client.cancel(call.id);
    ctx.signal?.addEventListener('abort', onAbort);
    try {
      const r = await call.result;
      return {
        objects: r.objects.map((o) => ({
          objectId: Number(o.id),
          masks: o.masks,
          frameState: o.frameState as TrackerFrameState[],
          quality: o.quality.map((q) => (q ? { iouWithPrediction: q.iouWithPrediction, areaChange: q.areaChange, contrast: 0, flagged: q.flagged, ...(q.reason ? { reason: q.reason } : {}) } : null)),
          stops: o.stops.map((st) => ({ frame: st.frame, direction: st.direction === 'backward' ? 'backward' : 'forward', reason: st.message })),
        })),
      };
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    await client.terminate();
  }
}

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
