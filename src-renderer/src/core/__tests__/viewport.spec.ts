import { describe, expect, it } from 'vitest';
import { fitViewport, toImage, zoomAt } from '../viewport';

describe('viewport', () => {
  it('fits and centres an image', () => {
    const v = fitViewport(100, 50, 400, 400, 1);
    expect(v.scale).toBe(4);
    expect(v.offsetX).toBe(0);
    expect(v.offsetY).toBe(100);
    expect(toImage(v, 200, 200)).toEqual([50, 25]);
  });
  it('zooming keeps the point under the cursor fixed', () => {
    const v = fitViewport(64, 64, 512, 512, 1);
    const before = toImage(v, 130, 371);
    const z = zoomAt(v, 2.5, 130, 371);
    const after = toImage(z, 130, 371);
    expect(after[0]).toBeCloseTo(before[0], 10);
    expect(after[1]).toBeCloseTo(before[1], 10);
    expect(z.scale).toBe(v.scale * 2.5);
  });
});
