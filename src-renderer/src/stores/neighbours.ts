// The auto-detected neighbours of the active series: every particle the last tracking run followed besides the
// user's objects. Shown dimmed in the mask views; the user can enable one (it becomes an object), merge it into an
// object (the two are one particle) or delete it (not a particle). The label volume stays raw (never reactive).
import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { NeighbourSummary } from '../../../src-shared/contract';
import { api } from '../api';
import { useLogStore } from './log';
import { useMasksStore } from './masks';
import { useSeriesStore } from './series';

/** Neighbours are drawn in this blue-grey, faint (distinct from a grey-scale image and from the objects' colours). */
export const NEIGHBOUR_COLOUR = '#7f9cc4';

export const useNeighboursStore = defineStore('neighbours', () => {
  const log = useLogStore();
  const list = ref<NeighbourSummary[]>([]);
  /** nTilts * ny * nx, 0 = none (raw). */
  const labels = shallowRef<Uint16Array | null>(null);
  /** Show them dimmed in the mask views. */
  const visible = ref(true);
  /** Bumps when the labels change, so canvases redraw. */
  const revision = ref(0);

  function seriesId(): string | null {
    return useSeriesStore().active?.summary.seriesId ?? null;
  }

  async function load(): Promise<void> {
    const id = seriesId();
    if (!id) return;
    try {
      list.value = await api().invoke('neighbours.list', { seriesId: id });
      const st = await api().invoke('neighbours.stack', { seriesId: id });
      labels.value = st ? markRaw(st.labels) : null;
      revision.value++;
    } catch (e) {
      log.error(e, 'neighbours');
    }
  }

  /** Tilt t as a mask of every neighbour (1 inside any), or null when there are none. */
  function frameMask(tilt: number): Uint8Array | null {
    const l = labels.value;
    const s = useSeriesStore().active;
    if (!l || !s || !list.value.length) return null;
    const n = s.summary.scanShape[0] * s.summary.scanShape[1];
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = l[tilt * n + i] ? 1 : 0;
    return out;
  }

  async function act(what: string, fn: (id: string) => Promise<unknown>, objectId?: number): Promise<void> {
    const id = seriesId();
    if (!id) return;
    try {
      await fn(id);
      const masks = useMasksStore();
      if (objectId !== undefined) await masks.refreshObject(objectId, true);
      else await masks.load(id);
      await load();
      log.info(what, 'neighbours');
    } catch (e) {
      log.error(e, 'neighbours');
    }
  }

  const enable = (label: number): Promise<void> => act(`Neighbour ${label} is now an object`, (id) => api().invoke('neighbours.enable', { seriesId: id, label }));
  const merge = (label: number, into: number): Promise<void> =>
    act(`Neighbour ${label} merged into object ${into}`, (id) => api().invoke('neighbours.merge', { seriesId: id, label, into }), into);
  const remove = async (label: number): Promise<void> => {
    const id = seriesId();
    if (!id) return;
    try {
      await api().invoke('neighbours.delete', { seriesId: id, label });
      await load();
      log.info(`Neighbour ${label} deleted`, 'neighbours');
    } catch (e) {
      log.error(e, 'neighbours');
    }
  };

  return { list, labels, visible, revision, load, frameMask, enable, merge, remove };
});
