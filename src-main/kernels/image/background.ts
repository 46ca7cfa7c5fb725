// Background flattening: remove slow intensity variations (thickness of a support film, a tilted scan,
// detector gain drift) so one global threshold separates particles from background over the whole frame.
//
// 'rolling-ball' is a grayscale opening with a paraboloid ("sliding paraboloid" in ImageJ's Subtract
// Background): the paraboloid is separable, so erosion and dilation are exact lower envelopes (FH), O(N) for any
// radius, where a true ball would cost O(N·r²). Features narrower than about `radius` are removed from the
// background estimate; wider ones (the background) are followed. Because intensities and pixels have unrelated
// units, the paraboloid's height is scaled to the image: it rises by the image's robust range (1st–99th
// percentile) at distance `radius`.
// 'gaussian' subtracts a Gaussian blur with sigma = radius: cheaper in thought, but bright particles raise the
// local estimate and leave a dark halo, so it suits faint, sparse features better than dense agglomerates.
import { ParameterError } from '../../../src-shared/errors';
import { lowerEnvelope2D } from './distance';
import { gaussianBlur } from './gaussian';
import { upsampleBlocks } from './upsample';
import { checkImage, checkNonNegative, type ImageLike } from './util';

export type BackgroundMethod = 'none' | 'gaussian' | 'rolling-ball';

export interface BackgroundOptions {
  method: BackgroundMethod;
  /** Ball radius (rolling-ball) or Gaussian sigma (gaussian), pixels; larger than the largest particle. */
  radius: number;
}

export interface BackgroundResult {
  /** img − background (Float32). */
  corrected: Float32Array;
  /** The background estimate that was subtracted. */
  background: Float32Array;
}

/** At most `max` values of `a`, evenly spread (every k-th): for quantiles of a whole image, as good as all of them. */
function spreadSample(a: ArrayLike<number>, max: number): Float64Array {
  const step = Math.max(1, Math.ceil(a.length / max));
  const out = new Float64Array(Math.ceil(a.length / step));
  for (let i = 0, j = 0; i < a.length; i += step, j++) out[j] = a[i];
  return out;
}

/** Values the rolling ball's intensity range is taken from (its 1st and 99th percentile). */
const RANGE_SAMPLES = 1 << 16;

/** q-quantile (0..1) of the finite values of `a`, by sorting a copy (robust range for scaling). */
export function quantile(a: ArrayLike<number>, q: number): number {
  const c = new Float64Array(a.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i])) c[n++] = a[i];
  if (n === 0) return NaN;
  const s = c.subarray(0, n).sort();
  const pos = Math.min(n - 1, Math.max(0, q * (n - 1)));
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Grayscale opening of `img` by the paraboloid a·|d|² (erosion then dilation), both as FH lower envelopes. */
function paraboloidOpening(img: ImageLike, nx: number, ny: number, a: number): Float32Array {
  const g = new Float64Array(nx * ny);
  // Erosion: e(p) = min_q f(q) + a|p−q|² = a · min_q (f(q)/a + |p−q|²).
  for (let i = 0; i < g.length; i++) g[i] = img[i] / a;
  lowerEnvelope2D(g, nx, ny);
  // Dilation of e: max_q e(q) − a|p−q|² = −a · min_q (−e(q)/a + |p−q|²); e(q)/a is what g holds now.
  for (let i = 0; i < g.length; i++) g[i] = -g[i];
  lowerEnvelope2D(g, nx, ny);
  const out = new Float32Array(nx * ny);
  for (let i = 0; i < g.length; i++) out[i] = -a * g[i];
  return out;
}

/**
 * Gaussian blur for large sigma on a block-averaged copy, then bilinear upsampling: the background is smooth by
 * construction, and a direct 3.5·sigma-wide kernel at sigma = 100 would cost ~700 taps per pixel per pass.
 */
function largeGaussian(img: ImageLike, nx: number, ny: number, sigma: number): Float32Array {
  const f = Math.max(1, Math.floor(sigma / 4));
  if (f === 1) return gaussianBlur(img, nx, ny, sigma);
  const mx = Math.ceil(nx / f);
  const my = Math.ceil(ny / f);
  const small = new Float32Array(mx * my);
  const count = new Float32Array(mx * my);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const j = Math.floor(y / f) * mx + Math.floor(x / f);
      small[j] += img[y * nx + x];
      count[j]++;
    }
  }
  for (let j = 0; j < small.length; j++) small[j] /= count[j];
  const blurred = gaussianBlur(small, mx, my, sigma / f);
  const out = new Float32Array(nx * ny);
  upsampleBlocks(blurred, mx, my, f, nx, ny, out);
  return out;
}

/** Estimates and subtracts the background of an nx×ny image (bright features on a darker background). */
export function subtractBackground(img: ImageLike, nx: number, ny: number, opts: BackgroundOptions): BackgroundResult {
  checkImage(img, nx, ny);
  checkNonNegative(opts.radius, 'background.radius');
  let background: Float32Array;
  if (opts.method === 'none' || opts.radius === 0) {
    background = new Float32Array(nx * ny);
  } else if (opts.method === 'gaussian') {
    background = largeGaussian(img, nx, ny, opts.radius);
  } else if (opts.method === 'rolling-ball') {
    const sample = spreadSample(img, RANGE_SAMPLES);
    const range = quantile(sample, 0.99) - quantile(sample, 0.01);
    if (!(range > 0)) {
      // A flat (or empty) image is all background.
      background = Float32Array.from(img);
    } else {
      background = paraboloidOpening(img, nx, ny, range / (opts.radius * opts.radius));
    }
  } else {
    throw new ParameterError('background.method', `unknown method '${String(opts.method)}'`);
  }
  const corrected = new Float32Array(nx * ny);
  for (let i = 0; i < corrected.length; i++) corrected[i] = img[i] - background[i];
  return { corrected, background };
}

const START_SAMPLES = 1 << 14;

/**
 * Mean and standard deviation of an image's background by sigma clipping: start from the median and the MAD,
 * then re-estimate from the values within ±3σ a few times, so particles (however bright, as long as they cover
 * less than about half the field) do not inflate either. `std` is 0 for a constant image.
 */
export function clippedBackground(img: ArrayLike<number>, iterations = 4): { mean: number; std: number } {
  // The starting median and MAD from at most START_SAMPLES evenly spread pixels: as good a start as all of them (the
  // sorts were most of the cost on a 512² frame); the clipping passes then use every pixel.
  const sample = spreadSample(img, START_SAMPLES);
  const med = quantile(sample, 0.5);
  if (!Number.isFinite(med)) return { mean: 0, std: 0 };
  const dev = new Float64Array(sample.length);
  for (let i = 0; i < sample.length; i++) dev[i] = Number.isFinite(sample[i]) ? Math.abs(sample[i] - med) : NaN;
  let mean = med;
  let std = 1.4826 * quantile(dev, 0.5);
  if (!(std > 0)) {
    // Counts so low that most values equal the median: the mean absolute deviation still measures the noise.
    let s = 0;
    let n = 0;
    for (const d of dev) {
      if (!Number.isFinite(d)) continue;
      s += d;
      n++;
    }
    std = n ? 1.2533 * (s / n) : 0;
  }
  for (let k = 0; k < iterations && std > 0; k++) {
    let s = 0;
    let s2 = 0;
    let n = 0;
    for (let i = 0; i < img.length; i++) {
      const v = img[i];
      if (!(Math.abs(v - mean) <= 3 * std)) continue;
      s += v;
      s2 += v * v;
      n++;
    }
    if (n < 2) break;
    const m = s / n;
    const sd = Math.sqrt(Math.max(0, s2 / n - m * m));
    // Sparse counts (mostly 0, a few 1s): clipping at 3σ would drop every 1 and call the noise zero.
    if (!(sd > 0)) break;
    mean = m;
    std = sd;
  }
  return { mean, std };
}
