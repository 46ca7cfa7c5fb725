import { describe, expect, it } from 'vitest';
import { accumulateFramesInto, backgroundRing, buildTargetMap, createAccumulators, fillBadPixelsInPlace, neededRuns } from '../../../kernels/extract';
import { computePurity, drawMaskOverlay, particlePurity } from '../../../kernels/purity';
import { splitRuns } from '../service';

const grid = (rows: string[]): Uint8Array => Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0));

describe('backgroundRing', () => {
  it('is the dilated mask minus the mask minus other objects, and leaves its inputs alone', () => {
    const mask = grid(['.......', '.......', '...#...', '.......', '.......']);
    const others = grid(['.......', '.......', '....#..', '.......', '.......']);
    const before = mask.slice();
    const ring = backgroundRing(mask, others, 5, 7, 1);
    expect(Array.from(ring)).toEqual(Array.from(grid(['.......', '...#...', '..#....', '...#...', '.......'])));
    expect(mask).toEqual(before);
    const wide = backgroundRing(mask, null, 5, 7, 2);
    expect(wide.reduce((a, v) => a + v, 0)).toBe(12); // disc of radius 2 has 13 points, minus the centre
  });
});

describe('target map and runs', () => {
  it('lists targets per probe and merges claimed runs across short gaps', () => {
    const a = grid(['##..', '....', '..##']);
    const b = grid(['.#..', '....', '...#']);
    const map = buildTargetMap([a, b, null], 2, 12);
    expect(Array.from(map.offsets)).toEqual([0, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 6]);
    expect(Array.from(map.ids)).toEqual([0, 0, 1, 0, 0, 1]);
    expect(neededRuns(map, 0)).toEqual([
      [0, 2],
      [10, 12],
    ]);
    expect(neededRuns(map, 8)).toEqual([[0, 12]]);
    expect(splitRuns([[0, 2], [10, 12]], 3).map((r) => Array.from(r))).toEqual([[0, 2], [10, 12]]);
    expect(splitRuns([[0, 10]], 3).map((r) => Array.from(r))).toEqual([[0, 4], [4, 8], [8, 10]]);
  });

  it('accumulates every claimed frame into each claiming target and records shared intensity', () => {
    const map = buildTargetMap([grid(['##']), grid(['.#'])], 2, 2);
    const frames = Uint16Array.from([1, 2, 3, 10, 20, 30]);
    const acc = createAccumulators(2, 3, true);
    const used = accumulateFramesInto({ frames, start: 0, count: 2, npix: 3, map, saturationLevel: 25 }, acc);
    expect(used).toBe(2);
    expect(Array.from(acc.sums)).toEqual([11, 22, 33, 10, 20, 30]);
    expect(Array.from(acc.counts)).toEqual([2, 1]);
    expect(Array.from(acc.shared)).toEqual([60, 60]);
    expect(Array.from(acc.saturated!)).toEqual([0, 0, 1, 0, 0, 1]);
    expect(Array.from(frames)).toEqual([1, 2, 3, 10, 20, 30]);
  });
});

describe('fillBadPixelsInPlace', () => {
  it('uses only unflagged neighbours, whatever the order', () => {
    const p = Float64Array.from([1, 2, 3, 4, 100, 100, 7, 8, 9]);
    const bad = Uint8Array.from([0, 0, 0, 0, 1, 1, 0, 0, 0]);
    expect(fillBadPixelsInPlace(p, bad, 3, 3, 'neighbours')).toBe(2);
    expect(p[4]).toBeCloseTo((1 + 2 + 3 + 4 + 7 + 8 + 9) / 7);
    expect(p[5]).toBeCloseTo((2 + 3 + 8 + 9) / 4);
  });
});

describe('purity and overlay', () => {
  it('sharedFraction = signal from positions other objects also claim / mask signal', () => {
    const a = grid(['##.', '##.']);
    const b = grid(['.##', '...']);
    const image = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const r = computePurity({ masks: [a, b], image, nTilts: 1, ny: 2, nx: 3 });
    expect(r.signal[0][0]).toBe(1 + 2 + 4 + 5);
    expect(r.sharedFraction[0][0]).toBeCloseTo(2 / 12);
    expect(r.sharedFraction[1][0]).toBeCloseTo(2 / 5);
    expect(r.sharedProbes[1][0]).toBe(1);
    const none = computePurity({ masks: [new Uint8Array(6)], image, nTilts: 1, ny: 2, nx: 3 });
    expect(Number.isNaN(none.sharedFraction[0][0])).toBe(true);
  });

  it('particle purity: the share of probe positions and of scattered signal (above the background) in no other particle', () => {
    // 4×4, two tilts. Tilt 0: the mask covers the left two columns; another particle covers column 1. Tilt 1: no overlap.
    const mask = Uint8Array.from([
      ...grid(['##..', '##..', '##..', '##..']),
      ...grid(['##..', '##..', '....', '....']),
    ]);
    const others = Uint16Array.from([
      ...Array.from(grid(['.#..', '.#..', '.#..', '.#..']), (v) => v * 3),
      ...new Uint16Array(16),
    ]);
    // Background 10 everywhere; the mask's own column carries 30 above it, the shared column 10 above it.
    const signal = new Float32Array(32).fill(10);
    for (let y = 0; y < 4; y++) {
      signal[y * 4] = 40;
      signal[y * 4 + 1] = 20;
      signal[16 + y * 4] = 40;
    }
    const r = particlePurity({ mask, others, signal, nTilts: 2, ny: 4, nx: 4 });
    expect(r.probes[0]).toBeCloseTo(0.5);
    expect(r.signal[0]).toBeCloseTo(120 / 160); // 4×30 own of 4×30 + 4×10
    expect(r.purity[0]).toBeCloseTo(0.5); // the worse of the two
    expect(r.sharedProbes[0]).toBe(4);
    expect(r.probes[1]).toBe(1);
    expect(r.signal[1]).toBe(1);
    // Probe positions only without a signal; NaN where the mask is empty.
    const p = particlePurity({ mask, others, signal: null, nTilts: 2, ny: 4, nx: 4 });
    expect(p.purity[0]).toBeCloseTo(0.5);
    expect(Number.isNaN(p.signal[0])).toBe(true);
    const empty = particlePurity({ mask: new Uint8Array(32), others, signal, nTilts: 2, ny: 4, nx: 4 });
    expect(Number.isNaN(empty.purity[0])).toBe(true);
    expect(() => particlePurity({ mask: new Uint8Array(3), others, signal, nTilts: 2, ny: 4, nx: 4 })).toThrow(/mask/);
  });

  it('draws the grey image with coloured outlines; fills blend, overlaps at double opacity', () => {
    const ny = 5;
    const nx = 5;
    const image = Float32Array.from({ length: 25 }, (_, i) => i);
    const a = grid(['.....', '.###.', '.###.', '.###.', '.....']);
    const b = grid(['.....', '.....', '..###', '..###', '..###']);
    const rgba = drawMaskOverlay({ image, ny, nx, masks: [a, b], colours: [[255, 0, 0], [0, 0, 255]], range: [0, 24] });
    expect(rgba.length).toBe(100);
    const px = (y: number, x: number): number[] => Array.from(rgba.subarray(4 * (y * nx + x), 4 * (y * nx + x) + 4));
    expect(px(0, 0)).toEqual([0, 0, 0, 255]);
    expect(px(0, 4)).toEqual([42, 42, 42, 255]); // grey 4/24·255 = 42.5, rounded half to even
    expect(px(1, 1)).toEqual([255, 0, 0, 255]); // outline of a
    expect(px(2, 2)).toEqual([0, 0, 255, 255]); // a's interior but b's edge: drawn as b's outline
    expect(image[24]).toBe(24);
    // Fills: a 5×5 mask's interior pixel at 0.35 opacity, and the same pixel claimed by two masks at 0.7.
    const big = new Uint8Array(25).fill(1);
    const one = drawMaskOverlay({ image: new Float32Array(25), ny, nx, masks: [big], colours: [[200, 100, 0]], range: [0, 1] });
    expect(Array.from(one.subarray(48, 52))).toEqual([70, 35, 0, 255]);
    const two = drawMaskOverlay({ image: new Float32Array(25), ny, nx, masks: [big, big], colours: [[200, 100, 0], [0, 100, 200]], range: [0, 1] });
    expect(Array.from(two.subarray(48, 52))).toEqual([70, 70, 70, 255]);
  });
});
