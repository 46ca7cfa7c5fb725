import { afterAll, describe, expect, it } from 'vitest';

import { extractSeries } from '../service';
import { WorkerPool } from '../../../workers/pool';
import { WORKER_SCRIPT } from '../../../../tests/helpers/paths';
import type { ExtractionObject } from '../types';
import { diskMask, rawSource, referenceSum, rng, stackMasks, tempDir, writeRawCube, type RawCube } from './helpers';
import type { PixelDType } from '../../../../src-shared/pixels';
import type { FrameState } from '../../../../src-shared/domain';

const tmp = tempDir('extract');
afterAll(() => tmp.cleanup());

const NY = 12;
const NX = 14;
const NQ: [number, number] = [9, 11];

function cube(name: string, dtype: PixelDType, seed: number): RawCube {
  const r = rng(seed);
  const signed = dtype.startsWith('int');
  const isFloat = dtype.startsWith('float');
  return writeRawCube(tmp.dir, name, dtype, [NY, NX], NQ, () => {
    const v = Math.floor(r() * 200);
    if (isFloat) return v + 0.25;
    return signed ? v - 100 : v;
  });
}

function obj(id: number, masks: Uint8Array[], states?: FrameState[]): ExtractionObject {
  return { id, name: `p${id}`, masks: stackMasks(masks), frameState: states ?? masks.map(() => 'tracked') };
}

describe('extractSeries: reference sums', () => {
  it.each(['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'] as PixelDType[])(
    '%s: equals the sum computed from the raw arrays, exactly, by fs (direct) and by readFrames',
    async (dtype) => {
      const tilts = [cube(`${dtype}-a.raw`, dtype, 11), cube(`${dtype}-b.raw`, dtype, 12)];
      const masks = [diskMask(NY, NX, 4, 5, 2.5), diskMask(NY, NX, 7, 8, 3)];
      for (const direct of [true, false]) {
        const res = await extractSeries(
          { sources: tilts.map((c) => rawSource(c, { direct })), anglesDeg: [-1, 1] },
          [obj(1, masks)],
          { beamCentre: false, blockBytes: 5 * NQ[0] * NQ[1] }, // tiny blocks: many reads, runs split across blocks
        );
        const s = res.series[0];
        const npix = NQ[0] * NQ[1];
        for (let t = 0; t < 2; t++) {
          const ref = referenceSum(tilts[t], masks[t]);
          expect(Array.from(s.frames.subarray(t * npix, (t + 1) * npix))).toEqual(Array.from(Float32Array.from(ref)));
          expect(s.probeCount[t]).toBe(masks[t].reduce((a, v) => a + v, 0));
        }
        expect(Array.from(s.included)).toEqual([1, 1]);
        expect(Array.from(s.anglesDeg)).toEqual([-1, 1]);
      }
    },
  );

  it('reads only the probe positions some mask needs, and each tilt once', async () => {
    const c = cube('sparse.raw', 'uint16', 3);
    const reads: Array<[number, number]> = [];
    const mask = new Uint8Array(NY * NX);
    mask[2 * NX + 3] = 1;
    mask[9 * NX + 10] = 1;
    const res = await extractSeries(
      { sources: [rawSource(c, { direct: false, onRead: (s, n) => reads.push([s, n]) })], anglesDeg: [0] },
      [obj(1, [mask]), obj(2, [mask])],
      { beamCentre: false },
    );
    const frames = reads.reduce((a, [, n]) => a + n, 0);
    // The gap between the two positions (~100 frames of 198 bytes) is under the 256 KiB that is read through rather
    // than skipped, so exactly one run from 2*NX+3 to 9*NX+10 inclusive is read — once, for both objects.
    expect(frames).toBe(9 * NX + 10 - (2 * NX + 3) + 1);
    expect(res.framesRead).toBe(frames);
    expect(res.series[1].frames).toEqual(res.series[0].frames);
  });
});

describe('extractSeries: several objects', () => {
  it('one pass for overlapping objects equals separate passes', async () => {
    const tilts = [cube('m-a.raw', 'uint16', 21), cube('m-b.raw', 'uint16', 22), cube('m-c.raw', 'uint16', 23)];
    const sources = tilts.map((c) => rawSource(c));
    const angles = [-2, 0, 2];
    const objs = [
      obj(1, [diskMask(NY, NX, 4, 4, 3), diskMask(NY, NX, 5, 4, 3), diskMask(NY, NX, 6, 4, 3)]),
      obj(2, [diskMask(NY, NX, 5, 7, 3), diskMask(NY, NX, 5, 8, 3), diskMask(NY, NX, 5, 9, 3)]), // overlaps object 1
      obj(3, [diskMask(NY, NX, 9, 11, 2), diskMask(NY, NX, 9, 11, 2), diskMask(NY, NX, 9, 11, 2)]),
    ];
    const opts = { background: { ringWidth: 2 }, saturationLevel: 190 } as const;
    const together = await extractSeries({ sources, anglesDeg: angles }, objs, opts);
    for (let k = 0; k < objs.length; k++) {
      const alone = await extractSeries({ sources, anglesDeg: angles }, [objs[k]], { ...opts, background: false });
      const one = together.series[k];
      expect(one.probeCount).toEqual(alone.series[0].probeCount);
      // Without background the separate pass must match the no-background sum of the joint pass:
      const jointNoBg = await extractSeries({ sources, anglesDeg: angles }, objs, { ...opts, background: false });
      expect(jointNoBg.series[k].frames).toEqual(alone.series[0].frames);
      expect(jointNoBg.series[k].beamCentre).toEqual(alone.series[0].beamCentre);
    }
    // Overlap: objects 1 and 2 share positions, object 3 shares none.
    expect(together.series[0].sharedSignalFraction[0]).toBeGreaterThan(0);
    expect(together.series[2].sharedSignalFraction[0]).toBe(0);
  });

  it('work split into units on a worker pool merges to the same result as one thread', async () => {
    const tilts = [cube('u-a.raw', 'int32', 31), cube('u-b.raw', 'int32', 32)];
    const sources = tilts.map((c) => rawSource(c));
    const objs = [obj(1, [diskMask(NY, NX, 5, 5, 4), diskMask(NY, NX, 6, 6, 4)]), obj(2, [diskMask(NY, NX, 2, 10, 2), diskMask(NY, NX, 3, 10, 2)])];
    const plain = await extractSeries({ sources, anglesDeg: [0, 1] }, objs, { background: { ringWidth: 1 } });
    const pool = new WorkerPool({ size: 3, workerPath: WORKER_SCRIPT });
    try {
      const split = await extractSeries({ sources, anglesDeg: [0, 1] }, objs, { background: { ringWidth: 1 }, blockBytes: 1000 }, { pool });
      expect(split.framesRead).toBe(plain.framesRead);
      for (let k = 0; k < 2; k++) {
        expect(split.series[k].frames).toEqual(plain.series[k].frames);
        expect(split.series[k].probeCount).toEqual(plain.series[k].probeCount);
        expect(split.series[k].background.pattern).toEqual(plain.series[k].background.pattern);
      }
    } finally {
      await pool.close();
    }
  });
});

describe('extractSeries: exclusion, background, saturation, dose, cancel', () => {
  it('skips excluded frames and never reads a tilt no object needs', async () => {
    const tilts = [cube('x-a.raw', 'uint16', 41), cube('x-b.raw', 'uint16', 42), cube('x-c.raw', 'uint16', 43)];
    const readsPerTilt = [0, 0, 0];
    const sources = tilts.map((c, t) => rawSource(c, { direct: false, onRead: () => readsPerTilt[t]++ }));
    const m = diskMask(NY, NX, 6, 6, 3);
    const objs = [obj(1, [m, m, m], ['tracked', 'excluded', 'edited']), obj(2, [m, new Uint8Array(NY * NX), m], ['tracked', 'empty', 'excluded'])];
    const res = await extractSeries({ sources, anglesDeg: [0, 1, 2] }, objs, { beamCentre: false });
    expect(readsPerTilt[1]).toBe(0);
    const npix = NQ[0] * NQ[1];
    expect(Array.from(res.series[0].probeCount)).toEqual([29, 0, 29]);
    expect(Array.from(res.series[0].included)).toEqual([1, 0, 1]);
    expect(res.series[0].frames.subarray(npix, 2 * npix).every((v) => v === 0)).toBe(true);
    expect(Array.from(res.series[1].included)).toEqual([1, 0, 0]);
    expect(res.warnings.some((w) => w.startsWith('p1: 1 of 3'))).toBe(true);
  });

  it('ring background on a constant film gives ~0 outside the crystal signal, even next to another crystal', async () => {
    // Film: the same pattern everywhere. Crystal A (object 1) adds a spot; crystal B right next to it adds a huge one.
    const film = (qy: number, qx: number): number => 50 + 3 * qy + qx;
    const a = diskMask(NY, NX, 6, 4, 2.2);
    const b = diskMask(NY, NX, 6, 9, 2.2);
    const c = writeRawCube(tmp.dir, 'film.raw', 'float32', [NY, NX], NQ, (ry, rx, qy, qx) => {
      const p = ry * NX + rx;
      let v = film(qy, qx);
      if (a[p] && qy === 2 && qx === 3) v += 100;
      if (b[p] && qy === 6 && qx === 6) v += 1e6;
      return v;
    });
    const res = await extractSeries({ sources: [rawSource(c)], anglesDeg: [0] }, [obj(1, [a]), obj(2, [b])], {
      background: { ringWidth: 2 },
      beamCentre: false,
    });
    const s = res.series[0];
    const n = s.probeCount[0];
    expect(s.background.ringProbeCount[0]).toBeGreaterThan(10);
    for (let qy = 0; qy < NQ[0]; qy++) {
      for (let qx = 0; qx < NQ[1]; qx++) {
        const want = qy === 2 && qx === 3 ? 100 * n : 0;
        expect(s.frames[qy * NQ[1] + qx]).toBeCloseTo(want, 2);
        expect(s.background.pattern![qy * NQ[1] + qx]).toBeCloseTo(film(qy, qx), 4);
      }
    }
  });

  it('saturated and bad pixels are replaced by their neighbours (or zeroed), only for the objects they touched', async () => {
    const m1 = diskMask(NY, NX, 3, 3, 2);
    const m2 = diskMask(NY, NX, 8, 10, 2);
    const c = writeRawCube(tmp.dir, 'sat.raw', 'uint16', [NY, NX], NQ, (ry, rx, qy, qx) => {
      if (ry === 3 && rx === 3 && qy === 4 && qx === 5) return 65535; // saturated once, inside object 1
      return 10 + qx;
    });
    const bad = new Uint8Array(NQ[0] * NQ[1]);
    bad[1 * NQ[1] + 8] = 1; // a hot pixel, excluded everywhere
    const src = [rawSource(c)];
    const res = await extractSeries({ sources: src, anglesDeg: [0] }, [obj(1, [m1]), obj(2, [m2])], {
      saturationLevel: 65535,
      badPixels: bad,
      beamCentre: false,
    });
    const [s1, s2] = res.series;
    const n1 = s1.probeCount[0];
    const at = (qy: number, qx: number): number => qy * NQ[1] + qx;
    // Neighbour mean of (4,5): columns 4,5,6 around it → mean of 10+4, 10+6 (×3 rows) and 10+5 (×2) = 15 per frame.
    expect(s1.frames[at(4, 5)]).toBeCloseTo(15 * n1, 3);
    expect(s1.frames[at(1, 8)]).toBeCloseTo(18 * n1, 3);
    expect(s1.excludedPixels[0]).toBe(2);
    expect(s2.frames[at(4, 5)]).toBe(15 * s2.probeCount[0]); // object 2 never saw the saturated frame
    expect(s2.excludedPixels[0]).toBe(1);
    const zeroed = await extractSeries({ sources: src, anglesDeg: [0] }, [obj(1, [m1])], {
      saturationLevel: 65535,
      badPixelMode: 'zero',
      beamCentre: false,
    });
    expect(zeroed.series[0].frames[at(4, 5)]).toBe(0);
    expect(zeroed.series[0].frames[at(4, 6)]).toBe(16 * n1);
  });

  it("normalises by dose and divides by the probe count for 'mean'", async () => {
    const c0 = writeRawCube(tmp.dir, 'd0.raw', 'uint16', [NY, NX], NQ, () => 10);
    const c1 = writeRawCube(tmp.dir, 'd1.raw', 'uint16', [NY, NX], NQ, () => 20);
    const m = diskMask(NY, NX, 6, 6, 3);
    const srcs = [rawSource(c0, { calibration: { dwellTimeS: 1e-3 } }), rawSource(c1, { calibration: { dwellTimeS: 2e-3 } })];
    const res = await extractSeries({ sources: srcs, anglesDeg: [0, 1] }, [obj(1, [m, m])], { normaliseDose: 'auto', statistic: 'mean', beamCentre: false });
    const s = res.series[0];
    const npix = NQ[0] * NQ[1];
    expect(Array.from(s.doseScale)).toEqual([1.5, 0.75]);
    expect(s.frames[0]).toBeCloseTo(15, 5);
    expect(s.frames[npix]).toBeCloseTo(15, 5);
    const given = await extractSeries({ sources: srcs, anglesDeg: [0, 1] }, [obj(1, [m, m])], { normaliseDose: [1, 1], beamCentre: false });
    expect(given.series[0].frames[npix]).toBe(20 * s.probeCount[1]);
  });

  it('cancels mid-pass with CancelledError (name AbortError) and stops reading', async () => {
    const tilts = [cube('c-a.raw', 'uint16', 51), cube('c-b.raw', 'uint16', 52), cube('c-c.raw', 'uint16', 53)];
    const ac = new AbortController();
    let reads = 0;
    const sources = tilts.map((c) =>
      rawSource(c, {
        direct: false,
        delayMs: 5,
        onRead: () => {
          if (++reads === 2) ac.abort();
        },
      }),
    );
    const full = new Uint8Array(NY * NX).fill(1);
    const p = extractSeries({ sources, anglesDeg: [0, 1, 2] }, [obj(1, [full, full, full])], { blockBytes: 2000 }, { signal: ac.signal });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    const after = reads;
    await new Promise((r) => setTimeout(r, 30));
    expect(reads).toBe(after);
    expect(reads).toBeLessThan(6);
  });

  it('reports progress up to the total bytes read', async () => {
    const c = cube('p.raw', 'uint16', 61);
    const seen: Array<[number, number]> = [];
    const m = diskMask(NY, NX, 6, 6, 4);
    await extractSeries({ sources: [rawSource(c)], anglesDeg: [0] }, [obj(1, [m])], { beamCentre: false }, { onProgress: (d, t) => seen.push([d, t]) });
    const last = seen[seen.length - 1];
    expect(last[0]).toBe(last[1]);
    expect(last[1]).toBeGreaterThan(0);
  });

  it('rejects inconsistent input with ParameterError / InputError', async () => {
    const c = cube('bad.raw', 'uint16', 71);
    const m = diskMask(NY, NX, 6, 6, 3);
    await expect(extractSeries({ sources: [rawSource(c)], anglesDeg: [0, 1] }, [obj(1, [m])])).rejects.toMatchObject({ name: 'ParameterError' });
    await expect(extractSeries({ sources: [rawSource(c)], anglesDeg: [0] }, [obj(1, [m, m])])).rejects.toMatchObject({ name: 'ParameterError' });
    await expect(extractSeries({ sources: [rawSource(c)], anglesDeg: [0] }, [obj(1, [m]), obj(1, [m])])).rejects.toMatchObject({ name: 'ParameterError' });
    const other = writeRawCube(tmp.dir, 'other.raw', 'uint16', [NY, NX], [5, 5], () => 1);
    await expect(extractSeries({ sources: [rawSource(c), rawSource(other)], anglesDeg: [0, 1] }, [obj(1, [m, m])])).rejects.toMatchObject({
      name: 'InputError',
    });
    const nan = writeRawCube(tmp.dir, 'nan.raw', 'float32', [NY, NX], NQ, (ry, rx) => (ry === 6 && rx === 6 ? NaN : 1));
    await expect(extractSeries({ sources: [rawSource(nan)], anglesDeg: [0] }, [obj(1, [m])])).rejects.toMatchObject({ name: 'InputError' });
  });
});

describe('extractSeries: beam centre', () => {
  it('finds the direct-beam disk centre to a fraction of a pixel, per tilt, and calls the refinement hook', async () => {
    const det: [number, number] = [48, 56];
    const centres: Array<[number, number]> = [
      [27.3, 21.6],
      [25.8, 24.2],
    ];
    const cubes = centres.map(([cx, cy], t) =>
      writeRawCube(tmp.dir, `bc${t}.raw`, 'float32', [4, 4], det, (_ry, _rx, qy, qx) => {
        // Disk of radius 6 with anti-aliased edge, on a background of 2, plus a weaker Bragg disk.
        const d = Math.hypot(qx - cx, qy - cy);
        const dB = Math.hypot(qx - cx - 15, qy - cy + 9);
        return 2 + 1000 * Math.min(1, Math.max(0, 6.5 - d)) + 300 * Math.min(1, Math.max(0, 3.5 - dB));
      }),
    );
    const hookCalls: Array<readonly [number, number]> = [];
    const res = await extractSeries(
      { sources: cubes.map((c) => rawSource(c)), anglesDeg: [0, 1] },
      [obj(1, [new Uint8Array(16).fill(1), new Uint8Array(16).fill(1)])],
      {
        refineBeamCentre: (pattern, shape, initial) => {
          expect(pattern.length).toBe(shape[0] * shape[1]);
          hookCalls.push(initial);
          return null;
        },
      },
    );
    const bc = res.series[0].beamCentre;
    for (let t = 0; t < 2; t++) {
      expect(Math.abs(bc[2 * t] - centres[t][0])).toBeLessThan(0.15);
      expect(Math.abs(bc[2 * t + 1] - centres[t][1])).toBeLessThan(0.15);
    }
    expect(hookCalls).toHaveLength(2);
  });
});
