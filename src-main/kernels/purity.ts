// The "purity" view: how much of a mask's signal comes from probe positions that other objects also claim,
// and the virtual image with every mask drawn on it. Pure functions over typed arrays; nothing is mutated.
//
// Extraction records the same fraction from the frames' total counts (ExtractedSeries.sharedSignalFraction); these
// functions work before any extraction, from a virtual image stack (ARCHITECTURE §3 VirtualImageStack), so the user can
// watch purity while editing masks. With a dark-field image the "signal" is the crystal's own scattering, which is
// the more telling choice; with the total-dose image it is mostly the fraction of shared positions.

import { ParameterError } from '../../src-shared/errors';

export interface PurityInput {
  /** Per object, nTilts * ny * nx (non-zero inside). */
  masks: readonly Uint8Array[];
  /** nTilts * ny * nx: the signal at each probe position (a virtual image stack). */
  image: Float32Array | Float64Array;
  nTilts: number;
  ny: number;
  nx: number;
}

export interface PurityResult {
  /** Per object, per tilt: shared signal / mask signal (0 = pure; NaN where the mask is empty or carries no signal). */
  sharedFraction: Float64Array[];
  /** Per object, per tilt: the mask's summed signal. */
  signal: Float64Array[];
  /** Per object, per tilt: probe positions in the mask that another object also claims. */
  sharedProbes: Int32Array[];
}

export function computePurity(inp: PurityInput): PurityResult {
  const { masks, image, nTilts, ny, nx } = inp;
  const n = ny * nx;
  if (image.length !== nTilts * n) throw new ParameterError('image', `has ${image.length} values, expected nTilts·ny·nx = ${nTilts * n}`);
  masks.forEach((m, k) => {
    if (m.length !== nTilts * n) throw new ParameterError(`masks[${k}]`, `has ${m.length} values, expected ${nTilts * n}`);
  });
  const nObj = masks.length;
  const res: PurityResult = {
    sharedFraction: masks.map(() => new Float64Array(nTilts).fill(NaN)),
    signal: masks.map(() => new Float64Array(nTilts)),
    sharedProbes: masks.map(() => new Int32Array(nTilts)),
  };
  const shared = new Float64Array(nObj);
  for (let t = 0; t < nTilts; t++) {
    shared.fill(0);
    const base = t * n;
    for (let p = 0; p < n; p++) {
      let claims = 0;
      for (let k = 0; k < nObj; k++) if (masks[k][base + p]) claims++;
      if (claims === 0) continue;
      const v = image[base + p];
      for (let k = 0; k < nObj; k++) {
        if (!masks[k][base + p]) continue;
        res.signal[k][t] += v;
        if (claims > 1) {
          shared[k] += v;
          res.sharedProbes[k][t]++;
        }
      }
    }
    for (let k = 0; k < nObj; k++) if (res.signal[k][t] !== 0) res.sharedFraction[k][t] = shared[k] / res.signal[k][t];
  }
  return res;
}

export interface OverlayInput {
  /** ny * nx: one tilt's virtual image. */
  image: Float32Array | Float64Array;
  ny: number;
  nx: number;
  /** Per object, ny * nx masks for this tilt. */
  masks: readonly Uint8Array[];
  /** Per object RGB 0–255. */
  colours: ReadonlyArray<readonly [number, number, number]>;
  /** Fill opacity inside masks (default 0.35); outlines are drawn opaque. */
  fillAlpha?: number;
  /** Grey-level range [lo, hi] of the image; default the 0.5 and 99.5 percentiles (robust to a hot probe). */
  range?: readonly [number, number];
}

/**
 * RGBA (ny * nx * 4, row-major) of the grey virtual image with every mask filled in its colour and outlined. Where
 * masks overlap (the positions that lower purity) the fill is the mean of the colours at double opacity, so shared
 * regions stand out.
 */
export function drawMaskOverlay(inp: OverlayInput): Uint8ClampedArray {
  const { image, ny, nx, masks, colours } = inp;
  const n = ny * nx;
  if (image.length !== n) throw new ParameterError('image', `has ${image.length} values, expected ny·nx = ${n}`);
  if (colours.length < masks.length) throw new ParameterError('colours', `gives ${colours.length} colours for ${masks.length} masks`);
  masks.forEach((m, k) => {
    if (m.length !== n) throw new ParameterError(`masks[${k}]`, `has ${m.length} values, expected ${n}`);
  });
  const alpha = inp.fillAlpha ?? 0.35;
  const [lo, hi] = inp.range ?? percentileRange(image, 0.005, 0.995);
  const span = hi > lo ? hi - lo : 1;
  const out = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    const v = image[p];
    const g = Number.isFinite(v) ? ((v - lo) / span) * 255 : 0;
    out[4 * p] = g;
    out[4 * p + 1] = g;
    out[4 * p + 2] = g;
    out[4 * p + 3] = 255;
  }
  for (let p = 0; p < n; p++) {
    let r = 0, gg = 0, b = 0, c = 0;
    let edgeK = -1;
    const y = Math.floor(p / nx);
    const x = p - y * nx;
    for (let k = 0; k < masks.length; k++) {
      const m = masks[k];
      if (!m[p]) continue;
      r += colours[k][0];
      gg += colours[k][1];
      b += colours[k][2];
      c++;
      // Outline: a mask pixel with a 4-neighbour outside the mask (or at the image edge).
      if (edgeK < 0 && (x === 0 || x === nx - 1 || y === 0 || y === ny - 1 || !m[p - 1] || !m[p + 1] || !m[p - nx] || !m[p + nx])) edgeK = k;
    }
    if (c === 0) continue;
    if (edgeK >= 0) {
      out[4 * p] = colours[edgeK][0];
      out[4 * p + 1] = colours[edgeK][1];
      out[4 * p + 2] = colours[edgeK][2];
      continue;
    }
    const a = Math.min(1, c > 1 ? 2 * alpha : alpha);
    out[4 * p] = (1 - a) * out[4 * p] + (a * r) / c;
    out[4 * p + 1] = (1 - a) * out[4 * p + 1] + (a * gg) / c;
    out[4 * p + 2] = (1 - a) * out[4 * p + 2] + (a * b) / c;
  }
  return out;
}

/** [lo, hi] percentiles of the finite values (a sorted copy; the input is not touched). */
export function percentileRange(a: Float32Array | Float64Array, pLo: number, pHi: number): [number, number] {
  const v = Float64Array.from(a).filter(Number.isFinite).sort();
  if (v.length === 0) return [0, 1];
  const at = (p: number): number => v[Math.min(v.length - 1, Math.max(0, Math.round(p * (v.length - 1))))];
  return [at(pLo), at(pHi)];
}

export interface ParticlePurityInput {
  /** The object's masks, nTilts * ny * nx (non-zero inside). */
  mask: Uint8Array;
  /**
   * Every other segmented particle, nTilts * ny * nx: non-zero where one is (the user's other objects and the
   * auto-detected neighbours, tracked or not).
   */
  others: Uint8Array | Uint16Array;
  /** The scattered (dark-field) signal at each probe position, nTilts * ny * nx; null: probe positions only. */
  signal: Float32Array | null;
  nTilts: number;
  ny: number;
  nx: number;
}

export interface ParticlePurity {
  /** Per tilt: share of the mask's probe positions in no other particle (NaN where the mask is empty). */
  probes: Float64Array;
  /**
   * Per tilt: share of the mask's scattered signal (above the tilt's background: the median over positions in no
   * particle) from positions in no other particle (NaN where empty, without a signal, or carrying none).
   */
  signal: Float64Array;
  /** Per tilt: the worse of the two, what the report and the Export tab show as purity. */
  purity: Float64Array;
  /** Per tilt: the mask's probe positions that lie in another particle. */
  sharedProbes: Int32Array;
}

/** Purity of one object's masks against every other segmented particle (see ParticlePurity). */
export function particlePurity(inp: ParticlePurityInput): ParticlePurity {
  const { mask, others, signal, nTilts, ny, nx } = inp;
  const n = ny * nx;
  for (const [k, a] of [['mask', mask], ['others', others], ['signal', signal]] as const) {
    if (a && a.length !== nTilts * n) throw new ParameterError(k, `has ${a.length} values, expected nTilts·ny·nx = ${nTilts * n}`);
  }
  const out: ParticlePurity = {
    probes: new Float64Array(nTilts).fill(NaN),
    signal: new Float64Array(nTilts).fill(NaN),
    purity: new Float64Array(nTilts).fill(NaN),
    sharedProbes: new Int32Array(nTilts),
  };
  const free: number[] = [];
  for (let t = 0; t < nTilts; t++) {
    const base = t * n;
    let inMask = 0;
    let shared = 0;
    free.length = 0;
    for (let i = base; i < base + n; i++) {
      if (mask[i]) {
        inMask++;
        if (others[i]) shared++;
      } else if (!others[i] && signal) free.push(signal[i]);
    }
    out.sharedProbes[t] = shared;
    if (!inMask) continue;
    out.probes[t] = 1 - shared / inMask;
    if (signal) {
      free.sort((a, b) => a - b);
      const bg = free.length ? free[free.length >> 1] : 0;
      let total = 0;
      let foreign = 0;
      for (let i = base; i < base + n; i++) {
        if (!mask[i]) continue;
        const v = Math.max(0, signal[i] - bg);
        total += v;
        if (others[i]) foreign += v;
      }
      if (total > 0) out.signal[t] = 1 - foreign / total;
    }
    out.purity[t] = Number.isNaN(out.signal[t]) ? out.probes[t] : Math.min(out.probes[t], out.signal[t]);
  }
  return out;
}
