// The classical tracker: follows prompted particles through the tilt series without any learned weights.
//
// The whole field is tracked, not only the prompted particles: on the tilt the user prompted, every other
// particle candidate becomes an auto-detected neighbour, and particles that appear later (entering the field, or
// first separable there) are born as neighbours too. Per sweep direction (forward, then backward from the anchors)
// frames are visited in order and all tracks are advanced together by ./frame-step.ts (prediction, seeded
// re-segmentation, joint assignment, area limits, prediction fallback). Identities are kept by each track's own
// watershed marker, so one particle cannot absorb a touching neighbour.
//
// Anchors (prompted frames and frames the user edited or locked) restart the track; edited/locked frames are
// never written. Where a forward and a backward sweep both reach a frame, the mask from the nearer anchor wins.
// A user's object is never left empty while it is in the field: where it is not found, the motion model's
// prediction is written and flagged. It stops only when it leaves the field (or after maxFrames).
import type { NeighbourSummary } from '../../../src-shared/domain';
import { ParameterError, InputError, throwIfAborted } from '../../../src-shared/errors';
import { cumulativeDrift, estimateDrift } from './drift';
import { AnalysisCache, sliceFrame } from './frame-analysis';
import { newTrack, stepFrame, type StepResult, type Track, type TrackOutcome } from './frame-step';
import { pixelsOf } from './mask-geometry';
import { maskFromPrompt, promptProblem } from './prompt';
import { DEFAULT_SEGMENTATION, segmentationOptions } from './segment';
import type {
  FrameQuality,
  FrameState,
  NeighbourMap,
  ObjectPrompt,
  TrackContext,
  TrackedObjectResult,
  TrackInput,
  TrackOptions,
  TrackResult,
} from './types';

export const DEFAULT_TRACK_OPTIONS: TrackOptions = {
  ...DEFAULT_SEGMENTATION,
  localFraction: 0.15,
  gate: 0,
  maxGap: 3,
  direction: 'both',
  maxFrames: 10_000,
  neighbours: true,
  maxAreaGrowth: 0.35,
};

/** Most neighbours one result can label (Uint16 labels). */
const MAX_NEIGHBOURS = 65_535;

/** Validates and completes tracker options. */
export function trackOptions(opts: Partial<TrackOptions> = {}): TrackOptions {
  const seg = segmentationOptions(opts);
  const o: TrackOptions = { ...DEFAULT_TRACK_OPTIONS, ...opts, ...seg };
  if (!Number.isFinite(o.gate) || o.gate < 0) throw new ParameterError('gate', `must be ≥ 0 pixels (0 = automatic), got ${o.gate}`);
  if (!(o.localFraction >= 0 && o.localFraction < 1)) throw new ParameterError('localFraction', `must be in [0, 1), got ${o.localFraction}`);
  if (!Number.isInteger(o.maxGap) || o.maxGap < 0) throw new ParameterError('maxGap', `must be an integer ≥ 0, got ${o.maxGap}`);
  if (!Number.isInteger(o.maxFrames) || o.maxFrames < 1) throw new ParameterError('maxFrames', `must be an integer ≥ 1, got ${o.maxFrames}`);
  if (!(Number.isFinite(o.maxAreaGrowth) && o.maxAreaGrowth >= 0)) throw new ParameterError('maxAreaGrowth', `must be ≥ 0, got ${o.maxAreaGrowth}`);
  if (typeof o.neighbours !== 'boolean') throw new ParameterError('neighbours', `must be true or false, got ${String(o.neighbours)}`);
  if (!['forward', 'backward', 'both'].includes(o.direction)) {
    throw new ParameterError('direction', `must be forward, backward or both, got '${String(o.direction)}'`);
  }
  return o;
}

type Direction = 'forward' | 'backward';

/** One sweep's output for one user object. */
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

/** One sweep's neighbours: per frame, label → pixels, and how far the frame is from the sweep's last anchor. */
interface NeighbourSweep {
  frames: Map<number, Int32Array>[];
  dist: Float64Array;
}

function validateInput(input: TrackInput): void {
  const { nTilts, ny, nx, stack } = input;
  for (const [k, v] of [['nTilts', nTilts], ['ny', ny], ['nx', nx]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new ParameterError(k, `must be a positive integer, got ${v}`);
  }
  if (!(stack instanceof Float32Array) || stack.length !== nTilts * ny * nx) {
    throw new ParameterError('stack', `expected a Float32Array of ${nTilts}×${ny}×${nx} = ${nTilts * ny * nx} values, got ${stack?.length}`);
  }
  (input.channels ?? []).forEach((c, k) => {
    if (!(c.stack instanceof Float32Array) || c.stack.length !== nTilts * ny * nx) {
      throw new ParameterError(`channels[${c.name ?? k}]`, `expected a Float32Array of ${nTilts}×${ny}×${nx} values, got ${c.stack?.length}`);
    }
  });
  const n = nx * ny;
  const stacks = input.channels?.length ? input.channels.map((c) => c.stack) : [stack];
  let anyContent = false;
  for (const s of stacks) {
    for (let t = 0; t < nTilts && !anyContent; t++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = t * n; i < (t + 1) * n; i++) {
        const v = s[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi > lo) anyContent = true;
    }
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

const nextTick = (): Promise<void> =>
  new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));

/**
 * Tracks the prompted objects through the virtual-image stack. Per-object problems (bad prompt, particle
 * leaving the field of view) stop that object with a reason; the others continue.
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
  const drift = estimateDrift(nTilts, nx, ny, (t) => cache.driftImage(t), () => {
    throwIfAborted(ctx.signal);
    progress();
  });
  const D = cumulativeDrift(drift);
  const plans = planObjects(input, prompts, cache);
  const live = plans.filter((p) => !p.result.error);
  const labels = new NeighbourLabels();
  const neighbourSweeps: NeighbourSweep[] = [];

  for (const dir of directions) {
    const sweep = new Sweep(dir, input, opts, cache, D, live, labels);
    for (let k = 0; k < nTilts; k++) {
      const t = dir === 'forward' ? k : nTilts - 1 - k;
      throwIfAborted(ctx.signal);
      await nextTick();
      throwIfAborted(ctx.signal);
      sweep.frame(t);
      progress();
    }
    neighbourSweeps.push(sweep.neighbours);
  }

  for (const p of plans) mergeSweeps(p, nTilts, n);
  const result: TrackResult = { objects: plans.map((p) => p.result), drift };
  if (opts.neighbours) result.neighbours = neighbourMap(neighbourSweeps, plans, nTilts, n);
  return result;
}

/** Neighbour labels: the same particle seen on the same anchor frame gets the same label in every sweep. */
class NeighbourLabels {
  private next = 1;
  private readonly atAnchor = new Map<string, number>();

  fresh(): number {
    return this.next <= MAX_NEIGHBOURS ? this.next++ : 0;
  }

  onAnchor(t: number, firstPixel: number): number {
    const key = `${t}:${firstPixel}`;
    let l = this.atAnchor.get(key);
    if (l === undefined) {
      l = this.fresh();
      this.atAnchor.set(key, l);
    }
    return l;
  }
}

/** One direction's pass over the frames. */
class Sweep {
  private readonly step: 1 | -1;
  private readonly userTracks = new Map<ObjectPlan, Track>();
  private neighbourTracks: Track[] = [];
  private started = false;
  private sinceAnchor = 0;
  readonly neighbours: NeighbourSweep;
  private readonly n: number;

  constructor(
    private readonly dir: Direction,
    private readonly input: TrackInput,
    private readonly opts: TrackOptions,
    private readonly cache: AnalysisCache,
    private readonly D: { x: Float64Array; y: Float64Array },
    private readonly live: ObjectPlan[],
    private readonly labels: NeighbourLabels,
  ) {
    this.step = dir === 'forward' ? 1 : -1;
    this.n = input.nx * input.ny;
    for (const p of live) {
      p.sweeps.set(dir, {
        masks: new Array<Uint8Array | null>(input.nTilts).fill(null),
        dist: new Int32Array(input.nTilts),
        quality: new Array<FrameQuality | null>(input.nTilts).fill(null),
        visited: new Uint8Array(input.nTilts),
      });
    }
    this.neighbours = { frames: Array.from({ length: input.nTilts }, () => new Map()), dist: new Float64Array(input.nTilts).fill(Infinity) };
  }

  private stop(p: ObjectPlan, t: number, reason: string): void {
    this.userTracks.delete(p);
    p.result.stops.push({ tilt: t, direction: this.dir, reason });
  }

  frame(t: number): void {
    const { n, opts } = this;
    let claimed: Uint8Array | null = null;
    const active: Track[] = [];
    const anchors: Uint8Array[] = [];
    const planOf = new Map<Track, ObjectPlan>();
    for (const p of this.live) {
      const anchor = p.anchors.get(t);
      if (anchor) {
        const tr = newTrack(p.id, true, anchor, t, this.input.nx, this.D, this.userTracks.get(p), this.step);
        this.userTracks.set(p, tr);
        claimed ??= new Uint8Array(n);
        for (let i = 0; i < n; i++) if (anchor[i]) claimed[i] = 1;
        anchors.push(anchor);
        continue;
      }
      const tr = this.userTracks.get(p);
      if (!tr) continue;
      if (tr.steps >= opts.maxFrames) {
        this.stop(p, t, `reached maxFrames (${opts.maxFrames}) from the last anchor`);
        continue;
      }
      active.push(tr);
      planOf.set(tr, p);
    }
    const isAnchor = claimed !== null;
    if (isAnchor) {
      this.started = true;
      this.sinceAnchor = 0;
    } else this.sinceAnchor++;
    if (!this.started) return;
    // Neighbours are followed only while a user object is: they serve its segmentation.
    if (!active.length && !isAnchor) return;
    const tracks = opts.neighbours ? [...active, ...this.neighbourTracks] : active;
    const result = stepFrame(t, this.cache.analysis(t), tracks, claimed, { opts, D: this.D });
    for (const tr of active) this.recordUser(planOf.get(tr) as ObjectPlan, tr, t, result.outcomes.get(tr) as TrackOutcome);
    if (!opts.neighbours) return;
    this.neighbours.dist[t] = this.sinceAnchor;
    this.recordNeighbours(t, result);
    if (claimed) this.birthOnAnchor(t, result, claimed, anchors);
    else this.birth(t, result);
  }

  private recordUser(p: ObjectPlan, tr: Track, t: number, o: TrackOutcome): void {
    const store = p.sweeps.get(this.dir) as SweepStore;
    if (o.kind === 'left') {
      this.stop(p, t, o.reason);
      return;
    }
    store.visited[t] = 1;
    store.dist[t] = tr.steps;
    store.quality[t] = o.quality;
    if (o.kind === 'lost') {
      if (tr.gap > this.opts.maxGap) this.stop(p, t, o.nearEdge ? 'left the field of view' : `lost for ${tr.gap} frames (${o.quality.reason ?? 'not found'})`);
      return;
    }
    store.masks[t] = o.mask;
  }

  private recordNeighbours(t: number, result: StepResult): void {
    const frame = this.neighbours.frames[t];
    this.neighbourTracks = this.neighbourTracks.filter((tr) => {
      const o = result.outcomes.get(tr);
      if (!o || o.kind === 'left') return false;
      if (o.kind === 'lost') return tr.gap <= this.opts.maxGap;
      frame.set(-tr.key, pixelsOf(o.mask));
      return true;
    });
  }

  /** Unclaimed regions become neighbours (stepFrame already dropped slivers of tracked particles). */
  private birth(t: number, result: StepResult): void {
    for (const u of result.unclaimed) if (!this.addNeighbour(t, u.mask, this.labels.fresh())) return;
  }

  /**
   * On an anchor frame the neighbours are the frame's own candidates (the segmentation the prompt chose from), less
   * what the anchors claim: each candidate that is not an anchor's particle (it holds most of an anchor's mask, or an
   * anchor covers most of it) and not already followed by a neighbour track. What a user's edit cut off its particle
   * stays nobody's.
   */
  private birthOnAnchor(t: number, result: StepResult, claimed: Uint8Array, anchors: Uint8Array[]): void {
    const labels = this.cache.labels(t);
    const { n } = this;
    const followed = new Uint8Array(n);
    const taken = new Uint8Array(n);
    for (const [tr, o] of result.outcomes) {
      if (o.kind !== 'matched' && o.kind !== 'predicted') continue;
      for (let i = 0; i < n; i++) {
        if (!o.mask[i]) continue;
        taken[i] = 1;
        if (!tr.user) followed[i] = 1;
      }
    }
    let count = 0;
    for (let i = 0; i < n; i++) if (labels[i] > count) count = labels[i];
    const area = new Int32Array(count + 1);
    const anchored = new Int32Array(count + 1);
    const seen = new Int32Array(count + 1);
    for (let i = 0; i < n; i++) {
      const l = labels[i];
      if (!l) continue;
      area[l]++;
      if (claimed[i]) anchored[l]++;
      if (followed[i]) seen[l]++;
    }
    const anchorsParticle = new Uint8Array(count + 1);
    for (const a of anchors) {
      const inside = new Int32Array(count + 1);
      let total = 0;
      for (let i = 0; i < n; i++) {
        if (!a[i]) continue;
        total++;
        inside[labels[i]]++;
      }
      for (let l = 1; l <= count; l++) if (2 * inside[l] >= total) anchorsParticle[l] = 1;
    }
    for (let l = 1; l <= count; l++) {
      if (!area[l] || anchorsParticle[l] || 2 * anchored[l] >= area[l] || 2 * seen[l] >= area[l]) continue;
      const mask = Uint8Array.from(labels, (v, i) => (v === l && !claimed[i] && !taken[i] ? 1 : 0));
      let rest = 0;
      let first = -1;
      for (let i = 0; i < n; i++) {
        if (!mask[i]) continue;
        rest++;
        if (first < 0) first = i;
      }
      if (rest < Math.max(1, this.opts.minArea)) continue;
      if (!this.addNeighbour(t, mask, this.labels.onAnchor(t, first))) return;
    }
  }

  /** Starts a neighbour track; false when no label is left. */
  private addNeighbour(t: number, mask: Uint8Array, label: number): boolean {
    if (!label) return false;
    this.neighbourTracks.push(newTrack(-label, false, mask, t, this.input.nx, this.D));
    this.neighbours.frames[t].set(label, pixelsOf(mask));
    return true;
  }
}

/** Writes the sweeps' results into the object's masks and states (anchors and user frames respected). */
function mergeSweeps(p: ObjectPlan, nTilts: number, n: number): void {
  const r = p.result;
  if (r.error) return;
  for (let t = 0; t < nTilts; t++) {
    if (p.fixed.has(t) || p.excluded.has(t)) continue;
    const frame = sliceFrame(r.masks, t, n);
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
    } else {
      // Beyond where a sweep stopped because the particle left the field: empty, and flagged as such.
      const left = r.stops.find((st) => /left the field/.test(st.reason) && (st.direction === 'forward' ? t >= st.tilt : t <= st.tilt));
      if (left) {
        frame.fill(0);
        r.frameState[t] = 'empty';
        r.quality[t] = { iouWithPrediction: 0, areaChange: NaN, contrast: NaN, flagged: true, reason: `outside the field of view (left at tilt ${left.tilt + 1})` };
      }
    }
  }
}

/**
 * The neighbours of all sweeps as one label volume: per frame the sweep nearest its anchor wins; pixels the user's
 * final masks hold are not a neighbour's (the sweeps may disagree by a pixel where they meet). Labels are made
 * consecutive.
 */
function neighbourMap(sweeps: NeighbourSweep[], plans: ObjectPlan[], nTilts: number, n: number): NeighbourMap {
  const labels = new Uint16Array(nTilts * n);
  const remap = new Map<number, number>();
  const info: NeighbourSummary[] = [];
  const user = new Uint8Array(n);
  for (let t = 0; t < nTilts; t++) {
    let best: NeighbourSweep | null = null;
    for (const s of sweeps) if (Number.isFinite(s.dist[t]) && (!best || s.dist[t] < best.dist[t])) best = s;
    if (!best) continue;
    user.fill(0);
    for (const p of plans) {
      if (p.result.error) continue;
      const m = sliceFrame(p.result.masks, t, n);
      for (let i = 0; i < n; i++) if (m[i]) user[i] = 1;
    }
    for (const [label, pixels] of best.frames[t]) {
      let l = remap.get(label);
      if (l === undefined) {
        l = info.length + 1;
        remap.set(label, l);
        info.push({ label: l, firstTilt: t, lastTilt: t, tilts: 0, meanAreaPx: 0 });
      }
      const e = info[l - 1];
      let area = 0;
      for (const i of pixels) {
        if (user[i]) continue;
        labels[t * n + i] = l;
        area++;
      }
      if (!area) continue;
      e.firstTilt = Math.min(e.firstTilt, t);
      e.lastTilt = Math.max(e.lastTilt, t);
      e.meanAreaPx = (e.meanAreaPx * e.tilts + area) / (e.tilts + 1);
      e.tilts++;
    }
  }
  // Labels whose every pixel went to a user's mask are gone: number the rest consecutively.
  const kept = info.filter((e) => e.tilts > 0);
  if (kept.length === info.length) return { labels, neighbours: info };
  const renumber = new Uint16Array(info.length + 1);
  kept.forEach((e, k) => {
    renumber[e.label] = k + 1;
    e.label = k + 1;
  });
  for (let i = 0; i < labels.length; i++) if (labels[i]) labels[i] = renumber[labels[i]];
  return { labels, neighbours: kept };
}
