// The tracking stage: runs a tracker over a virtual-image stack, off the main thread. The classical tracker runs as
// a pool task (./tasks.ts around ./tracker.ts); SAM2 runs in its own worker thread, which holds the ONNX sessions
// and the embeddings cache for the whole run (./sam2). Both return the classical tracker's result shape.

import { ParameterError } from '../../../src-shared/errors';
import { PassScheduler } from '../../workers/pass';
import { sharedPool, type WorkerPool } from '../../workers/pool';
import { resolveBundledScript } from '../../workers/scripts';
import type { StageContext } from '../context';
import { Sam2WorkerClient } from './sam2/client';
import type { FrameState, ObjectPrompt, TrackInput, TrackOptions, TrackResult } from './types';

export interface TrackSeriesOptions extends Partial<TrackOptions> {
  tracker?: 'classical' | 'sam2';
  /** SAM2: the folder with the encoder and decoder ONNX exports. */
  modelDir?: string;
  /** Classical: the pool to run on (default the process-wide one). */
  pool?: WorkerPool;
  /** Name of the image tracked in, for progress messages. */
  imageName?: string;
}

/** Tracks the prompted objects through `input`; CancelledError on cancel, ParameterError for a bad request. */
export async function trackSeries(input: TrackInput, prompts: ObjectPrompt[], options: TrackSeriesOptions = {}, ctx: StageContext = {}): Promise<TrackResult> {
  const { tracker = 'classical', modelDir, pool, imageName, ...trackOptions } = options;
  if (tracker === 'sam2') {
    if (!modelDir) throw new ParameterError('modelDir', 'SAM2 needs a folder with an encoder and a decoder ONNX export');
    const r = await trackWithSam2(modelDir, input, prompts, ctx);
    if (trackOptions.neighbours === false) return r;
    // SAM2 follows only the prompted objects: the rest of the field (the neighbours purity is measured against) is
    // segmented by the classical tracker around SAM2's masks, which it keeps as they are.
    const existing = r.objects.map((o) => ({
      objectId: o.objectId,
      masks: o.masks,
      frameState: o.frameState.map((st, t): FrameState => (o.masks.subarray(t * input.nx * input.ny, (t + 1) * input.nx * input.ny).some((v) => v) ? 'locked' : st === 'excluded' ? 'excluded' : 'empty')),
    }));
    const around = await runClassical({ ...input, existing }, [], { ...trackOptions, direction: 'forward' }, pool, ctx, 'neighbours');
    return { ...r, ...(around.neighbours ? { neighbours: around.neighbours } : {}) };
  }
  return runClassical(input, prompts, trackOptions, pool, ctx, `tracking${imageName ? ` in ${imageName}` : ''}`);
}

/** The classical tracker as a pool task, its progress relayed. */
async function runClassical(
  input: TrackInput,
  prompts: ObjectPrompt[],
  options: Partial<TrackOptions>,
  pool: WorkerPool | undefined,
  ctx: StageContext,
  label: string,
): Promise<TrackResult> {
  let result: TrackResult | null = null;
  const pass = new PassScheduler({
    signal: ctx.signal,
    slots: 2,
    onTick: () => {
      const total = Atomics.load(pass.counters, 1);
      if (total > 0) ctx.progress?.(Atomics.load(pass.counters, 0), total, label);
    },
  });
  const job = (pool ?? sharedPool()).run('trackClassical', { input, prompts, options, progress: pass.counters }, { signal: pass.signal });
  pass.add(job, (r) => (result = r));
  await pass.finish();
  return result!;
}

/** The bundled SAM2 worker: next to this bundle (out/cli or out/main), or TRACKED_SAM2_WORKER. */
export function sam2WorkerPath(): string {
  return resolveBundledScript('sam2-worker', 'TRACKED_SAM2_WORKER');
}

/** Runs SAM2 in its own worker thread (ONNX sessions, embeddings cache) and returns the classical tracker's shape. */
async function trackWithSam2(modelDir: string, input: TrackInput, prompts: ObjectPrompt[], ctx: StageContext): Promise<TrackResult> {
  const client = Sam2WorkerClient.start(sam2WorkerPath());
  try {
    await client.request('load', { folder: modelDir });
    await client.request('setImages', {
      images: { data: input.stack.slice(), nTilts: input.nTilts, ny: input.ny, nx: input.nx },
      intensity: { invert: input.invert ?? false },
    });
    const objects = (input.existing ?? []).map((e) => ({
      id: String(e.objectId),
      prompts: Object.fromEntries(
        prompts
          .filter((p) => p.objectId === e.objectId)
          .map((p) => [
            p.tilt,
            {
              points: p.points.map((q) => ({ x: q.x, y: q.y, label: q.positive ? (1 as const) : (0 as const) })),
              ...(p.box ? { box: { x0: p.box[0], y0: p.box[1], x1: p.box[2], y1: p.box[3] } } : {}),
            },
          ]),
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
          frameState: o.frameState,
          quality: o.quality.map((q) => (q ? { iouWithPrediction: q.iouWithPrediction, areaChange: q.areaChange, contrast: 0, flagged: q.flagged, ...(q.reason ? { reason: q.reason } : {}) } : null)),
          stops: o.stops.map((st) => ({ tilt: st.frame, direction: st.direction === 'backward' ? 'backward' : 'forward', reason: st.message })),
        })),
        drift: { dx: new Float64Array(input.nTilts), dy: new Float64Array(input.nTilts), peak: new Float64Array(input.nTilts) },
      };
    } finally {
      ctx.signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    await client.terminate();
  }
}
