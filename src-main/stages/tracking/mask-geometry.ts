// Small geometry helpers over full-frame masks (nx·ny, 1 inside) that the tracker's steps share.
import { binaryDilate } from '../../kernels/image';
import type { FrameAnalysis } from './segment';

export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Flat indices of a mask's pixels, ascending. */
export function pixelsOf(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[n++] = i;
  return out;
}

/** A full-frame mask from flat pixel indices. */
export function maskOf(pixels: ArrayLike<number>, n: number): Uint8Array {
  const m = new Uint8Array(n);
  for (let k = 0; k < pixels.length; k++) m[pixels[k]] = 1;
  return m;
}

export function statsOf(mask: Uint8Array, nx: number): { area: number; cx: number; cy: number } {
  let area = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    area++;
    const x = i % nx;
    sx += x;
    sy += (i - x) / nx;
  }
  return { area, cx: area ? sx / area : NaN, cy: area ? sy / area : NaN };
}

export function bboxOf(pixels: ArrayLike<number>, nx: number): Box {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let k = 0; k < pixels.length; k++) {
    const i = pixels[k];
    const x = i % nx;
    const y = (i - x) / nx;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return { x0, y0, x1, y1 };
}

export function touchesEdge(box: Box, nx: number, ny: number): boolean {
  return box.x0 <= 0 || box.y0 <= 0 || box.x1 >= nx - 1 || box.y1 >= ny - 1;
}

/**
 * Applies a binary morphology op to a mask inside its bounding box grown by `pad` (the ops are O(box), not
 * O(frame), which matters with many objects on 512² frames). Returns a full-frame mask.
 */
export function roiMorph(
  mask: Uint8Array,
  nx: number,
  ny: number,
  box: Box,
  pad: number,
  op: (m: Uint8Array, w: number, h: number) => Uint8Array,
): Uint8Array {
  const x0 = Math.max(0, box.x0 - pad);
  const y0 = Math.max(0, box.y0 - pad);
  const x1 = Math.min(nx - 1, box.x1 + pad);
  const y1 = Math.min(ny - 1, box.y1 + pad);
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const crop = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) crop[y * w + x] = mask[(y + y0) * nx + x + x0];
  const res = op(crop, w, h);
  const out = new Uint8Array(nx * ny);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(y + y0) * nx + x + x0] = res[y * w + x];
  return out;
}

/** (mean of image inside mask − mean over a ring around it outside any particle) / background noise. */
export function contrastOf(a: FrameAnalysis, mask: Uint8Array, box: Box): number {
  const { nx, ny } = a;
  const ring = roiMorph(mask, nx, ny, box, 4, (m, w, h) => binaryDilate(m, w, h, 3));
  let si = 0;
  let ni = 0;
  let sr = 0;
  let nr = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) {
      si += a.image[i];
      ni++;
    } else if (ring[i] && !a.foreground[i]) {
      sr += a.image[i];
      nr++;
    }
  }
  if (!ni) return 0;
  const outside = nr >= 4 ? sr / nr : a.backgroundMean;
  return (si / ni - outside) / Math.max(a.backgroundStd, 1e-6 * Math.abs(si / ni) + 1e-12);
}
