// The classical tracker: follows prompted particles through the tilt series without any learned weights.
//
// Per sweep direction (forward, then backward) frames are visited in order and all objects are advanced together:
//  1. prediction: the last mask is moved by the global drift between the two tilts (phase correlation) plus the
//     object's own velocity after drift compensation (constant-velocity model, smoothed), because particles also
//     move relative to each other as the sample rotates;
//  2. re-segmentation inside the predicted region: the frame's foreground is flooded (watershed on the split
//     map of segment.ts: distance transform and intensity) from markers: each object's core (its predicted mask, eroded), the h-maxima of every other particle, and
//     h-maxima inside an object's predicted zone, which belong to that object. A touching particle therefore
//     keeps its own region and the mask stops at the neck instead of swallowing it;
//  3. joint Hungarian assignment of objects to regions on a cost of predicted position, IoU with the prediction
//     and area ratio, with a gate, and a "lost" option per object. Lost objects are predicted on for up to
//     maxGap frames (gap memory) and re-acquired when a region matches again;
//  4. quality signals per frame (IoU with prediction, area change, contrast) and flags for the UI.
// Anchors (prompted frames and frames the user edited or locked) restart the track; edited/locked frames are
// never written. Where a forward and a backward sweep both reach a frame, the mask from the nearer anchor wins.
import {
  binaryDilate,
  binaryErode,
  maskIoU,
  regionProps,
  translateMask,
  watershed,
} from '../../kernels/image';
import { InputError, ParameterError, throwIfAborted } from '../../../src-shared/errors';
import { assignObjects, FORBIDDEN } from './assignment';
import { cumulativeDrift, estimateDrift } from './drift';
import { maskFromPrompt, promptProblem } from './prompt';
import {
  analyseImage,
  DEFAULT_SEGMENTATION,
  preprocessFrame,
  segmentationOptions,
  splitElevation,
  splitForeground,
  splitMap,
  type FrameAnalysis,
} from './segment';
import type {
  FrameQuality,
  FrameState,
  TrackContext,
  TrackedObjectResult,
  TrackInput,
  TrackOptions,
  ObjectPrompt,
  TrackResult,
} from './types';

export const DEFAULT_TRACK_OPTIONS: TrackOptions = {
  ...DEFAULT_SEGMENTATION,
  localFraction: 0.15,
  gate: 0,
  maxGap: 3,
  direction: 'both',
  maxFrames: 10_000,
};

/** Cost of leaving an object unmatched: a match must be better than "far, half-overlapping, 2× the area". */
const MISS_COST = 1.6;
/** A region more than this × the previous area has probably merged with an unmarked neighbour: split it. */
const MAX_GROWTH = 1.6;
/** …or one with more than this × the previous area well outside the object's predicted region. */
const FAR_FRACTION = 0.15;
/** Quality flags. */
const FLAG_IOU = 0.5;
const FLAG_AREA_CHANGE = 0.35;
const FLAG_CONTRAST = 2;

/** Validates and completes tracker options. */
export function trackOptions(opts: Partial<TrackOptions> = {}): TrackOptions {
  const seg = segmentationOptions(opts);
  const o: TrackOptions = { ...DEFAULT_TRACK_OPTIONS, ...opts, ...seg };
  if (!Number.isFinite(o.gate) || o.gate < 0) throw new ParameterError('gate', `must be ≥ 0 pixels (0 = automatic), got ${o.gate}`);
  if (!(o.localFraction >= 0 && o.localFraction < 1)) throw new ParameterError('localFraction', `must be in [0, 1), got ${o.localFraction}`);
  if (!Number.isInteger(o.maxGap) || o.maxGap < 0) throw new ParameterError('maxGap', `must be an integer ≥ 0, got ${o.maxGap}`);
  if (!Number.isInteger(o.maxFrames) || o.maxFrames < 1) throw new ParameterError('maxFrames', `must be an integer ≥ 1, got ${o.maxFrames}`);
  if (!['forward', 'backward', 'both'].includes(o.direction)) {
    throw new ParameterError('direction', `must be forward, backward or both, got '${String(o.direction)}'`);
  }
  return o;
}

type Direction = 'forward' | 'backward';

/** One sweep's output for one object. */
interface SweepStore {
  masks: (Uint8Array | null)[];
  /** Frames from the anchor the mask was propagated from. */
  dist: Int32Array;
  quality: (FrameQuality | null)[];
  visited: Uint8Array;
}

interface ObjectPlan {
  id: number;
  result: TrackedObjectResult;
  /** frame → anchor mask (prompted frames and edited/locked frames). */
  anchors: Map<number, Uint8Array>;
  /** Prompted frames whose mask this run computed (written as 'tracked'). */
  prompted: Set<number>;
  /** Edited or locked frames: never written. */
  fixed: Set<number>;
  excluded: Set<number>;
  sweeps: Map<Direction, SweepStore>;
}

/** Live state of an object inside a sweep. */
interface Track {
  mask: Uint8Array;
  area: number;
  cx: number;
  cy: number;
  vx: number;
  vy: number;
  nVelocity: number;
  lastFrame: number;
  gap: number;
  steps: number;
}

interface Prediction {
  plan: ObjectPlan;
  track: Track;
  mask: Uint8Array;
  pixels: Int32Array;
  area: number;
  cx: number;
  cy: number;
  gate: number;
  radius: number;
  bbox: { x0: number; y0: number; x1: number; y1: number };
}

function sliceFrame<T extends Uint8Array | Float32Array>(a: T, t: number, n: number): T {
  return a.subarray(t * n, (t + 1) * n) as T;
}

function pixelsOf(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[n++] = i;
  return out;
}

function statsOf(mask: Uint8Array, nx: number): { area: number; cx: number; cy: number } {
  let area = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    area++;
    const x = i % nx;
    sx += x;
    sy += (i - x) / nx;
  }
  return { area, cx: area ? sx / area : NaN, cy: area ? sy / area : NaN };
}

function bboxOf(pixels: Int32Array, nx: number): { x0: number; y0: number; x1: number; y1: number } {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const i of pixels) {
    const x = i % nx;
    const y = (i - x) / nx;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { x0, y0, x1, y1 };
}

/**
 * Applies a binary morphology op to a mask inside its bounding box grown by `pad` (the ops are O(box), not
 * O(frame), which matters with several objects on 512² frames). Returns a full-frame mask.
 */
function roiMorph(
  mask: Uint8Array,
  nx: number,
  ny: number,
  box: { x0: number; y0: number; x1: number; y1: number },
  pad: number,
  op: (m: Uint8Array, w: number, h: number) => Uint8Array,
): Uint8Array {
  const x0 = Math.max(0, box.x0 - pad);
  const y0 = Math.max(0, box.y0 - pad);
  const x1 = Math.min(nx - 1, box.x1 + pad);
  const y1 = Math.min(ny - 1, box.y1 + pad);
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const crop = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) crop[y * w + x] = mask[(y + y0) * nx + x + x0];
  const res = op(crop, w, h);
  const out = new Uint8Array(nx * ny);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(y + y0) * nx + x + x0] = res[y * w + x];
  return out;
}

/** (mean of image inside mask − mean over a ring around it outside any particle) / background noise. */
function contrastOf(a: FrameAnalysis, mask: Uint8Array, box: { x0: number; y0: number; x1: number; y1: number }): number {
  const { nx, ny } = a;
  const ring = roiMorph(mask, nx, ny, box, 4, (m, w, h) => binaryDilate(m, w, h, 3));
  let si = 0;
  let ni = 0;
  let sr = 0;
  let nr = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) {
      si += a.image[i];
      ni++;
    } else if (ring[i] && !a.foreground[i]) {
      sr += a.image[i];
      nr++;
    }
  }
  if (!ni) return 0;
  const outside = nr >= 4 ? sr / nr : a.backgroundMean;
  return (si / ni - outside) / Math.max(a.backgroundStd, 1e-6 * Math.abs(si / ni) + 1e-12);
}

/** Frame analyses are recomputed on demand and kept in a small LRU sized to a memory budget. */
class AnalysisCache {
  private readonly map = new Map<number, { pre: Float32Array; analysis?: FrameAnalysis; labels?: Int32Array }>();
  private readonly capacity: number;

  constructor(
    private readonly input: TrackInput,
    private readonly opts: TrackOptions,
  ) {
    // About 13 bytes per pixel per cached frame; keep it under ~64 MB.
    this.capacity = Math.max(4, Math.floor(5e6 / (input.nx * input.ny)));
  }

  private entry(t: number): { pre: Float32Array; analysis?: FrameAnalysis; labels?: Int32Array } {
    let e = this.map.get(t);
    if (e) {
      this.map.delete(t);
      this.map.set(t, e);
      return e;
    }
    const { nx, ny } = this.input;
    const pre = preprocessFrame(sliceFrame(this.input.stack, t, nx * ny), nx, ny, this.input.invert ?? false, this.opts);
    e = { pre };
    this.map.set(t, e);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as number);
    return e;
  }

  analysis(t: number): FrameAnalysis {
    const e = this.entry(t);
    e.analysis ??= analyseImage(e.pre, this.input.nx, this.input.ny, this.opts);
    return e.analysis;
  }

  /**
   * The image drift is measured on: background-subtracted and clipped a little above the threshold, so
   * particles count by their outline, not by their diffraction contrast, which changes from tilt to tilt and
   * would otherwise drag the correlation peak (a crystal lighting up in one tilt is not a shift).
   */
  driftImage(t: number): Float32Array {
    const a = this.analysis(t);
    if (!a.hasContent) return a.image;
    const step = Number.isFinite(a.threshold) ? a.threshold - a.backgroundMean : 0;
    const sat = Math.max(2 * step, 3 * a.backgroundStd, 1e-12);
    return Float32Array.from(a.image, (v) => Math.min(sat, Math.max(0, v - a.backgroundMean)));
  }

  /** Candidate regions (touching particles split), for prompts. */
  labels(t: number): Int32Array {
    const e = this.entry(t);
    const a = this.analysis(t);
    e.labels ??= splitForeground(a);
    return e.labels;
  }
}

function validateInput(input: TrackInput): void {
  const { nTilts, ny, nx, stack } = input;
  for (const [k, v] of [['nTilts', nTilts], ['ny', ny], ['nx', nx]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new ParameterError(k, `must be a positive integer, got ${v}`);
  }
  if (!(stack instanceof Float32Array) || stack.length !== nTilts * ny * nx) {
    throw new ParameterError('stack', `expected a Float32Array of ${nTilts}×${ny}×${nx} = ${nTilts * ny * nx} values, got ${stack?.length}`);
  }
  const n = nx * ny;
  let anyContent = false;
  for (let t = 0; t < nTilts && !anyContent; t++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = t * n; i < (t + 1) * n; i++) {
      const v = stack[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi > lo) anyContent = true;
  }
  if (!anyContent) {
    throw new InputError('virtual image', 'every tilt is constant or not finite (an empty virtual image): there is nothing to track; check the detector radii');
  }
  for (const e of input.existing ?? []) {
    if (e.masks.length !== nTilts * n) {
      throw new ParameterError(`existing[${e.objectId}].masks`, `expected ${nTilts * n} values, got ${e.masks.length}`);
    }
    if (e.frameState.length !== nTilts) {
      throw new ParameterError(`existing[${e.objectId}].frameState`, `expected ${nTilts} entries, got ${e.frameState.length}`);
    }
  }
}

/** Builds each object's plan: anchors from prompts and edited/locked frames, or an error that stops it. */
function planObjects(input: TrackInput, prompts: ObjectPrompt[], cache: AnalysisCache): ObjectPlan[] {
  const { nTilts, nx, ny } = input;
  const n = nx * ny;
  const ids: number[] = [];
  for (const p of prompts) if (!ids.includes(p.objectId)) ids.push(p.objectId);
  for (const e of input.existing ?? []) if (!ids.includes(e.objectId)) ids.push(e.objectId);
  return ids.map((id) => {
    const existing = input.existing?.find((e) => e.objectId === id);
    const masks = existing ? existing.masks.slice() : new Uint8Array(nTilts * n);
    const frameState: FrameState[] = existing ? existing.frameState.slice() : new Array<FrameState>(nTilts).fill('empty');
    const plan: ObjectPlan = {
      id,
      result: { objectId: id, masks, frameState, quality: new Array<FrameQuality | null>(nTilts).fill(null), stops: [] },
      anchors: new Map(),
      prompted: new Set(),
      fixed: new Set(),
      excluded: new Set(),
      sweeps: new Map(),
    };
    frameState.forEach((s, t) => {
      if (s === 'edited' || s === 'locked') {
        plan.fixed.add(t);
        plan.anchors.set(t, masks.slice(t * n, (t + 1) * n));
      } else if (s === 'excluded') plan.excluded.add(t);
    });
    // Prompts of this object, merged per frame.
    const byFrame = new Map<number, ObjectPrompt>();
    for (const p of prompts.filter((q) => q.objectId === id)) {
      const problem = promptProblem(p, nTilts, nx, ny);
      if (problem) {
        plan.result.error = problem;
        return plan;
      }
      const prev = byFrame.get(p.tilt);
      byFrame.set(p.tilt, prev ? { ...prev, points: [...prev.points, ...p.points], box: prev.box ?? p.box } : { ...p, points: [...p.points] });
    }
    for (const [t, p] of byFrame) {
      // An edited/locked frame already is the truth: the prompt there adds nothing.
      if (plan.fixed.has(t)) continue;
      const r = maskFromPrompt(cache.analysis(t), cache.labels(t), p);
      if (r.error !== undefined) {
        plan.result.error = r.error;
        return plan;
      }
      plan.anchors.set(t, r.mask);
      plan.prompted.add(t);
    }
    if (plan.anchors.size === 0) plan.result.error = `object ${id} has no prompt and no edited or locked frame to start from`;
    return plan;
  });
}

function newTrack(mask: Uint8Array, t: number, nx: number, prev: Track | undefined, step: number): Track {
  const s = statsOf(mask, nx);
  // Keep the velocity through an anchor the track just reached continuously; otherwise start at rest.
  const keep = prev && prev.lastFrame === t - step;
  return {
    mask,
    area: s.area,
    cx: s.cx,
    cy: s.cy,
    vx: keep ? prev.vx : 0,
    vy: keep ? prev.vy : 0,
    nVelocity: keep ? prev.nVelocity : 0,
    lastFrame: t,
    gap: 0,
    steps: 0,
  };
}

const nextTick = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/**
 * Tracks the prompted objects through the virtual-image stack. Per-object problems (bad prompt, particle
 * leaving the field of view, lost for too long) stop that object with a reason; the others continue.
 * Throws ParameterError for malformed input, InputError for an entirely empty virtual image, and
 * CancelledError when `ctx.signal` aborts.
 */
export async function trackObjects(
  input: TrackInput,
  prompts: ObjectPrompt[],
  options: Partial<TrackOptions> = {},
  ctx: TrackContext = {},
): Promise<TrackResult> {
  validateInput(input);
  const opts = trackOptions(options);
  const { nTilts, nx, ny } = input;
  const n = nx * ny;
  const cache = new AnalysisCache(input, opts);
  const directions: Direction[] = opts.direction === 'both' ? ['forward', 'backward'] : [opts.direction];
  const total = nTilts - 1 + nTilts * directions.length;
  let done = 0;
  const progress = (): void => {
    done++;
    ctx.onProgress?.(done, total);
  };

  throwIfAborted(ctx.signal);
  const plans = planObjects(input, prompts, cache);
  const drift = estimateDrift(nTilts, nx, ny, (t) => cache.driftImage(t), () => {
    throwIfAborted(ctx.signal);
    progress();
  });
  const D = cumulativeDrift(drift);
  const live = plans.filter((p) => !p.result.error);

  for (const dir of directions) {
    const step = dir === 'forward' ? 1 : -1;
    for (const p of live) {
      p.sweeps.set(dir, {
        masks: new Array<Uint8Array | null>(nTilts).fill(null),
        dist: new Int32Array(nTilts),
        quality: new Array<FrameQuality | null>(nTilts).fill(null),
        visited: new Uint8Array(nTilts),
      });
    }
    const tracks = new Map<ObjectPlan, Track>();
    const stop = (p: ObjectPlan, t: number, reason: string): void => {
      tracks.delete(p);
      p.result.stops.push({ tilt: t, direction: dir, reason });
    };
    for (let k = 0; k < nTilts; k++) {
      const t = dir === 'forward' ? k : nTilts - 1 - k;
      throwIfAborted(ctx.signal);
      await nextTick();
      throwIfAborted(ctx.signal);
      const claimed = new Uint8Array(n);
      let anyClaimed = false;
      const active: ObjectPlan[] = [];
      for (const p of live) {
        const anchor = p.anchors.get(t);
        if (anchor) {
          tracks.set(p, newTrack(anchor, t, nx, tracks.get(p), step));
          for (let i = 0; i < n; i++) {
            if (anchor[i]) {
              claimed[i] = 1;
              anyClaimed = true;
            }
          }
          continue;
        }
        const tr = tracks.get(p);
        if (!tr || p.excluded.has(t)) continue;
        if (tr.steps >= opts.maxFrames) {
          stop(p, t, `reached maxFrames (${opts.maxFrames}) from the last anchor`);
          continue;
        }
        active.push(p);
      }
      if (active.length) stepFrame(t, active, tracks, cache.analysis(t), claimed, anyClaimed, D, opts, dir, stop);
      progress();
    }
  }

  for (const p of plans) mergeSweeps(p, nTilts, n);
  return { objects: plans.map((p) => p.result), drift };
}

/** What every step of one frame shares. */
interface FrameStep {
  t: number;
  a: FrameAnalysis;
  nx: number;
  ny: number;
  n: number;
  opts: TrackOptions;
  dir: Direction;
  D: { x: Float64Array; y: Float64Array };
  stop: (p: ObjectPlan, t: number, reason: string) => void;
}

/** Advances every active object by one frame (prediction, seeded re-segmentation, joint assignment). */
function stepFrame(
  t: number,
  active: ObjectPlan[],
  tracks: Map<ObjectPlan, Track>,
  a: FrameAnalysis,
  claimed: Uint8Array,
  anyClaimed: boolean,
  D: { x: Float64Array; y: Float64Array },
  opts: TrackOptions,
  dir: Direction,
  stop: (p: ObjectPlan, t: number, reason: string) => void,
): void {
  const st: FrameStep = { t, a, nx: a.nx, ny: a.ny, n: a.nx * a.ny, opts, dir, D, stop };
  const preds = predict(st, active, tracks);
  if (!preds.length) return;
  if (!a.hasContent) {
    for (const pr of preds) loseTrack(st, pr, 'empty frame: no particles segmented');
    return;
  }
  const { zone, cores } = coresAndZones(st, preds);
  const { fg, ridge, peaks } = localForeground(st, preds, cores, zone, claimed, anyClaimed);
  const markers = seedMarkers(st, preds, cores, zone, fg, peaks);
  const elevation = splitElevation(ridge);
  const regions = watershed(elevation, markers, st.nx, st.ny, fg);
  const nRegions = splitOversized(st, preds, regions, markers, elevation, preds.length + peaks.count);
  const props = regionProps(regions, nRegions, st.nx, st.ny);
  const cols = props.filter((r) => r.area > 0);
  // Joint assignment on position, overlap and area.
  const cost: number[][] = preds.map((pr) => {
    const inter = new Float64Array(nRegions + 1);
    for (const i of pr.pixels) inter[regions[i]]++;
    return cols.map((r) => {
      const iou = inter[r.label] / (pr.area + r.area - inter[r.label]);
      const d = Math.hypot(r.cx - pr.cx, r.cy - pr.cy);
      if (d > pr.gate && iou < 0.3) return FORBIDDEN;
      return d / pr.gate + (1 - iou) + 0.5 * Math.abs(Math.log(r.area / pr.track.area));
    });
  });
  const match = assignObjects(cost, MISS_COST);
  preds.forEach((pr, j) => {
    const k = match[j];
    if (k < 0) loseTrack(st, pr, 'no candidate within the gate');
    else acceptMatch(st, pr, Uint8Array.from(regions, (l) => (l === cols[k].label ? 1 : 0)));
  });
}

/** Each track's prediction on this frame (last mask moved by drift and velocity); tracks that left the field stop. */
function predict(st: FrameStep, active: ObjectPlan[], tracks: Map<ObjectPlan, Track>): Prediction[] {
  const { t, nx, ny, D, opts } = st;
  const preds: Prediction[] = [];
  for (const p of active) {
    const tr = tracks.get(p) as Track;
    const frames = Math.abs(t - tr.lastFrame);
    const cx = tr.cx + (D.x[t] - D.x[tr.lastFrame]) + tr.vx * frames;
    const cy = tr.cy + (D.y[t] - D.y[tr.lastFrame]) + tr.vy * frames;
    const moved = translateMask(tr.mask, nx, ny, cx - tr.cx, cy - tr.cy);
    if (moved.lost > 0.5 * tr.area || cx < -0.5 || cy < -0.5 || cx > nx - 0.5 || cy > ny - 0.5) {
      st.stop(p, t, `left the field of view (predicted centre (${cx.toFixed(1)}, ${cy.toFixed(1)}))`);
      continue;
    }
    const pixels = pixelsOf(moved.mask);
    const radius = Math.sqrt(tr.area / Math.PI);
    preds.push({
      plan: p,
      track: tr,
      mask: moved.mask,
      pixels,
      area: pixels.length,
      cx,
      cy,
      gate: opts.gate > 0 ? opts.gate : Math.max(5, radius),
      radius,
      bbox: bboxOf(pixels, nx),
    });
  }
  return preds;
}

/** The object was not found on this frame: a flagged gap, or the end of its track after maxGap frames. */
function loseTrack(st: FrameStep, pr: Prediction, reason: string): void {
  const { t, nx, ny } = st;
  const store = pr.plan.sweeps.get(st.dir) as SweepStore;
  const tr = pr.track;
  tr.gap++;
  tr.steps++;
  store.visited[t] = 1;
  store.dist[t] = tr.steps;
  store.quality[t] = { iouWithPrediction: 0, areaChange: NaN, contrast: NaN, flagged: true, reason };
  if (tr.gap > st.opts.maxGap) {
    const nearEdge = pr.bbox.x0 <= 0 || pr.bbox.y0 <= 0 || pr.bbox.x1 >= nx - 1 || pr.bbox.y1 >= ny - 1;
    st.stop(pr.plan, t, nearEdge ? 'left the field of view' : `lost for ${tr.gap} frames (${reason})`);
  }
}

/** Each object's core (its prediction, eroded: safely inside it) and zone (its prediction, dilated; label j + 1). */
function coresAndZones(st: FrameStep, preds: Prediction[]): { zone: Int32Array; cores: Uint8Array[] } {
  const { nx, ny, n } = st;
  const zone = new Int32Array(n);
  const cores = preds.map((pr, j) => {
    const rCore = Math.max(1, 0.35 * pr.radius);
    let core = roiMorph(pr.mask, nx, ny, pr.bbox, 1, (m, w, h) => binaryErode(m, w, h, rCore));
    let coreN = 0;
    for (const i of pr.pixels) if (core[i]) coreN++;
    if (coreN === 0) core = pr.mask; // a thin particle erodes away: use the whole prediction
    const margin = Math.max(2, 0.3 * pr.radius);
    const z = roiMorph(pr.mask, nx, ny, pr.bbox, Math.ceil(margin) + 1, (m, w, h) => binaryDilate(m, w, h, margin));
    for (let i = 0; i < n; i++) {
      if (!z[i]) continue;
      if (zone[i] === 0) zone[i] = j + 1;
      else {
        // Overlapping zones: the pixel goes to the nearer predicted centre.
        const x = i % nx;
        const y = (i - x) / nx;
        const o = preds[zone[i] - 1];
        if (Math.hypot(x - pr.cx, y - pr.cy) < Math.hypot(x - o.cx, y - o.cy)) zone[i] = j + 1;
      }
    }
    return core;
  });
  return { zone, cores };
}

/**
 * Foreground: the frame's, re-thresholded inside each zone relative to that object's own brightness on this frame
 * (diffraction contrast makes a crystal fade or flare from tilt to tilt: one global level loses the faint one and
 * makes the bright one fat), without pixels other objects' anchors claim on this frame.
 */
function localForeground(
  st: FrameStep,
  preds: Prediction[],
  cores: Uint8Array[],
  zone: Int32Array,
  claimed: Uint8Array,
  anyClaimed: boolean,
): { fg: Uint8Array; ridge: FrameAnalysis['ridge']; peaks: FrameAnalysis['peaks'] } {
  const { a, opts, n, nx, ny } = st;
  if (!(opts.localFraction > 0 || anyClaimed)) return { fg: a.foreground, ridge: a.ridge, peaks: a.peaks };
  const fg = a.foreground.slice();
  if (opts.localFraction > 0) {
    const floor = a.backgroundMean + 3 * a.backgroundStd;
    const levels = preds.map((pr, j) => {
      let s = 0;
      let c = 0;
      for (const i of pr.pixels) {
        if (cores[j][i]) {
          s += a.image[i];
          c++;
        }
      }
      const level = c ? s / c : a.backgroundMean;
      return Math.max(floor, a.backgroundMean + opts.localFraction * (level - a.backgroundMean));
    });
    for (let i = 0; i < n; i++) if (zone[i]) fg[i] = a.image[i] > levels[zone[i] - 1] ? 1 : 0;
  }
  if (anyClaimed) for (let i = 0; i < n; i++) if (claimed[i]) fg[i] = 0;
  const { ridge, peaks } = splitMap(a.image, fg, nx, ny, a.backgroundMean, a.backgroundStd, a.threshold, opts);
  return { fg, ridge, peaks };
}

/**
 * Watershed markers: object cores (labels 1…P), then the other particles' h-maxima (P + peak label). Each h-maximum
 * goes to the object whose zone holds most of it (more than lies outside every zone), else it seeds a region of its
 * own: a neighbour's marker that merely brushes the zone stays the neighbour's.
 */
function seedMarkers(st: FrameStep, preds: Prediction[], cores: Uint8Array[], zone: Int32Array, fg: Uint8Array, peaks: FrameAnalysis['peaks']): Int32Array {
  const { n } = st;
  const P = preds.length;
  const markers = new Int32Array(n);
  preds.forEach((pr, j) => {
    for (const i of pr.pixels) {
      if (!cores[j][i] || !fg[i]) continue;
      markers[i] = markers[i] === 0 ? j + 1 : -1; // overlapping cores seed neither
    }
  });
  for (let i = 0; i < n; i++) if (markers[i] < 0) markers[i] = 0;
  const owner = new Int32Array(peaks.count + 1);
  const outside = new Int32Array(peaks.count + 1);
  const votes = new Map<number, Map<number, number>>();
  for (let i = 0; i < n; i++) {
    const l = peaks.labels[i];
    if (!l) continue;
    if (!zone[i]) {
      outside[l]++;
      continue;
    }
    let m = votes.get(l);
    if (!m) votes.set(l, (m = new Map()));
    m.set(zone[i], (m.get(zone[i]) ?? 0) + 1);
  }
  for (const [l, m] of votes) {
    let best = 0;
    let bestN = 0;
    for (const [j, c] of m) if (c > bestN) [best, bestN] = [j, c];
    if (bestN > outside[l]) owner[l] = best;
  }
  for (let i = 0; i < n; i++) {
    const l = peaks.labels[i];
    if (!l || markers[i]) continue;
    markers[i] = owner[l] ? owner[l] : P + l;
  }
  return markers;
}

/**
 * An object's region far larger than its last mask has merged with a neighbour that had no marker of its own (too
 * faint or too thin to make a hill, or its hill fell inside this object's zone): split it, before the assignment
 * judges it, between this object's core and what lies well outside its predicted region, so the object is matched
 * to its own part instead of being lost to the merged blob's size and offset centroid. Returns the new region count.
 */
function splitOversized(st: FrameStep, preds: Prediction[], regions: Int32Array, markers: Int32Array, elevation: Float32Array, nRegions: number): number {
  const { nx, ny, n } = st;
  preds.forEach((pr, j) => {
    let area = 0;
    for (let i = 0; i < n; i++) if (regions[i] === j + 1) area++;
    if (area <= FAR_FRACTION * pr.track.area) return;
    const far = roiMorph(pr.mask, nx, ny, pr.bbox, Math.ceil(0.5 * pr.radius) + 3, (m, w, h) =>
      binaryDilate(m, w, h, Math.max(2, 0.5 * pr.radius)),
    );
    const mask = new Uint8Array(n);
    const seeds = new Int32Array(n);
    let nIn = 0;
    let nOut = 0;
    for (let i = 0; i < n; i++) {
      if (regions[i] !== j + 1) continue;
      mask[i] = 1;
      if (markers[i] === j + 1) {
        seeds[i] = 1;
        nIn++;
      } else if (!far[i]) {
        seeds[i] = 2;
        nOut++;
      }
    }
    // Split when the region grew a lot, or when a good part of it lies well outside where the object can be.
    if (!nIn || !nOut || (area <= MAX_GROWTH * pr.track.area && nOut < FAR_FRACTION * pr.track.area)) return;
    const split = watershed(elevation, seeds, nx, ny, mask);
    nRegions++;
    for (let i = 0; i < n; i++) if (split[i] === 2) regions[i] = nRegions;
  });
  return nRegions;
}

/** The object was matched to `mask`: record it with its quality signals and update the motion model. */
function acceptMatch(st: FrameStep, pr: Prediction, mask: Uint8Array): void {
  const { t, a, nx, D } = st;
  const s = statsOf(mask, nx);
  const tr = pr.track;
  const store = pr.plan.sweeps.get(st.dir) as SweepStore;
  const iou = maskIoU(mask, pr.mask);
  const areaChange = s.area / tr.area - 1;
  const box = bboxOf(pixelsOf(mask), nx);
  const contrast = contrastOf(a, mask, box);
  const reasons: string[] = [];
  if (iou < FLAG_IOU) reasons.push(`low overlap with prediction (IoU ${iou.toFixed(2)})`);
  if (Math.abs(areaChange) > FLAG_AREA_CHANGE) reasons.push(`area changed by ${(100 * areaChange).toFixed(0)}%`);
  if (contrast < FLAG_CONTRAST) reasons.push(`low contrast (${contrast.toFixed(1)})`);
  if (box.x0 === 0 || box.y0 === 0 || box.x1 === nx - 1 || box.y1 === st.ny - 1) reasons.push('touches the image edge');
  tr.steps++;
  store.visited[t] = 1;
  store.masks[t] = mask;
  store.dist[t] = tr.steps;
  store.quality[t] = {
    iouWithPrediction: iou,
    areaChange,
    contrast,
    flagged: reasons.length > 0,
    ...(reasons.length ? { reason: reasons.join('; ') } : {}),
  };
  // Constant-velocity model on the drift-compensated centroid, smoothed so segmentation jitter does not become
  // velocity, and bounded by the gate.
  const frames = Math.abs(t - tr.lastFrame);
  const mx = (s.cx - tr.cx - (D.x[t] - D.x[tr.lastFrame])) / frames;
  const my = (s.cy - tr.cy - (D.y[t] - D.y[tr.lastFrame])) / frames;
  tr.vx = tr.nVelocity ? 0.5 * tr.vx + 0.5 * mx : mx;
  tr.vy = tr.nVelocity ? 0.5 * tr.vy + 0.5 * my : my;
  const speed = Math.hypot(tr.vx, tr.vy);
  if (speed > pr.gate / 2) {
    tr.vx *= pr.gate / 2 / speed;
    tr.vy *= pr.gate / 2 / speed;
  }
  tr.nVelocity++;
  tr.mask = mask;
  tr.area = s.area;
  tr.cx = s.cx;
  tr.cy = s.cy;
  tr.lastFrame = t;
  tr.gap = 0;
}

/** Writes the sweeps' results into the object's masks and states (anchors and user frames respected). */
function mergeSweeps(p: ObjectPlan, nTilts: number, n: number): void {
  const r = p.result;
  if (r.error) return;
  for (let t = 0; t < nTilts; t++) {
    if (p.fixed.has(t) || p.excluded.has(t)) continue;
    const frame = r.masks.subarray(t * n, (t + 1) * n);
    if (p.prompted.has(t)) {
      frame.set(p.anchors.get(t) as Uint8Array);
      r.frameState[t] = 'tracked';
      r.quality[t] = null;
      continue;
    }
    let best: SweepStore | null = null;
    let visited: SweepStore | null = null;
    for (const s of p.sweeps.values()) {
      if (!s.visited[t]) continue;
      if (!visited || s.dist[t] < visited.dist[t]) visited = s;
      if (!s.masks[t]) continue;
      if (
        !best ||
        s.dist[t] < best.dist[t] ||
        (s.dist[t] === best.dist[t] && (s.quality[t]?.iouWithPrediction ?? 0) > (best.quality[t]?.iouWithPrediction ?? 0))
      ) {
        best = s;
      }
    }
    if (best) {
      frame.set(best.masks[t] as Uint8Array);
      r.frameState[t] = 'tracked';
      r.quality[t] = best.quality[t];
    } else if (visited) {
      // Reached by a sweep but lost there: an old mask on this frame would now be stale.
      frame.fill(0);
      r.frameState[t] = 'empty';
      r.quality[t] = visited.quality[t];
    }
  }
}
