import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ParameterError } from '../../../../src-shared/errors';

import { extractWasmAvailable, saturationThreshold, WasmExtractKernel, type WasmExtractDType } from '../../../kernels/wasm/extract';
import * as generated from '../../../kernels/wasm/extract-kernel.generated';
import { describeCommittedWasm } from '../../../../tests/helpers/wasm-artefact';
import { accumulateFramesInto, buildTargetMap, createAccumulators, resolveExtractKernel, type TargetAccumulators, type TargetMap } from '../../../kernels/extract';
import { runDirectUnit } from '../unit';
import { extractSeries } from '../service';
import type { ExtractionObject, ExtractOptions } from '../types';
import { diskMask, rawSource, rng, stackMasks, tempDir, writeRawCube } from './helpers';
import type { PixelDType } from '../../../../src-shared/pixels';

// The WebAssembly SIMD extraction kernel against the JS reference (accumulateFramesInto), accumulator by accumulator,
// bit for bit, on random data. 13×37 = 481 pixels: SIMD bodies (16 / 8 / 4 lanes) and scalar tails for every dtype.

const NQY = 13;
const NQX = 37;
const NPIX = NQY * NQX;

type Arr = Uint8Array | Uint16Array | Uint32Array | Float32Array;
const CASES: Array<[WasmExtractDType, new (n: number) => Arr, number]> = [
  ['uint8', Uint8Array, 256],
  ['uint16', Uint16Array, 65536],
  ['uint32', Uint32Array, 2 ** 32],
  ['float32', Float32Array, 0],
];

function randomFrames(C: new (n: number) => Arr, hi: number, n: number, seed: number, npix = NPIX): Arr {
  const r = rng(seed);
  const a = new C(n * npix);
  if (a instanceof Float32Array) {
    for (let i = 0; i < a.length; i++) a[i] = (r() - 0.2) * 3000 * (r() < 0.01 ? 1e6 : 1);
  } else {
    // Mostly small counts with a few at the very top of the range (saturation, and sums far beyond 2^32).
    for (let i = 0; i < a.length; i++) a[i] = r() < 0.02 ? hi - 1 - Math.floor(r() * 3) : Math.floor(r() * r() * hi);
  }
  return a;
}

/** Three objects (two overlapping) and rings on 63 probes: segments of 1–8 probes with equal targets. */
function targetMap(seed: number): TargetMap {
  const r = rng(seed);
  const n = 63;
  const a = new Uint8Array(n);
  const b = new Uint8Array(n);
  const c = new Uint8Array(n);
  for (let i = 0; i < n; ) {
    const len = 1 + Math.floor(r() * 8);
    const [va, vb, vc] = [r() < 0.5 ? 1 : 0, r() < 0.5 ? 1 : 0, r() < 0.3 ? 1 : 0];
    for (let j = i; j < Math.min(n, i + len); j++) [a[j], b[j], c[j]] = [va, vb, vc];
    i += len;
  }
  a.fill(0, 0, 3);
  b.fill(0, 0, 3);
  c.fill(0, 0, 3);
  a.fill(1, 20, 27);
  b.fill(1, 20, 27);
  c.fill(0, 20, 27);
  const ring = (x: Uint8Array): Uint8Array => x.map((v, i) => (!v && i > 1 && i % 7 !== 0 ? 1 : 0));
  const map = buildTargetMap([a, b, c, ring(a), null, ring(c)], 3, n);
  // The cases the kernel treats apart must all occur: unclaimed probes, shared probes, runs of ≥ 4 equal target sets.
  const key = (p: number): string => Array.from(map.ids.subarray(map.offsets[p], map.offsets[p + 1])).join(',');
  let longest = 1;
  for (let p = 1, run = 1; p < n; p++) longest = Math.max(longest, (run = key(p) === key(p - 1) ? run + 1 : 1));
  expect(longest).toBeGreaterThanOrEqual(4);
  expect(Array.from({ length: n }, (_, p) => key(p)).some((k) => k === '')).toBe(true);
  expect(Array.from({ length: n }, (_, p) => key(p)).some((k) => k.startsWith('0,1'))).toBe(true);
  return map;
}

function swapped(a: Arr): Uint8Array {
  const bytes = new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += w) bytes.subarray(i, i + w).reverse();
  return bytes;
}

const bits = (a: Float64Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function expectBitEqual(js: TargetAccumulators, wa: TargetAccumulators): void {
  expect(bits(wa.sums)).toEqual(bits(js.sums));
  expect(bits(wa.counts)).toEqual(bits(js.counts));
  expect(bits(wa.shared)).toEqual(bits(js.shared));
  expect(wa.saturated).toEqual(js.saturated);
}

/** Runs `frames` (probes start … start+count-1) through the wasm kernel in blocks of `block` frames. */
function runWasm(map: TargetMap, dtype: WasmExtractDType, frames: Arr, start: number, count: number, block: number, level: number | undefined, bigEndian: boolean): { acc: TargetAccumulators; used: number } {
  const acc = createAccumulators(map.nTargets, NPIX, level !== undefined);
  const fb = NPIX * frames.BYTES_PER_ELEMENT;
  const k = new WasmExtractKernel(map, NPIX, dtype, { saturationLevel: level, areaBytes: block * fb, areas: 2 });
  const bytes = bigEndian ? swapped(frames) : new Uint8Array(frames.buffer, frames.byteOffset, frames.byteLength);
  let used = 0;
  for (let s = 0, i = 0; s < count; s += block, i ^= 1) {
    const n = Math.min(block, count - s);
    k.area(i).set(bytes.subarray(s * fb, (s + n) * fb));
    used += k.run(i, start + s, n, bigEndian);
  }
  k.flushInto(acc);
  return { acc, used };
}

describe('wasm extraction kernel', () => {
  it('loads (Node 20 has WebAssembly SIMD) and is picked by auto for its dtypes only', () => {
    expect(extractWasmAvailable()).toBe(true);
    for (const [d] of CASES) expect(resolveExtractKernel('auto', d)).toBe('wasm');
    for (const d of ['int8', 'int16', 'int32', 'float64'] as PixelDType[]) {
      expect(resolveExtractKernel(undefined, d)).toBe('js');
      expect(() => resolveExtractKernel('wasm', d)).toThrow(ParameterError);
    }
    expect(resolveExtractKernel('js', 'uint16')).toBe('js');
  });

  for (const [dtype, C, hi] of CASES) {
    const levels: Array<number | undefined> =
      dtype === 'float32' ? [undefined, 1500.3, 2999.9999, -1e-45, 0, 3.5e38] : [undefined, hi - 2, hi / 3 + 0.5, 0, -4, hi, 1e300];
    for (const bigEndian of dtype === 'uint8' ? [false] : [false, true]) {
      it(`${dtype}${bigEndian ? ', big-endian' : ''}: sums, counts, shared and saturation flags equal the JS kernel bit for bit`, () => {
        for (const [seed, level] of levels.entries()) {
          const map = targetMap(seed + 1);
          const count = 57;
          const start = 3;
          const frames = randomFrames(C, hi, count, 100 + seed);
          const js = createAccumulators(map.nTargets, NPIX, level !== undefined);
          const usedJs = accumulateFramesInto({ frames, start, count, npix: NPIX, map, saturationLevel: level }, js);
          // Blocks of 5 frames: runs of equal targets cut at block edges; and one block of everything.
          for (const block of [5, count]) {
            const wa = runWasm(map, dtype, frames, start, count, block, level, bigEndian);
            expect(wa.used).toBe(usedJs);
            expectBitEqual(js, wa.acc);
          }
          if (level !== undefined && level <= 0) expect(js.saturated!.some((v) => v === 1)).toBe(true);
        }
      });
    }
  }

  it('float32 NaN and ±Inf propagate into the sums and saturate exactly as in the JS kernel', () => {
    const map = targetMap(9);
    const frames = randomFrames(Float32Array, 0, 20, 5) as Float32Array;
    frames[3] = NaN;
    frames[NPIX * 4 + 7] = Infinity;
    frames[NPIX * 9 + 480] = -Infinity;
    frames[NPIX * 11 + 100] = -0;
    for (const level of [undefined, 100]) {
      const js = createAccumulators(map.nTargets, NPIX, level !== undefined);
      accumulateFramesInto({ frames, start: 0, count: 20, npix: NPIX, map, saturationLevel: level }, js);
      expectBitEqual(js, runWasm(map, 'float32', frames, 0, 20, 20, level, false).acc);
    }
  });

  it('saturation thresholds: the same answer as the float64 compare, in the pixel type', () => {
    expect(saturationThreshold('uint16', 65535)).toBe(65535);
    expect(saturationThreshold('uint16', 65535.5)).toBeNull();
    expect(saturationThreshold('uint8', 3.2)).toBe(4);
    expect(saturationThreshold('uint8', -7)).toBe(0);
    const f = (x: number): number => new Float32Array(new Uint32Array([saturationThreshold('float32', x)!]).buffer)[0];
    expect(f(1.5)).toBe(1.5);
    // Every float32 near x: (v ≥ x in float64) === (v ≥ threshold in float32).
    const u = new Uint32Array(1);
    const v = new Float32Array(u.buffer);
    for (const x of [0.1, -0.1, 1 / 3, 12345.678, 65535.00001, -2.5e-40]) {
      v[0] = x;
      const mid = u[0];
      for (let d = -3; d <= 3; d++) {
        u[0] = mid + d;
        expect(v[0] >= x).toBe(v[0] >= f(x));
      }
    }
    expect(f(1e-50)).toBeGreaterThan(0);
    expect(f(3.5e38)).toBe(Infinity);
    expect(f(-1e-50)).toBe(-0);
  });

  it('flushes uint16 sums to float64 before their uint32 lanes could overflow', () => {
    const npix = 15;
    const n = 70_000; // 70 000 · 65 535 > 2^32
    const frames = new Uint16Array(n * npix).fill(65535);
    frames[5] = 1;
    const map = buildTargetMap([new Uint8Array(n).fill(1)], 1, n);
    const acc = createAccumulators(1, npix, false);
    const k = new WasmExtractKernel(map, npix, 'uint16', { areaBytes: 8192 * npix * 2 });
    let flushes = 0;
    for (let s = 0; s < n; s += 8192) {
      const c = Math.min(8192, n - s);
      if (k.needsFlushBefore(c)) {
        k.flushInto(acc);
        flushes++;
      }
      k.area(0).set(new Uint8Array(frames.buffer, s * npix * 2, c * npix * 2));
      k.run(0, s, c, false);
    }
    k.flushInto(acc);
    expect(flushes).toBe(1);
    expect(acc.sums[0]).toBe(n * 65535);
    expect(acc.sums[5]).toBe((n - 1) * 65535 + 1);
    expect(acc.counts[0]).toBe(n);
    expect(() => new WasmExtractKernel(map, npix, 'uint16', { areaBytes: 100 * npix * 2 }).run(0, n - 5, 10, false)).toThrow(RangeError);
  });
});

// ── Through the readers: files (direct layout, both byte orders) and readFrames, wasm against js.

const tmp = tempDir('extract-wasm');
afterAll(() => tmp.cleanup());

describe('extraction with the wasm kernel', () => {
  const NY = 11;
  const NX = 13;
  const NQ: [number, number] = [NQY, NQX];

  it.each(['uint8', 'uint16', 'uint32', 'float32'] as WasmExtractDType[])(
    '%s: extractSeries (rings, saturation, overlap; direct and readFrames) equals the JS kernel bit for bit',
    async (dtype) => {
      const r = rng(dtype.length * 7);
      const top = dtype === 'uint8' ? 255 : dtype === 'uint16' ? 65535 : dtype === 'uint32' ? 4294967295 : 1e6;
      const cubes = [0, 1].map((t) =>
        writeRawCube(tmp.dir, `${dtype}-${t}.raw`, dtype, [NY, NX], NQ, () => (r() < 0.01 ? top : Math.floor(r() * 200) + (dtype === 'float32' ? 0.25 : 0))),
      );
      const objects: ExtractionObject[] = [
        { id: 1, name: 'a', masks: stackMasks([diskMask(NY, NX, 5, 4, 3), diskMask(NY, NX, 5, 5, 3)]), frameState: ['tracked', 'tracked'] },
        { id: 2, name: 'b', masks: stackMasks([diskMask(NY, NX, 5, 8, 3), diskMask(NY, NX, 6, 8, 2)]), frameState: ['tracked', 'tracked'] },
      ];
      const base: ExtractOptions = { background: { ringWidth: 2 }, saturationLevel: top, beamCentre: false, blockBytes: 7 * NQY * NQX * 4 };
      for (const direct of [true, false]) {
        const sources = cubes.map((c) => rawSource(c, { direct }));
        const js = await extractSeries({ sources, anglesDeg: [0, 1] }, objects, { ...base, kernel: 'js' });
        const wa = await extractSeries({ sources, anglesDeg: [0, 1] }, objects, { ...base, kernel: 'wasm' });
        expect(wa.framesRead).toBe(js.framesRead);
        for (let k = 0; k < objects.length; k++) {
          const a = js.series[k];
          const b = wa.series[k];
          expect(new Uint8Array(b.frames.buffer)).toEqual(new Uint8Array(a.frames.buffer));
          expect(new Uint8Array(b.background.pattern!.buffer)).toEqual(new Uint8Array(a.background.pattern!.buffer));
          expect(b.probeCount).toEqual(a.probeCount);
          expect(b.excludedPixels).toEqual(a.excludedPixels);
          expect(Array.from(b.sharedSignalFraction)).toEqual(Array.from(a.sharedSignalFraction));
        }
        expect(js.series.some((s) => s.excludedPixels.some((v) => v > 0))).toBe(true);
      }
    },
  );

  it('big-endian files: swapped in registers, the same sums as the little-endian file', async () => {
    for (const dtype of ['uint16', 'uint32', 'float32'] as WasmExtractDType[]) {
      const r = rng(77);
      const le = writeRawCube(tmp.dir, `le-${dtype}.raw`, dtype, [NY, NX], NQ, () => Math.floor(r() * 60000) + (dtype === 'float32' ? 0.5 : 0), 0);
      const bePath = join(tmp.dir, `be-${dtype}.raw`);
      writeFileSync(bePath, swapped(le.data as Arr));
      const map = buildTargetMap([diskMask(NY, NX, 5, 6, 4)], 1, NY * NX);
      const unit = { runs: Int32Array.from([0, NY * NX]), map, npix: NPIX, saturationLevel: 59000, blockFrames: 6, dtype };
      const a = await runDirectUnit({ ...unit, path: le.path, direct: { kind: 'contiguous', offset: 0, frameStrideBytes: le.data.byteLength / (NY * NX), littleEndian: true }, kernel: 'js' });
      const b = await runDirectUnit({ ...unit, path: bePath, direct: { kind: 'contiguous', offset: 0, frameStrideBytes: le.data.byteLength / (NY * NX), littleEndian: false }, kernel: 'wasm' });
      const c = await runDirectUnit({ ...unit, path: bePath, direct: { kind: 'contiguous', offset: 0, frameStrideBytes: le.data.byteLength / (NY * NX), littleEndian: false }, kernel: 'js' });
      expectBitEqual(a.acc, b.acc);
      expectBitEqual(a.acc, c.acc);
      expect(b.framesRead).toBe(NY * NX);
      // Every read mode (io/read-mode.ts) gives the same sums; a truncated file names the byte where it ends.
      for (const reads of ['sync', 'async', 'auto'] as const) {
        const d = await runDirectUnit({ ...unit, path: bePath, direct: { kind: 'contiguous', offset: 0, frameStrideBytes: le.data.byteLength / (NY * NX), littleEndian: false }, kernel: 'wasm', reads });
        expectBitEqual(a.acc, d.acc);
        const cut = join(tmp.dir, `${dtype}-cut-${reads}.raw`);
        writeFileSync(cut, swapped(le.data as Arr).subarray(0, 10 * (le.data.byteLength / (NY * NX))));
        await expect(runDirectUnit({ ...unit, path: cut, direct: { kind: 'contiguous', offset: 0, frameStrideBytes: le.data.byteLength / (NY * NX), littleEndian: false }, kernel: 'wasm', reads }))
          .rejects.toThrow(/cut-.*\.raw: file ends at byte/);
      }
    }
  });

  it("kernel 'wasm' for a dtype it does not handle is a ParameterError", async () => {
    const c = writeRawCube(tmp.dir, 'i16.raw', 'int16', [NY, NX], NQ, () => 1);
    const o: ExtractionObject = { id: 1, name: 'a', masks: diskMask(NY, NX, 5, 5, 3), frameState: ['tracked'] };
    await expect(extractSeries({ sources: [rawSource(c)], anglesDeg: [0] }, [o], { kernel: 'wasm', beamCentre: false })).rejects.toThrow(ParameterError);
    const ok = await extractSeries({ sources: [rawSource(c)], anglesDeg: [0] }, [o], { beamCentre: false });
    expect(ok.series[0].probeCount[0]).toBeGreaterThan(0);
  });
});

describeCommittedWasm('src-main/kernels/wasm/extract-kernel.ts', generated);
