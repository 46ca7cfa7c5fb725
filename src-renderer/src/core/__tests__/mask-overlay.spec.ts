import { describe, expect, it } from 'vitest';
import { maskOverlayRgba } from '../mask-overlay';

describe('mask overlay', () => {
  it('colours each object, shows overlaps in white, leaves the rest transparent', () => {
    const a = Uint8Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0]);
    const b = Uint8Array.from([0, 1, 0, 0, 0, 0, 0, 0, 1]);
    const rgba = maskOverlayRgba([{ colour: '#ff0000', mask: a }, { colour: '#0000ff', mask: b }], 3, 3);
    expect(Array.from(rgba.slice(0, 4))).toEqual([255, 0, 0, 255]);
    expect(Array.from(rgba.slice(4, 8))).toEqual([255, 255, 255, 230]);
    expect(rgba[2 * 4 + 3]).toBe(0);
    expect(Array.from(rgba.slice(8 * 4, 8 * 4 + 3))).toEqual([0, 0, 255]);
  });
});
