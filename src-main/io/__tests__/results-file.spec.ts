import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src-shared/errors';
import { decodeResults, encodeResults } from '../results-file';

const sample = () => ({
  name: 'brookite',
  nested: { frames: Float32Array.from([1.5, -2, Number.NaN]), hkl: Int32Array.from([1, -2, 3]), flags: Uint8Array.from([1, 0, 1]) },
  list: [Float64Array.from([Number.POSITIVE_INFINITY, 1e-300]), null, 3, Number.NaN, Number.NEGATIVE_INFINITY],
  ub: [[0.1, 0, 0], [0, 0.2, 0], [0, 0, 0.3]],
  empty: new Uint16Array(0),
});

describe('results file', () => {
  it('round-trips typed arrays (type, values, NaN, ±∞) and plain data', () => {
    const back = decodeResults(encodeResults(sample()), 'r.trk') as ReturnType<typeof sample>;
    expect(back.nested.frames).toBeInstanceOf(Float32Array);
    expect(Array.from(back.nested.frames)).toEqual([1.5, -2, Number.NaN]);
    expect(back.nested.hkl).toBeInstanceOf(Int32Array);
    expect(Array.from(back.nested.hkl)).toEqual([1, -2, 3]);
    expect(back.list[0]).toBeInstanceOf(Float64Array);
    expect(Array.from(back.list[0] as Float64Array)).toEqual([Number.POSITIVE_INFINITY, 1e-300]);
    expect(back.list.slice(1)).toEqual([null, 3, Number.NaN, Number.NEGATIVE_INFINITY]);
    expect(back.ub).toEqual(sample().ub);
    expect(back.empty).toBeInstanceOf(Uint16Array);
    expect(back.name).toBe('brookite');
  });

  it('keeps a subarray view to its own elements', () => {
    const big = Float64Array.from([9, 8, 7, 6]);
    const back = decodeResults(encodeResults({ v: big.subarray(1, 3) }), 'r.trk') as { v: Float64Array };
    expect(Array.from(back.v)).toEqual([8, 7]);
  });

  it('refuses a truncated, bit-flipped, foreign or extended file with an InputError naming it', () => {
    const bytes = encodeResults(sample());
    const cases: Uint8Array[] = [bytes.subarray(0, bytes.length - 1), bytes.subarray(0, 10), new Uint8Array(64), Uint8Array.from([...bytes, 0])];
    for (let k = 0; k < bytes.length; k += 7) {
      const flipped = bytes.slice();
      flipped[k]! ^= 0x10;
      cases.push(flipped);
    }
    for (const c of cases) {
      expect(() => decodeResults(c, '/p/results.trk')).toThrow(InputError);
      expect(() => decodeResults(c, '/p/results.trk')).toThrow(/\/p\/results\.trk/);
    }
  });

  it('refuses data it cannot store faithfully', () => {
    expect(() => encodeResults({ m: new Map() })).toThrow(/Map/);
  });
});
