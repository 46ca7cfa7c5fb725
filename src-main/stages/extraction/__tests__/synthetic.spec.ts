// Extraction on the synthetic agglomerate with ground truth (the extraction bars), read through the real readers
// (openSeries → openTilt → the HDF5 source with its direct layout).
//
// Data: brookite-agglomerate (five touching TiO2 nanorods, 3–4 probe positions wide), seed 2, a 32×32 scan (coarser
// than the small preset's 48×48: 5.3 nm per probe step), a 64×64 detector, 11 tilts of 4° (±20°). In this scene rod 4 — the one
// `pickAutoTarget` chooses on the middle tilt — overlaps rod 3 in projection (positions where both have
// thickness), and rods 1 and 2 overlap too, so "signal from neighbours" is not zero even through the true masks.
//
// Ground truth of the diffraction signal: truth/signal.h5, object_<id> [nTilts, ny, nx] = the noise-free expected
// Bragg counts that particle puts on the detector at each probe position (its reflections' disks only; direct
// beam, film and diffuse background excluded). For a mask M (all tilts) and particle p:
//   kept_p(M)      = Σ_{i∈M} S_p(i) / Σ_i S_p(i)                    (share of p's own signal the extraction sums)
//   neighbour_p(M) = Σ_{i∈M} Σ_{q≠p} S_q(i) / Σ_{i∈M} Σ_q S_q(i)     (share of the summed Bragg signal not from p)
// The bar: kept ≥ 0.95 and neighbour ≤ 0.05 through tracked masks.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSeries, openTilt } from '../../../io/series';
import type { FourDSource } from '../../../io/types';
import { EMD_DATASET_PATH } from '../../../io/write-emd';
import { computeVirtualImages, imageStack } from '../../virtual/service';
import { synthesize } from '../../../synth/index';
import { pickAutoTarget, trackObjects, type TargetChoice, type TrackedObjectResult } from '../../tracking';
import { extractSeries } from '../service';
import type { ExtractionObject } from '../types';
import { tempDir } from './helpers';
import { loadSynthTruth, particleAt, projectedOverlaps, readDataset, readH5, signalScore, type SynthTruth } from './synthetic-truth';
import type { FrameState } from '../../../../src-shared/domain';

const KEEP_MIN = 0.95;
const NEIGHBOUR_MAX = 0.05;

const tmp = tempDir('extract-synth');
let sources: FourDSource[] = [];
let angles: number[] = [];
let truth: SynthTruth;
let shape = { nTilts: 0, ny: 0, nx: 0, nqy: 0, nqx: 0 };
let adf: Float32Array;
let auto: TargetChoice;
let target = 0;
let tracked: TrackedObjectResult;

beforeAll(async () => {
  const sum = await synthesize({
    preset: 'brookite-agglomerate',
    size: { scanShape: [32, 32], detectorShape: [64, 64], nTilts: 11, tiltStepDeg: 4 },
    outDir: tmp.dir,
    seed: 2,
  });
  const series = await openSeries(join(tmp.dir, sum.manifest));
  sources = await Promise.all(series.tilts.map((_, i) => openTilt(series, i)));
  angles = series.tilts.map((t) => t.angleDeg);
  shape = { nTilts: sum.nTilts, ny: sum.scanShape[0], nx: sum.scanShape[1], nqy: sum.detectorShape[0], nqx: sum.detectorShape[1] };
  truth = await loadSynthTruth(tmp.dir);

  // What a user does: the virtual ADF stack from the raw counts (the app's virtual-imaging service), the target
  // picked on the middle tilt, tracked through all tilts.
  const vd = truth.scene.virtualDetectors;
  const v = await computeVirtualImages(sources, [{ kind: 'annulus', rIn: vd.adfInnerPx, rOut: vd.adfOuterPx, name: 'adf' }], {
    beamCentre: truth.scene.beamCentre,
    maxPattern: false,
  });
  adf = imageStack(v, 'adf');
  const input = { stack: adf, nTilts: shape.nTilts, ny: shape.ny, nx: shape.nx };
  auto = pickAutoTarget(input);
  target = particleAt(truth, auto.prompt.points[0].x, auto.prompt.points[0].y, auto.tilt);
  const res = await trackObjects(input, [{ ...auto.prompt, objectId: target }]);
  tracked = res.objects[0];
}, 120_000);

afterAll(() => {
  for (const s of sources) s.close();
  tmp.cleanup();
});

function objects(masks: Map<number, Uint8Array>): ExtractionObject[] {
  return truth.ids.map((id) => ({ id, name: `particle ${id}`, masks: masks.get(id)!, frameState: new Array<FrameState>(shape.nTilts).fill('tracked') }));
}

function maskCounts(mask: Uint8Array): number[] {
  const n = shape.ny * shape.nx;
  return Array.from({ length: shape.nTilts }, (_, t) => mask.subarray(t * n, (t + 1) * n).reduce((a, v) => a + (v ? 1 : 0), 0));
}

const fmt = (s: { kept: number; neighbour: number }): string => `kept ${(100 * s.kept).toFixed(2)}%, neighbours ${(100 * s.neighbour).toFixed(2)}%`;

describe('extraction on synthetic data with ground truth', () => {
  it('reads through the HDF5 source with a direct layout; the truth has one signal stack per particle', async () => {
    expect(sources.length).toBe(shape.nTilts);
    expect(sources[0].direct?.kind).toBe('contiguous');
    expect(truth.ids).toEqual([1, 2, 3, 4, 5]);
    const sig = await readH5(join(tmp.dir, 'truth', 'signal.h5'));
    expect([...sig.keys()].sort()).toEqual(truth.ids.map((id) => `object_${id}`));
    for (const d of sig.values()) {
      expect(d.shape).toEqual([shape.nTilts, shape.ny, shape.nx]);
      expect(d.value).toBeInstanceOf(Float32Array);
      expect(d.attrs['name']).toBe('expected Bragg counts of this particle');
      expect(d.attrs['units']).toBe('counts');
    }
    // A particle's Bragg signal lies inside its own true mask, and every particle diffracts at every tilt.
    const n = shape.ny * shape.nx;
    for (const id of truth.ids) {
      const s = truth.signal.get(id)!;
      const m = truth.masks.get(id)!;
      let outside = 0;
      for (let i = 0; i < s.length; i++) if (!m[i] && s[i] !== 0) outside++;
      expect(outside).toBe(0);
      for (let t = 0; t < shape.nTilts; t++) expect(s.subarray(t * n, (t + 1) * n).reduce((a, v) => a + v, 0)).toBeGreaterThan(0);
    }
  });

  it('the auto-picked target is a rod of the agglomerate that overlaps a neighbour in projection', () => {
    expect(auto.note).toMatch(/touching a neighbour/);
    expect(target).toBe(4);
    const overlaps = projectedOverlaps(truth);
    expect([...overlaps.keys()].some((k) => k.split('-').map(Number).includes(target))).toBe(true);
    // So the neighbour criterion below is not vacuous: through its own true mask it already collects some.
    expect(signalScore(truth, target, truth.masks.get(target)!).neighbour).toBeGreaterThan(0);
  });

  it('through the true masks: exactly the sum of the raw uint16 arrays (read with h5wasm, not the reader)', async () => {
    const res = await extractSeries({ sources, anglesDeg: angles }, objects(truth.masks), { beamCentre: false });
    const { ny, nx, nqy, nqx } = shape;
    const npix = nqy * nqx;
    for (let t = 0; t < shape.nTilts; t++) {
      const raw = await readDataset(sources[t].path, EMD_DATASET_PATH);
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

  it('through the true masks: the target keeps ≥ 95% of its Bragg signal with ≤ 5% from neighbours', async () => {
    const res = await extractSeries({ sources, anglesDeg: angles }, objects(truth.masks), { beamCentre: false });
    const k = truth.ids.indexOf(target);
    // The extraction summed exactly the mask's positions, so the score of the mask is the score of the extraction.
    expect(Array.from(res.series[k].probeCount)).toEqual(maskCounts(truth.masks.get(target)!));
    const s = signalScore(truth, target, truth.masks.get(target)!);
    // Measured (seed 2): kept 100.00%, neighbours 1.50%; the union with rod 3: neighbours 61.5%.
    expect(s.kept, fmt(s)).toBeCloseTo(1, 6); // the signal lies inside the true mask by construction
    expect(s.neighbour, fmt(s)).toBeLessThanOrEqual(NEIGHBOUR_MAX);
    // Negative control: the target's mask united with its overlapping neighbour's fails the neighbour bar.
    const pair = [...projectedOverlaps(truth).keys()].map((p) => p.split('-').map(Number)).find((p) => p.includes(target))!;
    const other = pair[0] === target ? pair[1] : pair[0];
    const union = truth.masks.get(target)!.map((v, i) => v | truth.masks.get(other)![i]);
    const u = signalScore(truth, target, union);
    expect(u.neighbour, fmt(u)).toBeGreaterThan(NEIGHBOUR_MAX);
  });

  // The bar, asserted as written (do not loosen): if the tracker regresses on this scene, this test fails and
  // the message gives the measured numbers.
  it('through TRACKED masks (auto target, one click on the middle tilt): keeps ≥ 95% of its signal with ≤ 5% from neighbours', async () => {
    expect(tracked.error).toBeUndefined();
    const res = await extractSeries(
      { sources, anglesDeg: angles },
      [{ id: target, name: `tracked ${target}`, masks: tracked.masks, frameState: tracked.frameState }],
      { beamCentre: false },
    );
    const counts = maskCounts(tracked.masks).map((c, t) => (tracked.frameState[t] === 'excluded' ? 0 : c));
    expect(Array.from(res.series[0].probeCount)).toEqual(counts);
    const s = signalScore(truth, target, tracked.masks);
    const perTilt = s.keptPerTilt.map((v, t) => `${t}: ${(100 * v).toFixed(0)}/${(100 * s.neighbourPerTilt[t]).toFixed(0)}`).join(', ');
    // Measured (seed 2, tracker of this commit): kept 99.01%, neighbours 1.29%.
    expect(s.kept, `${fmt(s)}; per tilt kept/neighbour %: ${perTilt}`).toBeGreaterThanOrEqual(KEEP_MIN);
    expect(s.neighbour, `${fmt(s)}; per tilt kept/neighbour %: ${perTilt}`).toBeLessThanOrEqual(NEIGHBOUR_MAX);
  });
});
