// Small operations on binary masks (nonzero = inside) used to compare and move particle masks.
import { ParameterError } from '../../../src-shared/errors';
import { checkImage } from './util';

/** Intersection over union of two binary masks of equal length; 0 when both are empty. */
export function maskIoU(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new ParameterError('mask', `lengths differ: ${a.length} vs ${b.length}`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const p = a[i] !== 0;
    const q = b[i] !== 0;
    if (p && q) inter++;
    if (p || q) union++;
  }
  return union ? inter / union : 0;
}

export { maskArea } from '../../../src-shared/mask-ops';

/** Centroid {x, y} of the nonzero pixels (NaN for an empty mask). */
export function maskCentroid(mask: Uint8Array, nx: number, ny: number): { x: number; y: number } {
  checkImage(mask, nx, ny, 'mask');
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      if (mask[y * nx + x]) {
        n++;
        sx += x;
        sy += y;
      }
    }
  }
  return n ? { x: sx / n, y: sy / n } : { x: NaN, y: NaN };
}

export interface TranslatedMask {
  mask: Uint8Array;
  /** Pixels of the input that landed outside the image and were dropped. */
  lost: number;
}

/**
 * Moves a mask by (dx, dy) rounded to whole pixels (a mask has no sub-pixel content to resample). Pixels moved
 * outside the image are dropped and counted, so callers can tell a particle leaving the field of view.
 */
export function translateMask(mask: Uint8Array, nx: number, ny: number, dx: number, dy: number): TranslatedMask {
  checkImage(mask, nx, ny, 'mask');
  if (!Number.isFinite(dx) || !Number.isFinite(dy)) throw new ParameterError('shift', `must be finite, got (${dx}, ${dy})`);
  const ix = Math.round(dx);
  const iy = Math.round(dy);
  const out = new Uint8Array(nx * ny);
  let lost = 0;
  for (let y = 0; y < ny; y++) {
    const yy = y + iy;
    for (let x = 0; x < nx; x++) {
      if (!mask[y * nx + x]) continue;
      const xx = x + ix;
      if (xx < 0 || xx >= nx || yy < 0 || yy >= ny) lost++;
      else out[yy * nx + xx] = 1;
    }
  }
  return { mask: out, lost };
}
