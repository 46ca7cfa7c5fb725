// The series store against main's real services: open a synthetic series, its virtual images and mean pattern,
// scrubbing tilts, a probe position's pattern, detector changes.
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSelectionStore } from '../selection';
import { useSeriesStore } from '../series';
import { DETECTOR, SCAN, TILTS, storeFixture, until } from './fixture';

const fx = storeFixture();

describe('series store', () => {
  it('opens a series: summary, detectors from the direct beam, virtual images of every tilt, the mean pattern', async () => {
    const series = useSeriesStore();
    const summary = await series.open(fx.manifest());
    expect(summary?.nTilts).toBe(TILTS);
    const s = series.active!;
    expect(s.summary.seriesId).toBe(summary!.seriesId);
    expect(useSelectionStore().current).toEqual({ kind: 'series', seriesId: summary!.seriesId });
    expect(s.tilt).toBe(Math.floor(TILTS / 2));
    expect(Object.keys(s.stacks).sort()).toEqual(['adf', 'bf', 'comX', 'comY', 'sum', 'variance']);
    expect(s.stacks['adf']!.length).toBe(TILTS * SCAN * SCAN);
    expect(s.detector.adfOuter).toBeGreaterThan(s.detector.adfInner);
    expect(s.meanPattern?.pattern.length).toBe(DETECTOR * DETECTOR);
    expect(series.currentImage(s)!.length).toBe(SCAN * SCAN);
  });

  it('scrubs tilts within the series and follows the probe pattern', async () => {
    const series = useSeriesStore();
    const { seriesId } = (await series.open(fx.manifest()))!;
    await series.showPattern(seriesId, 3, 4);
    expect(series.active!.probe).toMatchObject({ rx: 3, ry: 4, tilt: series.active!.tilt, nqx: DETECTOR });
    series.step('first');
    expect(series.active!.tilt).toBe(0);
    series.step(-1);
    expect(series.active!.tilt).toBe(0);
    series.step('last');
    expect(series.active!.tilt).toBe(TILTS - 1);
    await until(() => series.active!.probe?.tilt === TILTS - 1 && series.active!.meanPattern?.tilt === TILTS - 1);
  });

  it('recomputes the virtual images with the detector the user set; undo and redo bring back each set of images', async () => {
    const series = useSeriesStore();
    const { seriesId } = (await series.open(fx.manifest()))!;
    const before = series.active!.stacks['bf']!.slice();
    const geometry = { ...series.active!.detector };
    await series.changeDetector(seriesId, { bfRadius: 1 });
    const after = series.active!.stacks['bf']!.slice();
    expect(after.length).toBe(before.length);
    expect(after.reduce((a, v) => a + v, 0)).toBeLessThan(before.reduce((a, v) => a + v, 0));
    // The same geometry again is no step.
    await series.changeDetector(seriesId, { bfRadius: 1 });
    expect(series.active!.detectorHistory.undo).toHaveLength(1);
    expect(await series.stepDetectorHistory(seriesId, 'undo')).toBe(true);
    expect(series.active!.detector).toEqual(geometry);
    expect(series.active!.stacks['bf']).toEqual(before);
    expect(await series.stepDetectorHistory(seriesId, 'undo')).toBe(false);
    expect(await series.stepDetectorHistory(seriesId, 'redo')).toBe(true);
    expect(series.active!.stacks['bf']).toEqual(after);
    // A centre of its own, off the direct beam: the BF disk sees far less on every tilt; undone, each tilt's fit again.
    const c: [number, number] = [geometry.bfRadius + 1, geometry.bfRadius + 2];
    await series.changeDetector(seriesId, { centre: c });
    const offBeam = series.active!.stacks['bf']!;
    const [ny, nx] = series.active!.summary.scanShape;
    for (let t = 0; t < TILTS; t++) {
      const total = (a: Float32Array): number => a.subarray(t * ny * nx, (t + 1) * ny * nx).reduce((x, v) => x + v, 0);
      expect(total(offBeam)).toBeLessThan(0.5 * total(after));
    }
    await series.stepDetectorHistory(seriesId, 'undo');
    expect(series.active!.detector.centre).toBeNull();
    expect(series.active!.stacks['bf']).toEqual(after);
  });

  it('opens a single 4D file as a series of one tilt (angle 0), with its virtual images', async () => {
    const series = useSeriesStore();
    const file = join(dirname(fx.manifest()), 'tilt_002.h5');
    const summary = await series.open(file);
    expect(summary?.nTilts).toBe(1);
    expect(summary?.anglesDeg).toEqual([0]);
    expect(series.active!.tilt).toBe(0);
    expect(series.active!.stacks['adf']!.length).toBe(SCAN * SCAN);
  });

  it('a path that is no series logs the reason and opens nothing', async () => {
    const series = useSeriesStore();
    expect(await series.open('/nonexistent/series.json')).toBeUndefined();
    expect(series.active).toBeNull();
  });
});
