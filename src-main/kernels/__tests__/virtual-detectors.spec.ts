import { describe, expect, it } from 'vitest';
import { CancelledError, ParameterError } from '../../../src-shared/errors';

import { compileDetectors, detectorWeights, type DetectorSpec } from '../virtual-detectors';
import { rng } from '../../../tests/helpers/rng';
import type { PixelArray } from '../../../src-shared/pixels';
import { accumulateFrames, createAccumulator, maxPattern, meanPattern, mergePatterns } from '../virtual-accumulate';

// Small odd shapes so row ends, the 4-frame passes and the 1-frame tail are all exercised.
const NQY = 9;
const NQX = 11;
const NPIX = NQY * NQX;
const NF = 7;

type Ctor = { new (n: number): PixelArray };
const DTYPES: Array<[string, Ctor, number, number]> = [
  ['uint8', Uint8Array, 0, 255],
  ['int8', Int8Array, -128, 127],
  ['uint16', Uint16Array, 0, 65535],
  ['int16', Int16Array, -32768, 32767],
  ['uint32', Uint32Array, 0, 4_000_000],
  ['int32', Int32Array, -2_000_000, 2_000_000],
  ['float32', Float32Array, -50, 1000],
  ['float64', Float64Array, -50, 1000],
];

function randomFrames(C: Ctor, lo: number, hi: number, n: number, seed: number): PixelArray {
  const r = rng(seed);
  const a = new C(n * NPIX);
  const isInt = !(a instanceof Float32Array || a instanceof Float64Array);
  for (let i = 0; i < a.length; i++) {
    const v = lo + r() * (hi - lo);
    a[i] = isInt ? Math.floor(v) : v;
  }
  return a;
}

const SPECS: DetectorSpec[] = [
  { kind: 'disk', radius: 2.7 },
  { kind: 'disk', radius: 2.2, cx: 4.3, cy: 3.6, name: 'bfBinary' },
  { kind: 'annulus', rIn: 1.5, rOut: 4.1 },
  { kind: 'com' },
  { kind: 'variance' },
  { kind: 'sum' },
];
const BEAM: [number, number] = [5.2, 4.4];

/** Straightforward per-frame reference: the textbook formula for every output, in float64. */
function reference(frames: ArrayLike<number>, n: number, specs: DetectorSpec[], edge: 'fractional' | 'binary') {
  const opts = { detectorShape: [NQY, NQX] as [number, number], beamCentre: BEAM, edge };
  const out: Record<string, number[]> = {};
  const push = (k: string, v: number) => (out[k] ??= []).push(v);
  for (let f = 0; f < n; f++) {
    const px = (p: number) => frames[f * NPIX + p];
    let total = 0;
    for (let p = 0; p < NPIX; p++) total += px(p);
    specs.forEach((s, i) => {
      const key = `${i}`;
      if (s.kind === 'disk' || s.kind === 'annulus' || s.kind === 'mask') {
        const w = detectorWeights(s, opts, i);
        let a = 0;
        for (let p = 0; p < NPIX; p++) a += w[p] * px(p);
        push(key, a);
      } else if (s.kind === 'sum') push(key, total);
      else if (s.kind === 'variance') {
        const m = total / NPIX;
        let v = 0;
        for (let p = 0; p < NPIX; p++) v += (px(p) - m) ** 2;
        push(key, v / NPIX);
      } else if (s.kind === 'com') {
        let sx = 0, sy = 0;
        for (let qy = 0; qy < NQY; qy++) for (let qx = 0; qx < NQX; qx++) { sx += qx * px(qy * NQX + qx); sy += qy * px(qy * NQX + qx); }
        push(`${key}x`, total !== 0 ? sx / total - (s.cx ?? BEAM[0]) : 0);
        push(`${key}y`, total !== 0 ? sy / total - (s.cy ?? BEAM[1]) : 0);
      }
    });
  }
  return out;
}

function outputsInRefOrder(specs: DetectorSpec[]): string[] {
  const keys: string[] = [];
  specs.forEach((s, i) => (s.kind === 'com' ? keys.push(`${i}x`, `${i}y`) : keys.push(`${i}`)));
  return keys;
}

describe('detector geometry', () => {
  const shape: [number, number] = [64, 64];
  it('fractional disk weights add up to the disk area', () => {
    for (const r of [3.3, 7.5, 12.05]) {
      const w = detectorWeights({ kind: 'disk', radius: r, cx: 31.4, cy: 30.7 }, { detectorShape: shape });
      const area = w.reduce((a, b) => a + b, 0);
      expect(Math.abs(area - Math.PI * r * r)).toBeLessThan(0.01 * r);
      for (const v of w) expect(v >= 0 && v <= 1).toBe(true);
    }
  });

  it('fractional weights are the share of 16×16 sub-pixel centres inside the circle, counted one by one', () => {
    const rand = rng(77);
    for (let trial = 0; trial < 40; trial++) {
      // Quarter and sixteenth positions put sub-pixel centres exactly on the circle: the ties must count as inside.
      const cx = trial % 4 === 0 ? 31.5 : 10 + rand() * 44;
      const cy = trial % 4 === 0 ? 30.25 : 10 + rand() * 44;
      const r = trial % 4 === 0 ? 5 + trial / 16 : 0.3 + rand() * 25;
      const w = detectorWeights({ kind: 'disk', radius: r, cx, cy }, { detectorShape: shape });
      for (let qy = 0; qy < 64; qy++) for (let qx = 0; qx < 64; qx++) {
        let inside = 0;
        for (let sy = 0; sy < 16; sy++) for (let sx = 0; sx < 16; sx++) {
          const px = qx - cx - 0.5 + (sx + 0.5) / 16;
          const py = qy - cy - 0.5 + (sy + 0.5) / 16;
          if (px * px + py * py <= r * r) inside++;
        }
        if (w[qy * 64 + qx] !== inside / 256) expect([trial, qx, qy, w[qy * 64 + qx]]).toEqual([trial, qx, qy, inside / 256]);
      }
    }
  });

  it('binary disk is exactly the pixels whose centre is inside', () => {
    const w = detectorWeights({ kind: 'disk', radius: 5.5, cx: 20.3, cy: 18.9 }, { detectorShape: shape, edge: 'binary' });
    for (let qy = 0; qy < 64; qy++) for (let qx = 0; qx < 64; qx++) {
      expect(w[qy * 64 + qx]).toBe((qx - 20.3) ** 2 + (qy - 18.9) ** 2 <= 5.5 ** 2 ? 1 : 0);
    }
  });

  it('disk(r) + annulus(r, R) = disk(R), fractional and binary', () => {
    for (const edge of ['fractional', 'binary'] as const) {
      const o = { detectorShape: shape, beamCentre: [30.2, 33.9] as [number, number], edge };
      const a = detectorWeights({ kind: 'disk', radius: 4.6 }, o);
      const b = detectorWeights({ kind: 'annulus', rIn: 4.6, rOut: 11.2 }, o);
      const c = detectorWeights({ kind: 'disk', radius: 11.2 }, o);
      for (let p = 0; p < a.length; p++) expect(a[p] + b[p]).toBeCloseTo(c[p], 12);
    }
  });

  it('compiled runs and lists reproduce the dense weights', () => {
    const mask = new Float32Array(NPIX).map((_, p) => (p % 7 === 0 ? 0.25 : p % 3 === 0 ? 1 : 0));
    const specs: DetectorSpec[] = [{ kind: 'annulus', rIn: 1.2, rOut: 3.9 }, { kind: 'mask', mask }];
    const opts = { detectorShape: [NQY, NQX] as [number, number], beamCentre: BEAM };
    const c = compileDetectors(specs, opts);
    c.linear.forEach((d, i) => {
      const dense = new Float64Array(NPIX);
      for (let r = 0; r < d.runs.length; r += 2) for (let p = d.runs[r]; p < d.runs[r + 1]; p++) dense[p] += 1;
      d.idx.forEach((p, k) => (dense[p] += d.w[k]));
      expect(Array.from(dense)).toEqual(Array.from(detectorWeights(specs[i], opts, i)));
    });
  });

  it('compiled tables reproduce the dense weights for disks and annuli anywhere: inside, across an edge, off the detector', () => {
    // The compile walks only the box a detector's outer circle can touch: nothing outside it may be lost.
    const shape: [number, number] = [48, 40];
    const centres: Array<[number, number]> = [[20.3, 23.7], [0.2, 0.6], [39.5, 47.9], [-3.2, 12.5], [44.1, -2.7], [19.5, 24], [-30, -30]];
    for (const [cx, cy] of centres) {
      for (const spec of [
        { kind: 'disk', radius: 6.3, cx, cy },
        { kind: 'disk', radius: 30, cx, cy },
        { kind: 'annulus', rIn: 2.5, rOut: 9.75, cx, cy },
        { kind: 'annulus', rIn: 0, rOut: 60, cx, cy },
      ] as DetectorSpec[]) {
        const opts = { detectorShape: shape };
        const d = compileDetectors([spec], opts).linear[0];
        const dense = new Float64Array(shape[0] * shape[1]);
        for (let r = 0; r < d.runs.length; r += 2) for (let p = d.runs[r]; p < d.runs[r + 1]; p++) dense[p] += 1;
        d.idx.forEach((p, k) => (dense[p] += d.w[k]));
        expect(Array.from(dense), JSON.stringify(spec)).toEqual(Array.from(detectorWeights(spec, opts)));
      }
    }
  });

  it('rejects absurd geometry with ParameterError', () => {
    const o = { detectorShape: [NQY, NQX] as [number, number], beamCentre: BEAM };
    expect(() => compileDetectors([{ kind: 'disk', radius: -1 }], o)).toThrow(ParameterError);
    expect(() => compileDetectors([{ kind: 'annulus', rIn: 5, rOut: 5 }], o)).toThrow(ParameterError);
    expect(() => compileDetectors([{ kind: 'mask', mask: new Uint8Array(3) }], o)).toThrow(/3 values/);
    expect(() => compileDetectors([{ kind: 'disk', radius: 2 }], { detectorShape: [NQY, NQX] })).toThrow(/no beam centre/);
    expect(() => compileDetectors([], o)).toThrow(ParameterError);
    expect(() => compileDetectors([{ kind: 'disk', radius: NaN }], o)).toThrow(ParameterError);
  });

  it('names outputs uniquely', () => {
    const c = compileDetectors([{ kind: 'disk', radius: 1 }, { kind: 'disk', radius: 2 }, { kind: 'com' }, { kind: 'sum', name: 'total' }], {
      detectorShape: [NQY, NQX],
      beamCentre: BEAM,
    });
    expect(c.outputs.map((o) => o.name)).toEqual(['bf', 'bf2', 'comX', 'comY', 'total']);
  });
});

describe('accumulateFrames', () => {
  // 'auto' runs the WebAssembly SIMD kernel for uint8/uint16/uint32/float32 and the JS kernel otherwise; 'js'
  // forces the JS reference kernel for every dtype.
  for (const kernel of ['js', 'auto'] as const) for (const [name, C, lo, hi] of DTYPES) {
    for (const edge of ['fractional', 'binary'] as const) {
      it(`${name}, ${edge} edges, ${kernel} kernel: every detector and both patterns match the reference loops`, () => {
        const frames = randomFrames(C, lo, hi, NF, 17 + name.length);
        const copy = frames.slice();
        const boolMask = new Uint8Array(NPIX).map((_, p) => (p * 7919) % 5 === 0 ? 1 : 0);
        const wMask = new Float32Array(NPIX).map((_, p) => ((p * 31) % 13) / 13 - 0.2);
        const specs: DetectorSpec[] = [...SPECS, { kind: 'mask', mask: boolMask }, { kind: 'mask', mask: wMask }];
        const compiled = compileDetectors(specs, { detectorShape: [NQY, NQX], beamCentre: BEAM, edge });
        const acc = createAccumulator(compiled, NF);
        accumulateFrames(compiled, acc, { data: frames, count: NF, position: 0 }, { kernel });
        expect(frames).toEqual(copy); // never mutates its input

        const ref = reference(frames, NF, specs, edge);
        const keys = outputsInRefOrder(specs);
        const integer = !(frames instanceof Float32Array || frames instanceof Float64Array);
        keys.forEach((k, o) => {
          const spec = specs[Number.parseInt(k, 10)];
          for (let f = 0; f < NF; f++) {
            const want = ref[k][f];
            const got = acc.outputs[o][f];
            // Integer data through weight-1 detectors is summed exactly (float64), then stored as float32.
            const exact = integer && (spec.kind === 'sum' || (spec.kind === 'mask' && spec.mask instanceof Uint8Array) ||
              (edge === 'binary' && spec.kind === 'disk'));
            if (exact) expect(got).toBe(Math.fround(want));
            else expect(Math.abs(got - want)).toBeLessThanOrEqual(2e-7 * Math.max(1, Math.abs(want)));
          }
        });

        const mean = meanPattern(acc, NPIX);
        const max = maxPattern(acc, NPIX);
        for (let p = 0; p < NPIX; p++) {
          let s = 0;
          let m = -Infinity;
          for (let f = 0; f < NF; f++) {
            s += frames[f * NPIX + p];
            m = Math.max(m, frames[f * NPIX + p]);
          }
          expect(mean[p]).toBe(Math.fround(s / NF));
          expect(max[p]).toBe(Math.fround(m));
        }
        expect(acc.frames).toBe(NF);
        expect(acc.firstNonFinite).toBe(-1);
      });
    }
  }

  it('reads frames with headers in between (offset + stride) exactly like packed frames', () => {
    const packed = randomFrames(Uint16Array, 0, 4000, NF, 5) as Uint16Array;
    const header = 13;
    const stride = NPIX + header;
    const padded = new Uint16Array(header + NF * stride).fill(65535);
    for (let f = 0; f < NF; f++) padded.set(packed.subarray(f * NPIX, (f + 1) * NPIX), header + f * stride);
    const compiled = compileDetectors(SPECS, { detectorShape: [NQY, NQX], beamCentre: BEAM });
    const a = createAccumulator(compiled, NF);
    const b = createAccumulator(compiled, NF);
    accumulateFrames(compiled, a, { data: packed, count: NF, position: 0 });
    accumulateFrames(compiled, b, { data: padded, count: NF, position: 0, offset: header, stride });
    expect(b.outputs).toEqual(a.outputs);
    expect(b.patternSum).toEqual(a.patternSum);
    expect(b.patternMax).toEqual(a.patternMax);
  });

  it('blocks at positions and merged partial patterns give the same result as one block', () => {
    const frames = randomFrames(Int16Array, -300, 3000, NF, 9);
    const compiled = compileDetectors(SPECS, { detectorShape: [NQY, NQX], beamCentre: BEAM });
    const whole = createAccumulator(compiled, NF);
    accumulateFrames(compiled, whole, { data: frames, count: NF, position: 0 });
    const left = createAccumulator(compiled, NF);
    const right = createAccumulator(compiled, NF);
    accumulateFrames(compiled, left, { data: frames.subarray(0, 3 * NPIX), count: 3, position: 0 });
    accumulateFrames(compiled, right, { data: frames.subarray(3 * NPIX), count: NF - 3, position: 3 });
    for (let o = 0; o < compiled.outputs.length; o++) {
      expect(Array.from(left.outputs[o].subarray(0, 3))).toEqual(Array.from(whole.outputs[o].subarray(0, 3)));
      expect(Array.from(right.outputs[o].subarray(3))).toEqual(Array.from(whole.outputs[o].subarray(3)));
    }
    mergePatterns(left, right);
    expect(left.frames).toBe(NF);
    expect(left.patternSum).toEqual(whole.patternSum);
    expect(left.patternMax).toEqual(whole.patternMax);
  });

  it('NaN policy: propagated into that frame\'s outputs, flagged, other frames untouched, max ignores it', () => {
    const frames = randomFrames(Float32Array, 0, 100, NF, 3) as Float32Array;
    const clean = frames.slice();
    frames[5 * NPIX + 17] = NaN;
    frames[2 * NPIX + 40] = Infinity;
    const compiled = compileDetectors([{ kind: 'sum' }, { kind: 'disk', radius: 3 }], { detectorShape: [NQY, NQX], beamCentre: BEAM });
    const acc = createAccumulator(compiled, NF);
    const ok = createAccumulator(compiled, NF);
    accumulateFrames(compiled, acc, { data: frames, count: NF, position: 0 });
    accumulateFrames(compiled, ok, { data: clean, count: NF, position: 0 });
    expect(acc.firstNonFinite).toBe(2);
    expect(acc.outputs[0][5]).toBeNaN();
    expect(acc.outputs[0][2]).toBe(Infinity);
    for (const f of [0, 1, 3, 4, 6]) expect(acc.outputs[0][f]).toBe(ok.outputs[0][f]);
    expect(Number.isNaN(acc.patternMax![17])).toBe(false);
    expect(acc.patternSum![17]).toBeNaN();
  });

  it('COM of an empty frame is reported at the beam centre (0, 0), variance of a flat frame is 0', () => {
    const frames = new Uint16Array(2 * NPIX);
    frames.fill(7, NPIX);
    const compiled = compileDetectors([{ kind: 'com' }, { kind: 'variance' }], { detectorShape: [NQY, NQX], beamCentre: BEAM });
    const acc = createAccumulator(compiled, 2);
    accumulateFrames(compiled, acc, { data: frames, count: 2, position: 0 });
    expect([acc.outputs[0][0], acc.outputs[1][0]]).toEqual([0, 0]);
    expect(acc.outputs[0][1]).toBeCloseTo((NQX - 1) / 2 - BEAM[0], 5);
    expect(acc.outputs[2][1]).toBe(0);
  });

  it('sums integers exactly beyond float32 precision', () => {
    // 3 + 2^24 is not a float32, but the float64 sum is exact: check through a 1-pixel detector.
    const frames = new Uint32Array(NPIX);
    frames[0] = 2 ** 24;
    frames[1] = 3;
    const compiled = compileDetectors([{ kind: 'sum' }], { detectorShape: [NQY, NQX] });
    const acc = createAccumulator(compiled, 1);
    accumulateFrames(compiled, acc, { data: frames, count: 1, position: 0 });
    expect(acc.patternSum![0] + acc.patternSum![1]).toBe(2 ** 24 + 3);
    expect(acc.outputs[0][0]).toBe(Math.fround(2 ** 24 + 3));
  });

  it('stops with CancelledError when the signal is aborted', () => {
    const compiled = compileDetectors([{ kind: 'sum' }], { detectorShape: [NQY, NQX] });
    const acc = createAccumulator(compiled, NF);
    const c = new AbortController();
    c.abort();
    expect(() => accumulateFrames(compiled, acc, { data: new Uint8Array(NF * NPIX), count: NF, position: 0 }, { signal: c.signal })).toThrow(CancelledError);
    expect(acc.frames).toBe(0);
  });

  it('rejects a block that does not fit', () => {
    const compiled = compileDetectors([{ kind: 'sum' }], { detectorShape: [NQY, NQX] });
    const acc = createAccumulator(compiled, 2);
    expect(() => accumulateFrames(compiled, acc, { data: new Uint8Array(NPIX), count: 2, position: 0 })).toThrow(ParameterError);
    expect(() => accumulateFrames(compiled, acc, { data: new Uint8Array(2 * NPIX), count: 2, position: 1 })).toThrow(ParameterError);
  });
});
