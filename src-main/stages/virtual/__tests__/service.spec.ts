import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError, ParameterError } from '../../../../src-shared/errors';
import type { FourDSource } from '../../../io/types';
import { openSource } from '../../../io/open';
import { detectorWeights, type DetectorSpec } from '../../../kernels/virtual-detectors';
import { WorkerPool } from '../../../workers/pool';
import { computeVirtualImages, imageStack, type VirtualResult } from '../service';
import { rng } from '../../../../tests/helpers/rng';
import type { PixelArray, PixelDType } from '../../../../src-shared/pixels';
import { WORKER_SCRIPT } from '../../../../tests/helpers/paths';

const WORKER = WORKER_SCRIPT;
const NY = 9;
const NX = 7;
const NQY = 30;
const NQX = 34;
const NPIX = NQY * NQX;

/** Frames of one tilt as float64: a bright-field disk at (cx, cy), noise, and a Bragg spot on some positions. */
function makeFrames(cx: number, cy: number, seed: number, integer: boolean): Float64Array {
  const rand = rng(seed);
  const disk = detectorWeights({ kind: 'disk', radius: 5.5, cx, cy }, { detectorShape: [NQY, NQX] });
  const out = new Float64Array(NY * NX * NPIX);
  for (let f = 0; f < NY * NX; f++) {
    const crystal = (f * 7) % 5 === 0;
    for (let p = 0; p < NPIX; p++) {
      let v = 400 * disk[p] + 3 + 6 * rand();
      if (crystal && Math.abs((p % NQX) - 26) < 2 && Math.abs(Math.floor(p / NQX) - 8) < 2) v += 150;
      out[f * NPIX + p] = integer ? Math.floor(v) : v;
    }
  }
  return out;
}

const BPE: Record<PixelDType, number> = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, float64: 8 };

/** Writes frames to a raw file: `offset` bytes of header, then frames `stride` bytes apart (header bytes = 0xAB). */
function writeRaw(path: string, frames: Float64Array, dtype: 'uint16' | 'float32', offset: number, stride: number, le: boolean): void {
  const bpe = BPE[dtype];
  const n = frames.length / NPIX;
  const buf = Buffer.alloc(offset + (n - 1) * stride + NPIX * bpe, 0xab);
  for (let f = 0; f < n; f++) {
    for (let p = 0; p < NPIX; p++) {
      const at = offset + f * stride + p * bpe;
      const v = frames[f * NPIX + p];
      if (dtype === 'uint16') {
        if (le) buf.writeUInt16LE(v, at);
        else buf.writeUInt16BE(v, at);
      } else if (le) buf.writeFloatLE(v, at);
      else buf.writeFloatBE(v, at);
    }
  }
  writeFileSync(path, buf);
}

/** A FourDSource over a raw file, as a reader would give it: readFrames with plain fs reads, `direct` optional. */
function rawSource(path: string, dtype: 'uint16' | 'float32', offset: number, stride: number, le: boolean, direct: boolean): FourDSource & { reads: number } {
  const bpe = BPE[dtype];
  const src = {
    path,
    format: 'raw-test',
    scanShape: [NY, NX] as [number, number],
    detectorShape: [NQY, NQX] as [number, number],
    dtype,
    calibration: {},
    direct: direct ? { kind: 'contiguous' as const, offset, frameStrideBytes: stride, littleEndian: le } : undefined,
    reads: 0,
    async readFrames(start: number, count: number): Promise<PixelArray> {
      src.reads++;
      const out = dtype === 'uint16' ? new Uint16Array(count * NPIX) : new Float32Array(count * NPIX);
      const fd = openSync(path, 'r');
      const b = Buffer.alloc(NPIX * bpe);
      try {
        for (let k = 0; k < count; k++) {
          if (readSync(fd, b, 0, b.length, offset + (start + k) * stride) !== b.length) throw new InputError(path, 'short read');
          for (let p = 0; p < NPIX; p++) {
            out[k * NPIX + p] = dtype === 'uint16'
              ? (le ? b.readUInt16LE(p * 2) : b.readUInt16BE(p * 2))
              : (le ? b.readFloatLE(p * 4) : b.readFloatBE(p * 4));
          }
        }
      } finally {
        closeSync(fd);
      }
      return out;
    },
    close() {},
  };
  return src;
}

const SPECS: DetectorSpec[] = [
  { kind: 'disk', radius: 5 },
  { kind: 'annulus', rIn: 7, rOut: 14 },
  { kind: 'com' },
  { kind: 'variance' },
  { kind: 'sum' },
  { kind: 'mask', mask: new Uint8Array(NPIX).map((_, p) => (p % NQX > 20 ? 1 : 0)) },
];

/** Independent reference for one tilt: the textbook formula per frame, float64. */
function reference(frames: Float64Array, centre: [number, number]): { images: number[][]; mean: number[]; max: number[] } {
  const opts = { detectorShape: [NQY, NQX] as [number, number], beamCentre: centre };
  const w = [detectorWeights(SPECS[0], opts), detectorWeights(SPECS[1], opts), detectorWeights(SPECS[5], opts)];
  const images: number[][] = Array.from({ length: 7 }, () => []);
  const mean = new Array<number>(NPIX).fill(0);
  const max = new Array<number>(NPIX).fill(-Infinity);
  for (let f = 0; f < NY * NX; f++) {
    const px = (p: number) => frames[f * NPIX + p];
    let s = 0, sx = 0, sy = 0, bf = 0, adf = 0, m = 0;
    for (let p = 0; p < NPIX; p++) {
      const v = px(p);
      s += v; sx += v * (p % NQX); sy += v * Math.floor(p / NQX);
      bf += w[0][p] * v; adf += w[1][p] * v; m += w[2][p] * v;
      mean[p] += v / (NY * NX);
      max[p] = Math.max(max[p], v);
    }
    let vr = 0;
    for (let p = 0; p < NPIX; p++) vr += (px(p) - s / NPIX) ** 2;
    [bf, adf, sx / s - centre[0], sy / s - centre[1], vr / NPIX, s, m].forEach((v, k) => images[k].push(v));
  }
  return { images, mean, max };
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rel = 1e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i] - want[i]), `at ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(want[i])));
  }
}

/** Tilt t's images and mean pattern against the reference over `frames` with `centre`; returns the reference. */
function expectLikeReference(r: VirtualResult, t: number, frames: Float64Array, centre: [number, number]): ReturnType<typeof reference> {
  const ref = reference(frames, centre);
  ref.images.forEach((img, k) => expectClose(r.images[t][k], img));
  expectClose(r.meanPattern[t], ref.mean);
  return ref;
}

/** A temp folder and a 2-worker pool for one describe block (registered as its beforeAll/afterAll). */
function filesFixture(): { dir: () => string; pool: () => WorkerPool } {
  let dir = '';
  let pool: WorkerPool | null = null;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tracked-virtual-'));
    pool = new WorkerPool({ size: 2, workerPath: WORKER, cancelGraceMs: 500 });
  });
  afterAll(async () => {
    await pool?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir: () => dir, pool: () => pool! };
}

const truth: Array<[number, number]> = [[16.3, 14.6], [17.05, 15.2], [15.7, 13.9]];
const tiltFrames = truth.map(([cx, cy], t) => makeFrames(cx, cy, 100 + t, true));

/** Every tilt of tiltFrames as a little-endian uint16 file with `offset` bytes before its packed frames, read directly. */
function contiguousTilts(dir: string, name: string, offset: number): Array<ReturnType<typeof rawSource>> {
  const frameBytes = NPIX * 2;
  return tiltFrames.map((fr, t) => {
    const p = join(dir, `${name}${t}.raw`);
    writeRaw(p, fr, 'uint16', offset, frameBytes, true);
    return rawSource(p, 'uint16', offset, frameBytes, true, true);
  });
}

/** Opens /data of an HDF5 file holding tiltFrames[1], checks the source, and expects the reference images. */
async function expectFileLikeReference(path: string, pool: WorkerPool, check: (src: FourDSource) => void): Promise<void> {
  const src = await openSource(path, { dataset: '/data' });
  try {
    check(src);
    const centre: [number, number] = [17, 15];
    const r = await computeVirtualImages(src, SPECS, { pool, beamCentre: centre });
    expectLikeReference(r, 0, tiltFrames[1], centre);
  } finally {
    src.close();
  }
}

describe('computeVirtualImages on files', () => {
  const fx = filesFixture();

  it('direct contiguous uint16 (HDF5-like offset), several units and blocks per tilt: matches the reference', async () => {
    const frameBytes = NPIX * 2;
    const sources = contiguousTilts(fx.dir(), 'c', 2048);
    const progress: Array<[number, number, string]> = [];
    const r = await computeVirtualImages(sources, SPECS, {
      pool: fx.pool(),
      blockBytes: 5 * frameBytes, // 5 frames per read: the 4-frame pass and the tail both run
      unitBytes: 3 * NX * frameBytes, // 3 rows per unit: 3 units per tilt
      progressIntervalMs: 1,
      onProgress: (d, t, s) => progress.push([d, t, s]),
    });
    expect(r.outputs.map((o) => o.name)).toEqual(['bf', 'adf', 'comX', 'comY', 'variance', 'sum', 'mask']);
    truth.forEach((c, t) => {
      // The centre used was fitted on 16 sampled frames; the reference uses that same centre.
      expect(Math.hypot(r.beamCentre[t]![0] - c[0], r.beamCentre[t]![1] - c[1])).toBeLessThan(0.1);
      expect(Math.hypot(r.beamCentreFit[t]!.cx - c[0], r.beamCentreFit[t]!.cy - c[1])).toBeLessThan(0.1);
      const ref = expectLikeReference(r, t, tiltFrames[t], r.beamCentre[t]!);
      expectClose(r.maxPattern[t], ref.max, 0);
      // Streamed from the file, the centre's 16 sampled frames included: the hand-made readFrames served nothing.
      expect(sources[t].reads).toBe(0);
    });
    const total = 3 * NY * NX * frameBytes;
    const main = progress.filter((p) => p[2] === 'virtual images');
    expect(main.at(-1)).toEqual([total, total, 'virtual images']);
    for (let i = 1; i < main.length; i++) expect(main[i][0]).toBeGreaterThanOrEqual(main[i - 1][0]);
    expect(progress.some((p) => p[2] === 'beam centre')).toBe(true);
    expect(r.bytesRead).toBe(total + 3 * 16 * frameBytes);
    expect(imageStack(r, 'bf').length).toBe(3 * NY * NX);
  });

  for (const reads of ['auto', 'sync', 'async'] as const) {
    it(`reads '${reads}': the same images, and a truncated file names the byte where it ends`, async () => {
      const frameBytes = NPIX * 2;
      const a = join(fx.dir(), `be-${reads}.mib`);
      writeRaw(a, tiltFrames[0], 'uint16', 384, 384 + frameBytes, false);
      const centre: [number, number] = [16.5, 14.5];
      const r = await computeVirtualImages(rawSource(a, 'uint16', 384, 384 + frameBytes, false, true), SPECS, {
        pool: fx.pool(), beamCentre: centre, blockBytes: 4 * (384 + frameBytes), reads,
      });
      expectLikeReference(r, 0, tiltFrames[0], centre);
      const t = join(fx.dir(), `trunc-${reads}.raw`);
      writeRaw(t, tiltFrames[0], 'uint16', 0, frameBytes, true);
      const src = { ...rawSource(t, 'uint16', 0, frameBytes, true, true), scanShape: [NY + 2, NX] as [number, number] };
      const err = await computeVirtualImages(src, [{ kind: 'sum' }], { pool: fx.pool(), reads, blockBytes: 3 * frameBytes }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(new RegExp(`trunc-${reads}\\.raw: file ends at byte ${NY * NX * frameBytes}`));
    });
  }

  it('MIB-like big-endian frames with headers, and an odd header (unaligned frames), with a given centre', async () => {
    const frameBytes = NPIX * 2;
    const centre: [number, number] = [16.5, 14.5];
    const a = join(fx.dir(), 'be.mib');
    const b = join(fx.dir(), 'odd.mib');
    writeRaw(a, tiltFrames[0], 'uint16', 384, 384 + frameBytes, false);
    writeRaw(b, tiltFrames[1], 'uint16', 101, 101 + frameBytes, false);
    const sources = [rawSource(a, 'uint16', 384, 384 + frameBytes, false, true), rawSource(b, 'uint16', 101, 101 + frameBytes, false, true)];
    const r = await computeVirtualImages(sources, SPECS, { pool: fx.pool(), beamCentre: centre, blockBytes: 7 * frameBytes });
    for (const t of [0, 1]) {
      expect(r.beamCentre[t]).toEqual(centre);
      const ref = reference(tiltFrames[t], centre);
      ref.images.forEach((img, k) => expectClose(r.images[t][k], img));
      expectClose(r.maxPattern[t], ref.max, 0);
      expect(sources[t].reads).toBe(0);
    }
  });

  it('fits the centre of MIB-like files (headers, big-endian, odd header) from frames read straight into the kernel: the same sums as readFrames gives', async () => {
    const frameBytes = NPIX * 2;
    const a = join(fx.dir(), 'be-centre.mib');
    const b = join(fx.dir(), 'odd-centre.mib');
    writeRaw(a, tiltFrames[0], 'uint16', 384, 384 + frameBytes, false);
    writeRaw(b, tiltFrames[1], 'uint16', 101, 101 + frameBytes, false);
    const open = (): Array<ReturnType<typeof rawSource>> => [rawSource(a, 'uint16', 384, 384 + frameBytes, false, true), rawSource(b, 'uint16', 101, 101 + frameBytes, false, true)];
    const direct = open();
    const viaReadFrames = open();
    const fast = await computeVirtualImages(direct, [{ kind: 'disk', radius: 3 }], { pool: fx.pool(), kernel: 'wasm' });
    // The JS kernel samples through readFrames (copied, swapped on this thread): the reference for the sums.
    const slow = await computeVirtualImages(viaReadFrames, [{ kind: 'disk', radius: 3 }], { pool: fx.pool(), kernel: 'js' });
    for (const t of [0, 1]) {
      expect(direct[t].reads).toBe(0);
      expect(viaReadFrames[t].reads).toBe(4);
      expect(fast.beamCentre[t]).toEqual(slow.beamCentre[t]);
      expect(Math.hypot(fast.beamCentre[t]![0] - truth[t][0], fast.beamCentre[t]![1] - truth[t][1])).toBeLessThan(0.1);
    }
  });

  it('falls back to readFrames + transfers for sources without a direct layout (float32, mixed with direct)', async () => {
    const floatFrames = makeFrames(15.2, 16.1, 7, false);
    const frameBytes = NPIX * 4;
    const a = join(fx.dir(), 'f.raw');
    writeRaw(a, floatFrames, 'float32', 0, frameBytes, true);
    const c = join(fx.dir(), 'c-mixed.raw');
    writeRaw(c, tiltFrames[2], 'uint16', 0, NPIX * 2, true);
    const fallback = rawSource(a, 'float32', 0, frameBytes, true, false);
    const direct = rawSource(c, 'uint16', 0, NPIX * 2, true, true);
    const centres: Array<[number, number]> = [[15.2, 16.1], [15.7, 13.9]];
    const r = await computeVirtualImages([fallback, direct], SPECS, { pool: fx.pool(), beamCentre: centres, blockBytes: 6 * frameBytes });
    expect(fallback.reads).toBe(Math.ceil((NY * NX) / 6));
    const f32 = Float64Array.from(Float32Array.from(floatFrames));
    const refs = [reference(f32, centres[0]), reference(tiltFrames[2], centres[1])];
    refs.forEach((ref, t) => {
      ref.images.forEach((img, k) => expectClose(r.images[t][k], img, 1e-5));
      expectClose(r.meanPattern[t], ref.mean, 1e-6);
    });
  });

  it('through openSource on an HDF5 file written with h5wasm (contiguous 4D dataset)', async () => {
    const h5 = await import('h5wasm/node');
    await h5.ready;
    const p = join(fx.dir(), 'cube.h5');
    const f = new h5.File(p, 'w');
    f.create_dataset({ name: 'data', data: Uint16Array.from(tiltFrames[1]), shape: [NY, NX, NQY, NQX] });
    f.close();
    await expectFileLikeReference(p, fx.pool(), (src) => expect(src.scanShape).toEqual([NY, NX]));
  });

  it('chunked HDF5 whose chunks are not evenly spaced in the file: the right frames, not a wrong stride', async () => {
    const h5 = await import('h5wasm/node');
    await h5.ready;
    const p = join(fx.dir(), 'shuffled-chunks.h5');
    const f = new h5.File(p, 'w');
    // Start with frame (0, 0) only, grow to the full scan, then write the other frames in a scrambled order: HDF5
    // allocates each chunk when it is first written, so the chunks land out of scan order in the file.
    const ds = f.create_dataset({ name: 'data', data: Uint16Array.from(tiltFrames[1].subarray(0, NPIX)), shape: [1, 1, NQY, NQX], dtype: '<H', chunks: [1, 1, NQY, NQX], maxshape: [NY, NX, NQY, NQX] });
    ds.resize([NY, NX, NQY, NQX]);
    const order = Array.from({ length: NY * NX }, (_, i) => (i * 7919) % (NY * NX)).filter((i) => i !== 0);
    expect(new Set(order).size).toBe(NY * NX - 1);
    for (const i of order) {
      const ry = Math.floor(i / NX);
      const rx = i % NX;
      ds.write_slice([[ry, ry + 1], [rx, rx + 1], [], []], Uint16Array.from(tiltFrames[1].subarray(i * NPIX, (i + 1) * NPIX)));
    }
    f.close();
    await expectFileLikeReference(p, fx.pool(), (src) => expect(src.direct?.frameOffsets).toBeDefined());
  });

});

describe('computeVirtualImages, images only', () => {
  const fx = filesFixture();

  it('images only (no mean pattern, disks and annuli alone): the same images from a pass that reads only their pixels', async () => {
    const frameBytes = NPIX * 2;
    const sources = contiguousTilts(fx.dir(), 'io', 512);
    const linear = SPECS.filter((d) => d.kind === 'disk' || d.kind === 'annulus');
    const full = await computeVirtualImages(sources, linear, { pool: fx.pool(), unitBytes: 3 * NX * frameBytes });
    const only = await computeVirtualImages(sources, linear, { pool: fx.pool(), unitBytes: 3 * NX * frameBytes, meanPattern: false, maxPattern: false });
    expect(only.outputs).toEqual(full.outputs);
    // The same centres (sampled before the pass), so the same images, bit for bit.
    expect(only.beamCentre).toEqual(full.beamCentre);
    only.images.forEach((perTilt, t) => perTilt.forEach((img, k) => expect(img).toEqual(full.images[t]![k])));
    // What was not asked for is not there: zero mean patterns, no full-mean fits.
    expect(only.meanPattern.every((m) => m.every((v) => v === 0))).toBe(true);
    expect(only.beamCentreFit).toEqual([null, null, null]);
    expect(full.beamCentreFit.every((f) => f !== null)).toBe(true);
  });
});

describe('computeVirtualImages: the shared pool, bad input, cancel', () => {
  const fx = filesFixture();

  it('uses the shared pool and finds the worker script by itself', async () => {
    const p = join(fx.dir(), 'shared.raw');
    writeRaw(p, tiltFrames[0], 'uint16', 0, NPIX * 2, true);
    const r = await computeVirtualImages(rawSource(p, 'uint16', 0, NPIX * 2, true, true), [{ kind: 'sum' }]);
    expectClose(r.images[0][0], reference(tiltFrames[0], [0, 0]).images[5]);
  });

  it('a frame with NaN fails the job with an InputError naming the file and the probe position', async () => {
    const fr = makeFrames(15, 15, 3, false);
    fr[(2 * NX + 3) * NPIX + 100] = NaN;
    const p = join(fx.dir(), 'nan.raw');
    writeRaw(p, fr, 'float32', 0, NPIX * 4, true);
    for (const direct of [true, false]) {
      const err = await computeVirtualImages(rawSource(p, 'float32', 0, NPIX * 4, true, direct), [{ kind: 'sum' }], { pool: fx.pool() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).message).toContain(p);
      expect((err as InputError).message).toContain('ry 2, rx 3');
    }
  });

  it('a truncated file fails with an InputError, and the pool keeps working', async () => {
    const p = join(fx.dir(), 'trunc.raw');
    writeRaw(p, tiltFrames[0], 'uint16', 0, NPIX * 2, true);
    const src = { ...rawSource(p, 'uint16', 0, NPIX * 2, true, true), scanShape: [NY + 2, NX] as [number, number] };
    const err = await computeVirtualImages(src, [{ kind: 'sum' }], { pool: fx.pool() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/trunc\.raw: file ends at byte/);
    const ok = await computeVirtualImages(rawSource(p, 'uint16', 0, NPIX * 2, true, true), [{ kind: 'sum' }], { pool: fx.pool() });
    expect(ok.images[0][0].length).toBe(NY * NX);
  });

  it('bad detector parameters fail before any byte is read', async () => {
    const src = rawSource(join(fx.dir(), 'never-written.raw'), 'uint16', 0, NPIX * 2, true, true);
    await expect(computeVirtualImages(src, [{ kind: 'annulus', rIn: 9, rOut: 3 }], { pool: fx.pool() })).rejects.toBeInstanceOf(ParameterError);
    await expect(computeVirtualImages(src, [], { pool: fx.pool() })).rejects.toBeInstanceOf(ParameterError);
    expect(src.reads).toBe(0);
  });

  it('cancel stops every worker promptly', async () => {
    // ~46 MB over many small reads, so the job runs long enough to be cancelled in the middle.
    const frames = 1500;
    const p = join(fx.dir(), 'big.raw');
    writeFileSync(p, Buffer.alloc(frames * NPIX * 2 * 15, 1));
    const big = { ...rawSource(p, 'uint16', 0, NPIX * 2, true, true), scanShape: [150, 150] as [number, number] };
    const c = new AbortController();
    let abortedAt = 0;
    const job = computeVirtualImages(big, [{ kind: 'sum' }, { kind: 'variance' }], {
      pool: fx.pool(),
      signal: c.signal,
      blockBytes: 64 << 10,
      unitBytes: 4 << 20,
      progressIntervalMs: 5,
      onProgress: (done) => {
        if (done > 0 && !abortedAt) {
          abortedAt = performance.now();
          c.abort();
        }
      },
    });
    await expect(job).rejects.toBeInstanceOf(CancelledError);
    expect(performance.now() - abortedAt).toBeLessThan(300);
    expect(fx.pool().pending).toBe(0);
  });
});
