// Binary morphology with disk structuring elements {(dx, dy): dx² + dy² ≤ r²}, done through the exact EDT:
// dilation = "squared distance to the nearest foreground pixel ≤ r²", erosion = "squared distance to the nearest
// background pixel > r²". That is O(N) whatever the radius, and the disk is exactly Euclidean.
// Pixels outside the image count as neither: erosion does not eat particles cut by the image edge, so an
// opening keeps them (the tracker must follow a particle as it leaves the field of view).
import { distanceTransformSquared } from './distance';
import { checkImage, checkNonNegative } from './util';

function checkRadius(mask: Uint8Array, nx: number, ny: number, radius: number): void {
  checkImage(mask, nx, ny, 'mask');
  checkNonNegative(radius, 'radius');
}

/** Binary dilation by a disk of `radius` pixels. */
export function binaryDilate(mask: Uint8Array, nx: number, ny: number, radius: number): Uint8Array {
  checkRadius(mask, nx, ny, radius);
  const inv = new Uint8Array(nx * ny);
  for (let i = 0; i < inv.length; i++) inv[i] = mask[i] ? 0 : 1;
  const d2 = distanceTransformSquared(inv, nx, ny);
  const r2 = radius * radius;
  const out = new Uint8Array(nx * ny);
  for (let i = 0; i < out.length; i++) out[i] = d2[i] <= r2 ? 1 : 0;
  return out;
}

/** Binary erosion by a disk of `radius` pixels. */
export function binaryErode(mask: Uint8Array, nx: number, ny: number, radius: number): Uint8Array {
  checkRadius(mask, nx, ny, radius);
  const d2 = distanceTransformSquared(mask, nx, ny);
  const r2 = radius * radius;
  const out = new Uint8Array(nx * ny);
  for (let i = 0; i < out.length; i++) out[i] = mask[i] && d2[i] > r2 ? 1 : 0;
  return out;
}

/** Opening (erosion then dilation): removes specks and thin bridges narrower than the disk. */
export function binaryOpen(mask: Uint8Array, nx: number, ny: number, radius: number): Uint8Array {
  return binaryDilate(binaryErode(mask, nx, ny, radius), nx, ny, radius);
}

/** Closing (dilation then erosion): fills gaps and notches narrower than the disk. */
export function binaryClose(mask: Uint8Array, nx: number, ny: number, radius: number): Uint8Array {
  return binaryErode(binaryDilate(mask, nx, ny, radius), nx, ny, radius);
}

/**
 * Fills holes: background pixels not 4-connected to the image border become foreground. 4-connectivity for the
 * background is the complement of the 8-connectivity used for particles, so a diagonal gap in a particle's rim
 * does not let the hole "leak" out.
 */
export function fillHoles(mask: Uint8Array, nx: number, ny: number): Uint8Array {
  checkImage(mask, nx, ny, 'mask');
  const n = nx * ny;
  const reached = new Uint8Array(n);
  const stack = new Int32Array(n);
  let top = 0;
  const seed = (i: number): void => {
    if (!mask[i] && !reached[i]) {
      reached[i] = 1;
      stack[top++] = i;
    }
  };
  for (let x = 0; x < nx; x++) {
    seed(x);
    seed((ny - 1) * nx + x);
  }
  for (let y = 0; y < ny; y++) {
    seed(y * nx);
    seed(y * nx + nx - 1);
  }
  while (top > 0) {
    const i = stack[--top];
    const x = i % nx;
    if (x > 0) seed(i - 1);
    if (x < nx - 1) seed(i + 1);
    if (i >= nx) seed(i - nx);
    if (i < n - nx) seed(i + nx);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = mask[i] || !reached[i] ? 1 : 0;
  return out;
}
