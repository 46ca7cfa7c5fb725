import { describe, expect, it } from 'vitest';
import { Rng, logGamma, mixSeed } from '../prng';
import { AliasTable } from '../render';
import { chordLength, insideShape, type Shape } from '../shapes';
import { diskStamp, rockingCurve, type DetectorSetup } from '../pattern';
import { driftSeries } from '../scene';

function moments(draw: () => number, n: number): { mean: number; variance: number } {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const v = draw();
    s += v;
    s2 += v * v;
  }
  const mean = s / n;
  return { mean, variance: s2 / n - mean * mean };
}

describe('random numbers', () => {
  it('are reproducible per seed and differ between seeds', () => {
    const a = new Rng(mixSeed(1, 2));
    const b = new Rng(mixSeed(1, 2));
    const c = new Rng(mixSeed(1, 3));
    const sa = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(sa);
  });
  it.each([0.02, 0.7, 6, 35, 800])('Poisson(%s) has the right mean and variance', (lam) => {
    const rng = new Rng(99);
    const n = 40000;
    const { mean, variance } = moments(() => rng.poisson(lam), n);
    const se = Math.sqrt(lam / n);
    expect(Math.abs(mean - lam)).toBeLessThan(5 * se);
    expect(Math.abs(variance / lam - 1)).toBeLessThan(0.06);
  });
  it('Poisson(3) matches the probability mass function', () => {
    const rng = new Rng(5);
    const n = 50000;
    const hist = new Float64Array(12);
    for (let i = 0; i < n; i++) hist[Math.min(11, rng.poisson(3))]!++;
    for (let k = 0; k < 8; k++) {
      const p = Math.exp(-3 + k * Math.log(3) - logGamma(k + 1));
      expect(Math.abs(hist[k]! / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    }
  });
  it('normal deviates have mean 0 and variance 1; logGamma is right', () => {
    const rng = new Rng(8);
    const { mean, variance } = moments(() => rng.normal(), 40000);
    expect(Math.abs(mean)).toBeLessThan(0.025);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 10);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 10);
  });
  it('alias tables sample in proportion to the weights', () => {
    const rng = new Rng(3);
    const w = [1, 0, 3, 6];
    const t = new AliasTable(w);
    const hist = [0, 0, 0, 0];
    const n = 40000;
    for (let i = 0; i < n; i++) hist[t.sample(rng)]!++;
    expect(hist[1]).toBe(0);
    for (const i of [0, 2, 3]) expect(Math.abs(hist[i]! / n - w[i]! / 10)).toBeLessThan(0.01);
  });
});

describe('particle shapes', () => {
  const z: [number, number, number] = [0, 0, 1];
  it('chords: ellipsoid, rod and cuboid along and across axes', () => {
    const e: Shape = { kind: 'ellipsoid', semiAxesNm: [30, 20, 10] };
    expect(chordLength(e, [0, 0, -100], z)).toBeCloseTo(20, 9);
    expect(chordLength(e, [15, 0, -100], z)).toBeCloseTo(20 * Math.sqrt(1 - 0.25), 9);
    expect(chordLength(e, [31, 0, -100], z)).toBe(0);
    const rod: Shape = { kind: 'rod', semiAxesNm: [8, 8, 30] };
    expect(chordLength(rod, [0, 0, 0], z)).toBeCloseTo(60, 9);
    expect(chordLength(rod, [0, -50, 0], [0, 1, 0])).toBeCloseTo(16, 9);
    const d = [1 / Math.SQRT2, 0, 1 / Math.SQRT2] as [number, number, number];
    expect(chordLength(rod, [0, 0, 0], d)).toBeCloseTo(16 * Math.SQRT2, 6); // exits through the side
    const cube: Shape = { kind: 'cuboid', semiAxesNm: [10, 10, 10] };
    expect(chordLength(cube, [3, -4, -50], z)).toBeCloseTo(20, 9);
    const diag = [1, 1, 1].map((v) => v / Math.sqrt(3)) as [number, number, number];
    expect(chordLength(cube, [0, 0, 0], diag)).toBeCloseTo(20 * Math.sqrt(3), 6);
    expect(insideShape(cube, [9, 9, 9])).toBe(true);
    expect(insideShape(rod, [7, 7, 0])).toBe(false);
  });
});

describe('pattern model', () => {
  const setup: DetectorSetup = {
    nqy: 64,
    nqx: 64,
    cx: 31.8,
    cy: 32.2,
    pixelInvA: 0.02,
    wavelengthA: 0.02508,
    gamma: 1.39,
    convergenceRad: 0.0008,
    diskRadiusPx: 1.6,
    psfSigmaPx: 0.5,
    bfRadiusPx: 3,
    adfInnerPx: 6,
    adfOuterPx: 31,
  };
  it('disk stamps sum to 1, are centred on the requested position and lose weight off the detector', () => {
    for (const [x, y] of [
      [20.3, 40.7],
      [45.5, 12.25],
    ]) {
      const s = diskStamp(setup, x!, y!);
      let sw = 0;
      let sx = 0;
      let sy = 0;
      s.idx.forEach((p, m) => {
        sw += s.w[m]!;
        sx += s.w[m]! * (p % 64);
        sy += s.w[m]! * Math.floor(p / 64);
      });
      expect(sw).toBeCloseTo(1, 3);
      // 5×5 area sampling per pixel: centroid good to a hundredth of a pixel.
      expect(Math.abs(sx / sw - x!)).toBeLessThan(0.02);
      expect(Math.abs(sy / sw - y!)).toBeLessThan(0.02);
      expect(s.adf).toBeCloseTo(1, 3);
    }
    // Centred on the detector's outer edge (pixel 0 spans −0.5…0.5): half of it is lost.
    const edge = diskStamp(setup, -0.5, 30.2);
    expect(edge.total).toBeGreaterThan(0.45);
    expect(edge.total).toBeLessThan(0.55);
    expect(diskStamp(setup, setup.cx, setup.cy).bf).toBeGreaterThan(0.99);
  });
  it('rocking curve: 1 at s = 0 for a parallel beam, integral ≈ 1/t, convergence broadens it', () => {
    expect(rockingCurve(200, 0, 0)).toBeCloseTo(1, 12);
    // ∫ sinc²(π t s) ds = 1/t
    let integral = 0;
    const ds = 1e-5;
    for (let s = -0.5; s <= 0.5; s += ds) integral += rockingCurve(300, s, 0) * ds;
    expect(integral * 300).toBeCloseTo(1, 2);
    // With convergence the peak drops and the wings rise, the integral stays.
    expect(rockingCurve(300, 0, 0.004)).toBeLessThan(0.5);
    let integral2 = 0;
    for (let s = -0.5; s <= 0.5; s += ds) integral2 += rockingCurve(300, s, 0.004) * ds;
    expect(integral2 * 300).toBeCloseTo(1, 2);
  });
  it('drift is a smooth zero-mean walk', () => {
    const d = driftSeries(41, 1.2, 7);
    const mx = d.reduce((s, p) => s + p[0], 0) / d.length;
    expect(Math.abs(mx)).toBeLessThan(1e-9);
    const steps = d.slice(1).map((p, i) => Math.hypot(p[0] - d[i]![0], p[1] - d[i]![1]));
    expect(Math.max(...steps)).toBeLessThan(12);
    expect(steps.reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
  });
});
