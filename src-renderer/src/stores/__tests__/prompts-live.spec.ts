// Prompts (points and box, undoable) and the live pattern (the sum of the patterns in the mask, from main).
import { describe, expect, it } from 'vitest';
import { useLivePatternStore } from '../live-pattern';
import { useMaskToolsStore } from '../mask-tools';
import { useMasksStore } from '../masks';
import { usePromptsStore } from '../prompts';
import { useSeriesStore } from '../series';
import { DETECTOR, SCAN, storeFixture, until } from './fixture';

const fx = storeFixture();

async function setup(): Promise<{ seriesId: string; id: number }> {
  const summary = (await useSeriesStore().open(fx.manifest()))!;
  await useMasksStore().ensureLoaded();
  return { seriesId: summary.seriesId, id: (await useMasksStore().createObject('p'))!.id };
}

describe('prompts store', () => {
  it('adds points and a box on the current tilt in main; undo removes them', async () => {
    const { seriesId, id } = await setup();
    const prompts = usePromptsStore();
    const tilt = useSeriesStore().active!.tilt;
    await prompts.addPoint(4, 5, true);
    await prompts.addPoint(9, 9, false);
    await prompts.setBox([1, 1, 12, 12]);
    const inMain = (await fx.main().state.sessions.project(seriesId)).get(id).prompts;
    expect(inMain).toEqual([{ tilt, points: [{ x: 4, y: 5, positive: true }, { x: 9, y: 9, positive: false }], box: [1, 1, 12, 12] }]);
    expect(prompts.current()?.box).toEqual([1, 1, 12, 12]);
    await useMaskToolsStore().undo();
    expect(prompts.current()?.box).toBeUndefined();
    await prompts.clear();
    expect(prompts.current()).toBeNull();
  });
});

describe('live pattern store', () => {
  it('is the sum of the patterns at the mask probe positions, as main computes it', async () => {
    const { seriesId } = await setup();
    const tools = useMaskToolsStore();
    for (const p of [[2, 2], [6, 2], [6, 6], [2, 6]] as const) tools.addPolygonPoint(p[0], p[1]);
    await tools.closePolygon();
    const live = useLivePatternStore();
    await live.refresh();
    const r = live.current!;
    expect(r.probeCount).toBe(16);
    expect(r.pattern.length).toBe(DETECTOR * DETECTOR);
    const tilt = useSeriesStore().active!.tilt;
    const mask = new Uint8Array(SCAN * SCAN);
    for (let y = 2; y < 6; y++) for (let x = 2; x < 6; x++) mask[y * SCAN + x] = 1;
    const direct = await fx.main().state.sessions.maskedPatternSum(seriesId, tilt, mask);
    expect(Array.from(r.pattern)).toEqual(Array.from(direct.pattern));
  });

  it('recomputes after a debounce while painting, with the stroke not yet committed', async () => {
    await setup();
    const tools = useMaskToolsStore();
    const live = useLivePatternStore();
    tools.tool = 'brush';
    tools.beginStroke(10, 10);
    await until(() => (live.current?.probeCount ?? 0) > 0);
    expect(live.current!.tilt).toBe(useSeriesStore().active!.tilt);
    await tools.endStroke();
  });
});
