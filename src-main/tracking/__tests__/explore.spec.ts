import { it } from 'vitest';
import { trackObjects, detectCandidates } from '../index';
import { synthStack, defaultParticles, iouStats } from './synthetic';

it('explore', async () => {
  const s = synthStack({ nx: 128, ny: 128, nTilts: 41, tiltRangeDeg: 30, particles: defaultParticles(), driftStep: 0.6, noise: 6, background: 10, seed: 1 });
  const mid = 20;
  const n = s.nx * s.ny;
  const det = detectCandidates(s.stack.subarray(mid * n, (mid + 1) * n), s.nx, s.ny);
  console.log(det.candidates.map((c) => `${c.id}: ${c.area} (${c.x.toFixed(1)},${c.y.toFixed(1)}) iso=${c.isolated} comp=${c.compactness.toFixed(2)} score=${c.score.toFixed(2)}`).join('\n'));
  const t0 = performance.now();
  const prompts = s.centres.map((c, k) => ({ objectId: k + 1, frame: mid, points: [{ x: Math.round(c[mid].x), y: Math.round(c[mid].y), positive: true }] }));
  const res = await trackObjects({ stack: s.stack, nTilts: s.nTilts, ny: s.ny, nx: s.nx }, prompts, {});
  console.log('ms', performance.now() - t0);
  const frames = Array.from({ length: s.nTilts }, (_, t) => t);
  res.objects.forEach((o, k) => {
    const st = iouStats(o.masks, s.truth[k], n, frames);
    console.log(o.objectId, o.error, st.mean.toFixed(3), st.min.toFixed(3), st.per.map((v) => v.toFixed(2)).join(' '), JSON.stringify(o.stops));
  });
  console.log(Array.from(res.drift.dx).map((v, t) => (v - (s.driftX[t] - (t ? s.driftX[t - 1] : 0))).toFixed(2)).join(' '));
});
