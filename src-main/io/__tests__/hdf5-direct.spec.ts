// The direct fs path returns the same frames as h5wasm's own hyperslab reads, for every storage layout
// it claims (contiguous; chunked without filters under v1 B-tree, fixed-array (paged), single-chunk
// indexes; partial edge chunks; 5D per tilt; big-endian; groups with dense link storage), and falls
// back to h5wasm where it cannot (compressed chunks, chunks that split the detector).

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { datasetMessages, locateDataset } from '../hdf5-raw.js';
import { openHdf5 } from '../hdf5-source.js';
import type { FourDSource } from '../types.js';
import { pattern, scratchDir, writeH5 } from './helpers.js';
import type { PixelArray } from '../../../src-shared/pixels';

const { dir, cleanup } = scratchDir('direct');
afterAll(cleanup);

function typed(dtype: string, n: number, seed: number): Uint16Array | Float32Array | Uint8Array | Int32Array {
  const p = pattern(n, seed);
  if (dtype.endsWith('f')) return Float32Array.from(p, (v) => v / 7 - 1000);
  if (dtype.endsWith('B')) return Uint8Array.from(p, (v) => v & 0xff);
  if (dtype.endsWith('i')) return Int32Array.from(p, (v) => v * 4099 - 100000);
  return p;
}

/**
 * h5wasm cannot write big-endian datasets, so write little-endian (v1 object headers: no checksums),
 * then flip the byte-order bit of the datatype message and byte-swap the stored elements in place.
 * libhdf5 then reads the file as a big-endian dataset holding the original values.
 */
function makeBigEndian(path: string, dataset: string, elementSize: number): void {
  const fd = openSync(path, 'r+');
  try {
    const dt = datasetMessages(fd, dataset).find((m) => m.type === 0x03)!;
    const b = Buffer.alloc(2);
    readSync(fd, b, 0, 2, dt.at);
    b[1] = b[1]! | 0x01;
    writeSync(fd, b, 0, 2, dt.at);
    const loc = locateDataset(fd, dataset, elementSize);
    if (!loc.ok) throw new Error(loc.reason);
    const ranges: Array<[number, number]> = [];
    if (loc.layout.kind === 'contiguous') ranges.push([loc.layout.address, loc.layout.size]);
    else if (loc.layout.kind === 'chunked') loc.layout.forEachChunk((c) => ranges.push([c.address, c.size]));
    for (const [at, size] of ranges) {
      const d = Buffer.alloc(size);
      readSync(fd, d, 0, size, at);
      if (elementSize === 2) d.swap16();
      else if (elementSize === 4) d.swap32();
      writeSync(fd, d, 0, size, at);
    }
  } finally {
    closeSync(fd);
  }
}

interface Case {
  name: string;
  shape: number[];
  dtype: string;
  chunks?: number[];
  libver?: 'earliest' | 'latest';
  compression?: 'gzip';
  groups?: string[];
  dataset?: string;
  bigEndian?: boolean;
  expectDirect: false | 'contiguous' | 'chunked-uncompressed';
}

const cases: Case[] = [
  { name: 'contiguous u16', shape: [4, 5, 16, 12], dtype: '<H', expectDirect: 'contiguous' },
  { name: 'contiguous f32 latest', shape: [3, 4, 8, 8], dtype: '<f', libver: 'latest', expectDirect: 'contiguous' },
  { name: 'contiguous big-endian u16', shape: [3, 4, 8, 6], dtype: '<H', bigEndian: true, expectDirect: 'contiguous' },
  { name: 'contiguous big-endian f32', shape: [2, 3, 8, 6], dtype: '<f', bigEndian: true, expectDirect: 'contiguous' },
  { name: 'contiguous big-endian i32', shape: [2, 3, 4, 6], dtype: '<i', bigEndian: true, expectDirect: 'contiguous' },
  { name: 'chunked (1,1,q,q) B-tree v1', shape: [4, 5, 16, 12], dtype: '<H', chunks: [1, 1, 16, 12], expectDirect: 'chunked-uncompressed' },
  { name: 'chunked (1,1,q,q) fixed array', shape: [4, 5, 16, 12], dtype: '<H', chunks: [1, 1, 16, 12], libver: 'latest', expectDirect: 'chunked-uncompressed' },
  { name: 'chunked fixed array, paged (>1024 chunks)', shape: [40, 30, 4, 4], dtype: '<H', chunks: [1, 1, 4, 4], libver: 'latest', expectDirect: 'chunked-uncompressed' },
  { name: 'chunked B-tree v1, many chunks (multi-level tree)', shape: [40, 30, 4, 4], dtype: '<B', chunks: [1, 1, 4, 4], expectDirect: 'chunked-uncompressed' },
  { name: 'chunked (2,3,q,q) with partial edge chunks', shape: [5, 7, 8, 8], dtype: '<H', chunks: [2, 3, 8, 8], expectDirect: 'chunked-uncompressed' },
  { name: 'single chunk (latest)', shape: [3, 4, 8, 8], dtype: '<H', chunks: [3, 4, 8, 8], libver: 'latest', expectDirect: 'chunked-uncompressed' },
  { name: 'big-endian chunked', shape: [3, 4, 8, 8], dtype: '<H', chunks: [1, 1, 8, 8], bigEndian: true, expectDirect: 'chunked-uncompressed' },
  {
    name: 'dense link storage (60 links, latest)',
    shape: [3, 4, 8, 8],
    dtype: '<H',
    libver: 'latest',
    groups: ['g', ...Array.from({ length: 60 }, (_, i) => `g/sub${i}`)],
    dataset: 'g/sub37/data',
    expectDirect: 'contiguous',
  },
  { name: 'gzip chunks → h5wasm', shape: [3, 4, 8, 8], dtype: '<H', chunks: [1, 1, 8, 8], compression: 'gzip', expectDirect: false },
  { name: 'chunks split the detector → h5wasm', shape: [3, 4, 8, 8], dtype: '<H', chunks: [1, 1, 4, 8], expectDirect: false },
];

async function compare(a: FourDSource, b: FourDSource, start: number, count: number): Promise<void> {
  const x = await a.readFrames(start, count);
  const y = await b.readFrames(start, count);
  expect(x.constructor).toBe(y.constructor);
  expect(x.length).toBe(y.length);
  expect(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength))).toBe(true);
}

describe('direct fs reads = h5wasm hyperslab reads', () => {
  cases.forEach((c, k) => {
    it(c.name, async () => {
      const path = join(dir, `case${k}.h5`);
      const n = c.shape.reduce((a, b) => a * b, 1);
      const data = typed(c.dtype, n, k + 1);
      const name = c.dataset ?? 'data/cube';
      await writeH5(path, [{ name, data, shape: c.shape, dtype: c.dtype, ...(c.chunks ? { chunks: c.chunks } : {}), ...(c.compression ? { compression: c.compression } : {}) }], {
        ...(c.libver ? { libver: c.libver } : {}),
        ...(c.groups ? { groups: c.groups } : {}),
      });
      if (c.bigEndian) makeBigEndian(path, name, data.BYTES_PER_ELEMENT);
      const fast = await openHdf5(path, { dataset: name });
      const slow = await openHdf5(path, { dataset: name, direct: false });
      try {
        expect(fast.direct?.kind ?? false).toBe(c.expectDirect);
        if (fast.direct) expect(fast.direct.littleEndian).toBe(!c.bigEndian);
        expect(slow.direct).toBeUndefined();
        const frames = fast.scanShape[0] * fast.scanShape[1];
        // Whole cube, against the values written.
        const all = await fast.readFrames(0, frames);
        expect(Array.from(all as ArrayLike<number>)).toEqual(Array.from(data as ArrayLike<number>));
        await compare(fast, slow, 0, frames);
        // Ranges that start mid-row and cross row boundaries, single frames, the last frame, nothing.
        const nx = fast.scanShape[1];
        for (const [s, m] of [
          [1, 1],
          [nx - 1, 3],
          [2, nx * 2 + 1],
          [frames - 1, 1],
          [0, 0],
        ] as Array<[number, number]>) {
          if (s + m <= frames) await compare(fast, slow, s, m);
        }
      } finally {
        fast.close();
        slow.close();
      }
    });
  });

  it('5D [tilt, ry, rx, qy, qx]: one source per tilt, contiguous and chunked', async () => {
    for (const chunks of [undefined, [1, 1, 1, 8, 8], [2, 2, 2, 8, 8]]) {
      const shape = [3, 4, 5, 8, 8];
      const n = shape.reduce((a, b) => a * b, 1);
      const data = pattern(n, 99);
      const path = join(dir, `five${chunks ? chunks.join('') : 'c'}.h5`);
      await writeH5(path, [{ name: 'cube', data, shape, dtype: '<H', ...(chunks ? { chunks } : {}) }]);
      for (let t = 0; t < 3; t++) {
        const fast = await openHdf5(path, { tiltIndex: t });
        const slow = await openHdf5(path, { tiltIndex: t, direct: false });
        try {
          expect(fast.nTilts).toBe(3);
          expect(fast.tiltIndex).toBe(t);
          expect(fast.scanShape).toEqual([4, 5]);
          expect(fast.direct).toBeDefined();
          const per = 4 * 5 * 64;
          const got = await fast.readFrames(0, 20);
          expect(Array.from(got as Uint16Array)).toEqual(Array.from(data.subarray(t * per, (t + 1) * per)));
          await compare(fast, slow, 3, 9);
        } finally {
          fast.close();
          slow.close();
        }
      }
      await expect(openHdf5(path, { tiltIndex: 3 })).rejects.toMatchObject({ name: 'InputError' });
    }
  });

  it('readFrames checks its range and honours an aborted signal', async () => {
    const path = join(dir, 'range.h5');
    await writeH5(path, [{ name: 'd', data: pattern(2 * 2 * 4 * 4), shape: [2, 2, 4, 4], dtype: '<H' }]);
    const s = await openHdf5(path);
    try {
      await expect(s.readFrames(3, 2)).rejects.toMatchObject({ name: 'ParameterError' });
      await expect(s.readFrames(-1, 1)).rejects.toMatchObject({ name: 'ParameterError' });
      const ac = new AbortController();
      ac.abort();
      await expect(s.readFrames(0, 1, ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
      const one: PixelArray = await s.readFrames(3, 1);
      expect(one.length).toBe(16);
    } finally {
      s.close();
    }
  });
});
