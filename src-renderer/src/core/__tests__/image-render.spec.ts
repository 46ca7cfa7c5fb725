import { describe, expect, it } from 'vitest';
import { colormapLut } from '../colormaps';
import { formatLength, niceScaleBar, percentileLimits, renderRgba } from '../image-render';

describe('display kernels', () => {
  it('percentile limits ignore NaN and outliers', () => {
    const img = new Float32Array(1000).map((_, i) => i);
    img[5] = Number.NaN;
    img[6] = 1e9;
    const [lo, hi] = percentileLimits(img, 1, 99);
    expect(lo).toBeGreaterThanOrEqual(9);
    expect(lo).toBeLessThanOrEqual(12);
    expect(hi).toBeLessThan(1000);
    expect(hi).toBeGreaterThan(985);
  });

  it('a constant image gets a valid range', () => {
    const [lo, hi] = percentileLimits(new Float32Array(10).fill(3));
    expect(hi).toBeGreaterThan(lo);
  });

  it('maps min → first LUT colour, max → last, NaN → marker colour, gamma bends the middle', () => {
    const lut = colormapLut('grey');
    const img = new Float32Array([0, 10, 5, Number.NaN]);
    const rgba = renderRgba(img, { min: 0, max: 10, gamma: 1, log: false }, lut);
    expect(Array.from(rgba.slice(0, 4))).toEqual([0, 0, 0, 255]);
    expect(Array.from(rgba.slice(4, 8))).toEqual([255, 255, 255, 255]);
    expect(rgba[8]).toBe(128);
    expect(Array.from(rgba.slice(12, 15))).toEqual([255, 0, 255]);
    const g2 = renderRgba(img, { min: 0, max: 10, gamma: 2, log: false }, lut);
    expect(g2[8]).toBe(Math.round(Math.sqrt(0.5) * 255));
    expect(Array.from(img.slice(0, 3))).toEqual([0, 10, 5]);
  });

  it('viridis runs from dark purple to yellow', () => {
    const lut = colormapLut('viridis');
    expect(Array.from(lut.slice(0, 3))).toEqual([68, 1, 84]);
    expect(lut[255 * 3]).toBeGreaterThan(240);
    expect(lut[255 * 3 + 2]).toBeLessThan(60);
  });

  it('chooses a nice scale-bar length', () => {
    expect(niceScaleBar(64, 1.2, 0.2)).toEqual({ length: 20, px: 20 / 1.2 });
    expect(niceScaleBar(512, 2, 0.2).length).toBe(200);
    expect(formatLength(2000)).toBe('2 µm');
    expect(formatLength(50)).toBe('50 nm');
  });
});
