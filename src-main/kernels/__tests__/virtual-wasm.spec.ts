import { describe, expect, it } from 'vitest';
import { ParameterError } from '../../../src-shared/errors';
import { compileDetectors, frameStatsNeeded, type CompiledDetectors, type DetectorSpec } from '../virtual-detectors';
import { WasmFrameKernel, wasmAvailable, type WasmDType } from '../wasm';
import type { PixelArray } from '../../../src-shared/pixels';
import * as generated from '../wasm/virtual-kernel.generated';
import { describeCommittedWasm } from '../../../tests/helpers/wasm-artefact';
import { rng } from '../../../tests/helpers/rng';
import { accumulateFrames, createAccumulator, resolveKernel, writeWasmOutputs, type VirtualAccumulator } from '../virtual-accumulate';

// The WebAssembly SIMD kernel against the JS reference kernel, output by output, on random data.
// Shapes: 13×37 has SIMD bodies (8 / 16 / 4 lanes) and scalar row tails for every dtype; NF odd exercises the
// two-frame uint16 pass and its single-frame tail.
const NQY = 13;
const NQX = 37;
const NPIX = NQY * NQX;
const NF = 9;
const BEAM: [number, number] = [17.3, 6.2];

type Arr = Uint8Array | Uint16Array | Uint32Array | Float32Array;
const CASES: Array<[WasmDType, new (n: number) => Arr, number, number]> = [
  ['uint8', Uint8Array, 0, 256],
  ['uint16', Uint16Array, 0, 65536], // full range: squares and sums far beyond float32, exact in both kernels
  ['uint32', Uint32Array, 0, 2 ** 32],
  ['float32', Float32Array, -50, 3000],
];

function frames(C: new (n: number) => Arr, lo: number, hi: number, n: number, seed: number): Arr {
  const r = rng(seed);
  const a = new C(n * NPIX);
  const int = !(a instanceof Float32Array);
  for (let i = 0; i < a.length; i++) {
    const v = lo + r() * (hi - lo);
    a[i] = int ? Math.floor(v) : v;
  }
  return a;
}

function specs(): DetectorSpec[] {
  return [
    { kind: 'disk', radius: 4.3 },
    { kind: 'disk', radius: 3.1, cx: 20.4, cy: 7.7, name: 'bf2' },
    { kind: 'annulus', rIn: 2.5, rOut: 9.6 },
    { kind: 'com' },
    { kind: 'variance' },
    { kind: 'sum' },
    { kind: 'mask', mask: new Uint8Array(NPIX).map((_, p) => ((p * 7919) % 5 === 0 ? 1 : 0)) },
    { kind: 'mask', mask: new Float32Array(NPIX).map((_, p) => ((p * 31) % 13) / 13 - 0.2) },
  ];
}

/** Compares two accumulators: exact where the JS kernel is exact (integer sums), else within a float32 ulp or so. */
function expectSame(c: CompiledDetectors, dtype: WasmDType, edge: string, js: VirtualAccumulator, wa: VirtualAccumulator, sp: DetectorSpec[]): void {
  const integer = dtype !== 'float32';
  c.outputs.forEach((o, k) => {
    const spec = sp[o.detector];
    const exact = integer && (
      spec.kind === 'sum' || spec.kind === 'com' ||
      (spec.kind === 'variance' && dtype !== 'uint32') ||
      (spec.kind === 'mask' && spec.mask instanceof Uint8Array) ||
      (edge === 'binary' && spec.kind === 'disk'));
    for (let f = 0; f < js.outputs[k].length; f++) {
      const want = js.outputs[k][f];
      const got = wa.outputs[k][f];
      if (exact) expect(got, `${o.name}[${f}]`).toBe(want);
      else expect(Math.abs(got - want), `${o.name}[${f}]: ${got} vs ${want}`).toBeLessThanOrEqual(3e-7 * Math.max(1, Math.abs(want)));
    }
  });
  if (integer) expect(wa.patternSum).toEqual(js.patternSum);
  else js.patternSum!.forEach((v, p) => expect(Math.abs(wa.patternSum![p] - v)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v))));
  expect(wa.patternMax).toEqual(js.patternMax);
  expect(wa.frames).toBe(js.frames);
  expect(wa.firstNonFinite).toBe(js.firstNonFinite);
}

/** `src` as raw bytes in big-endian order, `header` bytes before each frame (filled with 0xA5). */
function bigEndianWithHeaders(src: Arr, header: number): { bytes: Uint8Array; stride: number } {
  const bpe = src.BYTES_PER_ELEMENT;
  const frameBytes = NPIX * bpe;
  const stride = frameBytes + header;
  const out = new Uint8Array(NF * stride).fill(0xa5);
  const le = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  for (let f = 0; f < NF; f++) {
    for (let p = 0; p < NPIX; p++) {
      for (let b = 0; b < bpe; b++) out[f * stride + header + p * bpe + b] = le[(f * NPIX + p) * bpe + (bpe - 1 - b)];
    }
  }
  return { bytes: out, stride };
}

/** The same frames through the JS reference kernel and the wasm kernel. */
function bothKernels(c: ReturnType<typeof compileDetectors>, data: PixelArray, n: number): { js: VirtualAccumulator; wa: VirtualAccumulator } {
  const js = createAccumulator(c, n);
  const wa = createAccumulator(c, n);
  accumulateFrames(c, js, { data, count: n, position: 0 }, { kernel: 'js' });
  accumulateFrames(c, wa, { data, count: n, position: 0 }, { kernel: 'wasm' });
  return { js, wa };
}

describe('wasm kernel', () => {
  it('loads (Node 20 has WebAssembly SIMD) and is picked by auto for its dtypes only', () => {
    expect(wasmAvailable()).toBe(true);
    expect(resolveKernel('auto', 'uint16')).toBe('wasm');
    expect(resolveKernel('auto', 'int16')).toBe('js');
    expect(resolveKernel('js', 'uint16')).toBe('js');
    expect(() => resolveKernel('wasm', 'float64')).toThrow(ParameterError);
  });

  for (const [dtype, C, lo, hi] of CASES) {
    for (const edge of ['fractional', 'binary'] as const) {
      it(`${dtype}, ${edge} edges: every output and both patterns equal the JS reference`, () => {
        const sp = specs();
        const data = frames(C, lo, hi, NF, 101 + dtype.length);
        const copy = data.slice();
        const c = compileDetectors(sp, { detectorShape: [NQY, NQX], beamCentre: BEAM, edge });
        const { js, wa } = bothKernels(c, data, NF);
        expect(data).toEqual(copy);
        expectSame(c, dtype, edge, js, wa, sp);
      });
    }

    it(`${dtype}: big-endian frames with headers (aligned and odd), read in place, equal the JS kernel on native data`, () => {
      const sp = specs();
      const data = frames(C, lo, hi, NF, 7 + dtype.length);
      const c = compileDetectors(sp, { detectorShape: [NQY, NQX], beamCentre: BEAM });
      const js = createAccumulator(c, NF);
      accumulateFrames(c, js, { data, count: NF, position: 0 }, { kernel: 'js' });
      for (const header of [384, 3]) {
        const { bytes, stride } = bigEndianWithHeaders(data, header);
        const k = new WasmFrameKernel(c, dtype, { mean: true, max: true, areaBytes: bytes.length, areas: 2 });
        const wa = createAccumulator(c, NF);
        // Two runs (4 + 5 frames) in area 1, as the worker does with its double buffer.
        k.area(1).set(bytes);
        writeWasmOutputs(c, wa, k.run(1, header, 4, stride, dtype !== 'uint8'), 4, 0);
        writeWasmOutputs(c, wa, k.run(1, header + 4 * stride, NF - 4, stride, dtype !== 'uint8'), NF - 4, 4);
        k.flushPatterns(wa.patternSum, wa.patternMax);
        wa.frames = NF;
        expect(k.area(1).subarray(0, bytes.length)).toEqual(bytes); // the frames are never written
        expectSame(c, dtype, 'fractional', js, wa, sp);
      }
    });
  }

  it('a released kernel refuses to run, and the kernels made after it on its instance (other tables, types, sizes) equal the JS reference', () => {
    const first = compileDetectors([{ kind: 'disk', radius: 2 }], { detectorShape: [NQY, NQX], beamCentre: BEAM });
    const k0 = new WasmFrameKernel(first, 'uint16', { mean: true, max: true, areaBytes: 3 * NPIX * 2 });
    k0.area(0).fill(0xff); // leftovers a reused instance must not leak into the next kernel's patterns or sums
    k0.run(0, 0, 3, NPIX * 2, false);
    k0.release();
    expect(() => k0.run(0, 0, 1, NPIX * 2, false)).toThrow(/after release/);
    for (const [dtype, C, lo, hi] of CASES) {
      const sp = specs();
      const data = frames(C, lo, hi, NF, 55 + dtype.length);
      const c = compileDetectors(sp, { detectorShape: [NQY, NQX], beamCentre: [BEAM[0] + 1.7, BEAM[1] - 0.4] });
      const { js, wa } = bothKernels(c, data, NF);
      expectSame(c, dtype, 'fractional', js, wa, sp);
      const k = new WasmFrameKernel(c, dtype, { mean: true, max: true, areaBytes: NF * NPIX * data.BYTES_PER_ELEMENT });
      k.area(0).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      const direct = createAccumulator(c, NF);
      writeWasmOutputs(c, direct, k.run(0, 0, NF, NPIX * data.BYTES_PER_ELEMENT, false), NF, 0);
      k.flushPatterns(direct.patternSum, direct.patternMax);
      direct.frames = NF;
      k.release();
      expectSame(c, dtype, 'fractional', js, direct, sp);
    }
  });

  it('patterns off: no pattern work, outputs unchanged', () => {
    const sp = specs();
    const data = frames(Uint16Array, 0, 4000, NF, 3);
    const c = compileDetectors(sp, { detectorShape: [NQY, NQX], beamCentre: BEAM });
    const a = createAccumulator(c, NF);
    const b = createAccumulator(c, NF, { mean: false, max: false });
    accumulateFrames(c, a, { data, count: NF, position: 0 }, { kernel: 'wasm' });
    accumulateFrames(c, b, { data, count: NF, position: 0 }, { kernel: 'wasm' });
    expect(b.outputs).toEqual(a.outputs);
    expect(b.patternSum).toBeNull();
    expect(b.patternMax).toBeNull();
  });

  it('uint16 fast path (rows ≤ 11585) and its exact fallback (brighter rows): wide rows, many runs, equal the JS kernel', () => {
    // 301 columns: two full 128-pixel blocks, a 40-pixel block and a 5-pixel scalar tail per row. Most rows stay
    // in the fast path's bound (values up to exactly 11585); some rows hold one pixel just above it or beyond 2^15
    // (a signed i16 lane), which must send that row (and only that row's sums) through the exact path.
    const ny = 9;
    const nx = 301;
    const npix = ny * nx;
    const nf = 7;
    const r = rng(4242);
    const data = new Uint16Array(nf * npix);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * 11586);
    for (let f = 0; f < nf; f++) {
      data[f * npix + 3 * nx + 17] = 11585; // on the bound: fast
      if (f % 2 === 0) data[f * npix + 4 * nx + 250] = 11586; // just above: exact
      if (f % 3 === 0) data[f * npix + 6 * nx + 7] = 65535; // negative as i16: exact
      data[f * npix + 8 * nx + 298] = 40000; // in the scalar tail: that row stays fast
    }
    const sp: DetectorSpec[] = [
      { kind: 'disk', radius: 3.7, cx: 150.2, cy: 4.1 },
      { kind: 'annulus', rIn: 10.5, rOut: 140.3, cx: 150.2, cy: 4.1 },
      { kind: 'disk', radius: 6, cx: 297.5, cy: 8 }, // runs ending at the last pixel of the frame
      { kind: 'com' },
      { kind: 'variance' },
      { kind: 'sum' },
    ];
    for (const edge of ['binary', 'fractional'] as const) {
      const c = compileDetectors(sp, { detectorShape: [ny, nx], beamCentre: [150, 4], edge });
      const js = createAccumulator(c, nf);
      const wa = createAccumulator(c, nf);
      accumulateFrames(c, js, { data, count: nf, position: 0 }, { kernel: 'js' });
      accumulateFrames(c, wa, { data, count: nf, position: 0 }, { kernel: 'wasm' });
      c.outputs.forEach((o, k) => {
        for (let f = 0; f < nf; f++) {
          const want = js.outputs[k][f];
          const got = wa.outputs[k][f];
          if (edge === 'binary' || sp[o.detector].kind !== 'disk' && sp[o.detector].kind !== 'annulus') expect(got, `${edge} ${o.name}[${f}]`).toBe(want);
          else expect(Math.abs(got - want), `${edge} ${o.name}[${f}]`).toBeLessThanOrEqual(1e-9 * Math.abs(want));
        }
      });
      expect(wa.patternSum).toEqual(js.patternSum);
      expect(wa.patternMax).toEqual(js.patternMax);
    }
    // Big-endian with MIB-sized headers, in place: the same numbers.
    const c = compileDetectors(sp, { detectorShape: [ny, nx], beamCentre: [150, 4], edge: 'binary' });
    const js = createAccumulator(c, nf);
    accumulateFrames(c, js, { data, count: nf, position: 0 }, { kernel: 'js' });
    const stride = npix * 2 + 384;
    const bytes = new Uint8Array(nf * stride);
    const dv = new DataView(bytes.buffer);
    for (let f = 0; f < nf; f++) for (let p = 0; p < npix; p++) dv.setUint16(f * stride + 384 + 2 * p, data[f * npix + p], false);
    const k = new WasmFrameKernel(c, 'uint16', { mean: true, max: true, areaBytes: bytes.length });
    k.area(0).set(bytes);
    const wa = createAccumulator(c, nf);
    writeWasmOutputs(c, wa, k.run(0, 384, nf, stride, true), nf, 0);
    k.flushPatterns(wa.patternSum, wa.patternMax);
    expect(wa.outputs).toEqual(js.outputs);
    expect(wa.patternSum).toEqual(js.patternSum);
  });

});

describe('wasm kernel: pattern overflow and non-finite values', () => {
  it('flushes uint16 pattern sums before their uint32 lanes could overflow', () => {
    const c = compileDetectors([{ kind: 'sum' }], { detectorShape: [NQY, NQX] });
    const k = new WasmFrameKernel(c, 'uint16', { mean: true, max: true, areaBytes: NPIX * 2 });
    expect(k.needsFlushBefore(65_537)).toBe(false);
    expect(k.needsFlushBefore(65_538)).toBe(true);
    k.area(0).fill(0xff);
    const sum = new Float64Array(NPIX);
    const max = new Float64Array(NPIX).fill(-Infinity);
    for (let i = 0; i < 3; i++) k.run(0, 0, 1, NPIX * 2, false);
    expect(k.pending).toBe(3);
    k.flushPatterns(sum, max);
    expect(k.pending).toBe(0);
    expect(sum[5]).toBe(3 * 65535);
    expect(max[5]).toBe(65535);
  });

  it('float32 NaN / Inf: propagated into that frame, flagged, max ignores NaN (as the JS kernel)', () => {
    const data = frames(Float32Array, 0, 100, NF, 5) as Float32Array;
    data[5 * NPIX + 17] = NaN;
    data[2 * NPIX + 40] = Infinity;
    const c = compileDetectors([{ kind: 'sum' }, { kind: 'disk', radius: 3 }, { kind: 'variance' }], { detectorShape: [NQY, NQX], beamCentre: BEAM });
    const { js, wa } = bothKernels(c, data, NF);
    expect(wa.firstNonFinite).toBe(2);
    expect(wa.outputs[0][5]).toBeNaN();
    expect(wa.outputs[0][2]).toBe(Infinity);
    expect(wa.patternMax).toEqual(js.patternMax);
    expect(wa.patternSum![17]).toBeNaN();
  });
});

describeCommittedWasm('src-main/kernels/wasm/virtual-kernel.ts', generated);

describe('wasm kernel without per-frame stats', () => {
  it('disks, annuli and masks alone with no pattern (integer frames): only their pixels are read, the same values', () => {
    // No sum, variance or COM and no pattern: frameStatsNeeded is false and the kernel skips its dense pass.
    const sp = specs().filter((d) => d.kind === 'disk' || d.kind === 'annulus' || d.kind === 'mask');
    for (const [dtype, C, lo, hi] of CASES) {
      const data = frames(C, lo, hi, NF, 77 + dtype.length);
      const c = compileDetectors(sp, { detectorShape: [NQY, NQX], beamCentre: BEAM });
      expect(frameStatsNeeded(c, dtype)).toBe(dtype === 'float32');
      const js = createAccumulator(c, NF, { mean: false, max: false });
      accumulateFrames(c, js, { data, count: NF, position: 0 }, { kernel: 'js' });
      // Big-endian with headers, as MIB frames are read, and native, through both the worker's and the block path.
      const { bytes, stride } = bigEndianWithHeaders(data, 3);
      const k = new WasmFrameKernel(c, dtype, { mean: false, max: false, stats: false, areaBytes: bytes.length });
      k.area(0).set(bytes);
      const stats = k.run(0, 3, NF, stride, dtype !== 'uint8');
      for (let f = 0; f < NF; f++) expect(Array.from(stats.subarray(f * k.statsPerFrame, f * k.statsPerFrame + 5))).toEqual([0, 0, 0, 0, 0]);
      const wa = createAccumulator(c, NF, { mean: false, max: false });
      writeWasmOutputs(c, wa, stats, NF, 0);
      k.release();
      const block = createAccumulator(c, NF, { mean: false, max: false });
      accumulateFrames(c, block, { data, count: NF, position: 0 }, { kernel: 'wasm' });
      for (const got of [wa, block]) {
        c.outputs.forEach((o, out) => {
          const d = sp[o.detector];
          const exact = dtype !== 'float32' && d.kind === 'mask' && d.mask instanceof Uint8Array;
          for (let f = 0; f < NF; f++) {
            const want = js.outputs[out][f];
            if (exact) expect(got.outputs[out][f], `${dtype} ${o.name}[${f}]`).toBe(want);
            else expect(Math.abs(got.outputs[out][f] - want), `${dtype} ${o.name}[${f}]`).toBeLessThanOrEqual(3e-7 * Math.max(1, Math.abs(want)));
          }
        });
      }
    }
  });
});
