import { it } from 'vitest';
import { existsSync } from 'node:fs';
import { synthesize } from '../../synth/index';
import { loadSeries } from './realsynth';
import { trackObjects, pickAutoTarget } from '../index';
import { iouStats } from './synthetic';
it('medium', async () => {
  if (!existsSync('/tmp/synthx/medium/truth/virtual.h5')) await synthesize({ preset: 'brookite-agglomerate', size: 'medium', outDir: '/tmp/synthx/medium' });
  const s = await loadSeries('/tmp/synthx/medium', 'adf');
  const n = s.nx * s.ny, mid = Math.floor(s.nTilts / 2);
  const frames = Array.from({ length: s.nTilts }, (_, t) => t);
  const auto = pickAutoTarget({ stack: s.virtual, nTilts: s.nTilts, ny: s.ny, nx: s.nx });
  let autoId = 0; for (const [id, m] of s.masks) if (m[mid * n + auto.prompt.points[0].y * s.nx + auto.prompt.points[0].x]) autoId = id;
  const r = await trackObjects({ stack: s.virtual, nTilts: s.nTilts, ny: s.ny, nx: s.nx }, [auto.prompt]);
  const st = iouStats(r.objects[0].masks, s.masks.get(autoId)!, n, frames);
  console.log('auto', autoId, st.mean.toFixed(2), st.min.toFixed(2), st.per.map((v) => v.toFixed(2)).join(' '));
  console.log('stops', JSON.stringify(r.objects[0].stops));
  r.objects[0].quality.forEach((q, t) => { if (q && (q.flagged || st.per[t] < 0.6)) console.log('q', t, st.per[t].toFixed(2), JSON.stringify(q)); });
  return;
  const prompts = [...s.masks.keys()].map((id) => {
    const m = s.masks.get(id)!; let sx = 0, sy = 0, c = 0;
    for (let i = 0; i < n; i++) if (m[mid * n + i]) { sx += i % s.nx; sy += Math.floor(i / s.nx); c++; }
    let best = 0, bd = Infinity;
    for (let i = 0; i < n; i++) { const d = ((i % s.nx) - sx / c) ** 2 + (Math.floor(i / s.nx) - sy / c) ** 2; if (m[mid * n + i] && d < bd) { best = i; bd = d; } }
    return { objectId: id, frame: mid, points: [{ x: best % s.nx, y: Math.floor(best / s.nx), positive: true }] };
  });
  for (const p of prompts) {
    const rr = await trackObjects({ stack: s.virtual, nTilts: s.nTilts, ny: s.ny, nx: s.nx }, [p]);
    const q = iouStats(rr.objects[0].masks, s.masks.get(p.objectId)!, n, frames);
    console.log('single', p.objectId, q.mean.toFixed(2), q.min.toFixed(2));
  }
  const j = await trackObjects({ stack: s.virtual, nTilts: s.nTilts, ny: s.ny, nx: s.nx }, prompts);
  for (const o of j.objects) { const q = iouStats(o.masks, s.masks.get(o.objectId)!, n, frames); console.log('joint', o.objectId, q.mean.toFixed(2), q.min.toFixed(2)); }
}, 600000);
