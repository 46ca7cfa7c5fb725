// The masks store (objects and the local copy of their masks) against main's real project: every change reaches
// main, and the local copy equals main's.
import { describe, expect, it } from 'vitest';
import { diffMask } from '../../../../src-shared/mask-runs';
import { useMasksStore } from '../masks';
import { useSeriesStore } from '../series';
import { SCAN, TILTS, storeFixture } from './fixture';

const fx = storeFixture();

async function openSeries(): Promise<string> {
  const summary = await useSeriesStore().open(fx.manifest());
  await useMasksStore().ensureLoaded();
  return summary!.seriesId;
}

describe('masks store', () => {
  it('creates, renames, hides and deletes objects in main', async () => {
    const seriesId = await openSeries();
    const masks = useMasksStore();
    expect(masks.list).toHaveLength(0);
    const a = (await masks.createObject('rod'))!;
    const b = (await masks.createObject())!;
    expect(masks.activeObjectId).toBe(b.id);
    expect(masks.stacks[a.id]!.length).toBe(TILTS * SCAN * SCAN);
    await masks.updateObject(a.id, { name: 'rod A', visible: false });
    const project = await fx.main().state.sessions.project(seriesId);
    expect(project.get(a.id)).toMatchObject({ name: 'rod A', visible: false });
    await masks.deleteObject(b.id);
    expect(masks.list.map((o) => o.id)).toEqual([a.id]);
    expect(masks.activeObjectId).toBe(a.id);
    expect([...project.objects.keys()]).toEqual([a.id]);
  });

  it('sends a diff to main, takes state and area from its answer, and reloads from main', async () => {
    const seriesId = await openSeries();
    const masks = useMasksStore();
    const o = (await masks.createObject('p'))!;
    const next = new Uint8Array(SCAN * SCAN);
    next.fill(1, 30, 40);
    const runs = diffMask(masks.frame(o.id, 2)!, next);
    masks.applyLocal(o.id, 2, runs);
    await masks.sendFrame(seriesId, o.id, 2, runs, 'edited');
    expect(masks.objects[o.id]!.frameState[2]).toBe('edited');
    expect(masks.objects[o.id]!.areaPx[2]).toBe(10);
    const project = await fx.main().state.sessions.project(seriesId);
    expect(Array.from(project.get(o.id).masks.subarray(2 * SCAN * SCAN, 3 * SCAN * SCAN))).toEqual(Array.from(next));
    await masks.sendStates(seriesId, o.id, [0, 1], 'locked');
    expect(masks.objects[o.id]!.frameState.slice(0, 3)).toEqual(['locked', 'locked', 'edited']);
    await masks.load(seriesId);
    expect(Array.from(masks.frame(o.id, 2)!)).toEqual(Array.from(next));
  });
});
