// Small mask measurements the propagation needs (box, centroid, IoU, shift). Kept local to the SAM2 path so it does
// not depend on the classical tracker's kernels, which are being written concurrently.

import type { PixelBox } from './geometry';

export interface MaskStats extends PixelBox {
  area: number;
  /** Centroid in pixel-index coordinates. */
  cx: number;
  cy: number;
}

/** Box, area and centroid of a 0/1 mask (frame view of length nx·ny); null when empty. */
export function maskStats(mask: Uint8Array, nx: number, ny: number): MaskStats | null {
  let area = 0;
  let sx = 0;
  let sy = 0;
  let x0 = nx;
  let y0 = ny;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < ny; y++) {
    const row = y * nx;
    for (let x = 0; x < nx; x++) {
      if (!mask[row + x]) continue;
      area++;
      sx += x;
      sy += y;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return area ? { x0, y0, x1, y1, area, cx: sx / area, cy: sy / area } : null;
}

export function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const p = a[i] ? 1 : 0;
    const q = b[i] ? 1 : 0;
    inter += p & q;
    union += p | q;
  }
  return union ? inter / union : 1;
}

/** The mask moved by (dx, dy) rounded to whole pixels; what leaves the frame is lost. */
export function shiftMask(mask: Uint8Array, nx: number, ny: number, dx: number, dy: number): Uint8Array {
  const out = new Uint8Array(nx * ny);
  const sx = Math.round(dx);
  const sy = Math.round(dy);
  for (let y = Math.max(0, sy); y < Math.min(ny, ny + sy); y++) {
    const src = (y - sy) * nx;
    const dst = y * nx;
    for (let x = Math.max(0, sx); x < Math.min(nx, nx + sx); x++) out[dst + x] = mask[src + x - sx];
  }
  return out;
}

export function shiftBox(b: PixelBox, dx: number, dy: number): PixelBox {
  return { x0: b.x0 + dx, y0: b.y0 + dy, x1: b.x1 + dx, y1: b.y1 + dy };
}

/** Does the mask reach the crop's edge at a place that is not the image's edge (the crop cut the object off)? */
export function touchesCropEdge(s: PixelBox, crop: { x0: number; y0: number; side: number }, nx: number, ny: number): boolean {
  const cx1 = crop.x0 + crop.side - 1;
  const cy1 = crop.y0 + crop.side - 1;
  return (
    (s.x0 <= crop.x0 && crop.x0 > 0) ||
    (s.y0 <= crop.y0 && crop.y0 > 0) ||
    (s.x1 >= cx1 && cx1 < nx - 1) ||
    (s.y1 >= cy1 && cy1 < ny - 1)
  );
}
