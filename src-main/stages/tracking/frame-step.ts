// One frame of the joint tracker: every live track (the user's objects and the auto-detected neighbours) is moved
// to this frame together.
//  1. prediction: the last mask moved by the global drift between the two tilts (phase correlation) plus the
//     track's own velocity after drift compensation (constant-velocity model, smoothed), because particles also
//     move relative to each other as the sample rotates;
//  2. re-segmentation of the frame's foreground from markers (a seeded watershed on the split map of segment.ts):
//     each track's core (its predicted mask, eroded), then the h-maxima of particles no track predicts. Because
//     every particle in the field is a track with its own marker, a touching neighbour is a labelled region the
//     object's mask stops at, however faint the neck between them;
//  3. joint Hungarian assignment of tracks to regions on a cost of predicted position, IoU with the prediction
//     and area ratio, with a gate and a "lost" option per track;
//  4. limits: a region far larger than the prediction that leans on another particle is cut back to the
//     prediction's surroundings; a user's object that is not found (faded, or swallowed) but is still in the field
//     keeps the motion model's prediction, flagged, instead of an empty frame;
//  5. what no track took and is large enough becomes a new neighbour (the caller decides).
import { binaryDilate, binaryErode, distanceTransform, maskIoU, neighbours8, regionProps, translateMask, watershed } from '../../kernels/image';
import type { FrameQuality } from '../../../src-shared/domain';
import { assignObjects, FORBIDDEN } from './assignment';
import { bboxOf, contrastOf, pixelsOf, roiMorph, statsOf, touchesEdge, type Box } from './mask-geometry';
import { splitElevation, splitMap, type FrameAnalysis } from './segment';
import type { TrackOptions } from './types';

/** Cost of leaving a track unmatched: a match must be better than "far, half-overlapping, 2× the area". */
const MISS_COST = 1.6;
/** A region more than this × the previous area has probably merged with an unmarked neighbour: split it. */
const MAX_GROWTH = 1.6;
/** …or one with more than this × the previous area well outside the track's predicted region. */
const FAR_FRACTION = 0.15;
/** A matched region smaller than this × the prediction is a fade or a loss, not the particle: keep the prediction. */
const MIN_AREA_KEPT = 0.5;
/** A track's local level (a fraction of its own brightness) never drops below this many background noise levels. */
const LOCAL_FLOOR_SIGMAS = 3;
/** Quality flags. */
const FLAG_IOU = 0.5;
const FLAG_AREA_CHANGE = 0.35;
const FLAG_CONTRAST = 2;

/** Live state of one tracked particle inside a sweep. */
export interface Track {
  /** The user's object id (> 0) or a neighbour's label (< 0 as −label). */
  key: number;
  /** User objects are never left empty while in the field; neighbours may be lost. */
  user: boolean;
  mask: Uint8Array;
  area: number;
  cx: number;
  cy: number;
  vx: number;
  vy: number;
  /** Drift-compensated centroids of the last frames the track was found on (the velocity is fitted to them). */
  history: { t: number; x: number; y: number }[];
  lastFrame: number;
  gap: number;
  steps: number;
}

/** What happened to one track on this frame. */
export type TrackOutcome =
  | { kind: 'matched' | 'predicted'; mask: Uint8Array; quality: FrameQuality }
  | { kind: 'lost'; quality: FrameQuality; nearEdge: boolean }
  | { kind: 'left'; reason: string };

export interface StepResult {
  outcomes: Map<Track, TrackOutcome>;
  /** Regions no track took, away from every track: candidates for new neighbours. */
  unclaimed: { mask: Uint8Array; area: number }[];
}

export interface StepSettings {
  opts: TrackOptions;
  /** Cumulative drift per tilt, pixels. */
  D: { x: Float64Array; y: Float64Array };
}

interface Prediction {
  track: Track;
  mask: Uint8Array;
  pixels: Int32Array;
  area: number;
  cx: number;
  cy: number;
  gate: number;
  radius: number;
  bbox: Box;
}

/** What every part of one frame's step shares. */
interface FrameStep {
  t: number;
  a: FrameAnalysis;
  nx: number;
  ny: number;
  n: number;
  opts: TrackOptions;
  D: { x: Float64Array; y: Float64Array };
}

/** A new track at `t` from a mask (an anchor or a newborn neighbour), keeping the motion of `prev` if continuous. */
export function newTrack(
  key: number,
  user: boolean,
  mask: Uint8Array,
  t: number,
  nx: number,
  D: { x: Float64Array; y: Float64Array },
  prev?: Track,
  step = 1,
): Track {
  const s = statsOf(mask, nx);
  const keep = prev && prev.lastFrame === t - step;
  const history = keep ? prev.history.slice(1 - VELOCITY_WINDOW) : [];
  history.push({ t, x: s.cx - D.x[t], y: s.cy - D.y[t] });
  return {
    key,
    user,
    mask,
    area: s.area,
    cx: s.cx,
    cy: s.cy,
    vx: keep ? prev.vx : 0,
    vy: keep ? prev.vy : 0,
    history,
    lastFrame: t,
    gap: 0,
    steps: 0,
  };
}

/**
 * Moves every track to frame t of analysis `a`. `claimed` marks pixels anchors own on this frame (no track may take
 * them). Updates the tracks' motion state; the caller records the outcomes.
 */
export function stepFrame(t: number, a: FrameAnalysis, tracks: Track[], claimed: Uint8Array | null, s: StepSettings): StepResult {
  const st: FrameStep = { t, a, nx: a.nx, ny: a.ny, n: a.nx * a.ny, opts: s.opts, D: s.D };
  const outcomes = new Map<Track, TrackOutcome>();
  const preds: Prediction[] = [];
  for (const tr of tracks) {
    const p = predict(st, tr);
    if (typeof p === 'string') outcomes.set(tr, { kind: 'left', reason: p });
    else preds.push(p);
  }
  if (!preds.length && !a.hasContent) return { outcomes, unclaimed: [] };
  if (!a.hasContent) {
    for (const pr of preds) outcomes.set(pr.track, lose(st, pr, 'empty frame: no particles segmented'));
    return { outcomes, unclaimed: [] };
  }
  const { zone, cores } = coresAndZones(st, preds);
  const { fg, ridge, peaks, levels } = localForeground(st, preds, cores, zone, claimed);
  const markers = seedMarkers(st, preds, cores, zone, fg, peaks);
  const elevation = splitElevation(ridge);
  const regions = watershed(elevation, markers, st.nx, st.ny, fg);
  const nRegions = splitOversized(st, preds, regions, markers, elevation, preds.length + peaks.count);
  const props = regionProps(regions, nRegions, st.nx, st.ny);
  const cols = props.filter((r) => r.area > 0);
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
  // Region label → the prediction that took it.
  const owner = new Int32Array(nRegions + 1).fill(-1);
  preds.forEach((_, j) => {
    if (match[j] >= 0) owner[cols[match[j]].label] = j;
  });
  const taken = new Uint8Array(st.n);
  for (let i = 0; i < st.n; i++) if (regions[i] && owner[regions[i]] >= 0) taken[i] = 1;
  preds.forEach((pr, j) => {
    const k = match[j];
    let region: Uint8Array | null = null;
    if (k >= 0) {
      region = new Uint8Array(st.n);
      const label = cols[k].label;
      for (let i = 0; i < st.n; i++) if (regions[i] === label) region[i] = 1;
    }
    const refined = region ? refineWithPrior(st, pr, region, levels[j], regions, owner, j, claimed) : null;
    outcomes.set(pr.track, settle(st, pr, refined, regions, owner, j, taken, claimed, zone));
  });
  return { outcomes, unclaimed: unclaimedRegions(st, cols, regions, owner, zone, outcomes) };
}

/** The track's prediction on this frame (last mask moved by drift and velocity), or why it left the field. */
function predict(st: FrameStep, tr: Track): Prediction | string {
  const { t, nx, ny, D, opts } = st;
  const frames = Math.abs(t - tr.lastFrame);
  const cx = tr.cx + (D.x[t] - D.x[tr.lastFrame]) + tr.vx * frames;
  const cy = tr.cy + (D.y[t] - D.y[tr.lastFrame]) + tr.vy * frames;
  const moved = translateMask(tr.mask, nx, ny, cx - tr.cx, cy - tr.cy);
  if (moved.lost > 0.5 * tr.area || cx < -0.5 || cy < -0.5 || cx > nx - 0.5 || cy > ny - 0.5) {
    return `left the field of view (predicted centre (${cx.toFixed(1)}, ${cy.toFixed(1)}))`;
  }
  const pixels = pixelsOf(moved.mask);
  const radius = Math.sqrt(tr.area / Math.PI);
  return {
    track: tr,
    mask: moved.mask,
    pixels,
    area: pixels.length,
    cx,
    cy,
    gate: opts.gate > 0 ? opts.gate : Math.max(5, radius),
    radius,
    bbox: bboxOf(pixels, nx),
  };
}

/** Each track's core (its prediction, eroded: safely inside it) and zone (its prediction, dilated; label j + 1). */
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
 * Foreground: the frame's, re-thresholded inside each zone relative to that track's own brightness on this frame
 * (diffraction contrast makes a crystal fade or flare from tilt to tilt: one global level loses the faint one and
 * makes the bright one fat), without pixels anchors claim on this frame.
 */
function localForeground(
  st: FrameStep,
  preds: Prediction[],
  cores: Uint8Array[],
  zone: Int32Array,
  claimed: Uint8Array | null,
): { fg: Uint8Array; ridge: FrameAnalysis['ridge']; peaks: FrameAnalysis['peaks']; levels: number[] } {
  const { a, opts, n, nx, ny } = st;
  const globalLevel = Number.isFinite(a.threshold) ? a.threshold : a.backgroundMean + 3 * a.backgroundStd;
  let levels = preds.map(() => globalLevel);
  if (!(opts.localFraction > 0 || claimed)) return { fg: a.foreground, ridge: a.ridge, peaks: a.peaks, levels };
  const fg = a.foreground.slice();
  if (opts.localFraction > 0) {
    const floor = a.backgroundMean + LOCAL_FLOOR_SIGMAS * a.backgroundStd;
    levels = preds.map((pr, j) => {
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
  if (claimed) for (let i = 0; i < n; i++) if (claimed[i]) fg[i] = 0;
  const { ridge, peaks } = splitMap(a.image, fg, nx, ny, a.backgroundMean, a.backgroundStd, a.threshold, opts);
  return { fg, ridge, peaks, levels };
}

/**
 * Watershed markers: track cores (labels 1…P), then the h-maxima of particles no track predicts (P + peak label).
 * Each h-maximum goes to the track whose zone holds most of it (more than lies outside every zone), else it seeds a
 * region of its own: a particle's marker that merely brushes a zone stays that particle's.
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
 * A track's region far larger than its last mask has merged with a particle that had no marker of its own (too
 * faint or too thin to make a hill, or its hill fell inside this track's zone): split it, before the assignment
 * judges it, between this track's core and what lies well outside its predicted region, so the track is matched
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
    // Split when the region grew a lot, or when a good part of it lies well outside where the track can be.
    if (!nIn || !nOut || (area <= MAX_GROWTH * pr.track.area && nOut < FAR_FRACTION * pr.track.area)) return;
    const split = watershed(elevation, seeds, nx, ny, mask);
    nRegions++;
    for (let i = 0; i < n; i++) if (split[i] === 2) regions[i] = nRegions;
  });
  return nRegions;
}

/** Weight of the shape prior, in noise levels per pixel of signed distance to the predicted outline, and its reach. */
const PRIOR_WEIGHT = 1.5;
const PRIOR_REACH_PX = 2;
/** Below this mean brightness (noise levels above the background) a region counts as faint for the prior. */
const FAINT_SIGMAS = 8;

/**
 * The matched region re-decided pixel by pixel with the predicted shape as a prior: a pixel is in when its
 * brightness above the track's own level (in noise units), plus PRIOR_WEIGHT × its depth inside the predicted mask
 * centred on the region (at most PRIOR_REACH_PX), is positive, and it is connected to the region. On a clear crystal
 * the prior starts inside the outline, which is the image's; a faint one, a few noise levels above the background,
 * keeps the shape it had a tilt ago, outline included, instead of a ragged, holed one of noise. The prior only adds: where the image shows the
 * particle beyond its old shape, it grows. Pixels other tracks took or anchors claim stay theirs.
 */
function refineWithPrior(
  st: FrameStep,
  pr: Prediction,
  region: Uint8Array,
  level: number,
  regions: Int32Array,
  owner: Int32Array,
  self: number,
  claimed: Uint8Array | null,
): Uint8Array {
  const { a, nx, ny, n } = st;
  const sigma = Math.max(a.backgroundStd, 1e-9 * Math.abs(level) + 1e-12);
  // The prior is the predicted shape where the image puts the particle: its position is the region's, so a
  // prediction that lags a fast particle does not drag the outline back.
  const rs = statsOf(region, nx);
  const shape = translateMask(pr.mask, nx, ny, Math.round(rs.cx - pr.cx), Math.round(rs.cy - pr.cy)).mask;
  // How far the prior reaches out: for a faint crystal it holds the outline too, for a clear one only the interior.
  let sum = 0;
  for (let i = 0; i < n; i++) if (region[i]) sum += a.image[i];
  const faint = (sum / Math.max(1, rs.area) - a.backgroundMean) / sigma < FAINT_SIGMAS;
  const fromDepth = faint ? 0.5 : 1;
  const pad = PRIOR_REACH_PX + 2;
  const rb = bboxOf(pixelsOf(region), nx);
  const sb = bboxOf(pixelsOf(shape), nx);
  const x0 = Math.max(0, Math.min(sb.x0, rb.x0) - pad);
  const y0 = Math.max(0, Math.min(sb.y0, rb.y0) - pad);
  const x1 = Math.min(nx - 1, Math.max(sb.x1, rb.x1) + pad);
  const y1 = Math.min(ny - 1, Math.max(sb.y1, rb.y1) + pad);
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const inside = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) inside[y * w + x] = shape[(y + y0) * nx + x + x0];
  const depth = distanceTransform(inside, w, h);
  const candidate = new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y + y0) * nx + x + x0;
      if (claimed?.[i]) continue;
      const l = regions[i];
      if (l && !region[i] && owner[l] !== self) continue; // another particle's region
      if (l && !region[i] && owner[l] < 0) continue;
      const k = y * w + x;
      // Depth 1 is the predicted outline itself: on a clear crystal the image alone decides there (a prior there
      // fattens every mask); on a faint one, a noise level or two per pixel, the outline needs the prior.
      const prior = inside[k] ? PRIOR_WEIGHT * Math.max(0, Math.min(PRIOR_REACH_PX, depth[k] - fromDepth)) : 0;
      if ((a.image[i] - level) / sigma + prior > 0) candidate[i] = 1;
    }
  }
  // Keep what is connected (8-neighbours) to the region's own pixels that survived.
  const out = new Uint8Array(n);
  const stack: number[] = [];
  for (let i = 0; i < n; i++) {
    if (region[i] && candidate[i]) {
      out[i] = 1;
      stack.push(i);
    }
  }
  const nb = new Int32Array(8);
  while (stack.length) {
    const i = stack.pop() as number;
    const k = neighbours8(i, nx, ny, nb);
    for (let m = 0; m < k; m++) {
      const j = nb[m];
      if (candidate[j] && !out[j]) {
        out[j] = 1;
        stack.push(j);
      }
    }
  }
  let area = 0;
  for (let i = 0; i < n; i++) area += out[i];
  return area ? out : region;
}

/** True when a region touches (8-connected) a pixel another track took or an anchor claims. */
function leansOnOthers(st: FrameStep, region: Uint8Array, regions: Int32Array, owner: Int32Array, self: number, claimed: Uint8Array | null): boolean {
  const { nx, ny } = st;
  const nb = new Int32Array(8);
  for (let i = 0; i < region.length; i++) {
    if (!region[i]) continue;
    const count = neighbours8(i, nx, ny, nb);
    for (let m = 0; m < count; m++) {
      const k = nb[m];
      if (claimed?.[k]) return true;
      const l = regions[k];
      if (l && owner[l] >= 0 && owner[l] !== self) return true;
    }
  }
  return false;
}

/**
 * The track's mask on this frame from its matched region (or none): the region, cut back to the prediction's zone
 * when it grew beyond the area limit by leaning on another particle; the prediction (flagged) for a user's object
 * that was not found or whose region collapsed; else lost.
 */
function settle(
  st: FrameStep,
  pr: Prediction,
  region: Uint8Array | null,
  regions: Int32Array,
  owner: Int32Array,
  self: number,
  taken: Uint8Array,
  claimed: Uint8Array | null,
  zone: Int32Array,
): TrackOutcome {
  const limit = 1 + st.opts.maxAreaGrowth;
  let mask = region;
  let note: string | undefined;
  if (mask) {
    let area = 0;
    for (let i = 0; i < mask.length; i++) area += mask[i];
    if (area > limit * pr.area && leansOnOthers(st, mask, regions, owner, self, claimed)) {
      // Grown past the limit where it touches another particle: the image does not show where one ends.
      const cut = Uint8Array.from(mask, (v, i) => (v && zone[i] === self + 1 ? 1 : 0));
      let cutArea = 0;
      for (let i = 0; i < cut.length; i++) cutArea += cut[i];
      if (cutArea > 0) {
        mask = cut;
        area = cutArea;
        note = `area limited to the prediction's surroundings (the region grew ${(100 * (area / pr.area - 1)).toFixed(0)}% against a neighbour)`;
      }
    }
    if (area < MIN_AREA_KEPT * pr.area) mask = null;
  }
  if (mask) return accept(st, pr, mask, note);
  if (!pr.track.user) return lose(st, pr, region ? 'region collapsed' : 'no candidate within the gate');
  // Not found at the image edge: it is leaving the field, and a prediction there would outlive it.
  if (touchesEdge(pr.bbox, st.nx, st.ny)) return lose(st, pr, 'not found at the image edge');
  // The user's object is still in the field: keep the motion model's prediction where nothing else is.
  const predicted = Uint8Array.from(pr.mask, (v, i) => (v && !taken[i] && !claimed?.[i] ? 1 : 0));
  let area = 0;
  for (let i = 0; i < predicted.length; i++) area += predicted[i];
  if (area === 0) return lose(st, pr, 'no candidate within the gate, and its predicted place is taken');
  const why = region ? 'the region found was under half the predicted area' : 'no candidate within the gate';
  return accept(st, pr, predicted, `not found (${why}): the motion model's prediction`, true);
}

/** The track was not found on this frame: a flagged gap. */
function lose(st: FrameStep, pr: Prediction, reason: string): TrackOutcome {
  const tr = pr.track;
  tr.gap++;
  tr.steps++;
  return {
    kind: 'lost',
    quality: { iouWithPrediction: 0, areaChange: NaN, contrast: NaN, flagged: true, reason },
    nearEdge: touchesEdge(pr.bbox, st.nx, st.ny),
  };
}

/** The track's mask on this frame is `mask`: quality signals, and the motion model updated (not from a prediction). */
function accept(st: FrameStep, pr: Prediction, mask: Uint8Array, note?: string, predicted = false): TrackOutcome {
  const { t, a, nx, D } = st;
  const s = statsOf(mask, nx);
  const tr = pr.track;
  const iou = maskIoU(mask, pr.mask);
  const areaChange = s.area / tr.area - 1;
  const box = bboxOf(pixelsOf(mask), nx);
  const contrast = contrastOf(a, mask, box);
  const reasons: string[] = note ? [note] : [];
  if (!predicted) {
    if (iou < FLAG_IOU) reasons.push(`low overlap with prediction (IoU ${iou.toFixed(2)})`);
    if (Math.abs(areaChange) > FLAG_AREA_CHANGE) reasons.push(`area changed by ${(100 * areaChange).toFixed(0)}%`);
    if (contrast < FLAG_CONTRAST) reasons.push(`low contrast (${contrast.toFixed(1)})`);
  }
  if (touchesEdge(box, nx, st.ny)) reasons.push('touches the image edge');
  tr.steps++;
  const quality: FrameQuality = {
    iouWithPrediction: iou,
    areaChange,
    contrast,
    flagged: reasons.length > 0,
    ...(reasons.length ? { reason: reasons.join('; ') } : {}),
  };
  if (predicted) {
    // A prediction carries no new information about the motion: move the mask on, with the velocity fading so a
    // long gap does not run away.
    tr.gap++;
    tr.vx *= 0.8;
    tr.vy *= 0.8;
    tr.mask = mask;
    tr.cx = s.cx;
    tr.cy = s.cy;
    tr.lastFrame = t;
    return { kind: 'predicted', mask, quality };
  }
  updateVelocity(tr, t, s.cx - D.x[t], s.cy - D.y[t], pr.gate);
  tr.mask = mask;
  tr.area = s.area;
  tr.cx = s.cx;
  tr.cy = s.cy;
  tr.lastFrame = t;
  tr.gap = 0;
  return { kind: 'matched', mask, quality };
}

/** Frames of history the velocity is fitted to. */
const VELOCITY_WINDOW = 4;

/**
 * Constant-velocity model on the drift-compensated centroid: the least-squares slope over the last frames the track
 * was found on (halved while there are only two), so segmentation jitter on one frame does not become a velocity
 * that carries the prediction off the particle; bounded by half the gate.
 */
function updateVelocity(tr: Track, t: number, x: number, y: number, gate: number): void {
  tr.history.push({ t, x, y });
  if (tr.history.length > VELOCITY_WINDOW) tr.history.shift();
  const h = tr.history;
  const m = h.length;
  if (m < 2) {
    tr.vx = 0;
    tr.vy = 0;
    return;
  }
  let st = 0;
  let sx = 0;
  let sy = 0;
  for (const p of h) {
    st += p.t;
    sx += p.x;
    sy += p.y;
  }
  st /= m;
  sx /= m;
  sy /= m;
  let stt = 0;
  let stx = 0;
  let sty = 0;
  for (const p of h) {
    stt += (p.t - st) ** 2;
    stx += (p.t - st) * (p.x - sx);
    sty += (p.t - st) * (p.y - sy);
  }
  const shrink = m >= 3 ? 1 : 0.5;
  // Velocity per tilt index along the sweep: the prediction multiplies it by |t − lastFrame|.
  const sign = h[m - 1].t > h[0].t ? 1 : -1;
  tr.vx = stt > 0 ? sign * shrink * (stx / stt) : 0;
  tr.vy = stt > 0 ? sign * shrink * (sty / stt) : 0;
  const speed = Math.hypot(tr.vx, tr.vy);
  if (speed > gate / 2) {
    tr.vx *= gate / 2 / speed;
    tr.vy *= gate / 2 / speed;
  }
}

/**
 * Regions no track took, at least minArea, outside every track's zone and not touching any track's mask on this
 * frame: a particle entering the field, or one not seen before. A region beside or inside a track's surroundings is
 * more likely a piece of it the watershed cut off (a shape the track has not grown into yet, or the rest of a faint
 * particle) than a new one; touching neighbours are found on the anchor frames.
 */
function unclaimedRegions(
  st: FrameStep,
  cols: ReturnType<typeof regionProps>,
  regions: Int32Array,
  owner: Int32Array,
  zone: Int32Array,
  outcomes: Map<Track, TrackOutcome>,
): StepResult['unclaimed'] {
  const { nx, ny, n, opts } = st;
  const nb = new Int32Array(8);
  const held = new Uint8Array(n);
  for (const o of outcomes.values()) if (o.kind === 'matched' || o.kind === 'predicted') for (let i = 0; i < n; i++) if (o.mask[i]) held[i] = 1;
  const out: StepResult['unclaimed'] = [];
  for (const r of cols) {
    if (owner[r.label] >= 0 || r.area < Math.max(1, opts.minArea)) continue;
    const mask = new Uint8Array(n);
    let clear = true;
    for (let i = 0; i < n && clear; i++) {
      if (regions[i] !== r.label) continue;
      mask[i] = 1;
      if (zone[i] || held[i]) clear = false;
      const count = neighbours8(i, nx, ny, nb);
      for (let m = 0; m < count && clear; m++) if (held[nb[m]]) clear = false;
    }
    if (clear) out.push({ mask, area: r.area });
  }
  return out;
}
