import { describe, expect, it } from 'vitest';
import { fitBeamCentre, medianFilteredPeak } from '../beam-centre';
import { detectorWeights } from '../virtual-detectors';
import { rng } from '../../../tests/helpers/rng';

/** Mean-pattern-like image: area-weighted disk at (cx, cy) + background + noise + Bragg disks + a hot pixel. */
function synthetic(cx: number, cy: number, r: number, seed: number): Float64Array {
  const shape: [number, number] = [96, 104];
  const disk = detectorWeights({ kind: 'disk', radius: r, cx, cy }, { detectorShape: shape });
  const out = new Float64Array(disk.length);
  const rand = rng(seed);
  for (let p = 0; p < out.length; p++) out[p] = 5 + 1000 * disk[p] + 2 * (rand() - 0.5);
  for (const [bx, by] of [[cx + 30, cy + 4], [cx - 28, cy - 9], [cx + 3, cy + 33]]) {
    const b = detectorWeights({ kind: 'disk', radius: r * 0.8, cx: bx, cy: by }, { detectorShape: shape });
    for (let p = 0; p < out.length; p++) out[p] += 300 * b[p];
  }
  out[5 * 104 + 7] = 50_000; // a hot pixel far from the beam
  return out;
}

describe('fitBeamCentre', () => {
  const cases: Array<[number, number, number]> = [
    [51.37, 47.81, 9.3],
    [48.02, 50.64, 5.1],
    [55.5, 44.25, 14.7],
  ];
  for (const [cx, cy, r] of cases) {
    it(`finds a disk at (${cx}, ${cy}), r ${r}, to a small fraction of a pixel`, () => {
      const pat = synthetic(cx, cy, r, Math.round(cx * 100));
      const copy = pat.slice();
      const c = fitBeamCentre(pat, [96, 104]);
      const k = fitBeamCentre(pat, [96, 104], { method: 'circle' });
      expect(pat).toEqual(copy);
      expect(c).not.toBeNull();
      expect(k).not.toBeNull();
      expect(Math.hypot(c!.cx - cx, c!.cy - cy)).toBeLessThan(0.03);
      expect(Math.abs(c!.radius - r)).toBeLessThan(0.5);
      expect(k!.method).toBe('circle');
      expect(Math.hypot(k!.cx - cx, k!.cy - cy)).toBeLessThan(0.1);
      expect(Math.abs(k!.radius - r)).toBeLessThan(0.2);
    });
  }

  it('works on float32 patterns', () => {
    const pat = Float32Array.from(synthetic(40.6, 52.2, 8, 4));
    const c = fitBeamCentre(pat, [96, 104]);
    expect(Math.hypot(c!.cx - 40.6, c!.cy - 52.2)).toBeLessThan(0.03);
  });

  it('returns null when there is no beam (flat, NaN, wrong size)', () => {
    expect(fitBeamCentre(new Float64Array(96 * 104).fill(3), [96, 104])).toBeNull();
    const nan = synthetic(50, 50, 8, 1);
    nan[100] = NaN;
    expect(fitBeamCentre(nan, [96, 104])).toBeNull();
    expect(fitBeamCentre(new Float64Array(10), [96, 104])).toBeNull();
  });
});

describe('beam-centre background (linear-time median)', () => {
  it('equals the sorted median on odd and even sizes, with ties', () => {
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (const [nqy, nqx] of [
      [33, 31],
      [32, 32],
      [64, 48],
    ] as const) {
      const p = new Float64Array(nqy * nqx).map(() => Math.floor(rnd() * 7));
      // A bright disk so that a fit exists.
      const cx = nqx / 2 + 0.3;
      const cy = nqy / 2 - 0.2;
      for (let y = 0; y < nqy; y++) for (let x = 0; x < nqx; x++) if ((x - cx) ** 2 + (y - cy) ** 2 < 16) p[y * nqx + x] = 500 + rnd();
      const sorted = Float64Array.from(p).sort();
      const n = sorted.length;
      const expected = n % 2 ? sorted[(n - 1) >> 1]! : 0.5 * (sorted[n / 2 - 1]! + sorted[n / 2]!);
      const fit = fitBeamCentre(p, [nqy, nqx]);
      expect(fit?.background).toBe(expected);
      expect(fit!.cx).toBeCloseTo(cx, 0);
    }
  });
});

describe('medianFilteredPeak', () => {
  /** Every pixel's 3×3 median (clipped at the edges), first maximum in row-major order: the definition. */
  function bruteForce(a: Float64Array, ny: number, nx: number): { peak: number; peakAt: number } {
    let peak = -Infinity;
    let peakAt = 0;
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const v: number[] = [];
        for (let yy = Math.max(0, y - 1); yy <= Math.min(ny - 1, y + 1); yy++) {
          for (let xx = Math.max(0, x - 1); xx <= Math.min(nx - 1, x + 1); xx++) v.push(a[yy * nx + xx]);
        }
        v.sort((p, q) => p - q);
        const m = v[v.length >> 1];
        if (m > peak) {
          peak = m;
          peakAt = y * nx + x;
        }
      }
    }
    return { peak, peakAt };
  }

  it('equals filtering every pixel: noise, small disks off the grid, hot pixels, ties on a saturated plateau, edges', () => {
    const r = rng(77);
    const shapes: Array<[number, number]> = [[1, 1], [1, 9], [2, 2], [17, 23], [40, 31]];
    for (const [ny, nx] of shapes) {
      for (let trial = 0; trial < 30; trial++) {
        const a = new Float64Array(ny * nx);
        for (let p = 0; p < a.length; p++) a[p] = Math.floor(r() * 20);
        const kind = trial % 5;
        if (kind === 1 || kind === 2) {
          // a disk of radius 1.5–2.5 anywhere (also on the border), sometimes saturated (ties)
          const cx = r() * nx;
          const cy = r() * ny;
          const rad = 1.5 + r();
          for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) if (Math.hypot(x - cx, y - cy) < rad) a[y * nx + x] = kind === 2 ? 65535 : 500 + r() * 100;
        }
        if (kind === 3) for (let k = 0; k < 5; k++) a[Math.floor(r() * a.length)] = 1e6; // hot pixels only
        if (kind === 4) a.fill(7); // flat
        expect(medianFilteredPeak(a, ny, nx), `${ny}×${nx} trial ${trial}`).toEqual(bruteForce(a, ny, nx));
      }
    }
  });
});
