// The live pattern: the sum of the diffraction patterns inside the active object's mask on the current tilt,
// computed in main and refreshed (debounced) while the user paints, so a neighbour's reflections creeping in show at
// once.
import { defineStore } from 'pinia';
import { markRaw, shallowRef } from 'vue';
import { api } from '../api';
import { useLogStore } from './log';
import { useMasksStore } from './masks';
import { useSeriesStore } from './series';

export interface LivePattern {
  pattern: Float32Array;
  nqy: number;
  nqx: number;
  probeCount: number;
  tilt: number;
}

/** Quiet time after the last change before the pattern is recomputed. */
const DEBOUNCE_MS = 120;

export const useLivePatternStore = defineStore('livePattern', () => {
  const log = useLogStore();
  const current = shallowRef<LivePattern | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;

  /** Recomputes after a short quiet time; `preview` is a mask not yet committed (a stroke in progress). */
  function schedule(preview?: Uint8Array): void {
    if (timer) clearTimeout(timer);
    const snapshot = preview ? preview.slice() : undefined;
    timer = setTimeout(() => void refresh(snapshot), DEBOUNCE_MS);
  }

  /** Recomputes now; an answer that arrives after a newer request is dropped. */
  async function refresh(preview?: Uint8Array<ArrayBuffer>): Promise<void> {
    const s = useSeriesStore().active;
    const o = useMasksStore().active;
    if (!s || !o) return;
    const mine = ++seq;
    try {
      const r = await api().invoke('masks.livePattern', { seriesId: s.summary.seriesId, objectId: o.id, tilt: s.tilt, ...(preview ? { preview } : {}) });
      if (mine === seq) current.value = markRaw({ ...r, tilt: s.tilt });
    } catch (e) {
      log.error(e, 'masks');
    }
  }

  return { current, schedule, refresh };
});
