import { describe, expect, it } from 'vitest';
import { suggestRadii } from '../virtual-job';

describe('suggested detector radii', () => {
  it('BF covers the disk, ADF starts at 3.5 disk radii and ends at the detector edge', () => {
    const s = suggestRadii({ cx: 47.5, cy: 48.2, radius: 1.2 }, [96, 96]);
    expect(s.bfRadius).toBe(1.5);
    expect(s.adfInner).toBe(4);
    expect(s.adfOuter).toBe(46); // the nearest edge: 95 − 48.2
    expect(s.beamCentre).toEqual([47.5, 48.2]);
  });

  it('stays valid for a beam near the edge, a tiny detector, or no beam at all', () => {
    for (const [fit, shape] of [
      [{ cx: 0.4, cy: 3, radius: 0.8 }, [8, 8]],
      [{ cx: 7, cy: 7, radius: 5 }, [8, 8]],
      [null, [8, 8]],
      [null, [256, 256]],
      [{ cx: 1, cy: 1, radius: 30 }, [64, 64]],
    ] as const) {
      const s = suggestRadii(fit, [shape[0], shape[1]]);
      expect(s.bfRadius, JSON.stringify(fit)).toBeGreaterThan(0);
      expect(s.adfInner).toBeGreaterThanOrEqual(0);
      expect(s.adfOuter).toBeGreaterThan(s.adfInner);
    }
  });
});
