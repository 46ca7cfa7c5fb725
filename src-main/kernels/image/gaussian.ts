// Separable Gaussian smoothing. Borders are mirrored (…c b a | a b c…) so a particle at the edge keeps its
// intensity instead of fading into an implicit zero border, which would bias thresholds near the edge.
import { checkImage, checkNonNegative, type ImageLike } from './util';

/** Normalised 1D Gaussian taps for `sigma` (pixels), truncated at ±ceil(truncate·sigma). */
export function gaussianKernel1D(sigma: number, truncate = 3.5): Float64Array {
  checkNonNegative(sigma, 'sigma');
  const r = Math.max(0, Math.ceil(truncate * sigma));
  const k = new Float64Array(2 * r + 1);
  if (sigma === 0) {
    k[r] = 1;
    return k;
  }
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp((-0.5 * i * i) / (sigma * sigma));
    k[i + r] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Mirror index into [0, n): −1 → 0, −2 → 1, n → n−1 (half-sample symmetric, as scipy 'reflect'). */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - 1 - j;
}

/**
 * Gaussian blur of an nx×ny image with standard deviation `sigma` (pixels). sigma = 0 returns a Float32 copy.
 * Runs as two 1D passes (rows, then columns), O(N·sigma).
 */
export function gaussianBlur(img: ImageLike, nx: number, ny: number, sigma: number): Float32Array {
  checkImage(img, nx, ny);
  const k = gaussianKernel1D(sigma);
  const r = (k.length - 1) >> 1;
  const out = new Float32Array(nx * ny);
  if (r === 0) {
    out.set(img);
    return out;
  }
  const tmp = new Float32Array(nx * ny);
  // Padded line buffer so the inner loop needs no branch for the borders.
  const line = new Float64Array(Math.max(nx, ny) + 2 * r);
  for (let y = 0; y < ny; y++) {
    const row = y * nx;
    for (let i = -r; i < nx + r; i++) line[i + r] = img[row + mirror(i, nx)];
    for (let x = 0; x < nx; x++) {
      let s = 0;
      for (let j = 0; j < k.length; j++) s += k[j] * line[x + j];
      tmp[row + x] = s;
    }
  }
  for (let x = 0; x < nx; x++) {
    for (let i = -r; i < ny + r; i++) line[i + r] = tmp[mirror(i, ny) * nx + x];
    for (let y = 0; y < ny; y++) {
      let s = 0;
      for (let j = 0; j < k.length; j++) s += k[j] * line[y + j];
      out[y * nx + x] = s;
    }
  }
  return out;
}
