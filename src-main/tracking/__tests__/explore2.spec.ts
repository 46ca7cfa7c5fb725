import { it } from 'vitest';
import { loadSeries } from './realsynth';
import { trackObjects } from '../index';
import { iouStats, synthStack, defaultParticles } from './synthetic';
it('look', async () => {
  const s = await loadSeries('/tmp/synthx/small', 'adf');
  const syn = synthStack({ nx: 128, ny: 128, nTilts: 41, tiltRangeDeg: 30, particles: defaultParticles(), driftStep: 0.6, noise: 6, background: 10, seed: 1 });
  const synMasks = new Map(syn.truth.map((m, k) => [k + 1, m]));
  for (const [name, stack, masks, nTilts, ny, nx] of [['real', s.virtual, s.masks, s.nTilts, s.ny, s.nx], ['syn', syn.stack, synMasks, syn.nTilts, syn.ny, syn.nx]] as const) {
  const n = nx * ny;
  const mid = Math.floor(nTilts / 2);
  const frames = Array.from({ length: nTilts }, (_, t) => t);
  for (const threshold of ['otsu', 'li', 'yen', 'mean'] as const)
  for (const smoothingSigma of [0.5, 1])
  for (const openRadius of [0, 1]) {
    const opts = { threshold, smoothingSigma, openRadius, minArea: 4 };
    const out: string[] = [];
    let driftInfo = '';
    for (const [id, m] of masks) {
      let sx = 0, sy = 0, c = 0;
      for (let i = 0; i < n; i++) if (m[mid * n + i]) { sx += i % nx; sy += Math.floor(i / nx); c++; }
      let best = -1, bd = Infinity;
      for (let i = 0; i < n; i++) if (m[mid * n + i]) { const d = (i % nx - sx / c) ** 2 + (Math.floor(i / nx) - sy / c) ** 2; if (d < bd) { bd = d; best = i; } }
      const prompt = { objectId: id, frame: mid, points: [{ x: best % nx, y: Math.floor(best / nx), positive: true }] };
      const res = await trackObjects({ stack, nTilts, ny, nx }, [prompt], opts);
      driftInfo = Array.from(res.drift.dx).map((v) => v.toFixed(1)).join(' ');
      const o = res.objects[0];
      if (o.error) { out.push(`${id}: ERR`); continue; }
      const st = iouStats(o.masks, m, n, frames);
      out.push(`${id}: ${st.mean.toFixed(2)}/${st.min.toFixed(2)}`);
    }
    console.log(name, JSON.stringify(opts), out.join('  '), name === 'real' ? driftInfo : '');
  }
  }
}, 600000);
