import { it } from 'vitest';
import { loadSeries } from './realsynth';
import { trackObjects, detectCandidates } from '../index';
import { iouStats } from './synthetic';
it('look', async () => {
  const s = await loadSeries('/tmp/synthx/small', 'adf');
  const n = s.nx * s.ny;
  const mid = Math.floor(s.nTilts / 2);
  const frames = Array.from({ length: s.nTilts }, (_, t) => t);
  const opts = { threshold: 'yen' as const, smoothingSigma: 0.5, openRadius: 0, minArea: 4 };
  const det = detectCandidates(s.virtual.subarray(mid * n, (mid + 1) * n), s.nx, s.ny, opts);
  const rows: string[] = [];
  for (let y = 0; y < s.ny; y++) { let r = ''; for (let x = 0; x < s.nx; x++) { const l = det.labels[y * s.nx + x]; r += l ? String.fromCharCode(96 + l) : '.'; } r += '  '; for (let x = 0; x < s.nx; x++) { let c = '.'; for (const [id, m] of s.masks) if (m[mid * n + y * s.nx + x]) c = String(id); r += c; } rows.push(r); }
  console.log(rows.join('\n'));
  const id = 4, m = s.masks.get(4)!;
  let sx = 0, sy = 0, c = 0;
  for (let i = 0; i < n; i++) if (m[mid * n + i]) { sx += i % s.nx; sy += Math.floor(i / s.nx); c++; }
  const prompt = { objectId: id, frame: mid, points: [{ x: Math.round(sx / c), y: Math.round(sy / c), positive: true }] };
  console.log(JSON.stringify(prompt));
  const res = await trackObjects({ stack: s.virtual, nTilts: s.nTilts, ny: s.ny, nx: s.nx }, [prompt], opts);
  const o = res.objects[0];
  const st = iouStats(o.masks, m, n, frames);
  console.log(st.per.map((v) => v.toFixed(2)).join(' '), JSON.stringify(o.stops), o.error);
  console.log(Array.from(res.drift.dx).map((v) => v.toFixed(1)).join(' '));
  console.log(Array.from(res.drift.dy).map((v) => v.toFixed(1)).join(' '));
  for (const t of [mid, mid + 1, mid + 2]) {
    const rr: string[] = [];
    for (let y = 0; y < s.ny; y++) { let r = ''; for (let x = 0; x < s.nx; x++) { const a = o.masks[t * n + y * s.nx + x], b = m[t * n + y * s.nx + x]; r += a && b ? '#' : a ? 'o' : b ? 'x' : '.'; } rr.push(r); }
    console.log('t', t, JSON.stringify(o.quality[t]) + '\n' + rr.join('\n'));
  }
}, 600000);
