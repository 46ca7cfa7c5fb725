// Turning scientific images (Float32Array, flat index x + y*nx) into pixels: robust contrast limits,
// gamma, log scale, colour maps. Pure functions, so they are tested without a browser.

export interface DisplaySettings {
  /** Value shown as the darkest colour. */
  min: number;
  /** Value shown as the brightest colour. */
  max: number;
  /** Display gamma (1 = linear); applied after normalising to [0, 1]. */
  gamma: number;
  /** log1p of values before the limits (diffraction patterns). */
  log: boolean;
}

/** The values at the given lower and upper percentiles, ignoring NaN/±Inf; [0, 1] for an empty image. */
export function percentileLimits(image: ArrayLike<number>, lowPct = 0.5, highPct = 99.5, log = false): [number, number] {
  const finite: number[] = [];
  // Subsample large images: limits do not need every pixel.
  const step = Math.max(1, Math.floor(image.length / 65536));
  for (let i = 0; i < image.length; i += step) {
    const v = log ? Math.log1p(Math.max(0, image[i]!)) : image[i]!;
    if (Number.isFinite(v)) finite.push(v);
  }
  if (finite.length === 0) return [0, 1];
  finite.sort((a, b) => a - b);
  const at = (p: number): number => finite[Math.min(finite.length - 1, Math.max(0, Math.round((p / 100) * (finite.length - 1))))]!;
  let lo = at(lowPct);
  let hi = at(highPct);
  if (hi <= lo) {
    lo = finite[0]!;
    hi = finite[finite.length - 1]!;
  }
  if (hi <= lo) hi = lo + 1;
  return [lo, hi];
}

/**
 * Writes RGBA pixels for `image` into `out` (length 4 * image.length; allocated if not given).
 * NaN pixels are drawn in `nanColour` so missing data is visible, not black.
 */
export function renderRgba(
  image: ArrayLike<number>,
  settings: DisplaySettings,
  lut: Uint8Array,
  out: Uint8ClampedArray = new Uint8ClampedArray(image.length * 4),
  nanColour: [number, number, number] = [255, 0, 255],
): Uint8ClampedArray {
  const { min, max, gamma, log } = settings;
  const span = max > min ? max - min : 1;
  const invGamma = gamma > 0 ? 1 / gamma : 1;
  for (let i = 0; i < image.length; i++) {
    let v = image[i]!;
    const o = 4 * i;
    if (!Number.isFinite(v)) {
      out[o] = nanColour[0];
      out[o + 1] = nanColour[1];
      out[o + 2] = nanColour[2];
      out[o + 3] = 255;
      continue;
    }
    if (log) v = Math.log1p(Math.max(0, v));
    let t = (v - min) / span;
    t = t <= 0 ? 0 : t >= 1 ? 1 : t;
    if (invGamma !== 1) t = Math.pow(t, invGamma);
    const k = 3 * Math.round(t * 255);
    out[o] = lut[k]!;
    out[o + 1] = lut[k + 1]!;
    out[o + 2] = lut[k + 2]!;
    out[o + 3] = 255;
  }
  return out;
}

/** A scale bar of a "nice" length (1, 2 or 5 × 10ⁿ) close to `targetFraction` of the image width. */
export function niceScaleBar(widthPx: number, unitPerPx: number, targetFraction = 0.2): { length: number; px: number } {
  const target = widthPx * unitPerPx * targetFraction;
  if (!(target > 0) || !Number.isFinite(target)) return { length: 0, px: 0 };
  const exponent = Math.floor(Math.log10(target));
  const base = 10 ** exponent;
  const candidates = [1, 2, 5, 10].map((m) => m * base);
  let best = candidates[0]!;
  for (const c of candidates) if (Math.abs(c - target) < Math.abs(best - target)) best = c;
  return { length: best, px: best / unitPerPx };
}

/** Formats a scale-bar length with its unit, switching nm → µm. */
export function formatLength(nm: number): string {
  if (nm >= 1000) return `${+(nm / 1000).toPrecision(3)} µm`;
  return `${+nm.toPrecision(3)} nm`;
}
