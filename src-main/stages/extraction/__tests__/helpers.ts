// Test helpers: small 4D arrays written to a temp folder as raw contiguous files, and hand-made FourDSources over
// them (with a `direct` layout, or only readFrames), plus the reference sum computed straight from the arrays.
import { mkdtempSync, readSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FourDSource } from '../../../io/types';

import { type PixelArray, type PixelDType, BYTES_PER_PIXEL, viewPixels } from '../../../../src-shared/pixels';
import type { Calibration } from '../../../../src-shared/domain';

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `tracked-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random integers (xorshift32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export interface RawCube {
  data: PixelArray;
  path: string;
  scanShape: [number, number];
  detectorShape: [number, number];
  dtype: PixelDType;
}

const CTORS: Record<PixelDType, new (n: number) => PixelArray> = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** Writes `fill(ry, rx, qy, qx)` as a raw little-endian cube after a `headerBytes` preamble. */
export function writeRawCube(
  dir: string,
  name: string,
  dtype: PixelDType,
  scanShape: [number, number],
  detectorShape: [number, number],
  fill: (ry: number, rx: number, qy: number, qx: number) => number,
  headerBytes = 64,
): RawCube {
  const [ny, nx] = scanShape;
  const [nqy, nqx] = detectorShape;
  const data = new CTORS[dtype](ny * nx * nqy * nqx);
  let i = 0;
  for (let ry = 0; ry < ny; ry++) for (let rx = 0; rx < nx; rx++) for (let qy = 0; qy < nqy; qy++) for (let qx = 0; qx < nqx; qx++) data[i++] = fill(ry, rx, qy, qx);
  const path = join(dir, name);
  const bytes = new Uint8Array(headerBytes + data.byteLength);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), headerBytes);
  writeFileSync(path, bytes);
  return { data, path, scanShape, detectorShape, dtype };
}

export interface SourceOptions {
  /** Give the source a `direct` layout (default true). */
  direct?: boolean;
  calibration?: Calibration;
  headerBytes?: number;
  /** Called on every readFrames (to count or to fail). */
  onRead?: (start: number, count: number) => void;
  /** Delay each readFrames (ms), to test cancellation mid-way. */
  delayMs?: number;
}

/** A FourDSource over a raw cube: readFrames with plain fs reads, and optionally a `direct` layout. */
export function rawSource(c: RawCube, o: SourceOptions = {}): FourDSource {
  const [nqy, nqx] = c.detectorShape;
  const npix = nqy * nqx;
  const bpp = BYTES_PER_PIXEL[c.dtype];
  const header = o.headerBytes ?? 64;
  return {
    path: c.path,
    format: 'raw-test',
    scanShape: c.scanShape,
    detectorShape: c.detectorShape,
    dtype: c.dtype,
    calibration: o.calibration ?? { wavelengthA: 0.02508, reciprocalPixelInvA: 0.01 },
    direct: o.direct === false ? undefined : { kind: 'contiguous', offset: header, frameStrideBytes: npix * bpp, littleEndian: true },
    async readFrames(start: number, count: number, signal?: AbortSignal): Promise<PixelArray> {
      o.onRead?.(start, count);
      if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
      if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      const buf = new ArrayBuffer(count * npix * bpp);
      const fd = openSync(c.path, 'r');
      try {
        readSync(fd, new Uint8Array(buf), 0, buf.byteLength, header + start * npix * bpp);
      } finally {
        closeSync(fd);
      }
      return viewPixels(c.dtype, buf, 0, count * npix);
    },
    close() {},
  };
}

/** Σ of the frames at probe positions where mask (ny*nx) is set: the reference, straight from the array. */
export function referenceSum(c: RawCube, mask: Uint8Array): Float64Array {
  const [nqy, nqx] = c.detectorShape;
  const npix = nqy * nqx;
  const out = new Float64Array(npix);
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    for (let q = 0; q < npix; q++) out[q] += c.data[p * npix + q];
  }
  return out;
}

/** A disk mask of radius r about (cy, cx) on an ny×nx scan. */
export function diskMask(ny: number, nx: number, cy: number, cx: number, r: number): Uint8Array {
  const m = new Uint8Array(ny * nx);
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) if ((y - cy) ** 2 + (x - cx) ** 2 <= r * r) m[y * nx + x] = 1;
  return m;
}

/** Concatenates per-tilt masks into nTilts*ny*nx. */
export function stackMasks(list: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(list.reduce((a, m) => a + m.length, 0));
  let o = 0;
  for (const m of list) {
    out.set(m, o);
    o += m.length;
  }
  return out;
}
