import { it } from 'vitest';
import { loadSeries } from './realsynth';
import { trackObjects } from '../index';
import { iouStats } from './synthetic';
it('look', async () => {
  const s = await loadSeries('/tmp/synthx/small', 'adf');
  const n = s.nx * s.ny;
  const mid = Math.floor(s.nTilts / 2);
  const frames = Array.from({ length: s.nTilts }, (_, t) => t);
  const opts = { threshold: 'li' as const, smoothingSigma: 0.5, openRadius: 0, minArea: 4 };
  const prompts = [];
  for (const [id, m] of s.masks) {
    let sx = 0, sy = 0, c = 0;
    for (let i = 0; i < n; i++) if (m[mid * n + i]) { sx += i % s.nx; sy += Math.floor(i / s.nx); c++; }
    let best = -1, bd = Infinity;
    for (let i = 0; i < n; i++) if (m[mid * n + i]) { const d = (i % s.nx - sx / c) ** 2 + (Math.floor(i / s.nx) - sy / c) ** 2; if (d < bd) { bd = d; best = i; } }
    prompts.push({ objectId: id, frame: mid, points: [{ x: best % s.nx, y: Math.floor(best / s.nx), positive: true }] });
  }
  const res = await trackObjects({ stack: s.virtual, nTilts: s.nTilts, ny: s.ny, nx: s.nx }, prompts, opts);
  for (const o of res.objects) {
    const st = iouStats(o.masks, s.masks.get(o.objectId)!, n, frames);
    console.log('joint', o.objectId, st.mean.toFixed(2), st.per.map((v) => v.toFixed(2)).join(' '), JSON.stringify(o.stops));
  }
  const o = res.objects[0];
  for (const t of [mid, 14, 16, 5]) {
    const rr: string[] = [];
    for (let y = 0; y < s.ny; y++) { let r = ''; for (let x = 0; x < s.nx; x++) { let ch = '.'; for (const ob of res.objects) if (ob.masks[t * n + y * s.nx + x]) ch = String(ob.objectId); r += ch; } r += '  '; for (let x = 0; x < s.nx; x++) { let c = '.'; for (const [id, m] of s.masks) if (m[t * n + y * s.nx + x]) c = String(id); r += c; } rr.push(r); }
    console.log('t', t, '\n' + rr.join('\n'));
  }
}, 600000);
