// Direct-beam (bright-field disk) centre from a mean diffraction pattern: a pure kernel.
//
// 1. Background = median of the pattern (of ~8192 evenly spread pixels, for large patterns); peak = max of the 3×3 median-filtered pattern (hot pixels cannot win).
// 2. Threshold at background + fraction·(peak − background) and take the 4-connected component that contains
//    the peak: the direct beam, not the Bragg disks around it.
// 3. 'centroid' (default): centroid of max(I − background, 0) over a circle a little larger than that component
//    (radius r + margin about its first centroid, twice). For a symmetric disk whose edge pixels carry partial
//    intensity this is the disk's area centroid, i.e. its centre to a small fraction of a pixel, with no
//    threshold-staircase bias.
//    'circle': Kåsa least-squares circle through sub-pixel edge points (where rows and columns cross the
//    threshold, linearly interpolated): better when the disk is not uniform inside (dynamical contrast, a
//    crystal edge), because only its rim counts.
// Returns null for a pattern with no beam (flat, or non-finite).
import { selectInPlace } from './select';

export type BeamCentreMethod = 'centroid' | 'circle';

export interface BeamCentreOptions {
  /** Threshold as a fraction between background and peak (default 0.5). */
  threshold?: number;
  method?: BeamCentreMethod;
  /** Reused working memory (default: allocated for this fit). */
  scratch?: BeamCentreScratch;
}

export interface BeamCentreFit {
  /** Centre in detector pixel coordinates (pixel centres at integers). */
  cx: number;
  cy: number;
  /** Disk radius in pixels: from the component area (centroid) or the fitted circle (circle). */
  radius: number;
  method: BeamCentreMethod;
  /** The threshold level used, in pattern units. */
  level: number;
  background: number;
}

type Pattern = Float32Array | Float64Array;

/**
 * Background level: the median of the pattern, or of about MEDIAN_SAMPLES of its pixels evenly spread (every k-th)
 * when it is larger. As an estimate of a background that covers most of the detector, 8192 pixels are as good as
 * all of them, and the fit runs twice per tilt on the thread the workers need a core from (a median of all 256²
 * pixels was 40 % of the fit).
 */
const MEDIAN_SAMPLES = 1 << 13;
function background(a: Pattern): number {
  const step = Math.max(1, Math.ceil(a.length / MEDIAN_SAMPLES));
  const c = new Float64Array(Math.floor((a.length - 1) / step) + 1);
  for (let i = 0, j = 0; j < c.length; i += step, j++) c[j] = a[i];
  return medianInPlace(c);
}

/** The median (mean of the two middle values for even counts) of `c`, reordering it, in linear time: a full sort
 *  of a 512² pattern cost more than the rest of the fit. */
function medianInPlace(c: Float64Array): number {
  const n = c.length;
  if (n % 2) return selectInPlace(c, (n - 1) >> 1);
  const upper = selectInPlace(c, n / 2);
  // After selection every value below index n/2 is ≤ upper: the lower middle is their maximum.
  let lower = -Infinity;
  for (let i = 0; i < n / 2; i++) if (c[i] > lower) lower = c[i];
  return 0.5 * (lower + upper);
}

/**
 * Scratch for the flood fill and the peak search. A caller that fits many patterns (a pass fits two per tilt on the
 * thread the workers need a core from) keeps one and passes it in, so the fits make no garbage; never shared
 * between fits that run at the same time.
 */
export class BeamCentreScratch {
  private marks = new Uint8Array(0);
  private stack = new Int32Array(0);

  /** `n` zeroed marks. */
  zeroedMarks(n: number): Uint8Array {
    if (this.marks.length < n) this.marks = new Uint8Array(n);
    const m = this.marks.subarray(0, n);
    m.fill(0);
    return m;
  }

  stackOf(n: number): Int32Array {
    if (this.stack.length < n) this.stack = new Int32Array(n);
    return this.stack;
  }
}

/** Median of the 3×3 neighbourhood of (x, y) (clipped at the edges: the middle of the values present). */
function median3x3(pattern: Pattern, nqy: number, nqx: number, x: number, y: number, nb: Float64Array): number {
  let n = 0;
  for (let yy = Math.max(0, y - 1); yy <= Math.min(nqy - 1, y + 1); yy++) {
    for (let xx = Math.max(0, x - 1); xx <= Math.min(nqx - 1, x + 1); xx++) {
      const v = pattern[yy * nqx + xx];
      // Insertion into the sorted prefix (≤ 9 values, no allocation per pixel).
      let j = n - 1;
      while (j >= 0 && nb[j] > v) {
        nb[j + 1] = nb[j];
        j--;
      }
      nb[j + 1] = v;
      n++;
    }
  }
  return nb[n >> 1];
}

/**
 * Maximum of the 3×3 median-filtered pattern and the first pixel (row-major) where it is reached, without
 * filtering every pixel: a lower bound from a sparse grid, then only pixels near a value ≥ that bound. That is
 * exact: a neighbourhood whose median is ≥ the bound holds ≥ 5 values ≥ it, so its centre lies next to one of
 * them. A mean pattern is flat background around one bright disk, so this filters a few hundred pixels, not all.
 */
export function medianFilteredPeak(pattern: Pattern, nqy: number, nqx: number, scratch = new BeamCentreScratch()): { peak: number; peakAt: number } {
  const nb = new Float64Array(9);
  let peak = -Infinity;
  let peakAt = 0;
  const consider = (x: number, y: number): void => {
    const m = median3x3(pattern, nqy, nqx, x, y, nb);
    const p = y * nqx + x;
    if (m > peak || (m === peak && p < peakAt)) {
      peak = m;
      peakAt = p;
    }
  };
  // Grid points 6 pixels apart: one lies well inside any disk a few pixels across, and 1/36 of the pixels is cheap.
  const GRID = 6;
  for (let y = 1; y < nqy; y += GRID) for (let x = 1; x < nqx; x += GRID) consider(x, y);
  if (nqy < 2 || nqx < 2) consider(0, 0);
  const bound = peak;
  const done = scratch.zeroedMarks(nqy * nqx);
  for (let q = 0; q < pattern.length; q++) {
    if (!(pattern[q] >= bound)) continue;
    const qx = q % nqx;
    const qy = (q - qx) / nqx;
    for (let y = Math.max(0, qy - 1); y <= Math.min(nqy - 1, qy + 1); y++) {
      for (let x = Math.max(0, qx - 1); x <= Math.min(nqx - 1, qx + 1); x++) {
        const p = y * nqx + x;
        if (done[p]) continue;
        done[p] = 1;
        consider(x, y);
      }
    }
  }
  return { peak, peakAt };
}

/** Fits the direct-beam centre of `pattern` (nqy*nqx, row-major). Never mutates the pattern. */
export function fitBeamCentre(
  pattern: Pattern,
  shape: readonly [number, number],
  opts: BeamCentreOptions = {},
): BeamCentreFit | null {
  const [nqy, nqx] = shape;
  const npix = nqy * nqx;
  if (pattern.length !== npix || npix === 0) return null;
  for (let p = 0; p < npix; p++) if (!Number.isFinite(pattern[p])) return null;
  const frac = opts.threshold ?? 0.5;
  const method = opts.method ?? 'centroid';

  const scratch = opts.scratch ?? new BeamCentreScratch();
  const bg = background(pattern);
  // Peak of the 3×3 median-filtered pattern: a hot pixel (or a few) cannot win, a disk of radius ≥ 2 survives.
  const { peak, peakAt } = medianFilteredPeak(pattern, nqy, nqx, scratch);
  if (!(peak > bg)) return null;
  const level = bg + frac * (peak - bg);

  // Component above the level that holds the peak (flood fill, explicit stack).
  const inside = scratch.zeroedMarks(npix);
  const stack = scratch.stackOf(npix);
  let top = 0;
  let start = peakAt;
  if (!(pattern[start] > level)) {
    // The filtered peak's own pixel can sit below the level (noise on a faint beam); take its brightest neighbour.
    const y = Math.floor(start / nqx);
    const x = start % nqx;
    let best = -Infinity;
    for (let yy = Math.max(0, y - 1); yy <= Math.min(nqy - 1, y + 1); yy++) {
      for (let xx = Math.max(0, x - 1); xx <= Math.min(nqx - 1, x + 1); xx++) {
        if (pattern[yy * nqx + xx] > best) {
          best = pattern[yy * nqx + xx];
          start = yy * nqx + xx;
        }
      }
    }
    if (!(best > level)) return null;
  }
  inside[start] = 1;
  stack[top++] = start;
  let area = 0;
  let sx = 0;
  let sy = 0;
  let minX = nqx, maxX = -1, minY = nqy, maxY = -1;
  while (top > 0) {
    const p = stack[--top];
    const x = p % nqx;
    const y = (p - x) / nqx;
    area++;
    sx += x;
    sy += y;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
    if (x > 0 && !inside[p - 1] && pattern[p - 1] > level) { inside[p - 1] = 1; stack[top++] = p - 1; }
    if (x < nqx - 1 && !inside[p + 1] && pattern[p + 1] > level) { inside[p + 1] = 1; stack[top++] = p + 1; }
    if (y > 0 && !inside[p - nqx] && pattern[p - nqx] > level) { inside[p - nqx] = 1; stack[top++] = p - nqx; }
    if (y < nqy - 1 && !inside[p + nqx] && pattern[p + nqx] > level) { inside[p + nqx] = 1; stack[top++] = p + nqx; }
  }
  let cx = sx / area;
  let cy = sy / area;
  const radius = Math.sqrt(area / Math.PI);

  if (method === 'circle') {
    const fit = kasaFit(pattern, nqy, nqx, level, minX, maxX, minY, maxY);
    if (fit) return { cx: fit.cx, cy: fit.cy, radius: fit.r, method, level, background: bg };
    // Too few edge points (a disk of a pixel or two): the centroid is the better answer.
  }

  // Wide enough for the soft (partial-pixel, slightly blurred) rim, narrow enough to keep nearby Bragg disks out.
  const margin = Math.max(2, 0.1 * radius);
  for (let iter = 0; iter < 2; iter++) {
    const R = radius + margin;
    const R2 = R * R;
    const y0 = Math.max(0, Math.floor(cy - R));
    const y1 = Math.min(nqy - 1, Math.ceil(cy + R));
    const x0 = Math.max(0, Math.floor(cx - R));
    const x1 = Math.min(nqx - 1, Math.ceil(cx + R));
    let w = 0;
    let wx = 0;
    let wy = 0;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = x - cx;
        const dy = y - cy;
        if (dx * dx + dy * dy > R2) continue;
        const v = pattern[y * nqx + x] - bg;
        if (v > 0) {
          w += v;
          wx += v * x;
          wy += v * y;
        }
      }
    }
    if (!(w > 0)) break;
    cx = wx / w;
    cy = wy / w;
  }
  return { cx, cy, radius, method: 'centroid', level, background: bg };
}

/** Kåsa circle fit through threshold crossings along rows and columns inside the component's bounding box. */
function kasaFit(
  pat: Pattern,
  nqy: number,
  nqx: number,
  level: number,
  minX: number,
  maxX: number,
  minY: number,
  maxY: number,
): { cx: number; cy: number; r: number } | null {
  const xs: number[] = [];
  const ys: number[] = [];
  const x0 = Math.max(0, minX - 1);
  const x1 = Math.min(nqx - 1, maxX + 1);
  const y0 = Math.max(0, minY - 1);
  const y1 = Math.min(nqy - 1, maxY + 1);
  // Crossings between neighbouring pixels a (at t=0) and b (at t=1): t = (level − a) / (b − a).
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x < x1; x++) {
      const a = pat[y * nqx + x];
      const b = pat[y * nqx + x + 1];
      if ((a > level) !== (b > level)) {
        xs.push(x + (level - a) / (b - a));
        ys.push(y);
      }
    }
  }
  for (let x = x0; x <= x1; x++) {
    for (let y = y0; y < y1; y++) {
      const a = pat[y * nqx + x];
      const b = pat[(y + 1) * nqx + x];
      if ((a > level) !== (b > level)) {
        xs.push(x);
        ys.push(y + (level - a) / (b - a));
      }
    }
  }
  const n = xs.length;
  if (n < 8) return null;
  // Minimise Σ (x² + y² + D x + E y + F)² — linear in D, E, F. Coordinates are shifted to their mean first so the
  // 3×3 normal equations stay well conditioned on large detectors.
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += xs[i]; my += ys[i]; }
  mx /= n;
  my /= n;
  let sxx = 0, sxy = 0, syy = 0, sx = 0, sy = 0, sxz = 0, syz = 0, sz = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i] - mx;
    const y = ys[i] - my;
    const z = x * x + y * y;
    sxx += x * x; sxy += x * y; syy += y * y; sx += x; sy += y;
    sxz += x * z; syz += y * z; sz += z;
  }
  // [sxx sxy sx; sxy syy sy; sx sy n] [D E F]ᵀ = −[sxz syz sz]ᵀ
  const A = [sxx, sxy, sx, sxy, syy, sy, sx, sy, n];
  const rhs = [-sxz, -syz, -sz];
  const sol = solve3(A, rhs);
  if (!sol) return null;
  const [D, E, F] = sol;
  const cx = -D / 2;
  const cy = -E / 2;
  const r2 = cx * cx + cy * cy - F;
  if (!(r2 > 0)) return null;
  return { cx: cx + mx, cy: cy + my, r: Math.sqrt(r2) };
}

/** Cramer's rule for a 3×3 system (row-major A); null when singular. */
function solve3(A: number[], b: number[]): [number, number, number] | null {
  const det = (m: number[]): number =>
    m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  const d = det(A);
  if (!Number.isFinite(d) || Math.abs(d) < 1e-12) return null;
  const col = (k: number): number[] => A.map((v, i) => (i % 3 === k ? b[Math.floor(i / 3)] : v));
  return [det(col(0)) / d, det(col(1)) / d, det(col(2)) / d];
}
