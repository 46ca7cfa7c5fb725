// Frame-by-frame SAM2 propagation through a tilt series with the image-only exports (samexporter, onnxruntime,
// onnx-community): the "practical approximation" of FORMATS §5e (micro-sam's _track_from_prompts), since none of those
// exports carries SAM2's video memory.
//
// Per frame: predict where the object went (constant velocity of the box centre, smoothed like micro-sam's motion
// model), crop around the prediction so a few-pixel particle fills the model input, prompt with the predicted box +
// centroid (positive) + the previous low-res logits moved to the prediction (mask_input), keep the best mask by
// predicted IoU. Stop when the mask empties, explodes, or no longer overlaps the prediction, and say why.
// Keyframes are the user's prompted frames and the frames the user edited or locked; every other frame takes the
// result propagated from its nearest keyframe. 'edited'/'locked'/'excluded' frames are never written.

import { ParameterError, throwIfAborted } from '../../../../src-shared/errors';
import { LruCache } from './cache';
import { coversImage, cropAround, cropKey, DEFAULT_CROP, sameCrop, toFrame, wholeImageCrop, type CropBox, type CropOptions, type PixelBox } from './geometry';
import type { DecoderPrompt, Sam2Features } from './layouts';
import { iou, maskStats, shiftBox, shiftMask, touchesCropEdge, type MaskStats } from './masks';
import type { Sam2Model } from './model';
import {
  bestMask,
  lowResOf,
  lowResToMask,
  maskToLowRes,
  preprocessCrop,
  promptToModel,
  resampleLowRes,
  stackIntensity,
  type IntensityScale,
} from './preprocess';
import {
  emptyTimings,
  type FramePrompt,
  type FrameQuality,
  type FrameState,
  type ImageStack,
  type Sam2ObjectInput,
  type Sam2ObjectResult,
  type StageTimings,
  type StopReason,
  type StopRecord,
} from './types';

export interface Sam2TrackOptions {
  /** Crop around the object (default margin 3, min side 24 px); false: whole image, SAM2's plain convention. */
  crop?: Partial<CropOptions> | false;
  /** Stop when IoU(mask, motion prediction) falls below this (default 0.1). */
  stopIou?: number;
  /** Flag a frame for review below this IoU with the prediction (default 0.5). */
  flagIou?: number;
  /** Flag when |area change| exceeds this fraction (default 0.5). */
  flagAreaChange?: number;
  /** Flag when the decoder's own IoU estimate is below this (default 0.5). */
  flagPredictedIou?: number;
  /** Stop when the mask covers more than this fraction of the image: SAM's "lost target → everything" failure. */
  maxAreaFraction?: number;
  /** Weight of the old velocity in the motion model's moving average (micro-sam motion_smoothing, default 0.5). */
  motionSmoothing?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; objectId: string; frame: number }) => void;
}

export interface IntensityOptions {
  loPercentile?: number;
  hiPercentile?: number;
  invert?: boolean;
}

export interface SegmentResult {
  /** ny·nx 0/1 */
  mask: Uint8Array;
  area: number;
  predictedIou: number;
  crop: CropBox;
  /** The chosen mask's low-res logits in `crop`'s frame (the next call's mask_input). */
  lowRes: Float32Array;
}

interface Seg extends SegmentResult {
  stats: MaskStats | null;
  objectScore?: number;
}

/** What propagation carries from the last good frame. */
interface Ref {
  frame: number;
  mask: Uint8Array;
  stats: MaskStats;
  crop: CropBox;
  lowRes: Float32Array;
}

interface ObjectRun {
  id: string;
  masks: Uint8Array;
  frameState: FrameState[];
  quality: (FrameQuality | null)[];
  stops: StopRecord[];
  done: number;
}

const DEFAULTS = {
  stopIou: 0.1,
  flagIou: 0.5,
  flagAreaChange: 0.5,
  flagPredictedIou: 0.5,
  maxAreaFraction: 0.5,
  motionSmoothing: 0.5,
};

const STOP_MESSAGES: Record<StopReason, string> = {
  'empty-mask': 'the mask came back empty',
  'iou-collapse': 'the mask no longer overlaps the motion prediction (IoU collapsed)',
  'mask-exploded': 'the mask grew over a large part of the image (the model lost the particle)',
  'left-field-of-view': 'the particle left the field of view',
  'no-object': 'the prompts on this keyframe gave an empty mask',
};

const now = (): number => performance.now();
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Owns the image stack, the embedding cache and the stage timings for one loaded model. Not re-entrant: one call at
 * a time (the worker serialises requests).
 */
export class Sam2Tracker {
  readonly timings: StageTimings = emptyTimings();
  private images: ImageStack | null = null;
  private scale: IntensityScale | null = null;
  private version = 0;
  private readonly cache: LruCache<Sam2Features>;
  private scratch: Float32Array | null = null;

  constructor(
    readonly model: Sam2Model,
    opts: { cacheBytes?: number } = {},
  ) {
    // 512 MiB ≈ 30 real SAM2 embeddings: a typical tilt series' worth of crops around one or two particles.
    this.cache = new LruCache<Sam2Features>(opts.cacheBytes ?? 512 * 2 ** 20);
  }

  /** Sets the virtual-image stack (and its intensity scaling); invalidates the embedding cache. */
  setImages(stack: ImageStack, intensity: IntensityOptions = {}): void {
    const { data, nTilts, ny, nx } = stack;
    if (!(nTilts > 0 && ny > 0 && nx > 0) || data.length !== nTilts * ny * nx) {
      throw new ParameterError('images', `expected nTilts·ny·nx = ${nTilts}·${ny}·${nx} values, got ${data.length}`);
    }
    this.images = stack;
    this.scale = stackIntensity(data, intensity.loPercentile, intensity.hiPercentile, intensity.invert ?? false);
    this.version++;
    this.cache.clear();
  }

  get cacheStats(): { entries: number; bytes: number; hits: number; misses: number } {
    return { entries: this.cache.size, bytes: this.cache.bytes, hits: this.cache.hits, misses: this.cache.misses };
  }

  private stack(): ImageStack {
    if (!this.images) throw new ParameterError('images', 'no virtual-image stack set (call setImages first)');
    return this.images;
  }

  private checkFrame(frame: number): void {
    const n = this.stack().nTilts;
    if (!Number.isInteger(frame) || frame < 0 || frame >= n) throw new ParameterError('frame', `${frame} is not a tilt index 0…${n - 1}`);
  }

  /** Encoder features of one crop of one frame, from the cache or the encoder. */
  private async features(frame: number, crop: CropBox): Promise<Sam2Features> {
    const key = `${this.version}:${frame}:${cropKey(crop)}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.timings.cacheHits++;
      return hit;
    }
    this.timings.cacheMisses++;
    const { data, ny, nx } = this.stack();
    const spec = this.model.layout.preprocess;
    let t = now();
    const plane = ny * nx;
    this.scratch = preprocessCrop(data.subarray(frame * plane, (frame + 1) * plane), nx, ny, crop, this.scale as IntensityScale, spec, this.scratch ?? undefined);
    this.timings.preprocessMs += now() - t;
    t = now();
    const f = await this.model.encode(this.scratch);
    this.timings.encoderMs += now() - t;
    this.cache.set(key, f, f.bytes);
    return f;
  }

  /** Precomputes (caches) the embedding of a frame, whole image by default. */
  async encodeFrame(frame: number, crop?: CropBox): Promise<{ cached: boolean }> {
    this.checkFrame(frame);
    const { nx, ny } = this.stack();
    const c = crop ?? wholeImageCrop(nx, ny);
    const key = `${this.version}:${frame}:${cropKey(c)}`;
    const cached = this.cache.has(key);
    await this.features(frame, c);
    return { cached };
  }

  /** One encoder (cached) + decoder call in `crop`; keeps the best mask by predicted IoU. */
  private async segmentAt(frame: number, crop: CropBox, makePrompt: (c: CropBox) => DecoderPrompt): Promise<Seg> {
    const { nx, ny } = this.stack();
    const feats = await this.features(frame, crop);
    let t = now();
    const prompt = makePrompt(crop);
    this.timings.preprocessMs += now() - t;
    t = now();
    const out = await this.model.decode(feats, prompt);
    this.timings.decoderMs += now() - t;
    t = now();
    const low = this.model.layout.preprocess.lowResSize;
    const k = bestMask(out);
    const lowRes = lowResOf(out, k, low);
    const { mask, area } = lowResToMask(lowRes, low, crop, nx, ny);
    const stats = area ? maskStats(mask, nx, ny) : null;
    this.timings.postprocessMs += now() - t;
    return { mask, area, stats, predictedIou: out.iou[k], crop, lowRes, ...(out.objectScore === undefined ? {} : { objectScore: out.objectScore }) };
  }

  /** segmentAt, re-run in a larger crop (up to twice) when the mask runs into a crop edge that is not the image's. */
  private async segmentFitting(frame: number, crop: CropBox, makePrompt: (c: CropBox) => DecoderPrompt, cropOpts: CropOptions | false): Promise<Seg> {
    const { nx, ny } = this.stack();
    let seg = await this.segmentAt(frame, crop, makePrompt);
    for (let i = 0; i < 2 && cropOpts && seg.stats && !coversImage(seg.crop, nx, ny) && touchesCropEdge(seg.stats, seg.crop, nx, ny); i++) {
      const bigger = cropAround(seg.stats, nx, ny, { ...cropOpts, minSide: Math.ceil(seg.crop.side * 1.5) });
      seg = await this.segmentAt(frame, bigger, makePrompt);
    }
    return seg;
  }

  private cropOptions(o: Sam2TrackOptions['crop']): CropOptions | false {
    return o === false ? false : { ...DEFAULT_CROP, ...o };
  }

  private checkPrompt(frame: number, p: FramePrompt): void {
    const { nx, ny } = this.stack();
    const field = `prompts[${frame}]`;
    const inside = (x: number, y: number): boolean => Number.isFinite(x) && Number.isFinite(y) && x >= -0.5 && x <= nx - 0.5 && y >= -0.5 && y <= ny - 0.5;
    for (const [i, q] of (p.points ?? []).entries()) {
      if (!inside(q.x, q.y)) throw new ParameterError(`${field}.points[${i}]`, `(${q.x}, ${q.y}) is outside the ${nx}×${ny} image`);
      if (q.label !== 0 && q.label !== 1) throw new ParameterError(`${field}.points[${i}].label`, `must be 1 (positive) or 0 (negative), got ${String(q.label)}`);
    }
    if (p.box) {
      const b = p.box;
      if (!inside(b.x0, b.y0) || !inside(b.x1, b.y1)) throw new ParameterError(`${field}.box`, `(${b.x0}, ${b.y0})–(${b.x1}, ${b.y1}) is outside the ${nx}×${ny} image`);
      if (b.x1 < b.x0 || b.y1 < b.y0) throw new ParameterError(`${field}.box`, 'x1 < x0 or y1 < y0');
    }
    if (!p.box && !(p.points ?? []).some((q) => q.label === 1)) throw new ParameterError(field, 'needs a box or at least one positive point');
  }

  /**
   * Segments a prompted frame: first in a crop around the prompts (a generous one for a bare click, since the
   * particle's size is unknown), then again in a crop fitted to that mask, with it as mask_input.
   */
  private async segmentPrompted(frame: number, p: FramePrompt, cropOpts: CropOptions | false): Promise<Seg> {
    this.checkPrompt(frame, p);
    const { nx, ny } = this.stack();
    const spec = this.model.layout.preprocess;
    if (!cropOpts) return this.segmentAt(frame, wholeImageCrop(nx, ny), (c) => promptToModel(p, c, spec, null));
    const pos = (p.points ?? []).filter((q) => q.label === 1);
    const xs = [...pos.map((q) => q.x), ...(p.box ? [p.box.x0, p.box.x1] : [])];
    const ys = [...pos.map((q) => q.y), ...(p.box ? [p.box.y0, p.box.y1] : [])];
    const box: PixelBox = { x0: Math.floor(Math.min(...xs)), y0: Math.floor(Math.min(...ys)), x1: Math.ceil(Math.max(...xs)), y1: Math.ceil(Math.max(...ys)) };
    const minSide = p.box ? cropOpts.minSide : Math.max(cropOpts.minSide, Math.round(Math.min(nx, ny) / 2));
    const first = await this.segmentFitting(frame, cropAround(box, nx, ny, { ...cropOpts, minSide }), (c) => promptToModel(p, c, spec, null), cropOpts);
    if (!first.stats) return first;
    const fitted = cropAround(first.stats, nx, ny, cropOpts);
    if (sameCrop(fitted, first.crop)) return first;
    const low = spec.lowResSize;
    const withMask = (c: CropBox): DecoderPrompt =>
      promptToModel(p, c, spec, this.model.layout.supportsMaskInput ? resampleLowRes(first.lowRes, low, first.crop, c, 0, 0) : null);
    const second = await this.segmentFitting(frame, fitted, withMask, cropOpts);
    return second.stats ? second : first;
  }

  /** Interactive segmentation of one frame from the user's prompts (no propagation, nothing stored). */
  async segmentFrame(frame: number, prompt: FramePrompt, opts: Pick<Sam2TrackOptions, 'crop'> = {}): Promise<SegmentResult> {
    this.checkFrame(frame);
    const s = await this.segmentPrompted(frame, prompt, this.cropOptions(opts.crop));
    this.timings.frames++;
    return { mask: s.mask, area: s.area, predictedIou: s.predictedIou, crop: s.crop, lowRes: s.lowRes };
  }

  /** Propagates every object from its keyframes through the whole series. */
  async propagate(objects: Sam2ObjectInput[], opts: Sam2TrackOptions = {}): Promise<{ objects: Sam2ObjectResult[]; timings: StageTimings }> {
    const { nTilts } = this.stack();
    const before = { ...this.timings };
    const total = nTilts * objects.length;
    const results: Sam2ObjectResult[] = [];
    let doneBefore = 0;
    for (const obj of objects) {
      const run = await this.propagateObject(obj, opts, doneBefore, total);
      results.push({ id: run.id, masks: run.masks, frameState: run.frameState, quality: run.quality, stops: run.stops });
      doneBefore += nTilts;
      opts.onProgress?.({ done: doneBefore, total, objectId: obj.id, frame: nTilts - 1 });
    }
    const timings = emptyTimings();
    for (const k of Object.keys(timings) as (keyof StageTimings)[]) timings[k] = this.timings[k] - before[k];
    return { objects: results, timings };
  }

  private async propagateObject(obj: Sam2ObjectInput, o: Sam2TrackOptions, doneBefore: number, total: number): Promise<ObjectRun> {
    const { nTilts, ny, nx } = this.stack();
    const plane = ny * nx;
    if (obj.masks && obj.masks.length !== nTilts * plane) throw new ParameterError(`objects[${obj.id}].masks`, `expected ${nTilts * plane} values, got ${obj.masks.length}`);
    if (obj.frameState && obj.frameState.length !== nTilts) throw new ParameterError(`objects[${obj.id}].frameState`, `expected ${nTilts} entries, got ${obj.frameState.length}`);
    const run: ObjectRun = {
      id: obj.id,
      masks: obj.masks ? obj.masks.slice() : new Uint8Array(nTilts * plane),
      frameState: obj.frameState ? [...obj.frameState] : new Array<FrameState>(nTilts).fill('empty'),
      quality: new Array<FrameQuality | null>(nTilts).fill(null),
      stops: [],
      done: doneBefore,
    };
    const cropOpts = this.cropOptions(o.crop);
    const opts = { ...DEFAULTS, ...o };
    const frameMask = (f: number): Uint8Array => run.masks.subarray(f * plane, (f + 1) * plane);
    const userOwned = (f: number): boolean => run.frameState[f] === 'edited' || run.frameState[f] === 'locked';
    const tick = (frame: number): void => {
      run.done++;
      o.onProgress?.({ done: run.done, total, objectId: obj.id, frame });
    };

    const prompted = Object.keys(obj.prompts ?? {}).map(Number);
    for (const f of prompted) if (!Number.isInteger(f) || f < 0 || f >= nTilts) throw new ParameterError(`objects[${obj.id}].prompts`, `frame ${f} is not a tilt index 0…${nTilts - 1}`);
    const keyframes = new Set<number>(prompted.filter((f) => run.frameState[f] !== 'excluded'));
    for (let f = 0; f < nTilts; f++) if (userOwned(f) && maskStats(frameMask(f), nx, ny)) keyframes.add(f);
    const keys = [...keyframes].sort((a, b) => a - b);
    if (!keys.length) throw new ParameterError(`objects[${obj.id}].prompts`, 'no prompted, edited or locked frame to start from');

    const low = this.model.layout.preprocess.lowResSize;
    // Keyframes first: each becomes the reference its neighbours are propagated from.
    const refs = new Map<number, Ref | null>();
    for (const f of keys) {
      throwIfAborted(o.signal);
      await nextTurn();
      throwIfAborted(o.signal);
      if (userOwned(f) && maskStats(frameMask(f), nx, ny)) {
        const mask = frameMask(f).slice();
        const stats = maskStats(mask, nx, ny) as MaskStats;
        const crop = cropOpts ? cropAround(stats, nx, ny, cropOpts) : wholeImageCrop(nx, ny);
        refs.set(f, { frame: f, mask, stats, crop, lowRes: maskToLowRes(mask, nx, ny, crop, low) });
      } else {
        const seg = await this.segmentPrompted(f, obj.prompts[f], cropOpts);
        this.timings.frames++;
        const empty = !seg.stats || (seg.objectScore !== undefined && seg.objectScore <= 0);
        if (empty || !seg.stats) {
          run.quality[f] = { iouWithPrediction: 0, predictedIou: seg.predictedIou, areaChange: 0, flagged: true, reason: STOP_MESSAGES['no-object'] };
          run.stops.push({ from: f, direction: 'both', frame: f, reason: 'no-object', message: `frame ${f}: ${STOP_MESSAGES['no-object']}` });
          refs.set(f, null);
        } else {
          frameMask(f).set(seg.mask);
          run.frameState[f] = 'tracked';
          const flagged = seg.predictedIou < opts.flagPredictedIou;
          run.quality[f] = { iouWithPrediction: 1, predictedIou: seg.predictedIou, areaChange: 0, flagged, ...(flagged ? { reason: 'low predicted IoU on the keyframe' } : {}) };
          refs.set(f, { frame: f, mask: seg.mask, stats: seg.stats, crop: seg.crop, lowRes: seg.lowRes });
        }
      }
      tick(f);
    }

    const go = (ref: Ref | null | undefined, dir: 1 | -1, until: number): Promise<number | null> =>
      ref && (dir > 0 ? until > ref.frame : until < ref.frame) ? this.runDirection(run, ref, dir, until, cropOpts, opts, tick) : Promise.resolve(null);
    await go(refs.get(keys[0]), -1, 0);
    for (let i = 0; i + 1 < keys.length; i++) {
      const a = keys[i];
      const b = keys[i + 1];
      const mid = Math.floor((a + b) / 2);
      const refA = refs.get(a);
      // Forward from a to the midpoint; backward from b covers the rest, and further down if forward stopped early.
      const stoppedAt = refA ? await go(refA, 1, mid) : a;
      await go(refs.get(b), -1, stoppedAt === null ? mid + 1 : stoppedAt + (refA ? 0 : 1));
    }
    await go(refs.get(keys[keys.length - 1]), 1, nTilts - 1);
    return run;
  }

  /** Propagates from `ref` in direction `dir` up to frame `until` (inclusive); returns the frame it stopped at. */
  private async runDirection(
    run: ObjectRun,
    start: Ref,
    dir: 1 | -1,
    until: number,
    cropOpts: CropOptions | false,
    opts: typeof DEFAULTS & Sam2TrackOptions,
    tick: (f: number) => void,
  ): Promise<number | null> {
    const { ny, nx } = this.stack();
    const plane = ny * nx;
    const spec = this.model.layout.preprocess;
    const low = spec.lowResSize;
    const alpha = opts.motionSmoothing;
    let ref = start;
    let vx = 0;
    let vy = 0;
    let steps = 0;
    for (let t = start.frame + dir; dir > 0 ? t <= until : t >= until; t += dir) {
      throwIfAborted(opts.signal);
      await nextTurn(); // let a worker's 'cancel' message in between frames
      throwIfAborted(opts.signal);
      steps++;
      const state = run.frameState[t];
      // Excluded frames and user-owned frames (an edited frame with an empty mask: "not visible here") are skipped;
      // the motion model keeps counting steps across them.
      if (state === 'excluded' || state === 'edited' || state === 'locked') {
        tick(t);
        continue;
      }
      const dx = vx * steps;
      const dy = vy * steps;
      const predBox = shiftBox(ref.stats, dx, dy);
      const pcx = ref.stats.cx + dx;
      const pcy = ref.stats.cy + dy;
      const stop = (reason: StopReason, q: FrameQuality | null): number => {
        if (q) run.quality[t] = { ...q, flagged: true, reason: STOP_MESSAGES[reason] };
        run.stops.push({ from: start.frame, direction: dir > 0 ? 'forward' : 'backward', frame: t, reason, message: `frame ${t}: ${STOP_MESSAGES[reason]}` });
        tick(t);
        return t;
      };
      if (pcx < -0.5 || pcx > nx - 0.5 || pcy < -0.5 || pcy > ny - 0.5) return stop('left-field-of-view', null);

      const crop = cropOpts ? cropAround(predBox, nx, ny, cropOpts) : wholeImageCrop(nx, ny);
      const X = (x: number, c: CropBox): number => toFrame(x, c.x0, c.side, spec.size);
      const Y = (y: number, c: CropBox): number => toFrame(y, c.y0, c.side, spec.size);
      const makePrompt = (c: CropBox): DecoderPrompt => ({
        box: [X(predBox.x0, c), Y(predBox.y0, c), X(predBox.x1, c), Y(predBox.y1, c)],
        points: [{ x: X(pcx, c), y: Y(pcy, c), label: 1 }],
        maskInput: this.model.layout.supportsMaskInput ? resampleLowRes(ref.lowRes, low, ref.crop, c, dx, dy) : null,
      });
      const seg = await this.segmentFitting(t, crop, makePrompt, cropOpts);
      this.timings.frames++;

      const t0 = now();
      const predicted = shiftMask(ref.mask, nx, ny, dx, dy);
      const iouPred = iou(seg.mask, predicted);
      const areaChange = (seg.area - ref.stats.area) / ref.stats.area;
      this.timings.postprocessMs += now() - t0;
      const q: FrameQuality = { iouWithPrediction: iouPred, predictedIou: seg.predictedIou, areaChange, flagged: false };

      if (!seg.stats || (seg.objectScore !== undefined && seg.objectScore <= 0)) {
        const atEdge = predBox.x0 < 0 || predBox.y0 < 0 || predBox.x1 > nx - 1 || predBox.y1 > ny - 1;
        return stop(atEdge ? 'left-field-of-view' : 'empty-mask', q);
      }
      if (seg.area > opts.maxAreaFraction * plane) return stop('mask-exploded', q);
      if (iouPred < opts.stopIou) return stop('iou-collapse', q);

      const reasons: string[] = [];
      if (iouPred < opts.flagIou) reasons.push(`IoU with the prediction ${iouPred.toFixed(2)}`);
      if (Math.abs(areaChange) > opts.flagAreaChange) reasons.push(`area changed by ${(100 * areaChange).toFixed(0)} %`);
      if (seg.predictedIou < opts.flagPredictedIou) reasons.push(`predicted IoU ${seg.predictedIou.toFixed(2)}`);
      run.quality[t] = reasons.length ? { ...q, flagged: true, reason: reasons.join('; ') } : q;
      run.masks.set(seg.mask, t * plane);
      run.frameState[t] = 'tracked';

      // Constant velocity of the box centre, exponentially smoothed (micro-sam: m = α·m + (1 − α)·move).
      const s = seg.stats;
      const mx = ((s.x0 + s.x1) / 2 - (ref.stats.x0 + ref.stats.x1) / 2) / steps;
      const my = ((s.y0 + s.y1) / 2 - (ref.stats.y0 + ref.stats.y1) / 2) / steps;
      vx = alpha * vx + (1 - alpha) * mx;
      vy = alpha * vy + (1 - alpha) * my;
      ref = { frame: t, mask: seg.mask, stats: s, crop: seg.crop, lowRes: seg.lowRes };
      steps = 0;
      tick(t);
    }
    return null;
  }

  dispose(): void {
    this.cache.clear();
    this.images = null;
  }
}

