// Shared argument checks for the image kernels. Kernels index flat row-major buffers (x + y*nx); a wrong
// length would silently read out of bounds (typed arrays return undefined → NaN), so every entry point checks.
import { ParameterError } from '../../../src-shared/errors';

/** Any numeric image the kernels accept as input (never mutated). */
export type ImageLike = Float32Array | Float64Array | Uint8Array | Uint16Array | Int32Array;

/** Throws ParameterError unless `data` holds exactly nx*ny pixels and both sizes are positive integers. */
export function checkImage(data: ArrayLike<number>, nx: number, ny: number, name = 'image'): void {
  if (!Number.isInteger(nx) || !Number.isInteger(ny) || nx <= 0 || ny <= 0) {
    throw new ParameterError(`${name}.size`, `image size must be positive integers, got ${nx}×${ny}`);
  }
  if (data.length !== nx * ny) {
    throw new ParameterError(name, `expected ${nx}×${ny} = ${nx * ny} pixels, got ${data.length}`);
  }
}

/** Throws ParameterError unless `value` is a finite number ≥ `min`. */
export function checkNonNegative(value: number, name: string, min = 0): void {
  if (!Number.isFinite(value) || value < min) {
    throw new ParameterError(name, `must be a finite number ≥ ${min}, got ${value}`);
  }
}

/**
 * Writes the flat indices of pixel i's 8-connected neighbours that lie inside the nx×ny image into `out` (at least
 * 8 long) and returns how many there are. The flood and region-growing loops of the image kernels share it.
 */
export function neighbours8(i: number, nx: number, ny: number, out: Int32Array): number {
  const x = i % nx;
  const y = (i - x) / nx;
  const left = x > 0;
  const right = x < nx - 1;
  let k = 0;
  if (y > 0) {
    const r = i - nx;
    if (left) out[k++] = r - 1;
    out[k++] = r;
    if (right) out[k++] = r + 1;
  }
  if (left) out[k++] = i - 1;
  if (right) out[k++] = i + 1;
  if (y < ny - 1) {
    const r = i + nx;
    if (left) out[k++] = r - 1;
    out[k++] = r;
    if (right) out[k++] = r + 1;
  }
  return k;
}
