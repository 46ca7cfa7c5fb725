import { describe, expect, it } from 'vitest';
import { paintMaskOverlay, parseHexColour, type OverlayLayer } from '../mask-overlay';

const layer = (mask: number[], colour: string, fillAlpha = 100, outline = true): OverlayLayer => ({ mask: Uint8Array.from(mask), colour, fillAlpha, outline });

describe('mask overlay', () => {
  it('colours each object, shows overlaps in white when asked, leaves the rest transparent', () => {
    const a = layer([1, 1, 0, 0, 1, 1, 0, 0, 0], '#ff0000');
    const b = layer([0, 1, 0, 0, 0, 0, 0, 0, 1], '#0000ff');
    const rgba = new Uint8ClampedArray(9 * 4);
    paintMaskOverlay(rgba, [a, b], 3, 3, { overlapAlpha: 230 });
    expect(Array.from(rgba.slice(0, 4))).toEqual([255, 0, 0, 255]); // edge of a: opaque
    expect(Array.from(rgba.slice(4, 8))).toEqual([255, 255, 255, 230]); // claimed by both
    expect(rgba[2 * 4 + 3]).toBe(0);
    expect(Array.from(rgba.slice(8 * 4, 8 * 4 + 3))).toEqual([0, 0, 255]);
  });

  it('fills the inside at the layer opacity and draws no outline when told not to; the last layer wins overlaps by default', () => {
    const n = 5;
    const block = new Array(n * n).fill(0).map((_, i) => (i % n >= 1 && i % n <= 3 && Math.floor(i / n) >= 1 && Math.floor(i / n) <= 3 ? 1 : 0));
    const rgba = new Uint8ClampedArray(n * n * 4);
    paintMaskOverlay(rgba, [layer(block, '#102030', 50), layer(block, '#405060', 70, false)], n, n);
    const centre = 4 * (2 * n + 2);
    expect(Array.from(rgba.slice(centre, centre + 4))).toEqual([0x40, 0x50, 0x60, 70]);
    const edge = 4 * (1 * n + 1);
    expect(rgba[edge + 3]).toBe(70); // the top layer draws no outline
  });

  it('repaints only the region it is given (and clears it first)', () => {
    const rgba = new Uint8ClampedArray(4 * 4 * 4).fill(7);
    const full = layer(new Array(16).fill(1), '#ffffff', 10, false);
    const painted = paintMaskOverlay(rgba, [full], 4, 4, { region: [1, 1, 2, 2] });
    expect(painted).toEqual([1, 1, 2, 2]);
    expect(rgba[4 * (1 * 4 + 1) + 3]).toBe(10);
    expect(rgba[3]).toBe(7); // outside the region: untouched
    expect(paintMaskOverlay(rgba, [full], 4, 4, { region: [9, 9, 12, 12] })).toBeNull();
  });

  it('parses #rrggbb colours', () => {
    expect(parseHexColour('#ff6b4a')).toEqual([255, 107, 74]);
  });
});
