import { describe, expect, it } from 'vitest';
import {
  binaryClose,
  binaryDilate,
  binaryErode,
  binaryOpen,
  clippedBackground,
  distanceTransform,
  distanceTransformSquared,
  fillHoles,
  gaussianBlur,
  gaussianKernel1D,
  hMaximaMarkers,
  labelComponents,
  maskArea,
  maskCentroid,
  maskIoU,
  phaseCorrelate,
  reconstructByDilation,
  regionProps,
  removeSmallObjects,
  subtractBackground,
  threshold,
  thresholdAdaptive,
  thresholdLi,
  thresholdMean,
  thresholdOtsu,
  thresholdYen,
  translateMask,
  watershed,
} from '../index';
import { ParameterError } from '../../../../src-shared/errors';
import { disk, gauss, maskFrom, rng, rowsOf } from './helpers';

describe('gaussian', () => {
  it('kernel is normalised and symmetric', () => {
    const k = gaussianKernel1D(1.5);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (let i = 0; i < k.length; i++) expect(k[i]).toBeCloseTo(k[k.length - 1 - i], 15);
  });

  it('keeps a constant image constant (mirrored borders) and spreads an impulse as the kernel outer product', () => {
    const nx = 21;
    const ny = 17;
    const flat = new Float32Array(nx * ny).fill(3);
    for (const v of gaussianBlur(flat, nx, ny, 2)) expect(v).toBeCloseTo(3, 5);
    const imp = new Float32Array(nx * ny);
    imp[8 * nx + 10] = 1;
    const out = gaussianBlur(imp, nx, ny, 1);
    const k = gaussianKernel1D(1);
    const r = (k.length - 1) >> 1;
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) expect(out[(8 + dy) * nx + 10 + dx]).toBeCloseTo(k[dx + r] * k[dy + r], 6);
  });

  it('sigma 0 copies, input untouched, bad sizes rejected', () => {
    const img = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const copy = img.slice();
    expect(Array.from(gaussianBlur(img, 3, 2, 0))).toEqual([1, 2, 3, 4, 5, 6]);
    gaussianBlur(img, 3, 2, 1.2);
    expect(img).toEqual(copy);
    expect(() => gaussianBlur(img, 4, 2, 1)).toThrow(ParameterError);
    expect(() => gaussianBlur(img, 3, 2, -1)).toThrow(ParameterError);
  });
});

describe('background', () => {
  it('rolling ball removes a linear ramp and keeps a small bright particle', () => {
    const nx = 64;
    const ny = 48;
    const img = new Float32Array(nx * ny);
    const d = disk(nx, ny, 30, 24, 4);
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) img[y * nx + x] = 100 + 2 * x + y + (d[y * nx + x] ? 80 : 0);
    const copy = img.slice();
    const { corrected, background } = subtractBackground(img, nx, ny, { method: 'rolling-ball', radius: 20 });
    expect(img).toEqual(copy);
    // Far from the particle the ramp is followed exactly (a paraboloid fits under a plane everywhere).
    expect(Math.abs(corrected[5 * nx + 5])).toBeLessThan(1e-3);
    expect(Math.abs(corrected[40 * nx + 60])).toBeLessThan(1e-3);
    // The particle keeps (nearly) its full height above the ramp.
    expect(corrected[24 * nx + 30]).toBeGreaterThan(70);
    for (let i = 0; i < img.length; i++) expect(background[i]).toBeLessThanOrEqual(img[i] + 1e-3);
  });

  it('gaussian background of a constant image is that constant', () => {
    const img = new Float32Array(40 * 30).fill(7);
    const { corrected } = subtractBackground(img, 40, 30, { method: 'gaussian', radius: 16 });
    for (const v of corrected) expect(Math.abs(v)).toBeLessThan(1e-4);
  });
});

describe('clipped background', () => {
  it('measures the background of an image with bright particles covering a third of it', () => {
    const rand = rng(4);
    const img = new Float32Array(64 * 64).map(() => 100 + 5 * gauss(rand));
    const particles = disk(64, 64, 30, 30, 20);
    for (let i = 0; i < img.length; i++) if (particles[i]) img[i] += 400;
    const b = clippedBackground(img);
    expect(b.mean).toBeCloseTo(100, 0);
    expect(b.std).toBeGreaterThan(4.6);
    expect(b.std).toBeLessThan(5.4);
    expect(clippedBackground(new Float32Array(10).fill(3))).toEqual({ mean: 3, std: 0 });
    // Counts so low that most pixels are 0: the noise is still seen.
    const sparse = Float32Array.from({ length: 1000 }, (_, i) => (i % 7 === 0 ? 1 : 0));
    expect(clippedBackground(sparse).std).toBeGreaterThan(0);
  });
});

describe('thresholds', () => {
  it('Otsu on a three-level histogram picks the split with the largest between-class variance (hand value)', () => {
    // 30 px at 0, 10 at 4, 60 at 10: splitting {0,4}|{10} gives 0.4·0.6·(1−10)² = 19.44 > 17.55 for {0}|{4,10}.
    // 256 bins over [0, 10]: value 4 falls in bin 102, the first bin of the best split → centre 102.5·10/256.
    const img = new Float32Array(100);
    for (let i = 30; i < 40; i++) img[i] = 4;
    for (let i = 40; i < 100; i++) img[i] = 10;
    expect(thresholdOtsu(img)).toBeCloseTo((102.5 * 10) / 256, 10);
  });

  it('Otsu matches a brute-force search over all splits of noisy bimodal data', () => {
    const rand = rng(7);
    const img = new Float32Array(2000);
    for (let i = 0; i < img.length; i++) img[i] = i < 1300 ? 20 + 4 * gauss(rand) : 55 + 6 * gauss(rand);
    const t = thresholdOtsu(img, 256);
    // Reference: maximise w0·w1·(m0 − m1)² directly over the sorted values.
    const s = Float64Array.from(img).sort();
    let best = -1;
    let bestT = 0;
    const total = s.reduce((a, b) => a + b, 0);
    let c = 0;
    for (let k = 1; k < s.length; k++) {
      c += s[k - 1];
      const w0 = k / s.length;
      const m0 = c / k;
      const m1 = (total - c) / (s.length - k);
      const v = w0 * (1 - w0) * (m0 - m1) ** 2;
      if (v > best) {
        best = v;
        bestT = 0.5 * (s[k - 1] + s[k]);
      }
    }
    const binWidth = (s[s.length - 1] - s[0]) / 256;
    expect(Math.abs(t - bestT)).toBeLessThan(2 * binWidth);
  });

  it('Li converges to the logarithmic mean of the class means (hand value)', () => {
    // 50 px at 0, 25 at 2, 25 at 10: start at the mean 3 → classes {0,2} (mean 2/3) and {10} →
    // t = (2/3 − 10)/(ln(2/3) − ln 10) = 3.44649…, which keeps the same classes: converged.
    const img = new Float32Array(100);
    for (let i = 50; i < 75; i++) img[i] = 2;
    for (let i = 75; i < 100; i++) img[i] = 10;
    expect(thresholdLi(img)).toBeCloseTo((2 / 3 - 10) / (Math.log(2 / 3) - Math.log(10)), 6);
    // Translation-equivariant (the method works on values shifted to a zero minimum).
    const shifted = img.map((v) => v + 100);
    expect(thresholdLi(shifted)).toBeCloseTo(100 + (2 / 3 - 10) / (Math.log(2 / 3) - Math.log(10)), 4);
  });

  it('Yen separates the two modes of bimodal data; mean is exact', () => {
    const rand = rng(3);
    const img = new Float32Array(3000);
    for (let i = 0; i < img.length; i++) img[i] = i < 2000 ? 10 + gauss(rand) : 40 + 2 * gauss(rand);
    // Yen's criterion sits in the upper tail of the larger mode (scikit-image's formula gives 11.6 on the same
    // kind of data): above that mode's mean, below every pixel of the bright mode.
    const y = thresholdYen(img);
    expect(y).toBeGreaterThan(10);
    for (let i = 2000; i < 3000; i++) expect(img[i]).toBeGreaterThan(y);
    expect(thresholdMean(Float32Array.from([1, 2, 3, 6]))).toBe(3);
  });

  it('invert segments dark particles on a bright background; adaptive follows a ramp', () => {
    const nx = 32;
    const ny = 32;
    const d = disk(nx, ny, 16, 16, 6);
    const bf = new Float32Array(nx * ny);
    for (let i = 0; i < bf.length; i++) bf[i] = d[i] ? 20 : 100;
    const copy = bf.slice();
    for (const method of ['otsu', 'li', 'yen', 'mean'] as const) {
      const r = threshold(bf, nx, ny, { method, invert: true });
      expect(maskIoU(r.mask, d)).toBe(1);
      expect(r.threshold).toBeGreaterThanOrEqual(20);
      expect(r.threshold).toBeLessThan(100);
    }
    expect(bf).toEqual(copy);
    // Bright spots on a strong ramp: one global level cannot separate them, the local mean can.
    const img = new Float32Array(nx * ny);
    const spots = new Uint8Array(nx * ny);
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const on = x % 8 === 3 && y % 8 === 3;
        spots[y * nx + x] = on ? 1 : 0;
        img[y * nx + x] = 2 * x + (on ? 30 : 0);
      }
    }
    const a = thresholdAdaptive(img, nx, ny, 3, 5);
    expect(rowsOf(a, nx, ny)).toEqual(rowsOf(spots, nx, ny));
    expect(() => thresholdOtsu(new Float32Array([NaN, NaN]))).toThrow(ParameterError);
  });
});

describe('distance transform', () => {
  it('matches a brute-force exact EDT on random masks', () => {
    const rand = rng(11);
    for (const [nx, ny] of [[13, 9], [1, 7], [20, 20]]) {
      const mask = new Uint8Array(nx * ny);
      for (let i = 0; i < mask.length; i++) mask[i] = rand() < 0.75 ? 1 : 0;
      mask[0] = 0;
      const copy = mask.slice();
      const d2 = distanceTransformSquared(mask, nx, ny);
      expect(mask).toEqual(copy);
      for (let p = 0; p < mask.length; p++) {
        let best = Infinity;
        for (let q = 0; q < mask.length; q++) {
          if (mask[q]) continue;
          const dx = (p % nx) - (q % nx);
          const dy = Math.floor(p / nx) - Math.floor(q / nx);
          best = Math.min(best, dx * dx + dy * dy);
        }
        expect(d2[p]).toBe(best);
      }
    }
  });

  it('is +∞ with no background and grows linearly into a half-plane', () => {
    expect(distanceTransform(new Uint8Array(6).fill(1), 3, 2)[0]).toBe(Infinity);
    const { mask, nx, ny } = maskFrom(['.####', '.####']);
    expect(Array.from(distanceTransform(mask, nx, ny).subarray(0, 5))).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('morphology', () => {
  const bruteDilate = (m: Uint8Array, nx: number, ny: number, r: number): Uint8Array => {
    const out = new Uint8Array(nx * ny);
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++)
        for (let dy = -Math.ceil(r); dy <= Math.ceil(r); dy++)
          for (let dx = -Math.ceil(r); dx <= Math.ceil(r); dx++) {
            const xx = x + dx;
            const yy = y + dy;
            if (dx * dx + dy * dy <= r * r && xx >= 0 && yy >= 0 && xx < nx && yy < ny && m[yy * nx + xx]) out[y * nx + x] = 1;
          }
    return out;
  };

  it('dilation by a disk equals the brute-force disk dilation', () => {
    const rand = rng(5);
    const nx = 25;
    const ny = 19;
    const m = new Uint8Array(nx * ny);
    for (let i = 0; i < m.length; i++) m[i] = rand() < 0.04 ? 1 : 0;
    for (const r of [0, 1, 2, 2.5, 4]) expect(rowsOf(binaryDilate(m, nx, ny, r), nx, ny)).toEqual(rowsOf(bruteDilate(m, nx, ny, r), nx, ny));
  });

  it('hand-readable erode / dilate / open / close', () => {
    const dot = maskFrom(['.....', '.....', '..#..', '.....', '.....']);
    expect(rowsOf(binaryDilate(dot.mask, 5, 5, 1), 5, 5)).toEqual(['.....', '..#..', '.###.', '..#..', '.....']);
    expect(maskArea(binaryDilate(dot.mask, 5, 5, 2))).toBe(13);
    const sq = maskFrom(['.......', '.#####.', '.#####.', '.#####.', '.#####.', '.#####.', '.......']);
    expect(rowsOf(binaryErode(sq.mask, 7, 7, 1), 7, 7)).toEqual(['.......', '.......', '..###..', '..###..', '..###..', '.......', '.......']);
    const speck = maskFrom(['#.....', '......', '..###.', '..###.', '..###.', '......']);
    expect(rowsOf(binaryOpen(speck.mask, 6, 6, 1), 6, 6)).toEqual(['......', '......', '...#..', '..###.', '...#..', '......']);
    const gap = maskFrom(['.........', '.........', '..##.##..', '..##.##..', '.........', '.........']);
    expect(rowsOf(binaryClose(gap.mask, 9, 6, 1.5), 9, 6)).toEqual(['.........', '.........', '..#####..', '..#####..', '.........', '.........']);
  });

  it('erosion does not eat a particle from the image edge', () => {
    const { mask } = maskFrom(['###..', '###..', '###..']);
    expect(rowsOf(binaryErode(mask, 5, 3, 1), 5, 3)).toEqual(['##...', '##...', '##...']);
  });

  it('fills holes, but not a notch open to the border; input untouched', () => {
    const ring = maskFrom(['.......', '.#####.', '.#...#.', '.#.#.#.', '.#...#.', '.#####.', '.......']);
    const copy = ring.mask.slice();
    expect(rowsOf(fillHoles(ring.mask, 7, 7), 7, 7)).toEqual(['.......', '.#####.', '.#####.', '.#####.', '.#####.', '.#####.', '.......']);
    expect(ring.mask).toEqual(copy);
    const cup = maskFrom(['.#.#.', '.#.#.', '.###.']);
    expect(rowsOf(fillHoles(cup.mask, 5, 3), 5, 3)).toEqual(['.#.#.', '.#.#.', '.###.']);
    // A hole behind a diagonal-only gap in the rim is still a hole (background is 4-connected).
    const diag = maskFrom(['.###.', '#...#', '#...#', '.###.']);
    expect(maskArea(fillHoles(diag.mask, 5, 4))).toBe(16);
  });
});

describe('labelling', () => {
  it('counts 8-connected components and measures them', () => {
    const { mask, nx, ny } = maskFrom(['##....#', '.#...#.', '..#....', '.....##', '#....##']);
    const { labels, count } = labelComponents(mask, nx, ny);
    expect(count).toBe(4);
    const intensity = new Float32Array(nx * ny).map((_, i) => i);
    const props = regionProps(labels, count, nx, ny, intensity);
    const areas = props.map((p) => p.area).sort((a, b) => a - b);
    expect(areas).toEqual([1, 2, 4, 4]);
    const block = props.find((p) => p.x0 === 5 && p.y0 === 3)!;
    expect(block).toMatchObject({ area: 4, cx: 5.5, cy: 3.5, x1: 6, y1: 4, touchesBorder: true });
    expect(block.meanIntensity).toBeCloseTo((26 + 27 + 33 + 34) / 4, 10);
    const first = props.find((p) => p.label === labels[0])!;
    expect(first).toMatchObject({ area: 4, x0: 0, y0: 0, x1: 2, y1: 2 });
    expect(labelComponents(new Uint8Array(4), 2, 2).count).toBe(0);
  });

  it('removes components under the minimum area', () => {
    const { mask, nx, ny } = maskFrom(['##..#', '##...', '.....', '...##']);
    expect(rowsOf(removeSmallObjects(mask, nx, ny, 2), nx, ny)).toEqual(['##...', '##...', '.....', '...##']);
    expect(rowsOf(removeSmallObjects(mask, nx, ny, 3), nx, ny)).toEqual(['##...', '##...', '.....', '.....']);
  });
});

describe('watershed', () => {
  it('reconstruction by dilation equals iterated geodesic dilation', () => {
    const rand = rng(21);
    const nx = 17;
    const ny = 13;
    const mask = new Float64Array(nx * ny).map(() => Math.floor(rand() * 10));
    const marker = mask.map((v) => (rand() < 0.1 ? v : 0));
    const fast = reconstructByDilation(marker, mask, nx, ny);
    let cur = marker.slice();
    for (let changed = true; changed; ) {
      changed = false;
      const next = cur.slice();
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++) {
          let m = cur[y * nx + x];
          for (let dy = -1; dy <= 1; dy++)
            for (let dx = -1; dx <= 1; dx++) {
              const xx = x + dx;
              const yy = y + dy;
              if (xx >= 0 && yy >= 0 && xx < nx && yy < ny) m = Math.max(m, cur[yy * nx + xx]);
            }
          const v = Math.min(m, mask[y * nx + x]);
          if (v !== next[y * nx + x]) {
            next[y * nx + x] = v;
            changed = true;
          }
        }
      cur = next;
    }
    expect(Array.from(fast)).toEqual(Array.from(cur));
  });

  it('splits two touching disks into two, each holding its own centre', () => {
    const nx = 48;
    const ny = 32;
    const a = disk(nx, ny, 15, 16, 9);
    const b = disk(nx, ny, 31, 16, 8);
    const m = new Uint8Array(nx * ny);
    for (let i = 0; i < m.length; i++) m[i] = a[i] | b[i];
    expect(labelComponents(m, nx, ny).count).toBe(1);
    const dist = distanceTransform(m, nx, ny);
    const markers = hMaximaMarkers(dist, nx, ny, 1.5, m);
    expect(markers.count).toBe(2);
    const elevation = dist.map((v) => -v);
    const copy = elevation.slice();
    const labels = watershed(elevation, markers.labels, nx, ny, m);
    expect(elevation).toEqual(copy);
    const la = labels[16 * nx + 15];
    const lb = labels[16 * nx + 31];
    expect(la).toBeGreaterThan(0);
    expect(lb).toBeGreaterThan(0);
    expect(la).not.toBe(lb);
    // Every particle pixel is labelled, and each region is mostly its own disk.
    for (let i = 0; i < m.length; i++) expect(labels[i] > 0).toBe(m[i] === 1);
    const ra = Uint8Array.from(labels, (l) => (l === la ? 1 : 0));
    const rb = Uint8Array.from(labels, (l) => (l === lb ? 1 : 0));
    expect(maskIoU(ra, a)).toBeGreaterThan(0.9);
    expect(maskIoU(rb, b)).toBeGreaterThan(0.9);
  });

  it('does not split a single ellipse with a rough rim', () => {
    const nx = 48;
    const ny = 32;
    const rand = rng(2);
    const m = new Uint8Array(nx * ny);
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) if (((x - 24) / 16) ** 2 + ((y - 16) / 8) ** 2 <= 1 + 0.15 * (rand() - 0.5)) m[y * nx + x] = 1;
    const dist = distanceTransform(fillHoles(m, nx, ny), nx, ny);
    expect(hMaximaMarkers(dist, nx, ny, 1.5, m).count).toBe(1);
  });
});

describe('phase correlation', () => {
  // Gaussian blobs evaluated analytically at shifted positions: an exact sub-pixel shift, not periodic.
  const scene = (nx: number, ny: number, dx: number, dy: number, seed: number): Float32Array => {
    const rand = rng(seed);
    const blobs = Array.from({ length: 25 }, () => ({ x: rand() * nx, y: rand() * ny, s: 1.5 + 3 * rand(), a: 0.5 + rand() }));
    const img = new Float32Array(nx * ny);
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        let v = 0;
        for (const b of blobs) v += b.a * Math.exp(-((x - dx - b.x) ** 2 + (y - dy - b.y) ** 2) / (2 * b.s * b.s));
        img[y * nx + x] = v;
      }
    return img;
  };

  it.each([
    [64, 64, 3.3, -5.7],
    [96, 80, -7.45, 2.15],
    [50, 40, 0.6, 0.2],
  ])('recovers a %i×%i sub-pixel shift (%f, %f) within 0.1 px', (nx, ny, dx, dy) => {
    const a = scene(nx, ny, 0, 0, nx + ny);
    const b = scene(nx, ny, dx, dy, nx + ny);
    const copy = a.slice();
    const r = phaseCorrelate(a, b, nx, ny);
    expect(a).toEqual(copy);
    expect(Math.abs(r.dx - dx)).toBeLessThan(0.1);
    expect(Math.abs(r.dy - dy)).toBeLessThan(0.1);
    expect(r.peak).toBeGreaterThan(0.2);
  });

  it('with a prior picks the plausible one of two peaks; the sub-pixel shift and peak height are unweighted', () => {
    // A tall bar next to a short one, then only the short one's twin: the bar's width apart there is a second match.
    const nx = 48;
    const ny = 48;
    const bar = (x0: number, h: number): Float32Array => {
      const img = new Float32Array(nx * ny);
      for (let y = 10; y < 10 + h; y++) for (let x = x0; x < x0 + 5; x++) img[y * nx + x] = 1;
      return img;
    };
    const a = bar(14, 20);
    const b = Float32Array.from(bar(14, 20), (v, i) => Math.max(v, bar(23, 20)[i]!));
    const near = phaseCorrelate(a, b, nx, ny, { prior: { dx: 0, dy: 0, sigmaPx: 3 } });
    expect(Math.hypot(near.dx, near.dy)).toBeLessThan(0.5);
    const far = phaseCorrelate(a, b, nx, ny, { prior: { dx: 9, dy: 0, sigmaPx: 3 } });
    expect(far.dx).toBeCloseTo(9, 0);
    // An exact shift is found wherever the prior sits, within reason: the prior only breaks ties between peaks.
    const s1 = scene(64, 64, 0, 0, 5);
    const s2 = scene(64, 64, 6.3, -2.2, 5);
    const r = phaseCorrelate(s1, s2, 64, 64, { prior: { dx: 0, dy: 0, sigmaPx: 8 } });
    expect(Math.abs(r.dx - 6.3)).toBeLessThan(0.1);
    expect(Math.abs(r.dy + 2.2)).toBeLessThan(0.1);
  });

  it('gives a weak peak for unrelated images and zero for a flat image', () => {
    const rand = rng(9);
    const a = new Float32Array(64 * 64).map(() => rand());
    const b = new Float32Array(64 * 64).map(() => rand());
    expect(phaseCorrelate(a, b, 64, 64).peak).toBeLessThan(0.2);
    expect(phaseCorrelate(a, a, 64, 64).peak).toBeGreaterThan(0.99);
    expect(phaseCorrelate(new Float32Array(64 * 64), b, 64, 64)).toEqual({ dx: 0, dy: 0, peak: 0 });
  });
});

describe('masks', () => {
  it('IoU, area, centroid and translation with pixels lost at the edge', () => {
    const a = maskFrom(['##..', '##..', '....']);
    const b = maskFrom(['.##.', '.##.', '....']);
    expect(maskIoU(a.mask, b.mask)).toBeCloseTo(2 / 6, 12);
    expect(maskIoU(new Uint8Array(4), new Uint8Array(4))).toBe(0);
    expect(maskCentroid(a.mask, 4, 3)).toEqual({ x: 0.5, y: 0.5 });
    const moved = translateMask(a.mask, 4, 3, 0.6, 0);
    expect(rowsOf(moved.mask, 4, 3)).toEqual(['.##.', '.##.', '....']);
    expect(moved.lost).toBe(0);
    const out = translateMask(a.mask, 4, 3, -1, 2);
    expect(rowsOf(out.mask, 4, 3)).toEqual(['....', '....', '#...']);
    expect(out.lost).toBe(3);
    expect(() => maskIoU(a.mask, new Uint8Array(3))).toThrow(ParameterError);
  });
});
