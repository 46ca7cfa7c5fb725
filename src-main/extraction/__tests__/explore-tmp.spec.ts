import { join } from 'node:path';
import { it } from 'vitest';
import { openSeries, openTilt } from '../../io/series';
import { synthesize } from '../../synth/index';
import { computeVirtualImages, imageStack } from '../../services/virtual';
import { pickAutoTarget, trackObjects } from '../../tracking';
import { loadSynthTruth, signalScore, projectedOverlaps, centroidClick, particleAt } from './synthetic-truth';
import { tempDir } from './helpers';

const CFGS = (process.env.CFGS ?? '32,48,9,5,1').split(';').map((c) => c.split(',').map(Number));
it('explore', async () => {
  for (const [scan, det, nT, step, seed] of CFGS) {
    const tmp = tempDir('explore');
    const t0 = performance.now();
    const sum = await synthesize({ preset: 'brookite-agglomerate', size: { scanShape: [scan, scan], detectorShape: [det, det], nTilts: nT, tiltStepDeg: step }, outDir: tmp.dir, seed });
    const tGen = performance.now() - t0;
    const truth = await loadSynthTruth(tmp.dir);
    const series = await openSeries(join(tmp.dir, sum.manifest));
    const sources = await Promise.all(series.tilts.map((_, i) => openTilt(series, i)));
    const vd = truth.scene.virtualDetectors;
    const t1 = performance.now();
    const v = await computeVirtualImages(sources, [{ kind: 'annulus', rIn: vd.adfInnerPx, rOut: vd.adfOuterPx, name: 'adf' }], { beamCentre: truth.scene.beamCentre, maxPattern: false });
    const stack = imageStack(v, 'adf');
    const tVirt = performance.now() - t1;
    const ov = projectedOverlaps(truth);
    const mid = Math.floor(truth.nTilts / 2);
    const lines: string[] = [`cfg scan ${scan} det ${det} nT ${nT} step ${step} seed ${seed}: gen ${tGen.toFixed(0)} ms virt ${tVirt.toFixed(0)} ms; overlaps ${JSON.stringify([...ov])}`];
    for (const id of truth.ids) {
      const s = signalScore(truth, id, truth.masks.get(id)!);
      let area = 0; for (let i = mid * scan * scan; i < (mid + 1) * scan * scan; i++) area += truth.masks.get(id)![i];
      lines.push(`  true ${id}: area(mid) ${area} kept ${s.kept.toFixed(4)} neigh ${s.neighbour.toFixed(4)} maxNeighTilt ${Math.max(...s.neighbourPerTilt.filter(Number.isFinite)).toFixed(4)}`);
    }
    const input = { stack, nTilts: truth.nTilts, ny: truth.ny, nx: truth.nx };
    try {
      const auto = pickAutoTarget(input);
      const aid = particleAt(truth, auto.prompt.points[0].x, auto.prompt.points[0].y, auto.frame);
      const t2 = performance.now();
      const r = await trackObjects(input, [auto.prompt]);
      const s = signalScore(truth, aid, r.objects[0].masks);
      lines.push(`  auto -> ${aid} (${auto.note}) track ${(performance.now() - t2).toFixed(0)} ms: kept ${s.kept.toFixed(4)} neigh ${s.neighbour.toFixed(4)} perTilt kept ${s.keptPerTilt.map((x) => x.toFixed(2)).join(' ')} neigh ${s.neighbourPerTilt.map((x) => x.toFixed(2)).join(' ')} states ${r.objects[0].frameState.join(',')}`);
    } catch (e) { lines.push(`  auto failed ${(e as Error).message}`); }
    for (const id of truth.ids) {
      const c = centroidClick(truth, id, mid);
      const r = await trackObjects(input, [{ objectId: id, frame: mid, points: [{ ...c, positive: true }] }]);
      const s = signalScore(truth, id, r.objects[0].masks);
      lines.push(`  click ${id}: kept ${s.kept.toFixed(4)} neigh ${s.neighbour.toFixed(4)} minKeptTilt ${Math.min(...s.keptPerTilt).toFixed(2)} maxNeighTilt ${Math.max(...s.neighbourPerTilt.filter(Number.isFinite)).toFixed(2)} ${r.objects[0].error ?? ''}`);
    }
    console.log(lines.join('\n'));
    for (const s of sources) s.close();
    tmp.cleanup();
  }
}, 600_000);
