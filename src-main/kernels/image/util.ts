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
