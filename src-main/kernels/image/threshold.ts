// Global and local thresholds. Foreground is `value > threshold` (the convention of scikit-image, whose
// definitions of Otsu, Li and Yen these follow, so results can be compared with it). Particles are bright in
// annular dark field; in bright field they are dark, and `invert` thresholds the negated image (so Li and Yen,
// which are not symmetric in intensity, see particles as the bright class in both cases).
import { ParameterError } from '../../../src-shared/errors';
import { checkImage, checkNonNegative, type ImageLike } from './util';

export type ThresholdMethod = 'otsu' | 'li' | 'yen' | 'mean' | 'adaptive';

export interface ThresholdOptions {
  method: ThresholdMethod;
  /** Particles darker than the background (bright-field virtual images). */
  invert?: boolean;
  /** adaptive: half-width of the square window for the local mean, pixels (default 15). */
  blockRadius?: number;
  /** adaptive: a pixel is foreground when it exceeds its local mean by more than this (image units, default 0). */
  offset?: number;
  /** Histogram bins for otsu and yen (default 256). */
  nbins?: number;
}

export interface ThresholdResult {
  /** 1 where the pixel is foreground (a particle), else 0. */
  mask: Uint8Array;
  /** The global threshold in the input's units (NaN for 'adaptive', whose threshold varies per pixel). */
  threshold: number;
}

interface Histogram {
  counts: Float64Array;
  centers: Float64Array;
}

function finiteRange(img: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < img.length; i++) {
    const v = img[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Histogram of the finite values with `nbins` equal bins spanning [min, max] (as skimage.exposure.histogram). */
function histogram(img: ArrayLike<number>, nbins: number): Histogram {
  const [lo, hi] = finiteRange(img);
  const counts = new Float64Array(nbins);
  const centers = new Float64Array(nbins);
  const width = (hi - lo) / nbins;
  for (let b = 0; b < nbins; b++) centers[b] = lo + (b + 0.5) * width;
  for (let i = 0; i < img.length; i++) {
    const v = img[i];
    if (!Number.isFinite(v)) continue;
    const b = width > 0 ? Math.min(nbins - 1, Math.floor((v - lo) / width)) : 0;
    counts[b]++;
  }
  return { counts, centers };
}

function checkValues(img: ArrayLike<number>): void {
  const [lo, hi] = finiteRange(img);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    throw new ParameterError('image', 'has no finite values to threshold');
  }
}

/** Otsu (1979): the bin centre that maximises the between-class variance. */
export function thresholdOtsu(img: ArrayLike<number>, nbins = 256): number {
  checkValues(img);
  const { counts, centers } = histogram(img, nbins);
  let total = 0;
  let sumAll = 0;
  for (let b = 0; b < nbins; b++) {
    total += counts[b];
    sumAll += counts[b] * centers[b];
  }
  let w0 = 0;
  let sum0 = 0;
  let best = -1;
  let bestAt = 0;
  // Class 0 = bins 0..b (value ≤ centre b), class 1 = the rest, as skimage's threshold_otsu.
  for (let b = 0; b < nbins - 1; b++) {
    w0 += counts[b];
    sum0 += counts[b] * centers[b];
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = sum0 / w0;
    const m1 = (sumAll - sum0) / w1;
    const between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) {
      best = between;
      bestAt = b;
    }
  }
  return centers[bestAt];
}

/** Yen et al. (1995): maximum-correlation criterion over the histogram (as skimage's threshold_yen). */
export function thresholdYen(img: ArrayLike<number>, nbins = 256): number {
  checkValues(img);
  const { counts, centers } = histogram(img, nbins);
  let total = 0;
  for (let b = 0; b < nbins; b++) total += counts[b];
  const pmf = counts.map((c) => c / total);
  const p1 = new Float64Array(nbins);
  const p1sq = new Float64Array(nbins);
  const p2sq = new Float64Array(nbins);
  let a = 0;
  let s = 0;
  for (let b = 0; b < nbins; b++) {
    a += pmf[b];
    s += pmf[b] * pmf[b];
    p1[b] = a;
    p1sq[b] = s;
  }
  s = 0;
  for (let b = nbins - 1; b >= 0; b--) {
    s += pmf[b] * pmf[b];
    p2sq[b] = s;
  }
  let best = -Infinity;
  let bestAt = 0;
  for (let b = 0; b < nbins - 1; b++) {
    const num = (p1[b] * (1 - p1[b])) ** 2;
    const den = p1sq[b] * p2sq[b + 1];
    const crit = Math.log(num / den);
    if (crit > best) {
      best = crit;
      bestAt = b;
    }
  }
  return centers[bestAt];
}

/**
 * Li & Lee (1993) / Li & Tam (1998): iterative minimum cross entropy, on the raw values (as skimage's threshold_li,
 * shifted so the minimum is 0, because the criterion takes logarithms of class means).
 */
export function thresholdLi(img: ArrayLike<number>): number {
  checkValues(img);
  const [lo, hi] = finiteRange(img);
  if (hi === lo) return lo;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < img.length; i++) {
    const v = img[i];
    if (Number.isFinite(v)) {
      sum += v - lo;
      n++;
    }
  }
  const tolerance = (hi - lo) * 1e-6;
  let tNext = sum / n;
  let tCurr = -2 * tolerance - 1;
  for (let iter = 0; iter < 1000 && Math.abs(tNext - tCurr) > tolerance; iter++) {
    tCurr = tNext;
    let sf = 0;
    let nf = 0;
    let sb = 0;
    let nb = 0;
    for (let i = 0; i < img.length; i++) {
      const v = img[i] - lo;
      if (!Number.isFinite(v)) continue;
      if (v > tCurr) {
        sf += v;
        nf++;
      } else {
        sb += v;
        nb++;
      }
    }
    const mf = sf / nf;
    const mb = sb / nb;
    if (!(mb > 0) || !(mf > 0)) break;
    tNext = (mb - mf) / (Math.log(mb) - Math.log(mf));
  }
  return tNext + lo;
}

/** Mean of the finite values. */
export function thresholdMean(img: ArrayLike<number>): number {
  checkValues(img);
  let s = 0;
  let n = 0;
  for (let i = 0; i < img.length; i++) {
    if (Number.isFinite(img[i])) {
      s += img[i];
      n++;
    }
  }
  return s / n;
}

/**
 * Local mean threshold: foreground where img > mean over the (2r+1)² window (clipped at the image edge) + offset.
 * Summed-area table, O(N) for any window. Follows a slowly varying background without a flattening step.
 */
export function thresholdAdaptive(img: ImageLike, nx: number, ny: number, blockRadius: number, offset = 0): Uint8Array {
  checkImage(img, nx, ny);
  checkNonNegative(blockRadius, 'blockRadius');
  const r = Math.round(blockRadius);
  const w = nx + 1;
  const sat = new Float64Array(w * (ny + 1));
  for (let y = 0; y < ny; y++) {
    let rowSum = 0;
    for (let x = 0; x < nx; x++) {
      const v = img[y * nx + x];
      rowSum += Number.isFinite(v) ? v : 0;
      sat[(y + 1) * w + x + 1] = sat[y * w + x + 1] + rowSum;
    }
  }
  const mask = new Uint8Array(nx * ny);
  for (let y = 0; y < ny; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(ny, y + r + 1);
    for (let x = 0; x < nx; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(nx, x + r + 1);
      const s = sat[y1 * w + x1] - sat[y0 * w + x1] - sat[y1 * w + x0] + sat[y0 * w + x0];
      const mean = s / ((y1 - y0) * (x1 - x0));
      mask[y * nx + x] = img[y * nx + x] > mean + offset ? 1 : 0;
    }
  }
  return mask;
}

/** Global threshold value of `img` by `method` (not 'adaptive'). */
export function globalThreshold(img: ArrayLike<number>, method: Exclude<ThresholdMethod, 'adaptive'>, nbins = 256): number {
  switch (method) {
    case 'otsu':
      return thresholdOtsu(img, nbins);
    case 'li':
      return thresholdLi(img);
    case 'yen':
      return thresholdYen(img, nbins);
    case 'mean':
      return thresholdMean(img);
    default:
      throw new ParameterError('threshold.method', `unknown method '${String(method)}'`);
  }
}

/** Binary foreground mask of an nx×ny image by the chosen method (see ThresholdOptions). */
export function threshold(img: ImageLike, nx: number, ny: number, opts: ThresholdOptions): ThresholdResult {
  checkImage(img, nx, ny);
  const sign = opts.invert ? -1 : 1;
  // Work on the polarity-corrected image so every method sees particles as the bright class.
  const src = new Float32Array(nx * ny);
  for (let i = 0; i < src.length; i++) src[i] = sign * img[i];
  if (opts.method === 'adaptive') {
    return { mask: thresholdAdaptive(src, nx, ny, opts.blockRadius ?? 15, opts.offset ?? 0), threshold: NaN };
  }
  const t = globalThreshold(src, opts.method, opts.nbins ?? 256);
  const mask = new Uint8Array(nx * ny);
  for (let i = 0; i < src.length; i++) mask[i] = src[i] > t ? 1 : 0;
  return { mask, threshold: sign * t };
}
