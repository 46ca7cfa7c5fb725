// Pixel types of 4D-STEM data and the typed arrays that hold them. Shared by the readers, the kernels, the
// stages and the renderer (which receives frames as typed arrays), so each is declared once, here.

export type PixelDType = 'uint8' | 'uint16' | 'uint32' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export type PixelArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;

export const PIXEL_DTYPES: readonly PixelDType[] = ['uint8', 'uint16', 'uint32', 'int8', 'int16', 'int32', 'float32', 'float64'];

export const BYTES_PER_PIXEL: Readonly<Record<PixelDType, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  float64: 8,
};

/** Allocates a typed array of `n` pixels of `dtype`. */
export function allocPixels(dtype: PixelDType, n: number): PixelArray {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'uint32':
      return new Uint32Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
  }
}

/** Views `n` pixels of `dtype` in `buf` from `byteOffset` (which must be aligned to the pixel size), without copying. */
export function viewPixels(dtype: PixelDType, buf: ArrayBufferLike, byteOffset: number, n: number): PixelArray {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(buf, byteOffset, n);
    case 'int8':
      return new Int8Array(buf, byteOffset, n);
    case 'uint16':
      return new Uint16Array(buf, byteOffset, n);
    case 'int16':
      return new Int16Array(buf, byteOffset, n);
    case 'uint32':
      return new Uint32Array(buf, byteOffset, n);
    case 'int32':
      return new Int32Array(buf, byteOffset, n);
    case 'float32':
      return new Float32Array(buf, byteOffset, n);
    case 'float64':
      return new Float64Array(buf, byteOffset, n);
  }
}

/** The PixelDType of a typed array. */
export function dtypeOf(a: PixelArray): PixelDType {
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Uint32Array) return 'uint32';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Float32Array) return 'float32';
  return 'float64';
}

/** The machine's byte order: typed arrays use it, files say theirs. */
export const NATIVE_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
