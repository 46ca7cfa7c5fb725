// The SAM2 worker's message protocol and its thread-independent handler. The worker (sam2.worker.ts) owns the ONNX
// sessions, the image stack and the embedding cache, so the main process never blocks on inference; this module
// holds the logic so tests can also drive it without a thread.

import { CancelledError, ParameterError } from '../../../../src-shared/errors';
import { serialiseError, transferablesOf, type SerialisedError } from '../../../workers/protocol';
import type { CropBox } from './geometry';
import { loadSam2Model, type Sam2LoadOptions, type Sam2Model, type Sam2Provider } from './model';
import { Sam2Tracker, type IntensityOptions, type SegmentResult, type Sam2TrackOptions } from './propagate';
import type { FramePrompt, ImageStack, Sam2ObjectInput, Sam2ObjectResult, StageTimings } from './types';

/** Options of a propagate request: everything but the callbacks, which cannot cross the thread boundary. */
export type Sam2PropagateOptions = Omit<Sam2TrackOptions, 'signal' | 'onProgress'>;

/** main → worker. Every request has an id; its reply (and its progress) carry the same id. */
export type Sam2Request =
  | { id: number; type: 'load'; folder: string; providers?: Sam2LoadOptions['providers']; threads?: number; cacheBytes?: number }
  | { id: number; type: 'setImages'; images: ImageStack; intensity?: IntensityOptions }
  | { id: number; type: 'encode'; frame: number; crop?: CropBox }
  | { id: number; type: 'segment'; frame: number; prompt: FramePrompt; crop?: Sam2PropagateOptions['crop'] }
  | { id: number; type: 'propagate'; objects: Sam2ObjectInput[]; options?: Sam2PropagateOptions }
  /** Cancels request `target` (running or queued); replies { cancelled } at once. */
  | { id: number; type: 'cancel'; target: number }
  | { id: number; type: 'dispose' };

export interface Sam2Results {
  load: { layout: string; provider: Sam2Provider; encoderFile: string; decoderFile: string };
  setImages: { nTilts: number; ny: number; nx: number };
  encode: { cached: boolean; ms: number };
  segment: SegmentResult;
  propagate: { objects: Sam2ObjectResult[]; timings: StageTimings };
  cancel: { cancelled: boolean };
  dispose: Record<string, never>;
}

/** worker → main */
export type Sam2Reply =
  | { id: number; type: 'result'; ok: true; value: unknown }
  | { id: number; type: 'result'; ok: false; error: SerialisedError }
  | { id: number; type: 'progress'; done: number; total: number; objectId: string; frame: number }
  | { type: 'log'; line: string };

export type Post = (msg: Sam2Reply, transfer?: ArrayBuffer[]) => void;

/**
 * Returns the message handler of one SAM2 worker. Requests run one at a time in arrival order (the tracker is not
 * re-entrant); 'cancel' is answered immediately and aborts the target whether it is running or still queued.
 */
export function createSam2Handler(post: Post): (req: Sam2Request) => void {
  let model: Sam2Model | null = null;
  let tracker: Sam2Tracker | null = null;
  let queue: Promise<void> = Promise.resolve();
  const controllers = new Map<number, AbortController>();

  const need = (): Sam2Tracker => {
    if (!tracker) throw new ParameterError('model', 'no SAM2 model loaded (send load first)');
    return tracker;
  };

  async function run(req: Exclude<Sam2Request, { type: 'cancel' }>, signal: AbortSignal): Promise<unknown> {
    if (signal.aborted) throw new CancelledError();
    switch (req.type) {
      case 'load': {
        if (model) await model.release();
        model = null;
        tracker = null;
        const m = await loadSam2Model(req.folder, {
          providers: req.providers ?? 'auto',
          ...(req.threads ? { threads: req.threads } : {}),
          log: (line) => post({ type: 'log', line }),
        });
        model = m;
        tracker = new Sam2Tracker(m, req.cacheBytes ? { cacheBytes: req.cacheBytes } : {});
        return { layout: m.layout.id, provider: m.provider, encoderFile: m.encoderFile, decoderFile: m.decoderFile } satisfies Sam2Results['load'];
      }
      case 'setImages': {
        need().setImages(req.images, req.intensity);
        return { nTilts: req.images.nTilts, ny: req.images.ny, nx: req.images.nx } satisfies Sam2Results['setImages'];
      }
      case 'encode': {
        const t = performance.now();
        const { cached } = await need().encodeFrame(req.frame, req.crop);
        return { cached, ms: performance.now() - t } satisfies Sam2Results['encode'];
      }
      case 'segment':
        return need().segmentFrame(req.frame, req.prompt, req.crop === undefined ? {} : { crop: req.crop });
      case 'propagate':
        return need().propagate(req.objects, {
          ...req.options,
          signal,
          onProgress: (p) => post({ id: req.id, type: 'progress', ...p }),
        });
      case 'dispose': {
        tracker?.dispose();
        if (model) await model.release();
        model = null;
        tracker = null;
        return {};
      }
    }
  }

  return (req) => {
    if (req.type === 'cancel') {
      const c = controllers.get(req.target);
      c?.abort(new CancelledError());
      post({ id: req.id, type: 'result', ok: true, value: { cancelled: !!c } satisfies Sam2Results['cancel'] });
      return;
    }
    const controller = new AbortController();
    controllers.set(req.id, controller);
    queue = queue.then(async () => {
      let reply: Sam2Reply;
      let transfer: ArrayBuffer[] = [];
      try {
        const value = await run(req, controller.signal);
        reply = { id: req.id, type: 'result', ok: true, value };
        transfer = transferablesOf(value);
      } catch (e) {
        reply = { id: req.id, type: 'result', ok: false, error: serialiseError(e) };
      } finally {
        controllers.delete(req.id);
      }
      try {
        post(reply, transfer);
      } catch (e) {
        post({ id: req.id, type: 'result', ok: false, error: serialiseError(e) });
      }
    });
  };
}
