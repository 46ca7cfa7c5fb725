// The tracking and extraction stores against main's real stages: auto-detect, a re-track recorded as one undo step,
// an extraction with its summary and frames.
import { describe, expect, it } from 'vitest';
import { useExtractionStore } from '../extraction';
import { useMaskToolsStore } from '../mask-tools';
import { useMasksStore } from '../masks';
import { useSeriesStore } from '../series';
import { useTrackingStore } from '../tracking';
import { DETECTOR, TILTS, storeFixture } from './fixture';
import { openTrackAndExtract } from './flows';

const fx = storeFixture();

describe('tracking store', () => {
  it('detects candidates, tracks the one picked through the series, and records it for undo', async () => {
    await useSeriesStore().open(fx.manifest());
    await useMasksStore().ensureLoaded();
    const tracking = useTrackingStore();
    await tracking.detect();
    expect(tracking.candidates.length).toBeGreaterThan(0);
    const c = tracking.candidates[0]!;
    await tracking.objectFromPoint(c.x, c.y);
    const masks = useMasksStore();
    const o = masks.active!;
    expect(o.frameState.filter((s) => s === 'tracked').length).toBeGreaterThanOrEqual(TILTS - 1);
    expect(tracking.candidates).toHaveLength(0);
    const tools = useMaskToolsStore();
    expect(tools.canUndo).toBe(true);
    await tools.undo(); // the re-track
    expect(masks.active!.frameState.filter((s) => s === 'tracked')).toHaveLength(0);
  });

  it('says what to do when no object is selected', async () => {
    await useSeriesStore().open(fx.manifest());
    await useMasksStore().ensureLoaded();
    await useTrackingStore().retrack('both');
    expect(useMasksStore().list).toHaveLength(0);
  });
});

describe('extraction store', () => {
  it('extracts the enabled objects and loads the current tilt frame', async () => {
    await openTrackAndExtract(fx.manifest());
    const extraction = useExtractionStore();
    expect(extraction.summary?.objects).toHaveLength(1);
    const o = extraction.summary!.objects[0]!;
    expect(o.included.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(extraction.frame?.pattern.length).toBe(DETECTOR * DETECTOR);
    expect(extraction.frame?.tilt).toBe(useSeriesStore().active!.tilt);
  });

  it('asks for an output folder before exporting', async () => {
    await useSeriesStore().open(fx.manifest());
    const extraction = useExtractionStore();
    await extraction.run(true);
    expect(extraction.summary).toBeNull();
  });
});
