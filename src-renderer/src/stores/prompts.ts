// Tracker prompts of the active object on the current tilt: positive and negative points and a box. Each change is
// set in main and recorded in the editing history (./mask-tools.ts), so undo covers prompts too.
import { defineStore } from 'pinia';
import type { TrackPrompt } from '../../../src-shared/contract';
import { api } from '../api';
import { useLogStore } from './log';
import { useMaskToolsStore } from './mask-tools';
import { useMasksStore } from './masks';
import { useSeriesStore } from './series';

export const usePromptsStore = defineStore('prompts', () => {
  const log = useLogStore();
  const masks = useMasksStore();
  const series = useSeriesStore();

  /** The active object's prompt on the current tilt, or null. */
  function current(): TrackPrompt | null {
    const s = series.active;
    const o = masks.active;
    if (!s || !o) return null;
    return o.prompts.find((p) => p.tilt === s.tilt) ?? null;
  }

  /**
   * A plain copy of a prompt: the store's prompts are reactive proxies, which the IPC's structured clone (Electron's
   * and the in-process one) cannot copy.
   */
  function plain(p: TrackPrompt | null): TrackPrompt | null {
    if (!p) return null;
    return { tilt: p.tilt, points: p.points.map((q) => ({ x: q.x, y: q.y, positive: q.positive })), ...(p.box ? { box: [p.box[0], p.box[1], p.box[2], p.box[3]] } : {}) };
  }

  /** Sets one tilt's prompt in main (null clears it) and records the change for undo. */
  async function change(tilt: number, afterArg: TrackPrompt | null): Promise<void> {
    const after = plain(afterArg);
    const s = series.active;
    const o = masks.active;
    if (!s || !o) return;
    const before = plain(o.prompts.find((p) => p.tilt === tilt) ?? null);
    try {
      masks.objects[o.id] = await api().invoke('masks.setPrompt', { seriesId: s.summary.seriesId, objectId: o.id, prompt: after ?? { tilt, points: [] } });
      useMaskToolsStore().pushHistory({ seriesId: s.summary.seriesId, objectId: o.id, label: 'prompt', changes: [], prompt: { tilt, before, after } });
    } catch (e) {
      log.error(e, 'masks');
    }
  }

  async function addPoint(x: number, y: number, positive: boolean): Promise<void> {
    const s = series.active;
    if (!s || !masks.active) return;
    const existing = current();
    await change(s.tilt, { tilt: s.tilt, points: [...(existing?.points ?? []), { x, y, positive }], ...(existing?.box ? { box: existing.box } : {}) });
  }

  async function setBox(box: [number, number, number, number]): Promise<void> {
    const s = series.active;
    if (!s || !masks.active) return;
    await change(s.tilt, { tilt: s.tilt, points: current()?.points ?? [], box });
  }

  async function clear(): Promise<void> {
    const s = series.active;
    if (s) await change(s.tilt, null);
  }

  return { current, change, addPoint, setBox, clear };
});
