// `npm run bench -- tracking`: frames per second of the classical tracker on synthetic tilt series at 128² and
// 512² (one object, forward and backward from the middle tilt, so every tilt is visited once per direction),
// and, measured in the same run as the baseline, the cost of only the per-frame phase correlation (drift) and
// preprocessing + threshold on the same stacks: the ratio says what matching, watershed and bookkeeping add.
import { threshold as thresholdImage } from '../src-main/kernels/image';
import { phaseCorrelate } from '../src-main/kernels/image';
import { DEFAULT_TRACK_OPTIONS, trackObjects } from '../src-main/stages/tracking';
import { preprocessFrame } from '../src-main/stages/tracking/segment';
import { defaultParticles, synthStack } from '../src-main/stages/tracking/__tests__/synthetic';

interface SizeResult {
  size: string;
  nTilts: number;
  trackerS: number;
  trackerFramesPerS: number;
  baselineS: number;
  baselineFramesPerS: number;
  trackerOverBaseline: number;
  meanIoU: number;
}

async function runSize(n: number, nTilts: number): Promise<SizeResult> {
  const scale = n / 128;
  const particles = defaultParticles().map((p) => ({ ...p, x: p.x * scale, y: p.y * scale, z: p.z * scale, a: p.a * scale, b: p.b * scale }));
  const s = synthStack({ nx: n, ny: n, nTilts, tiltRangeDeg: 30, particles, driftStep: 0.6 * scale, noise: 6, background: 10, seed: 1 });
  const npx = n * n;
  const mid = Math.floor(nTilts / 2);
  const prompt = { objectId: 1, tilt: mid, points: [{ x: Math.round(s.centres[1][mid].x), y: Math.round(s.centres[1][mid].y), positive: true }] };

  // Baseline: preprocess + threshold every tilt, phase-correlate every neighbouring pair.
  const b0 = performance.now();
  let prev: Float32Array | null = null;
  for (let t = 0; t < nTilts; t++) {
    const pre = preprocessFrame(s.stack.subarray(t * npx, (t + 1) * npx), n, n, false, DEFAULT_TRACK_OPTIONS);
    thresholdImage(pre, n, n, { method: 'li' });
    if (prev) phaseCorrelate(prev, pre, n, n);
    prev = pre;
  }
  const baselineS = (performance.now() - b0) / 1000;

  const t0 = performance.now();
  const res = await trackObjects({ stack: s.stack, nTilts, ny: n, nx: n }, [prompt]);
  const trackerS = (performance.now() - t0) / 1000;
  const o = res.objects[0];
  let iou = 0;
  for (let t = 0; t < nTilts; t++) {
    let inter = 0;
    let union = 0;
    for (let i = t * npx; i < (t + 1) * npx; i++) {
      if (o.masks[i] && s.truth[1][i]) inter++;
      if (o.masks[i] || s.truth[1][i]) union++;
    }
    iou += union ? inter / union : 1;
  }
  return {
    size: `${n}x${n}`,
    nTilts,
    trackerS,
    trackerFramesPerS: nTilts / trackerS,
    baselineS,
    baselineFramesPerS: nTilts / baselineS,
    trackerOverBaseline: trackerS / baselineS,
    meanIoU: iou / nTilts,
  };
}

export default async function bench(): Promise<Record<string, unknown>> {
  const small = await runSize(128, 41);
  const large = await runSize(512, 21);
  return {
    note: 'frames/s = tilts per second for one object tracked both ways from the middle tilt; baseline = preprocessing + threshold + phase correlation only, same stacks, same run',
    '128': small,
    '512': large,
  };
}
