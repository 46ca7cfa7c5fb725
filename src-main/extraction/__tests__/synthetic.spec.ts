// Extraction on the synthetic agglomerate with ground truth (issue 7 "Done when"), read through the real readers
// (openSeries → openTilt → the HDF5 source with its direct layout).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from 'h5wasm';
import { h5lib } from '../../io/h5';
import { openSeries, openTilt } from '../../io/series';
import type { FourDSource } from '../../io/types';
import { EMD_DATASET_PATH } from '../../io/write-emd';
import { synthesize } from '../../synth/index';
import { extractSeries } from '../service';
import type { ExtractionObject } from '../types';
import { tempDir } from './helpers';

const tmp = tempDir('extract-synth');
let sources: FourDSource[] = [];
let angles: number[] = [];
const truth: { ids: number[]; masks: Map<number, Uint8Array>; thickness: Map<number, Float32Array> } = { ids: [], masks: new Map(), thickness: new Map() };
let shape = { nTilts: 0, ny: 0, nx: 0, nqy: 0, nqx: 0 };

async function readStack(path: string, name: string): Promise<Uint8Array | Float32Array> {
  const h5 = await h5lib();
  const f = new h5.File(path, 'r');
  try {
    return (f.get(name) as Dataset).value as Uint8Array | Float32Array;
  } finally {
    f.close();
  }
}

beforeAll(async () => {
  const sum = await synthesize({
    preset: 'brookite-agglomerate',
    size: { scanShape: [24, 24], detectorShape: [48, 48], nTilts: 5, tiltStepDeg: 3 },
    outDir: tmp.dir,
    seed: 7,
  });
  const series = await openSeries(join(tmp.dir, sum.manifest));
  sources = await Promise.all(series.tilts.map((_, i) => openTilt(series, i)));
  angles = series.tilts.map((t) => t.angleDeg);
  shape = { nTilts: sum.nTilts, ny: sum.scanShape[0], nx: sum.scanShape[1], nqy: sum.detectorShape[0], nqx: sum.detectorShape[1] };
  truth.ids = sum.particles.map((p) => p.id);
  for (const id of truth.ids) {
    truth.masks.set(id, (await readStack(join(tmp.dir, 'truth', 'masks.h5'), `object_${id}`)) as Uint8Array);
    truth.thickness.set(id, (await readStack(join(tmp.dir, 'truth', 'virtual.h5'), `thickness_${id}`)) as Float32Array);
  }
}, 120_000);

afterAll(() => {
  for (const s of sources) s.close();
  tmp.cleanup();
});

function objects(masks: Map<number, Uint8Array>): ExtractionObject[] {
  return truth.ids.map((id) => ({ id, name: `particle ${id}`, masks: masks.get(id)!, frameState: new Array(shape.nTilts).fill('tracked') }));
}

describe('extraction on synthetic data with ground truth', () => {
  it('reads through the HDF5 source with a direct layout', () => {
    expect(sources.length).toBe(shape.nTilts);
    expect(sources[0].direct?.kind).toBe('contiguous');
    expect(truth.ids.length).toBeGreaterThanOrEqual(2);
  });

  it('through the true masks: exactly the sum of the raw uint16 arrays (read with h5wasm, not the reader)', async () => {
    const res = await extractSeries({ sources, anglesDeg: angles }, objects(truth.masks), { beamCentre: false });
    const { ny, nx, nqy, nqx } = shape;
    const npix = nqy * nqx;
    for (let t = 0; t < shape.nTilts; t++) {
      const raw = (await readStack(sources[t].path, EMD_DATASET_PATH)) as unknown as Uint16Array;
      expect(raw.length).toBe(ny * nx * npix);
      res.series.forEach((s, k) => {
        const mask = truth.masks.get(truth.ids[k])!.subarray(t * ny * nx, (t + 1) * ny * nx);
        const ref = new Float64Array(npix);
        let n = 0;
        for (let p = 0; p < ny * nx; p++) {
          if (!mask[p]) continue;
          n++;
          for (let q = 0; q < npix; q++) ref[q] += raw[p * npix + q];
        }
        expect(s.probeCount[t]).toBe(n);
        // Sums of uint16 over a few hundred frames stay below 2^24: exact in the Float32 output.
        expect(Array.from(s.frames.subarray(t * npix, (t + 1) * npix))).toEqual(Array.from(ref));
      });
    }
  });

  it('a particle of the agglomerate keeps ≥ 95% of its true signal with ≤ 5% from neighbours', async () => {
    // True diffraction signal per probe position: each particle's projected thickness there (truth/virtual.h5). The
    // generator scales a particle's Bragg intensities with its own thickness but writes no per-particle Bragg-count
    // stack, so thickness is the ground truth available. Kept = Σ over the positions extraction summed of the
    // particle's thickness / Σ of it everywhere; neighbours = Σ of the other particles' thickness over those positions
    // / Σ of all particles' thickness there.
    const { nTilts, ny, nx } = shape;
    const n = ny * nx;
    const res = await extractSeries({ sources, anglesDeg: angles }, objects(truth.masks), { beamCentre: false });
    const scores = truth.ids.map((id, k) => {
      let kept = 0;
      let all = 0;
      let foreign = 0;
      let inside = 0;
      const th = truth.thickness.get(id)!;
      const m = truth.masks.get(id)!;
      for (let i = 0; i < nTilts * n; i++) {
        all += th[i];
        if (!m[i]) continue;
        kept += th[i];
        for (const other of truth.ids) {
          const v = truth.thickness.get(other)![i];
          inside += v;
          if (other !== id) foreign += v;
        }
      }
      // The extraction summed exactly the mask's positions.
      let maskCount = 0;
      for (let i = 0; i < nTilts * n; i++) maskCount += m[i];
      expect(res.series[k].probeCount.reduce((a, v) => a + v, 0)).toBe(maskCount);
      return { id, keptFraction: kept / all, neighbourFraction: foreign / inside };
    });
    const best = scores.reduce((a, b) => (b.keptFraction - b.neighbourFraction > a.keptFraction - a.neighbourFraction ? b : a));
    expect(best.keptFraction).toBeGreaterThanOrEqual(0.95);
    expect(best.neighbourFraction).toBeLessThanOrEqual(0.05);
  });
});
