// Translation between two images by FFT phase correlation, to sub-pixel precision.
//
// Both images are mean-subtracted and Hann-windowed (so the image edges, which do not move with the content,
// do not pull the peak to zero shift) and zero-padded to powers of two for fft.js. The normalised cross-power
// spectrum B·conj(A)/|B·conj(A)| transforms back to a sharp peak at the shift. The integer peak is refined by
// an upsampled DFT around it (Guizar-Sicairos, Thurman & Fienup 2008, the method of scikit-image's
// phase_cross_correlation): the correlation surface is evaluated exactly at 1/upsample px steps in a ±1 px
// window, which avoids the bias of fitting a parabola to a sinc-shaped peak.
import FFT from 'fft.js';
import { ParameterError } from '../../../src-shared/errors';
import { checkImage, type ImageLike } from './util';

export interface PhaseCorrelationOptions {
  /** Apply a 2D Hann window before the FFT (default true). */
  window?: boolean;
  /** Sub-pixel refinement factor: the shift is found to 1/upsample px (default 20; 1 = integer only). */
  upsample?: number;
  /**
   * Width (px) of the Gaussian low-pass applied to the cross-power spectrum (default 1; 0 = none). Whitening gives
   * every frequency equal weight, so bins that hold only noise would otherwise roughen the peak.
   */
  lowpassSigma?: number;
  /**
   * High-pass cutoff in DFT bins of the unpadded image (default 2.5; 0 = none). What does not move with the
   * content (background level × window, gain gradients) sits in the lowest bins and adds a peak at zero shift
   * that pulls small shifts towards 0.
   */
  highpassBins?: number;
  /**
   * Where the shift is expected: the integer peak is chosen on the correlation weighted by a Gaussian of width
   * sigmaPx around (dx, dy) (the sub-pixel refinement and the reported height are unweighted). When content changes
   * shape between the images (one of two touching particles fades), the surface has a second peak at a shift by
   * that particle's size; the prior picks the plausible one unless the other clearly dominates.
   */
  prior?: { dx: number; dy: number; sigmaPx: number };
}

export interface PhaseCorrelationResult {
  /** Shift of `b` relative to `a`: b(x, y) ≈ a(x − dx, y − dy), pixels. */
  dx: number;
  dy: number;
  /** Height of the normalised correlation peak, 0..1: 1 for identical content, ~1/√N for unrelated images. */
  peak: number;
}

/** A plan for 1D FFTs of `size` points (its twiddle table costs O(size), next to the O(size log size) transforms). */
function fftOf(size: number): FFT {
  return new FFT(size);
}

function nextPow2(n: number): number {
  let p = 2;
  while (p < n) p *= 2;
  return p;
}

/** Hann window over [0, n − 1] evaluated at i − shift (0 outside), so it can follow content moved by `shift`. */
function hann(n: number, shift: number): Float64Array {
  const w = new Float64Array(n);
  if (n === 1) {
    w[0] = 1;
    return w;
  }
  for (let i = 0; i < n; i++) {
    const t = i - shift;
    w[i] = t < 0 || t > n - 1 ? 0 : 0.5 - 0.5 * Math.cos((2 * Math.PI * t) / (n - 1));
  }
  return w;
}

/** In-place 2D FFT of an interleaved complex px×py buffer (rows, then columns). */
function fft2(data: Float64Array, px: number, py: number, inverse: boolean): void {
  const fx = fftOf(px);
  const fy = fftOf(py);
  const rowIn = new Float64Array(2 * px);
  const rowOut = new Float64Array(2 * px);
  for (let y = 0; y < py; y++) {
    const o = 2 * y * px;
    rowIn.set(data.subarray(o, o + 2 * px));
    if (inverse) fx.inverseTransform(rowOut, rowIn);
    else fx.transform(rowOut, rowIn);
    data.set(rowOut, o);
  }
  const colIn = new Float64Array(2 * py);
  const colOut = new Float64Array(2 * py);
  for (let x = 0; x < px; x++) {
    for (let y = 0; y < py; y++) {
      colIn[2 * y] = data[2 * (y * px + x)];
      colIn[2 * y + 1] = data[2 * (y * px + x) + 1];
    }
    if (inverse) fy.inverseTransform(colOut, colIn);
    else fy.transform(colOut, colIn);
    for (let y = 0; y < py; y++) {
      data[2 * (y * px + x)] = colOut[2 * y];
      data[2 * (y * px + x) + 1] = colOut[2 * y + 1];
    }
  }
}

function prepare(img: ImageLike, nx: number, ny: number, px: number, py: number, wx: Float64Array | null, wy: Float64Array | null): Float64Array {
  let mean = 0;
  for (let i = 0; i < nx * ny; i++) mean += img[i];
  mean /= nx * ny;
  const out = new Float64Array(2 * px * py);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const w = wx && wy ? wx[x] * wy[y] : 1;
      out[2 * (y * px + x)] = (img[y * nx + x] - mean) * w;
    }
  }
  return out;
}

/** Signed frequency index of bin k of an n-point DFT (numpy's fftfreq · n). */
function signedFreq(k: number, n: number): number {
  return k <= n / 2 ? k : k - n;
}

/**
 * Inverse DFT of the cross-power spectrum `r` (interleaved complex, px×py) evaluated at the points
 * (x0 + i/up, y0 + j/up) for i, j in [−half, half]: returns the real parts, row-major, (2·half+1)².
 */
function upsampledCorrelation(
  r: Float64Array,
  px: number,
  py: number,
  x0: number,
  y0: number,
  up: number,
  half: number,
): Float64Array {
  const m = 2 * half + 1;
  // Exponential tables: ex[i][kx] = exp(+2πi·fx·x_i/px), ey[j][ky] likewise.
  const exRe = new Float64Array(m * px);
  const exIm = new Float64Array(m * px);
  for (let i = 0; i < m; i++) {
    const xs = x0 + (i - half) / up;
    for (let k = 0; k < px; k++) {
      const a = (2 * Math.PI * signedFreq(k, px) * xs) / px;
      exRe[i * px + k] = Math.cos(a);
      exIm[i * px + k] = Math.sin(a);
    }
  }
  const eyRe = new Float64Array(m * py);
  const eyIm = new Float64Array(m * py);
  for (let j = 0; j < m; j++) {
    const ys = y0 + (j - half) / up;
    for (let k = 0; k < py; k++) {
      const a = (2 * Math.PI * signedFreq(k, py) * ys) / py;
      eyRe[j * py + k] = Math.cos(a);
      eyIm[j * py + k] = Math.sin(a);
    }
  }
  // t[ky][i] = Σ_kx r[ky][kx] · ex[i][kx], then out[j][i] = Σ_ky t[ky][i] · ey[j][ky].
  const tRe = new Float64Array(py * m);
  const tIm = new Float64Array(py * m);
  for (let ky = 0; ky < py; ky++) {
    const row = 2 * ky * px;
    for (let i = 0; i < m; i++) {
      let sr = 0;
      let si = 0;
      const e = i * px;
      for (let kx = 0; kx < px; kx++) {
        const ar = r[row + 2 * kx];
        const ai = r[row + 2 * kx + 1];
        const br = exRe[e + kx];
        const bi = exIm[e + kx];
        sr += ar * br - ai * bi;
        si += ar * bi + ai * br;
      }
      tRe[ky * m + i] = sr;
      tIm[ky * m + i] = si;
    }
  }
  const out = new Float64Array(m * m);
  const norm = 1 / (px * py);
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < m; i++) {
      let sr = 0;
      for (let ky = 0; ky < py; ky++) {
        sr += tRe[ky * m + i] * eyRe[j * py + ky] - tIm[ky * m + i] * eyIm[j * py + ky];
      }
      out[j * m + i] = sr * norm;
    }
  }
  return out;
}

/**
 * Shift of image `b` relative to image `a` (same nx×ny) by phase correlation. Inputs are not modified.
 *
 * A window fixed to the frame distorts moving content: it tilts each feature's profile towards the frame centre
 * by a different amount before and after the shift, which biases the estimate towards zero by a few per cent of
 * the shift. So after a first estimate d the windows are re-centred on the content (a's by −d/2, b's by +d/2),
 * which makes the two windowed images exact translates of each other, and the correlation is repeated.
 */
export function phaseCorrelate(
  a: ImageLike,
  b: ImageLike,
  nx: number,
  ny: number,
  opts: PhaseCorrelationOptions = {},
): PhaseCorrelationResult {
  checkImage(a, nx, ny, 'a');
  checkImage(b, nx, ny, 'b');
  const up = Math.round(opts.upsample ?? 20);
  if (!(up >= 1)) throw new ParameterError('upsample', `must be ≥ 1, got ${opts.upsample}`);
  const useWindow = opts.window ?? true;
  // With a window, the first pass only has to centre the windows: a whole-pixel estimate leaves a residual bias
  // of a few per cent of ½ px, so its sub-pixel refinement would be wasted work.
  let result = correlateOnce(a, b, nx, ny, useWindow ? 1 : up, opts, useWindow ? { dx: 0, dy: 0 } : null);
  if (useWindow && result.peak > 0) {
    result = correlateOnce(a, b, nx, ny, up, opts, { dx: result.dx, dy: result.dy });
  }
  return result;
}

function correlateOnce(
  a: ImageLike,
  b: ImageLike,
  nx: number,
  ny: number,
  up: number,
  opts: PhaseCorrelationOptions,
  windowShift: { dx: number; dy: number } | null,
): PhaseCorrelationResult {
  const px = nextPow2(nx);
  const py = nextPow2(ny);
  const s = windowShift;
  const fa = prepare(a, nx, ny, px, py, s ? hann(nx, -s.dx / 2) : null, s ? hann(ny, -s.dy / 2) : null);
  const fb = prepare(b, nx, ny, px, py, s ? hann(nx, s.dx / 2) : null, s ? hann(ny, s.dy / 2) : null);
  fft2(fa, px, py, false);
  fft2(fb, px, py, false);
  // Normalised cross-power spectrum; bins with (numerically) no power carry no phase information.
  const r = new Float64Array(2 * px * py);
  let maxMag = 0;
  for (let k = 0; k < px * py; k++) {
    const re = fb[2 * k] * fa[2 * k] + fb[2 * k + 1] * fa[2 * k + 1];
    const im = fb[2 * k + 1] * fa[2 * k] - fb[2 * k] * fa[2 * k + 1];
    r[2 * k] = re;
    r[2 * k + 1] = im;
    const mag = Math.hypot(re, im);
    if (mag > maxMag) maxMag = mag;
  }
  if (!(maxMag > 0) || !Number.isFinite(maxMag)) {
    // A flat (or non-finite) image has no content to align: report no shift with zero confidence.
    return { dx: 0, dy: 0, peak: 0 };
  }
  const eps = maxMag * 1e-12;
  const lp = opts.lowpassSigma ?? 1;
  const hpBins = opts.highpassBins ?? 2.5;
  // Cut-offs in cycles per pixel: the high-pass scales with the unpadded size, where the window's lobe lives.
  const f0x = hpBins / nx;
  const f0y = hpBins / ny;
  // Sum of the filter over the bins that carry phase: the height an exact match would reach, to scale the peak to 1.
  let sumW = 0;
  for (let ky = 0; ky < py; ky++) {
    const fy = signedFreq(ky, py) / py;
    for (let kx = 0; kx < px; kx++) {
      const fx = signedFreq(kx, px) / px;
      const k = ky * px + kx;
      const mag = Math.hypot(r[2 * k], r[2 * k + 1]);
      let filter = mag > eps ? 1 : 0;
      if (lp > 0) filter *= Math.exp(-2 * Math.PI * Math.PI * lp * lp * (fx * fx + fy * fy));
      if (hpBins > 0) filter *= 1 - Math.exp(-((fx / f0x) ** 2 + (fy / f0y) ** 2));
      sumW += filter;
      const w = mag > eps ? filter / mag : 0;
      r[2 * k] *= w;
      r[2 * k + 1] *= w;
    }
  }
  if (!(sumW > 0)) return { dx: 0, dy: 0, peak: 0 };
  const scale = (px * py) / sumW;
  for (let k = 0; k < r.length; k++) r[k] *= scale;
  const corr = new Float64Array(r);
  fft2(corr, px, py, true);
  let best = -Infinity;
  let bestScore = -Infinity;
  let bx = 0;
  let by = 0;
  const prior = opts.prior;
  const inv2s2 = prior && prior.sigmaPx > 0 ? 1 / (2 * prior.sigmaPx * prior.sigmaPx) : 0;
  for (let y = 0; y < py; y++) {
    for (let x = 0; x < px; x++) {
      const v = corr[2 * (y * px + x)];
      const score = prior && v > 0 ? v * Math.exp(-((signedFreq(x, px) - prior.dx) ** 2 + (signedFreq(y, py) - prior.dy) ** 2) * inv2s2) : v;
      if (score > bestScore) {
        bestScore = score;
        best = v;
        bx = x;
        by = y;
      }
    }
  }
  let dx = signedFreq(bx, px);
  let dy = signedFreq(by, py);
  let peak = best;
  if (up > 1) {
    // The true peak is within ½ px of the integer one; ±¾ px leaves margin (as scikit-image's 1.5-px window).
    const half = Math.ceil(0.75 * up);
    const m = 2 * half + 1;
    const surf = upsampledCorrelation(r, px, py, dx, dy, up, half);
    let sBest = -Infinity;
    let si = half;
    let sj = half;
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < m; i++) {
        if (surf[j * m + i] > sBest) {
          sBest = surf[j * m + i];
          si = i;
          sj = j;
        }
      }
    }
    dx += (si - half) / up;
    dy += (sj - half) / up;
    peak = sBest;
  }
  return { dx, dy, peak: Math.max(0, Math.min(1, peak)) };
}
