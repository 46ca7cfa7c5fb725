// Candidate segmentation of one virtual image: the "Auto-detect" list and the per-frame input of the tracker.
//
// polarity (bright field is negated, so particles are always bright) → background flattening → Gaussian
// smoothing → threshold → opening (specks, one-pixel bridges) → fill holes → minimum area → distance transform →
// h-maxima markers → watershed on −distance, so two touching particles become two candidates split at their neck.
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
  type RegionProps,
} from '../kernels/image';
import { ParameterError } from '../errors';
import type { SegmentationOptions } from './types';

export const DEFAULT_SEGMENTATION: SegmentationOptions = {
  threshold: 'otsu',
  smoothingSigma: 1,
  minArea: 16,
  background: 'rolling-ball',
  backgroundRadius: 0,
  openRadius: 1,
  splitH: 2,
  adaptiveRadius: 15,
};

/** Validates and completes segmentation options (unknown keys are ignored). */
export function segmentationOptions(opts: Partial<SegmentationOptions> = {}): SegmentationOptions {
  const o = { ...DEFAULT_SEGMENTATION, ...opts };
  for (const k of ['smoothingSigma', 'minArea', 'backgroundRadius', 'openRadius', 'splitH', 'adaptiveRadius'] as const) {
    if (!Number.isFinite(o[k]) || o[k] < 0) throw new ParameterError(k, `must be a finite number ≥ 0, got ${o[k]}`);
  }
  if (!['otsu', 'li', 'yen', 'mean', 'adaptive'].includes(o.threshold)) {
    throw new ParameterError('threshold', `unknown method '${String(o.threshold)}' (otsu, li, yen, mean, adaptive)`);
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
  /** h-maxima markers of `distance` (one per particle hill), 1..count. */
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
    peaks: { labels: new Int32Array(nx * ny), count: 0 },
    threshold: NaN,
    backgroundMean: Number.isFinite(lo) ? lo : 0,
    backgroundStd: 0,
    hasContent: false,
  });
  // A constant frame (empty virtual image, blank scan) has nothing to threshold; a relative test, because
  // flattening leaves float round-off on a constant image.
  if (!(hi - lo > 1e-6 * Math.max(1, Math.abs(hi), Math.abs(lo)))) return empty();
  const t = thresholdImage(image, nx, ny, { method: opts.threshold, blockRadius: opts.adaptiveRadius });
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
  const distance = distanceTransform(fg, nx, ny);
  // A frame that is all foreground has infinite distances; cap so markers and elevations stay finite.
  const cap = Math.hypot(nx, ny);
  for (let i = 0; i < distance.length; i++) if (distance[i] > cap) distance[i] = cap;
  const peaks = hMaximaMarkers(distance, nx, ny, opts.splitH, fg);
  return {
    nx,
    ny,
    image,
    foreground: fg,
    distance,
    peaks,
    threshold: t.threshold,
    backgroundMean: mean,
    backgroundStd: std,
    hasContent: true,
  };
}

/** Watershed of the foreground into one region per h-maxima marker (touching particles split at the neck). */
export function splitForeground(a: FrameAnalysis): Int32Array {
  const elevation = new Float32Array(a.distance.length);
  for (let i = 0; i < elevation.length; i++) elevation[i] = -a.distance[i];
  return watershed(elevation, a.peaks.labels, a.nx, a.ny, a.foreground);
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
  /** The pixel deepest inside the candidate (a safe place to click: the centroid of a crescent is outside it). */
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
    if (inner[l] < 0 || a.distance[i] > a.distance[inner[l]]) inner[l] = i;
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
 * "Auto-detect": candidate particles of one virtual image (nx·ny, row-major), with touching particles split.
 * `invert` for bright-field images. Never mutates the image.
 */
export function detectCandidates(
  image: ArrayLike<number> & { length: number },
  nx: number,
  ny: number,
  options: Partial<SegmentationOptions> & { invert?: boolean } = {},
): Detection {
  const opts = segmentationOptions(options);
  const pre = preprocessFrame(image, nx, ny, options.invert ?? false, opts);
  const a = analyseImage(pre, nx, ny, opts);
  if (!a.hasContent) return { labels: new Int32Array(nx * ny), candidates: [], foreground: a.foreground, threshold: a.threshold };
  const labels = splitForeground(a);
  const candidates = candidatesOf(a, labels, a.peaks.count, image);
  return { labels, candidates, foreground: a.foreground, threshold: a.threshold };
}
