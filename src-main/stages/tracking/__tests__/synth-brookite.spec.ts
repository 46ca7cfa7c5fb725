// The tracking bars, on the project's own synthetic generator output (src-main/synth): the brookite
// agglomerate — five nanorods touching end to end, with strong, tilt-dependent diffraction contrast — at the
// presets' small and medium sizes. What the app does: the virtual ADF and BF from the raw counts (the
// virtual-imaging service, detectors from the data, see realsynth.ts), one click on the middle tilt (the auto-picked particle), the
// classical tracker over all tilts. The bar: mean IoU ≥ 0.85 with the ground-truth masks over all tilts, worst tilt
// ≥ 0.6, and no frame where the mask jumps to a neighbour; all five rods tracked together keep their identities.
// Each size is generated once for this file (small ≈ 6 s, medium ≈ 11 s here) and deleted afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesize } from '../../../synth/index';
import { pickAutoTarget, trackObjects, type ObjectPrompt } from '../index';
import { iouStats } from './synthetic';
import { loadSeries, type LoadedSeries } from './realsynth';

/** Pixel centroid of frame t of a stack of masks ([NaN, NaN] when empty). */
function centroid(m: Uint8Array, t: number, nx: number, n: number): [number, number] {
  let sx = 0;
  let sy = 0;
  let c = 0;
  for (let i = 0; i < n; i++) {
    if (!m[t * n + i]) continue;
    sx += i % nx;
    sy += Math.floor(i / nx);
    c++;
  }
  return c ? [sx / c, sy / c] : [NaN, NaN];
}

describe.each(['small', 'medium'] as const)('tracking the synthetic brookite agglomerate (%s)', (size) => {
  let dir = '';
  let s: LoadedSeries;
  let n = 0;
  let mid = 0;
  let frames: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `tracked-brookite-${size}-`));
    const sum = await synthesize({ preset: 'brookite-agglomerate', size, outDir: dir, seed: 1 });
    s = await loadSeries(dir, sum.manifest);
    n = s.nx * s.ny;
    mid = Math.floor(s.nTilts / 2);
    frames = Array.from({ length: s.nTilts }, (_, t) => t);
  }, 180_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // As the app tracks: bright field and dark field together.
  const input = () => ({
    stack: s.virtual,
    channels: [
      { stack: s.virtual, invert: false },
      { stack: s.bf, invert: true },
    ],
    nTilts: s.nTilts,
    ny: s.ny,
    nx: s.nx,
  });
  /** The id of the truth particle whose mask holds pixel (x, y) on frame t (0 when none). */
  const particleAt = (x: number, y: number, t: number): number => {
    for (const [id, m] of s.masks) if (m[t * n + y * s.nx + x]) return id;
    return 0;
  };
  /**
   * Frames where the mask of particle `id` has jumped to a neighbour: its IoU with a neighbour's true mask exceeds
   * its IoU with its own, or its centroid is closer to a neighbour's true centroid than to its own.
   */
  const jumps = (masks: Uint8Array, id: number): number[] =>
    frames.filter((t) => {
      const own = iouStats(masks, s.masks.get(id)!, n, [t]).mean;
      const [cx, cy] = centroid(masks, t, s.nx, n);
      const [ox, oy] = centroid(s.masks.get(id)!, t, s.nx, n);
      const dOwn = Math.hypot(cx - ox, cy - oy);
      return [...s.masks].some(([j, m]) => {
        if (j === id) return false;
        const [jx, jy] = centroid(m, t, s.nx, n);
        return iouStats(masks, m, n, [t]).mean > own || Math.hypot(cx - jx, cy - jy) < dOwn;
      });
    });
  /** A click on the truth pixel nearest the particle's centroid on the middle tilt. */
  const clickOn = (id: number): ObjectPrompt => {
    const m = s.masks.get(id)!;
    const [cx, cy] = centroid(m, mid, s.nx, n);
    let best = 0;
    let bd = Infinity;
    for (let i = 0; i < n; i++) {
      const d = ((i % s.nx) - cx) ** 2 + (Math.floor(i / s.nx) - cy) ** 2;
      if (m[mid * n + i] && d < bd) [best, bd] = [i, d];
    }
    return { objectId: id, tilt: mid, points: [{ x: best % s.nx, y: Math.floor(best / s.nx), positive: true }] };
  };

  it('follows the auto-picked particle (one click on the middle tilt): mean IoU ≥ 0.85, worst tilt ≥ 0.6, never on a neighbour', async () => {
    const auto = pickAutoTarget(input());
    expect(auto.tilt).toBe(mid);
    const id = particleAt(auto.prompt.points[0].x, auto.prompt.points[0].y, auto.tilt);
    expect(id).toBeGreaterThan(0);
    const res = await trackObjects(input(), [{ ...auto.prompt, objectId: id }]);
    const o = res.objects[0];
    expect(o.stops).toEqual([]);
    const st = iouStats(o.masks, s.masks.get(id)!, n, frames);
    expect(st.mean, `rod ${id} per tilt ${st.per.map((v) => v.toFixed(2)).join(' ')}`).toBeGreaterThanOrEqual(0.85);
    expect(st.min, `rod ${id} per tilt ${st.per.map((v) => v.toFixed(2)).join(' ')}`).toBeGreaterThanOrEqual(0.6);
    expect(jumps(o.masks, id)).toEqual([]);
  });

  it('tracks all five rods together from one click each, keeping their identities', async () => {
    const ids = [...s.masks.keys()];
    expect(ids).toHaveLength(5);
    const res = await trackObjects(input(), ids.map(clickOn));
    expect(res.objects.map((o) => o.objectId)).toEqual(ids);
    for (const o of res.objects) {
      expect(o.error).toBeUndefined();
      expect(jumps(o.masks, o.objectId), `rod ${o.objectId}`).toEqual([]);
      expect(iouStats(o.masks, s.masks.get(o.objectId)!, n, frames).mean, `rod ${o.objectId}`).toBeGreaterThanOrEqual(0.85);
    }
  });
});
