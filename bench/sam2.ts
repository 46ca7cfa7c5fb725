// `npm run bench -- sam2`: ms per frame of the SAM2 path on the stand-in models (tests/fixtures/onnx), split into
// preprocessing, encoder, decoder and postprocessing. The stand-ins' encoder/decoder are trivial graphs, so their
// times only show the fixed cost of a 1024² float32 round trip through onnxruntime; the pre/post numbers are the
// app's own cost per frame, what this path controls. Measured at 64² and 256² virtual images, cold cache.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobStack } from '../tests/fixtures/onnx/blob-stack';
import { writeStandinFolder } from '../tests/fixtures/onnx/sam2-standins';
import { loadSam2Model } from '../src-main/stages/tracking/sam2/model';
import { Sam2Tracker } from '../src-main/stages/tracking/sam2/propagate';

const round = (v: number): number => Math.round(v * 100) / 100;

export default async function bench(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'sam2-bench-'));
  const model = await loadSam2Model(writeStandinFolder(dir, 'samexporter'), { providers: ['cpu'] });
  const out: Record<string, unknown> = { layout: model.layout.id, provider: model.provider };
  try {
    for (const n of [64, 256]) {
      const nTilts = 21;
      const s = n / 64; // same particle and drift relative to the frame
      const { stack } = blobStack({ nTilts, nx: n, ny: n, radius: 4 * s, x: 14 * s, y: 22 * s, vx: 1.5 * s, vy: 0.8 * s });
      const prompt = { 10: { points: [{ x: (14 + 15) * s, y: (22 + 8) * s, label: 1 as const }] } };
      // Warm-up: a full run on a separate tracker (own cache), so JIT and ORT allocations are not in the numbers.
      const warm = new Sam2Tracker(model);
      warm.setImages(stack);
      await warm.propagate([{ id: 'warm-up', prompts: prompt }]);
      warm.dispose();
      const tracker = new Sam2Tracker(model);
      tracker.setImages(stack);
      const t0 = performance.now();
      const { timings: t } = await tracker.propagate([{ id: 'bench', prompts: prompt }]);
      const wall = performance.now() - t0;
      const per = (ms: number): number => round(ms / t.frames);
      // Re-run with every embedding cached: what re-tracking after an edit costs.
      const t1 = performance.now();
      const cached = await tracker.propagate([{ id: 'bench', prompts: prompt }]);
      out[`${n}x${n}`] = {
        frames: t.frames,
        encoderCalls: t.cacheMisses,
        msPerFrame: {
          preprocess: per(t.preprocessMs),
          encoder: per(t.encoderMs),
          decoder: per(t.decoderMs),
          postprocess: per(t.postprocessMs),
          total: per(wall),
        },
        cachedRerunMsPerFrame: round((performance.now() - t1) / cached.timings.frames),
      };
    }
  } finally {
    await model.release();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
