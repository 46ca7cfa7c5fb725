// SAM2 pre- and postprocessing on virtual images: intensity scaling, crop + bilinear stretch to the model input,
// grey → 3 channels, ImageNet normalisation (NCHW float32), prompts into the model frame, and back: best-mask choice,
// low-res logits → virtual-image mask, low-res logits carried from one crop to the next.

import { ParameterError } from '../../../../src-shared/errors';
import { axisTaps, fromFrame, toFrame, type CropBox } from './geometry';
import type { DecoderOutput, PreprocessSpec } from './layouts';
import type { FramePrompt } from './types';
import type { DecoderPrompt } from './layouts';

/** How raw virtual-image values become [0, 1] before SAM2's /255-equivalent scaling. */
export interface IntensityScale {
  lo: number;
  hi: number;
  /** Bright-field images show particles dark; SAM2 was trained on natural images and does not care, but the
   *  stand-ins and many users expect "particle = bright". */
  invert: boolean;
}

/**
 * Robust intensity range of a whole stack (percentiles, default 0.5 % and 99.5 %). Per stack, not per frame: a frame
 * the particle has left would otherwise have its noise stretched to full contrast and look like an object.
 */
export function stackIntensity(data: Float32Array, loPct = 0.5, hiPct = 99.5, invert = false): IntensityScale {
  if (!(loPct >= 0 && hiPct <= 100 && loPct < hiPct)) throw new ParameterError('intensity percentiles', `need 0 ≤ lo < hi ≤ 100, got ${loPct}, ${hiPct}`);
  // Subsample big stacks: percentiles of ≤ 2¹⁸ evenly strided values are accurate to well below a grey level.
  const stride = Math.max(1, Math.floor(data.length / 262144));
  const sample: number[] = [];
  for (let i = 0; i < data.length; i += stride) if (Number.isFinite(data[i])) sample.push(data[i]);
  if (!sample.length) throw new ParameterError('images', 'the virtual-image stack has no finite value');
  const s = Float64Array.from(sample).sort();
  const at = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.round((p / 100) * (s.length - 1))))];
  const lo = at(loPct);
  let hi = at(hiPct);
  if (!(hi > lo)) hi = lo + 1; // a flat image: everything maps to 0, no division by zero
  return { lo, hi, invert };
}

/**
 * The encoder input for one crop of one frame: crop → size×size by bilinear interpolation (half-pixel centres, like
 * cv2.resize INTER_LINEAR; we only upsample for virtual images ≤ 1024 px), intensity → [0, 1], the grey value
 * replicated into R, G, B and normalised per channel by SAM2's ImageNet mean/std. Outside the image: 0 after
 * normalisation (the channel mean), SAM1's padding convention. `out` (3·size²) is reused when given.
 */
export function preprocessCrop(
  frame: Float32Array,
  nx: number,
  ny: number,
  crop: CropBox,
  scale: IntensityScale,
  spec: PreprocessSpec,
  out?: Float32Array,
): Float32Array {
  const S = spec.size;
  const plane = S * S;
  const buf = out && out.length === 3 * plane ? out : new Float32Array(3 * plane);
  const cols = axisTaps(S, nx, (o) => fromFrame(o, crop.x0, crop.side, S));
  const rows = axisTaps(S, ny, (o) => fromFrame(o, crop.y0, crop.side, S));
  // Grey g ∈ [0, 1] → channel c: (g − mean_c) / std_c = a_c·g + b_c.
  const a = spec.std.map((sd) => 1 / sd);
  const b = spec.mean.map((m, c) => -m * a[c]);
  const [a0, a1, a2] = a;
  const [b0, b1, b2] = b;
  const inv = 1 / (scale.hi - scale.lo);
  // Vertical pass first, once per source column of the row pair, then the horizontal pass per output pixel: the
  // crop is far smaller than 1024, so this halves the arithmetic of a direct 4-tap bilinear.
  const vrow = new Float32Array(nx);
  for (let Y = 0; Y < S; Y++) {
    const rowOff = Y * S;
    if (!rows.valid[Y]) {
      buf.fill(0, rowOff, rowOff + S);
      buf.fill(0, plane + rowOff, plane + rowOff + S);
      buf.fill(0, 2 * plane + rowOff, 2 * plane + rowOff + S);
      continue;
    }
    const r0 = rows.i0[Y] * nx;
    const r1 = rows.i1[Y] * nx;
    const wy = rows.w1[Y];
    for (let x = 0; x < nx; x++) {
      let g = (frame[r0 + x] + (frame[r1 + x] - frame[r0 + x]) * wy - scale.lo) * inv;
      g = g < 0 ? 0 : g > 1 ? 1 : g; // clamp before the horizontal pass: interpolation stays within [0, 1]
      vrow[x] = scale.invert ? 1 - g : g;
    }
    for (let X = 0; X < S; X++) {
      const p = rowOff + X;
      if (!cols.valid[X]) {
        buf[p] = 0;
        buf[plane + p] = 0;
        buf[2 * plane + p] = 0;
        continue;
      }
      const g0 = vrow[cols.i0[X]];
      const g = g0 + (vrow[cols.i1[X]] - g0) * cols.w1[X];
      buf[p] = a0 * g + b0;
      buf[plane + p] = a1 * g + b1;
      buf[2 * plane + p] = a2 * g + b2;
    }
  }
  return buf;
}

/** User prompts (image pixel coordinates) in the model frame of `crop`; the box goes first, as SAM2 requires. */
export function promptToModel(p: FramePrompt, crop: CropBox, spec: PreprocessSpec, maskInput: Float32Array | null): DecoderPrompt {
  const S = spec.size;
  const X = (x: number): number => toFrame(x, crop.x0, crop.side, S);
  const Y = (y: number): number => toFrame(y, crop.y0, crop.side, S);
  return {
    ...(p.box ? { box: [X(p.box.x0), Y(p.box.y0), X(p.box.x1), Y(p.box.y1)] as [number, number, number, number] } : {}),
    points: (p.points ?? []).map((q) => ({ x: X(q.x), y: Y(q.y), label: q.label })),
    maskInput,
  };
}

/** Index of the mask with the highest predicted IoU (SAM2's choice with multimask output). */
export function bestMask(out: DecoderOutput): number {
  let best = 0;
  for (let k = 1; k < out.nMasks; k++) if (out.iou[k] > out.iou[best]) best = k;
  return best;
}

/** A copy of mask k's low-res logits (the decoder's output buffer is reused by the next run). */
export function lowResOf(out: DecoderOutput, k: number, low: number): Float32Array {
  return out.lowRes.slice(k * low * low, (k + 1) * low * low);
}

/**
 * Low-res logits of `crop` → 0/1 mask on the ny×nx virtual-image grid: bilinear (align_corners=False) straight from
 * the 256 frame to each image pixel inside the crop, threshold > 0 (SAM2's mask_threshold). Pixels outside the
 * crop are 0. One interpolation instead of SAM2's 256 → 1024 → original chain: the same function up to the
 * smoothing of the intermediate step, and 16× less work per crop pixel.
 */
export function lowResToMask(lowRes: Float32Array, low: number, crop: CropBox, nx: number, ny: number, out?: Uint8Array): { mask: Uint8Array; area: number } {
  const mask = out ?? new Uint8Array(nx * ny);
  mask.fill(0);
  const xa = Math.max(0, crop.x0);
  const xb = Math.min(nx, crop.x0 + crop.side);
  const ya = Math.max(0, crop.y0);
  const yb = Math.min(ny, crop.y0 + crop.side);
  if (xa >= xb || ya >= yb) return { mask, area: 0 };
  const cols = axisTaps(xb - xa, low, (o) => toFrame(xa + o, crop.x0, crop.side, low));
  const rows = axisTaps(yb - ya, low, (o) => toFrame(ya + o, crop.y0, crop.side, low));
  let area = 0;
  for (let j = 0; j < yb - ya; j++) {
    const r0 = rows.i0[j] * low;
    const r1 = rows.i1[j] * low;
    const wy = rows.w1[j];
    const off = (ya + j) * nx + xa;
    for (let i = 0; i < xb - xa; i++) {
      const c0 = cols.i0[i];
      const c1 = cols.i1[i];
      const wx = cols.w1[i];
      const top = lowRes[r0 + c0] + (lowRes[r0 + c1] - lowRes[r0 + c0]) * wx;
      const bot = lowRes[r1 + c0] + (lowRes[r1 + c1] - lowRes[r1 + c0]) * wx;
      if (top + (bot - top) * wy > 0) {
        mask[off + i] = 1;
        area++;
      }
    }
  }
  return { mask, area };
}

/** Logit used where the previous crop did not reach: confidently background, well inside SAM's ±32 clamp. */
export const BACKGROUND_LOGIT = -20;

/**
 * Low-res logits of crop `from` re-expressed in the low-res frame of crop `to`, with the content shifted by
 * (dx, dy) image pixels (the motion model's prediction), so the previous mask becomes the next frame's mask_input
 * at the predicted place and scale.
 */
export function resampleLowRes(prev: Float32Array, low: number, from: CropBox, to: CropBox, dx: number, dy: number): Float32Array {
  const out = new Float32Array(low * low);
  const cols = axisTaps(low, low, (u) => toFrame(fromFrame(u, to.x0, to.side, low) - dx, from.x0, from.side, low));
  const rows = axisTaps(low, low, (v) => toFrame(fromFrame(v, to.y0, to.side, low) - dy, from.y0, from.side, low));
  for (let v = 0; v < low; v++) {
    const o = v * low;
    if (!rows.valid[v]) {
      out.fill(BACKGROUND_LOGIT, o, o + low);
      continue;
    }
    const r0 = rows.i0[v] * low;
    const r1 = rows.i1[v] * low;
    const wy = rows.w1[v];
    for (let u = 0; u < low; u++) {
      if (!cols.valid[u]) {
        out[o + u] = BACKGROUND_LOGIT;
        continue;
      }
      const c0 = cols.i0[u];
      const c1 = cols.i1[u];
      const wx = cols.w1[u];
      const top = prev[r0 + c0] + (prev[r0 + c1] - prev[r0 + c0]) * wx;
      const bot = prev[r1 + c0] + (prev[r1 + c1] - prev[r1 + c0]) * wx;
      out[o + u] = top + (bot - top) * wy;
    }
  }
  return out;
}

/**
 * A 0/1 mask (a user-edited frame) as low-res logits of `crop`: bilinear sample of the mask, then logit(p) with p
 * clamped to [ε, 1 − ε], ε = 1e-3 (±6.9) — micro-sam's _compute_logits_from_mask. Raw 0/1 masks as mask_input give
 * poor results (FORMATS §5d).
 */
export function maskToLowRes(mask: Uint8Array, nx: number, ny: number, crop: CropBox, low: number, eps = 1e-3): Float32Array {
  const out = new Float32Array(low * low);
  const cols = axisTaps(low, nx, (u) => fromFrame(u, crop.x0, crop.side, low));
  const rows = axisTaps(low, ny, (v) => fromFrame(v, crop.y0, crop.side, low));
  const lo = Math.log(eps / (1 - eps));
  for (let v = 0; v < low; v++) {
    for (let u = 0; u < low; u++) {
      let p = 0;
      if (rows.valid[v] && cols.valid[u]) {
        const r0 = rows.i0[v] * nx;
        const r1 = rows.i1[v] * nx;
        const c0 = cols.i0[u];
        const c1 = cols.i1[u];
        const top = mask[r0 + c0] + (mask[r0 + c1] - mask[r0 + c0]) * cols.w1[u];
        const bot = mask[r1 + c0] + (mask[r1 + c1] - mask[r1 + c0]) * cols.w1[u];
        p = top + (bot - top) * rows.w1[v];
      }
      p = Math.min(Math.max(p, eps), 1 - eps);
      out[v * low + u] = p <= eps ? lo : p >= 1 - eps ? -lo : Math.log(p / (1 - p));
    }
  }
  return out;
}
