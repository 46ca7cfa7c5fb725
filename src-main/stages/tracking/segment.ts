// Candidate segmentation of one virtual image: the "Auto-detect" list and the per-frame input of the tracker.
//
// polarity (bright field is negated, so particles are always bright) → background flattening → Gaussian
// smoothing → threshold → opening (specks, one-pixel bridges) → fill holes → minimum area → split map →
// h-maxima markers → watershed, so two touching particles become two candidates split where they meet.
//
// The split map adds two cues, each scaled so that a dip of one unit between two hills separates them:
//  - shape: the distance transform / splitH (splitH shrunk for thin blobs). Two touching compact particles make
//    two hills joined by a neck.
//  - intensity: q = ln(I − background + c) / ln(splitRatio), minus twice its gradient. Touching rods a few pixels
//    wide have no neck to speak of (end to end they are one strip), but each is thickest, hence brightest in dark
//    field, in its middle, and their diffraction contrast differs: the intensity dips, or steps, where they meet.
//    On a log scale the dip is relative, so shot noise on a bright crystal (which grows with the signal) does not
//    split it, and the offset c (twice the threshold's height above background) keeps the noisy rim from making
//    hills.
import {
  binaryOpen,
  distanceTransform,
  fillHoles,
  gaussianBlur,
  hMaximaMarkers,
  labelComponents,
  regionProps,
  removeSmallObjects,
  subtractBackground,
  threshold as thresholdImage,
  watershed,
  checkImage,
  clippedBackground,
  globalThreshold,
  type RegionProps,
} from '../../kernels/image';
import { ParameterError } from '../../../src-shared/errors';
import type { SegmentationOptions } from './types';

export const DEFAULT_SEGMENTATION: SegmentationOptions = {
  threshold: 'noise',
  smoothingSigma: 0.5,
  minArea: 8,
  background: 'rolling-ball',
  backgroundRadius: 0,
  openRadius: 0,
  splitH: 2,
  splitRatio: 1.25,
  adaptiveRadius: 15,
};

/** Validates and completes segmentation options (unknown keys are ignored). */
export function segmentationOptions(opts: Partial<SegmentationOptions> = {}): SegmentationOptions {
  const o = { ...DEFAULT_SEGMENTATION, ...opts };
  for (const k of ['smoothingSigma', 'minArea', 'backgroundRadius', 'openRadius', 'splitH', 'splitRatio', 'adaptiveRadius'] as const) {
    if (!Number.isFinite(o[k]) || o[k] < 0) throw new ParameterError(k, `must be a finite number ≥ 0, got ${o[k]}`);
  }
  if (!['otsu', 'li', 'yen', 'mean', 'adaptive', 'noise'].includes(o.threshold)) {
    throw new ParameterError('threshold', `unknown method '${String(o.threshold)}' (noise, otsu, li, yen, mean, adaptive)`);
  }
  if (!['none', 'gaussian', 'rolling-ball'].includes(o.background)) {
    throw new ParameterError('background', `unknown method '${String(o.background)}' (none, gaussian, rolling-ball)`);
  }
  return o;
}

/** A frame after preprocessing and binary segmentation (shared by detection, prompts and the tracker). */
export interface FrameAnalysis {
  nx: number;
  ny: number;
  /** Polarity-corrected (particles bright), flattened, smoothed image. */
  image: Float32Array;
  /** Particle pixels after threshold, opening, hole filling and minimum area. */
  foreground: Uint8Array;
  /** Euclidean distance of each foreground pixel to the background. */
  distance: Float32Array;
  /** Split map (shape + intensity cues, see the module header); the watershed floods −ridge. */
  ridge: Float32Array;
  /** h-maxima (h = 1) of `ridge` inside the foreground: one marker per particle, 1..count. */
  peaks: { labels: Int32Array; count: number };
  /** Threshold on `image` (NaN for adaptive). */
  threshold: number;
  /** Mean and standard deviation of `image` over background pixels (noise scale for contrast). */
  backgroundMean: number;
  backgroundStd: number;
  /** False when the frame is constant or has no foreground: nothing to segment. */
  hasContent: boolean;
}

/** Polarity, flattening and smoothing: the image every later step (and drift estimation) works on. */
export function preprocessFrame(
  raw: ArrayLike<number> & { length: number },
  nx: number,
  ny: number,
  invert: boolean,
  opts: SegmentationOptions,
): Float32Array {
  checkImage(raw, nx, ny, 'frame');
  const sign = invert ? -1 : 1;
  const img = new Float32Array(nx * ny);
  for (let i = 0; i < img.length; i++) {
    const v = raw[i];
    // NaN pixels (dead probe positions) would poison the blur; they read as the background they most likely are.
    img[i] = Number.isFinite(v) ? sign * v : NaN;
  }
  let lo = Infinity;
  for (let i = 0; i < img.length; i++) if (img[i] < lo) lo = img[i];
  if (!Number.isFinite(lo)) lo = 0;
  for (let i = 0; i < img.length; i++) if (Number.isNaN(img[i])) img[i] = lo;
  const radius = opts.backgroundRadius > 0 ? opts.backgroundRadius : Math.max(nx, ny);
  const flat = opts.background === 'none' ? img : subtractBackground(img, nx, ny, { method: opts.background, radius }).corrected;
  return gaussianBlur(flat, nx, ny, opts.smoothingSigma);
}

/** One virtual image of a frame and its polarity (bright field: particles dark, so `invert`). */
export interface ChannelFrame {
  data: ArrayLike<number> & { length: number };
  invert: boolean;
}

/**
 * The image particles are segmented in, from one or more virtual images of the same frame: each is preprocessed
 * (polarity, flattening, smoothing) and, when there are several, expressed in units of its own background noise
 * (sigma-clipped), and the frame takes at each probe position the largest of them. A crystal that diffracts away
 * from the annulus fades in dark field but still darkens the bright field (mass-thickness), so together they see
 * every particle on every tilt. One image is used as it is.
 */
export function preprocessChannels(frames: readonly ChannelFrame[], nx: number, ny: number, opts: SegmentationOptions): Float32Array {
  if (frames.length === 0) throw new ParameterError('channels', 'at least one virtual image is needed');
  if (frames.length === 1) return preprocessFrame(frames[0].data, nx, ny, frames[0].invert, opts);
  const out = new Float32Array(nx * ny).fill(-Infinity);
  let used = 0;
  for (const f of frames) {
    const img = preprocessFrame(f.data, nx, ny, f.invert, opts);
    const { mean, std } = clippedBackground(img);
    if (!(std > 0)) continue; // a constant image carries no evidence
    used++;
    for (let i = 0; i < out.length; i++) {
      const z = (img[i] - mean) / std;
      if (z > out[i]) out[i] = z;
    }
  }
  if (!used) out.fill(0);
  return out;
}

/** Noise levels above the background a particle must reach somewhere (seed) and where its outline is drawn. */
const NOISE_SEED_SIGMAS = 5;
const NOISE_EDGE_SIGMAS = 2.5;
/** A pixel within RIM_RADIUS_PX of a brighter one is particle only above this fraction of that one's height. */
const RIM_FRACTION = 0.2;
const RIM_RADIUS_PX = 2;

/** Largest value within a (2r + 1)² square around each pixel (separable). */
function localMax(image: Float32Array, nx: number, ny: number, r: number): Float32Array {
  const rows = new Float32Array(nx * ny);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      let m = -Infinity;
      for (let k = Math.max(0, x - r); k <= Math.min(nx - 1, x + r); k++) m = Math.max(m, image[y * nx + k]);
      rows[y * nx + x] = m;
    }
  }
  const out = new Float32Array(nx * ny);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      let m = -Infinity;
      for (let k = Math.max(0, y - r); k <= Math.min(ny - 1, y + r); k++) m = Math.max(m, rows[k * nx + x]);
      out[y * nx + x] = m;
    }
  }
  return out;
}

/**
 * Threshold 'noise': referenced to the background noise and to the particles' own brightness, not to the frame's
 * histogram. A crystal in a strong reflection can be a hundred times brighter than its neighbour; a global method
 * (Li, Otsu) then puts the level between the two and loses the faint one. Here every region that reaches
 * NOISE_SEED_SIGMAS somewhere is kept down to NOISE_EDGE_SIGMAS (hysteresis), except the blurred rim of a bright
 * particle: a pixel near a brighter one must reach RIM_FRACTION of that one's height. A faint particle's interior is
 * kept even where it touches a bright one.
 */
function noiseThreshold(image: Float32Array, nx: number, ny: number): { mask: Uint8Array; threshold: number } {
  const n = nx * ny;
  const { mean, std } = clippedBackground(image);
  const edge = mean + NOISE_EDGE_SIGMAS * std;
  const seed = mean + NOISE_SEED_SIGMAS * std;
  const low = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (image[i] > edge) low[i] = 1;
  const comps = labelComponents(low, nx, ny);
  const seeded = new Uint8Array(comps.count + 1);
  for (let i = 0; i < n; i++) if (image[i] > seed) seeded[comps.labels[i]] = 1;
  const near = localMax(image, nx, ny, RIM_RADIUS_PX);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!seeded[comps.labels[i]]) continue;
    mask[i] = image[i] > mean + RIM_FRACTION * (near[i] - mean) ? 1 : 0;
  }
  // The split map's intensity scale follows the frame's brightness, as with a global method: a bright crystal's
  // own shading must not split it.
  return { mask, threshold: Math.max(edge, globalThreshold(image, 'li')) };
}

/** Binary segmentation of a preprocessed image, plus the distance map and split markers. */
export function analyseImage(image: Float32Array, nx: number, ny: number, opts: SegmentationOptions): FrameAnalysis {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < image.length; i++) {
    if (image[i] < lo) lo = image[i];
    if (image[i] > hi) hi = image[i];
  }
  const empty = (): FrameAnalysis => ({
    nx,
    ny,
    image,
    foreground: new Uint8Array(nx * ny),
    distance: new Float32Array(nx * ny),
    ridge: new Float32Array(nx * ny),
    peaks: { labels: new Int32Array(nx * ny), count: 0 },
    threshold: NaN,
    backgroundMean: Number.isFinite(lo) ? lo : 0,
    backgroundStd: 0,
    hasContent: false,
  });
  // A constant frame (empty virtual image, blank scan) has nothing to threshold; a relative test, because
  // flattening leaves float round-off on a constant image.
  if (!(hi - lo > 1e-6 * Math.max(1, Math.abs(hi), Math.abs(lo)))) return empty();
  const t = opts.threshold === 'noise' ? noiseThreshold(image, nx, ny) : thresholdImage(image, nx, ny, { method: opts.threshold, blockRadius: opts.adaptiveRadius });
  let fg = t.mask;
  if (opts.openRadius > 0) fg = binaryOpen(fg, nx, ny, opts.openRadius);
  fg = fillHoles(fg, nx, ny);
  fg = removeSmallObjects(fg, nx, ny, Math.max(1, opts.minArea));
  let n = 0;
  let s = 0;
  let s2 = 0;
  let nf = 0;
  for (let i = 0; i < fg.length; i++) {
    if (fg[i]) {
      nf++;
      continue;
    }
    n++;
    s += image[i];
    s2 += image[i] * image[i];
  }
  if (nf === 0) return empty();
  const mean = n ? s / n : 0;
  const std = n > 1 ? Math.sqrt(Math.max(0, s2 / n - mean * mean)) : 0;
  const split = splitMap(image, fg, nx, ny, mean, std, t.threshold, opts);
  return {
    nx,
    ny,
    image,
    foreground: fg,
    ...split,
    threshold: t.threshold,
    backgroundMean: mean,
    backgroundStd: std,
    hasContent: true,
  };
}

/**
 * Distance map, split map and its markers for a foreground mask (see the module header). `background` and
 * `noise` are the mean and standard deviation of the image off the foreground; `threshold` may be NaN.
 */
export function splitMap(
  image: Float32Array,
  fg: Uint8Array,
  nx: number,
  ny: number,
  background: number,
  noise: number,
  threshold: number,
  opts: SegmentationOptions,
): { distance: Float32Array; ridge: Float32Array; peaks: { labels: Int32Array; count: number } } {
  const n = nx * ny;
  const distance = distanceTransform(fg, nx, ny);
  // A frame that is all foreground has infinite distances; cap so markers and elevations stay finite.
  const cap = Math.hypot(nx, ny);
  for (let i = 0; i < n; i++) if (distance[i] > cap) distance[i] = cap;
  const ridge = new Float32Array(n);
  const wIntensity = opts.splitRatio > 1 ? 1 / Math.log(opts.splitRatio) : 0;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) if (fg[i] && image[i] > hi) hi = image[i];
  const step = Number.isFinite(threshold) ? threshold - background : 0;
  const c = Math.max(2 * step, 3 * noise, 1e-3 * Math.max(1e-12, hi - background));
  const q = new Float32Array(n);
  for (let i = 0; i < n; i++) q[i] = Math.log(Math.max(0, image[i] - background) + c);
  // Shape scale per blob: a neck in a 3-px-wide rod is 1 px deep, in a 20-px particle several; scaling the
  // depth that splits by the blob's own thickness (half its largest distance, at most splitH) serves both.
  const blobs = opts.splitH > 0 ? labelComponents(fg, nx, ny) : { labels: new Int32Array(n), count: 0 };
  const blobMax = new Float64Array(blobs.count + 1);
  for (let i = 0; i < n; i++) if (distance[i] > blobMax[blobs.labels[i]]) blobMax[blobs.labels[i]] = distance[i];
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const i = y * nx + x;
      if (!fg[i]) continue;
      let v = 0;
      if (opts.splitH > 0) v += distance[i] / Math.min(opts.splitH, Math.max(0.75, 0.5 * blobMax[blobs.labels[i]]));
      if (wIntensity > 0) {
        // A step between a faint and a bright particle is no dip in intensity, but it is a ridge of gradient:
        // subtracting twice the log-gradient turns the step into a valley half the step deep.
        const gx = 0.5 * (q[y * nx + Math.min(nx - 1, x + 1)] - q[y * nx + Math.max(0, x - 1)]);
        const gy = 0.5 * (q[Math.min(ny - 1, y + 1) * nx + x] - q[Math.max(0, y - 1) * nx + x]);
        v += wIntensity * (q[i] - 2 * Math.hypot(gx, gy));
      }
      ridge[i] = v;
    }
  }
  const peaks = hMaximaMarkers(ridge, nx, ny, 1, fg);
  return { distance, ridge, peaks };
}

/** −ridge: the elevation the watersheds flood. */
export function splitElevation(ridge: Float32Array): Float32Array {
  const out = new Float32Array(ridge.length);
  for (let i = 0; i < ridge.length; i++) out[i] = -ridge[i];
  return out;
}

/** Watershed of the foreground into one region per split marker (touching particles split where they meet). */
export function splitForeground(a: FrameAnalysis): Int32Array {
  return watershed(splitElevation(a.ridge), a.peaks.labels, a.nx, a.ny, a.foreground);
}

export interface Candidate {
  /** Label of the candidate in `labels` (1..count). */
  id: number;
  area: number;
  /** Centroid, probe-position coordinates. */
  x: number;
  y: number;
  bbox: { x0: number; y0: number; x1: number; y1: number };
  /** Mean of the raw (input) image over the candidate. */
  meanIntensity: number;
  /** 4π·area/perimeter², ≈1 for a disk, smaller for elongated or ragged shapes. */
  compactness: number;
  /** Contrast × compactness, 0..1: how convincingly this is one particle. */
  score: number;
  touchesBorder: boolean;
  /** True when no other candidate touches it (it was not split off a larger blob). */
  isolated: boolean;
  /** The candidate's highest split-map pixel (deep inside and bright: a safe place to click, unlike the
   * centroid of a crescent, which is outside it). */
  innerX: number;
  innerY: number;
}

export interface Detection {
  /** nx·ny, 0 = background, k = candidate id k. */
  labels: Int32Array;
  candidates: Candidate[];
  foreground: Uint8Array;
  threshold: number;
}

/** Perimeter estimate from the count of pixel edges between a region and anything else, × π/4 (Crofton-style). */
function perimeters(labels: Int32Array, count: number, nx: number, ny: number): Float64Array {
  const edges = new Float64Array(count + 1);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const l = labels[y * nx + x];
      if (!l) continue;
      if (x === 0 || labels[y * nx + x - 1] !== l) edges[l]++;
      if (x === nx - 1 || labels[y * nx + x + 1] !== l) edges[l]++;
      if (y === 0 || labels[(y - 1) * nx + x] !== l) edges[l]++;
      if (y === ny - 1 || labels[(y + 1) * nx + x] !== l) edges[l]++;
    }
  }
  for (let l = 1; l <= count; l++) edges[l] *= Math.PI / 4;
  return edges;
}

/** Candidate list of an analysed frame: region properties, compactness, isolation and a score. */
export function candidatesOf(a: FrameAnalysis, labels: Int32Array, count: number, raw?: ArrayLike<number>): Candidate[] {
  const { nx, ny } = a;
  const props: RegionProps[] = regionProps(labels, count, nx, ny, a.image);
  const rawMean = new Float64Array(count + 1);
  if (raw) {
    for (let i = 0; i < labels.length; i++) if (labels[i]) rawMean[labels[i]] += raw[i];
  }
  const perim = perimeters(labels, count, nx, ny);
  // Isolation: a candidate whose 8-connected blob holds no other candidate.
  const blobs = labelComponents(a.foreground, nx, ny);
  const blobOwner = new Int32Array(blobs.count + 1);
  const shared = new Uint8Array(blobs.count + 1);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!l) continue;
    const b = blobs.labels[i];
    if (blobOwner[b] === 0) blobOwner[b] = l;
    else if (blobOwner[b] !== l) shared[b] = 1;
  }
  const isShared = new Uint8Array(count + 1);
  const inner = new Int32Array(count + 1).fill(-1);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!l) continue;
    if (shared[blobs.labels[i]]) isShared[l] = 1;
    if (inner[l] < 0 || a.ridge[i] > a.ridge[inner[l]]) inner[l] = i;
  }
  const range = Math.max(1e-12, a.backgroundStd * 10);
  const out: Candidate[] = [];
  for (const p of props) {
    if (p.area === 0) continue;
    const compactness = Math.min(1, (4 * Math.PI * p.area) / (perim[p.label] * perim[p.label]));
    const contrast = Math.max(0, Math.min(1, (p.meanIntensity - a.backgroundMean) / range));
    out.push({
      id: p.label,
      area: p.area,
      x: p.cx,
      y: p.cy,
      bbox: { x0: p.x0, y0: p.y0, x1: p.x1, y1: p.y1 },
      meanIntensity: raw ? rawMean[p.label] / p.area : p.meanIntensity,
      compactness,
      score: contrast * compactness,
      touchesBorder: p.touchesBorder,
      isolated: !isShared[p.label],
      innerX: inner[p.label] % nx,
      innerY: Math.floor(inner[p.label] / nx),
    });
  }
  return out;
}

/**
 * "Auto-detect": candidate particles of one frame (nx·ny, row-major), with touching particles split. The frame is
 * one image (`invert` for bright field) or several virtual images of it (see preprocessChannels); candidates'
 * mean intensities are read from the first. Never mutates the images.
 */
export function detectCandidates(
  frame: (ArrayLike<number> & { length: number }) | readonly ChannelFrame[],
  nx: number,
  ny: number,
  options: Partial<SegmentationOptions> & { invert?: boolean } = {},
): Detection {
  const opts = segmentationOptions(options);
  const frames = isChannelList(frame) ? frame : [{ data: frame, invert: options.invert ?? false }];
  const pre = preprocessChannels(frames, nx, ny, opts);
  const a = analyseImage(pre, nx, ny, opts);
  if (!a.hasContent) return { labels: new Int32Array(nx * ny), candidates: [], foreground: a.foreground, threshold: a.threshold };
  const labels = splitForeground(a);
  const candidates = candidatesOf(a, labels, a.peaks.count, frames[0].data);
  return { labels, candidates, foreground: a.foreground, threshold: a.threshold };
}

function isChannelList(f: (ArrayLike<number> & { length: number }) | readonly ChannelFrame[]): f is readonly ChannelFrame[] {
  return Array.isArray(f) && (f.length === 0 || typeof f[0] === 'object');
}
