// The Reciprocal space tab's store: typed [uvw]/(hkl) fields and the message when there is nothing to draw yet.
import { describe, expect, it } from 'vitest';
import { parseTriple, useReciprocalStore } from '../reciprocal';
import { storeFixture } from './fixture';
import { openTrackAndExtract } from './flows';

const fx = storeFixture();

describe('reciprocal store', () => {
  it('reads three integers in the ways crystallographers write them', () => {
    expect(parseTriple('1 0 0', 'x')).toEqual([1, 0, 0]);
    expect(parseTriple('[1-10]', 'x')).toEqual([1, -1, 0]);
    expect(parseTriple('(0, 0, 2)', 'x')).toEqual([0, 0, 2]);
    expect(() => parseTriple('1 0', 'the zone axis [uvw]')).toThrow(/the zone axis \[uvw\] is three integers/);
    expect(() => parseTriple('0 0 0', 'the plane (hkl)')).toThrow(/0 0 0 is not a direction/);
    expect(() => parseTriple('1.5 0 0', 'x')).toThrow(/three integers/);
  });

  it('says what to do first when the object has no peaks, and draws nothing', async () => {
    await openTrackAndExtract(fx.manifest());
    const r = useReciprocalStore();
    await r.load();
    expect(r.problem).toMatch(/search the peaks of .* first/);
    expect(r.drawn).toEqual([]);
  });
});
