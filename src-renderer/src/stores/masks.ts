// Tracked objects of the active series and a local copy of their masks (the data; editing tools and their history
// are in ./mask-tools.ts, prompts in ./prompts.ts, the live pattern in ./live-pattern.ts). Main is the single truth
// and journals every edit: the renderer edits its copy (so the overlay redraws at once), then sends main a compact
// run-length diff and takes the frame state and area from main's answer.
import { defineStore } from 'pinia';
import { computed, markRaw, reactive, ref, shallowRef } from 'vue';
import type { FrameState, ObjectSummary } from '../../../src-shared/contract';
import { applyMaskRunsInPlace, type MaskRuns } from '../../../src-shared/mask-runs';
import { api } from '../api';
import { useLogStore } from './log';
import { useSeriesStore } from './series';

export const useMasksStore = defineStore('masks', () => {
  const log = useLogStore();
  const series = useSeriesStore();

  /** objectId → summary, for the active series. */
  const objects = reactive<Record<number, ObjectSummary>>({});
  /** objectId → nTilts * ny * nx local copy (raw, never reactive). */
  const stacks = shallowRef<Record<number, Uint8Array>>(markRaw({}));
  const activeObjectId = ref<number | null>(null);
  /** Bumps whenever a local mask changes, so canvases redraw. */
  const revision = ref(0);
  /** The series whose objects are loaded. */
  const loadedSeriesId = ref<string | null>(null);

  const active = computed(() => (activeObjectId.value !== null ? (objects[activeObjectId.value] ?? null) : null));
  const list = computed(() => Object.values(objects).sort((a, b) => a.id - b.id));

  function dims(): { nTilts: number; ny: number; nx: number; frame: number } {
    const s = series.active!;
    const [ny, nx] = s.summary.scanShape;
    return { nTilts: s.summary.nTilts, ny, nx, frame: ny * nx };
  }

  /** The local mask of one tilt (a view into the stack). */
  function frame(objectId: number, tilt: number): Uint8Array | null {
    const st = stacks.value[objectId];
    if (!st || !series.active) return null;
    const { frame: n } = dims();
    return st.subarray(tilt * n, (tilt + 1) * n);
  }

  async function load(seriesId: string): Promise<void> {
    const summaries = await api().invoke('objects.list', { seriesId });
    for (const k of Object.keys(objects)) delete objects[Number(k)];
    const next: Record<number, Uint8Array> = {};
    for (const o of summaries) {
      objects[o.id] = o;
      next[o.id] = (await api().invoke('masks.stack', { seriesId, objectId: o.id })).masks;
    }
    stacks.value = markRaw(next);
    loadedSeriesId.value = seriesId;
    activeObjectId.value = summaries[0]?.id ?? null;
    revision.value++;
  }

  async function ensureLoaded(): Promise<void> {
    const s = series.active;
    if (s && loadedSeriesId.value !== s.summary.seriesId) await load(s.summary.seriesId);
  }

  /** Refetches one object's summary (and its masks, when asked) from main. */
  async function refreshObject(objectId: number, withMasks = false): Promise<void> {
    const s = series.active;
    if (!s) return;
    const all = await api().invoke('objects.list', { seriesId: s.summary.seriesId });
    const o = all.find((x) => x.id === objectId);
    if (!o) return;
    objects[objectId] = o;
    if (withMasks) {
      const { masks } = await api().invoke('masks.stack', { seriesId: s.summary.seriesId, objectId });
      stacks.value = markRaw({ ...stacks.value, [objectId]: masks });
      revision.value++;
    }
  }

  async function createObject(name?: string): Promise<ObjectSummary | undefined> {
    const s = series.active;
    if (!s) return undefined;
    try {
      const o = await api().invoke('objects.create', { seriesId: s.summary.seriesId, ...(name ? { name } : {}) });
      objects[o.id] = o;
      stacks.value = markRaw({ ...stacks.value, [o.id]: new Uint8Array(s.summary.nTilts * s.summary.scanShape[0] * s.summary.scanShape[1]) });
      activeObjectId.value = o.id;
      return o;
    } catch (e) {
      log.error(e, 'objects');
      return undefined;
    }
  }

  async function updateObject(objectId: number, patch: { name?: string; colour?: string; visible?: boolean; enabled?: boolean }): Promise<void> {
    const s = series.active;
    if (!s) return;
    try {
      objects[objectId] = await api().invoke('objects.update', { seriesId: s.summary.seriesId, objectId, ...patch });
      revision.value++;
    } catch (e) {
      log.error(e, 'objects');
    }
  }

  async function deleteObject(objectId: number): Promise<void> {
    const s = series.active;
    if (!s) return;
    try {
      await api().invoke('objects.delete', { seriesId: s.summary.seriesId, objectId });
      delete objects[objectId];
      const { [objectId]: _gone, ...rest } = stacks.value;
      stacks.value = markRaw(rest);
      if (activeObjectId.value === objectId) activeObjectId.value = list.value[0]?.id ?? null;
      revision.value++;
    } catch (e) {
      log.error(e, 'objects');
    }
  }

  /** Applies runs to the local copy of one tilt (no message to main). */
  function applyLocal(objectId: number, tilt: number, runs: MaskRuns): void {
    const f = frame(objectId, tilt);
    if (f) applyMaskRunsInPlace(f, runs);
    revision.value++;
  }

  /** Sends one tilt's diff to main and updates the summary from its answer. */
  async function sendFrame(seriesId: string, objectId: number, tilt: number, runs: MaskRuns, state: FrameState): Promise<void> {
    const r = await api().invoke('masks.edit', { seriesId, objectId, tilt, set: runs.set, clear: runs.clear, state });
    const o = objects[objectId];
    if (o) {
      o.frameState[tilt] = r.state;
      o.areaPx[tilt] = r.areaPx;
      o.version = r.version;
    }
  }

  /** Sets the state of some tilts of one object in main and takes its new summary. */
  async function sendStates(seriesId: string, objectId: number, tilts: number[], state: FrameState): Promise<void> {
    objects[objectId] = await api().invoke('masks.setState', { seriesId, objectId, tilts, state });
  }

  return {
    objects,
    stacks,
    list,
    active,
    activeObjectId,
    revision,
    loadedSeriesId,
    dims,
    frame,
    load,
    ensureLoaded,
    refreshObject,
    createObject,
    updateObject,
    deleteObject,
    applyLocal,
    sendFrame,
    sendStates,
  };
});
