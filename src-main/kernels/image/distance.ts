// Exact Euclidean distance transform (Felzenszwalb & Huttenlocher 2012, "Distance transforms of sampled
// functions"): the squared EDT is separable into 1D lower envelopes of parabolas, O(N) with no approximation,
// unlike chamfer masks whose error grows with distance (and would bias disk morphology and watershed markers).
// The same lower-envelope pass gives grayscale erosion by a paraboloid, which the background kernel uses.
import { checkImage } from './util';

/** Stand-in for +∞ inside the envelope maths: parabola intersections of true infinities would be NaN. */
const BIG = 1e20;

/**
 * 1D lower envelope: out[p] = min_q ( f[q] + (p − q)² ) for p, q in [0, n). `v` (Int32, ≥ n) and `z`
 * (Float64, ≥ n + 1) are scratch buffers so callers can reuse them over many lines.
 */
function envelope1D(f: Float64Array, n: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    // Intersection of the parabola rooted at q with the rightmost parabola of the envelope.
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let p = 0; p < n; p++) {
    while (z[k + 1] < p) k++;
    const d = p - v[k];
    out[p] = d * d + f[v[k]];
  }
}

/**
 * In place over a 2D buffer: g[p] = min_q ( g[q] + |p − q|² ), q over all pixels. Columns first, then rows
 * (the squared Euclidean norm is a sum over axes, so the two 1D passes are exact).
 */
export function lowerEnvelope2D(g: Float64Array, nx: number, ny: number): void {
  const n = Math.max(nx, ny);
  const f = new Float64Array(n);
  const out = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) f[y] = g[y * nx + x];
    envelope1D(f, ny, out, v, z);
    for (let y = 0; y < ny; y++) g[y * nx + x] = out[y];
  }
  for (let y = 0; y < ny; y++) {
    const row = y * nx;
    for (let x = 0; x < nx; x++) f[x] = g[row + x];
    envelope1D(f, nx, out, v, z);
    for (let x = 0; x < nx; x++) g[row + x] = out[x];
  }
}

/**
 * Squared Euclidean distance from every pixel to the nearest pixel where `mask` is 0 (background pixels get 0).
 * Pixels outside the image are not background: a particle cut by the image edge is not eroded from that edge.
 * With no background pixel at all every value is +Infinity.
 */
export function distanceTransformSquared(mask: Uint8Array, nx: number, ny: number): Float32Array {
  checkImage(mask, nx, ny, 'mask');
  const g = new Float64Array(nx * ny);
  for (let i = 0; i < g.length; i++) g[i] = mask[i] ? BIG : 0;
  lowerEnvelope2D(g, nx, ny);
  const out = new Float32Array(nx * ny);
  for (let i = 0; i < g.length; i++) out[i] = g[i] >= BIG / 2 ? Infinity : g[i];
  return out;
}

/** Euclidean distance from every foreground pixel to the nearest background pixel (see distanceTransformSquared). */
export function distanceTransform(mask: Uint8Array, nx: number, ny: number): Float32Array {
  const d2 = distanceTransformSquared(mask, nx, ny);
  for (let i = 0; i < d2.length; i++) d2[i] = Math.sqrt(d2[i]);
  return d2;
}
