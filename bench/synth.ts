// `npm run bench -- synth`: generation throughput of the synthetic-data generator on the `small` size of
// the agglomerate preset (the demo's data), in probe positions (frames) per second and bytes per second.
// The baseline measured in the same run is the cost of writing the same bytes without the physics
// (contiguous EMD file of zeros through the same writer), so the ratio says how much the model costs on
// top of the I/O.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesize } from '../src-main/synth';
import { EmdCubeWriter } from '../src-main/io/write-emd';

export default async function bench(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'tracked-bench-synth-'));
  try {
    const summary = await synthesize({ preset: 'brookite-agglomerate', size: 'small', outDir: join(dir, 'series'), seed: 1 });
    const frames = summary.nTilts * summary.scanShape[0] * summary.scanShape[1];

    // Baseline: the same number of uint16 frames written through the EMD writer with no physics.
    const t0 = performance.now();
    for (let t = 0; t < summary.nTilts; t++) {
      const w = await EmdCubeWriter.create({
        path: join(dir, `base_${t}.h5`),
        scanShape: summary.scanShape,
        detectorShape: summary.detectorShape,
        dtype: 'uint16',
        realPixelNm: 1,
        reciprocalPixelInvA: 0.01,
      });
      const block = w.allocateRows(summary.scanShape[0]);
      w.writeRows(block);
      w.close();
      rmSync(join(dir, `base_${t}.h5`));
    }
    const baseSeconds = (performance.now() - t0) / 1000;
    return {
      preset: summary.preset,
      size: summary.size,
      nTilts: summary.nTilts,
      scanShape: summary.scanShape,
      detectorShape: summary.detectorShape,
      seconds: summary.seconds,
      probePositionsPerSecond: frames / summary.seconds,
      bytesWritten: summary.bytesWritten,
      bytesPerSecond: summary.bytesWritten / summary.seconds,
      baselineWriteSeconds: baseSeconds,
      ratioToBaseline: summary.seconds / baseSeconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
