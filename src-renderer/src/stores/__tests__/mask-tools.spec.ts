// The editing tools and their history against main's real project: a stroke, a polygon, a flood fill and the
// whole-frame operations each become one edit in main; undo and redo replay them; a locked tilt refuses edits.
import { describe, expect, it } from 'vitest';
import { useMaskToolsStore } from '../mask-tools';
import { useMasksStore } from '../masks';
import { useSeriesStore } from '../series';
import { SCAN, storeFixture } from './fixture';

const fx = storeFixture();
const N = SCAN * SCAN;

async function setup(): Promise<{ seriesId: string; id: number; mainFrame: () => Promise<Uint8Array> }> {
  const summary = (await useSeriesStore().open(fx.manifest()))!;
  await useMasksStore().ensureLoaded();
  const o = (await useMasksStore().createObject('p'))!;
  const tilt = useSeriesStore().active!.tilt;
  const mainFrame = async (): Promise<Uint8Array> => (await fx.main().state.sessions.project(summary.seriesId)).get(o.id).masks.slice(tilt * N, (tilt + 1) * N);
  return { seriesId: summary.seriesId, id: o.id, mainFrame };
}
const area = (m: Uint8Array): number => m.reduce((a, v) => a + v, 0);

describe('mask tools store', () => {
  it('a brush stroke is one edit in main; undo and redo replay it', async () => {
    const { mainFrame } = await setup();
    const tools = useMaskToolsStore();
    tools.tool = 'brush';
    tools.brushSize = 3;
    tools.beginStroke(5, 5);
    tools.continueStroke(12, 5);
    await tools.endStroke();
    const painted = await mainFrame();
    expect(area(painted)).toBeGreaterThan(15);
    expect(tools.canUndo).toBe(true);
    await tools.undo();
    expect(area(await mainFrame())).toBe(0);
    expect(tools.canRedo).toBe(true);
    await tools.redo();
    expect(Array.from(await mainFrame())).toEqual(Array.from(painted));
  });

  it('polygon, flood fill, grow, shrink, fill holes and clear', async () => {
    const { mainFrame } = await setup();
    const tools = useMaskToolsStore();
    for (const p of [[2, 2], [10, 2], [10, 10], [2, 10]] as const) tools.addPolygonPoint(p[0], p[1]);
    await tools.closePolygon();
    const square = area(await mainFrame());
    expect(square).toBe(64);
    await tools.wholeFrame('grow');
    expect(area(await mainFrame())).toBe(64 + 4 * 8);
    await tools.wholeFrame('shrink');
    expect(area(await mainFrame())).toBe(64);
    await tools.flood(20, 20);
    expect(area(await mainFrame())).toBe(N); // the background flooded to 1
    await tools.flood(0, 0);
    expect(area(await mainFrame())).toBe(0);
    await tools.wholeFrame('clear');
    expect(area(await mainFrame())).toBe(0);
  });

  it('a locked tilt refuses edits; lock and unlock are undoable', async () => {
    const { mainFrame } = await setup();
    const tools = useMaskToolsStore();
    const masks = useMasksStore();
    const tilt = useSeriesStore().active!.tilt;
    await tools.toggleLock();
    expect(masks.active!.frameState[tilt]).toBe('locked');
    await tools.wholeFrame('grow');
    tools.beginStroke(3, 3);
    await tools.endStroke();
    expect(area(await mainFrame())).toBe(0);
    await tools.undo();
    expect(masks.active!.frameState[tilt]).toBe('empty');
  });

  it('opening another series starts a fresh history', async () => {
    await setup();
    const tools = useMaskToolsStore();
    await tools.wholeFrame('clear');
    await tools.flood(1, 1);
    expect(tools.canUndo).toBe(true);
    useMasksStore().loadedSeriesId = 'another';
    await new Promise((r) => setTimeout(r, 0));
    expect(tools.canUndo).toBe(false);
  });
});
