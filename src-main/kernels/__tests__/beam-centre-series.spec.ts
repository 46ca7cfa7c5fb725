// One geometry for a series: frames whose strongest reflection outshines the direct beam keep the reference centre;
// a fit that moves only a little is kept; Friedel symmetry tells a true centre from a displaced one.
import { describe, expect, it } from 'vitest';
import { centreSpread, friedelScore, seriesBeamCentres } from '../beam-centre-series';
import { estimateBeamCentre } from '../../stages/extraction/service';
import { detectorWeights } from '../virtual-detectors';
import { rng } from '../../../tests/helpers/rng';

const SHAPE: [number, number] = [96, 96];
const NPIX = SHAPE[0] * SHAPE[1];

/**
 * A particle-only sum: the direct beam (radius 3) at (cx, cy), Friedel pairs of reflections at ±g, and optionally one
 * reflection far brighter than the beam (a thick crystal near a two-beam condition) — its mate weak, as dynamical
 * scattering makes it.
 */
function frame(cx: number, cy: number, seed: number, strong: boolean): Float32Array {
  const out = new Float32Array(NPIX);
  const rand = rng(seed);
  const add = (x: number, y: number, r: number, counts: number): void => {
    const w = detectorWeights({ kind: 'disk', radius: r, cx: x, cy: y }, { detectorShape: SHAPE });
    for (let p = 0; p < NPIX; p++) out[p] += counts * w[p];
  };
  add(cx, cy, 3, 4000);
  for (const [gx, gy, I] of [[14, 5, 900], [-6, 17, 700], [21, -11, 500], [9, 26, 400]] as const) {
    add(cx + gx, cy + gy, 2, I);
    add(cx - gx, cy - gy, 2, I * 0.9);
  }
  if (strong) {
    add(cx + 31, cy - 12, 3, 9000);
    add(cx - 31, cy + 12, 3, 500);
  }
  for (let p = 0; p < NPIX; p++) out[p] += 20 + 4 * (rand() - 0.5);
  return out;
}

describe('seriesBeamCentres', () => {
  it('a fit on the frame alone lands on a reflection brighter than the beam; anchored on the reference it does not', () => {
    const n = 6;
    const truth: Array<[number, number]> = Array.from({ length: n }, (_, t) => [47.3 + 0.2 * t, 48.1 - 0.1 * t]);
    const frames = new Float32Array(n * NPIX);
    const strong = [false, true, false, false, true, false];
    truth.forEach(([x, y], t) => frames.set(frame(x, y, t + 1, strong[t]!), t * NPIX));
    const initial = new Float64Array(2 * n);
    for (let t = 0; t < n; t++) {
      const c = estimateBeamCentre(frames.subarray(t * NPIX, (t + 1) * NPIX), SHAPE)!;
      initial[2 * t] = c[0];
      initial[2 * t + 1] = c[1];
    }
    // The unconstrained fit picks the strong reflection on the frames that have one.
    for (let t = 0; t < n; t++) {
      const d = Math.hypot(initial[2 * t] - truth[t]![0], initial[2 * t + 1] - truth[t]![1]);
      if (strong[t]) expect(d).toBeGreaterThan(20);
      else expect(d).toBeLessThan(0.3);
    }
    // Anchored on a reference 1.5 px off (a mean pattern's centre): every frame finds its own beam, within 0.3 px.
    const reference = truth.map(([x, y]) => [x + 1.2, y - 0.9] as [number, number]);
    const r = seriesBeamCentres(frames, SHAPE, new Uint8Array(n).fill(1), initial, { reference });
    for (let t = 0; t < n; t++) {
      expect(Math.hypot(r.centres[2 * t] - truth[t]![0], r.centres[2 * t + 1] - truth[t]![1])).toBeLessThan(0.3);
      expect(r.source[t]).toBe('frame');
    }
    // Without a reference, the median of the frames' fits anchors them (the strong ones are the minority).
    const m = seriesBeamCentres(frames, SHAPE, new Uint8Array(n).fill(1), initial, { maxShiftPx: 3 });
    for (let t = 0; t < n; t++) expect(Math.hypot(m.centres[2 * t] - truth[t]![0], m.centres[2 * t + 1] - truth[t]![1])).toBeLessThan(0.3);
    const sp = centreSpread(r.centres);
    expect(sp.frames).toBe(n);
    expect(sp.maxPx).toBeLessThan(1);
  });

  it('rejects a fit that strays beyond maxShiftPx, or that Friedel symmetry says is worse than the reference', () => {
    const f = frame(47, 48, 9, false);
    // The beam hidden (a beam stop, a dead area): what is brightest near the reference is a reflection 15 px away.
    const hidden = f.slice();
    const w = detectorWeights({ kind: 'disk', radius: 4, cx: 47, cy: 48 }, { detectorShape: SHAPE });
    for (let p = 0; p < NPIX; p++) if (w[p] > 0) hidden[p] = 20;
    const r = seriesBeamCentres(hidden, SHAPE, [1], Float64Array.of(NaN, NaN), { reference: [[47, 48]], maxShiftPx: 3, windowPx: 12 });
    expect(r.source[0]).toBe('reference');
    expect([r.centres[0], r.centres[1]]).toEqual([47, 48]);
    expect(r.rejected[0]!.reason).toMatch(/from the reference|no direct beam/);
    // Friedel: the true centre is more centrosymmetric than one displaced by 2 px.
    expect(friedelScore(f, SHAPE, 47, 48, 6)).toBeGreaterThan(friedelScore(f, SHAPE, 49, 48, 6) + 0.3);
    expect(friedelScore(f, SHAPE, 47, 48, 6)).toBeGreaterThan(0.8);
    // Frames not included are left alone.
    const none = seriesBeamCentres(f, SHAPE, [0], Float64Array.of(1, 2), {});
    expect(none.source[0]).toBeNull();
    expect(Number.isNaN(none.centres[0])).toBe(true);
  });
});
