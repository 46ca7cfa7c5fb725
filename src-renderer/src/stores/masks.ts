// Mask curation: the tracked objects of the active series and a local copy of their masks. Each tool
// edits the local copy (so the overlay redraws at once), then sends main a compact run-length diff;
// main is the single truth and journals every edit. Undo/redo replays diffs both ways.
import { defineStore } from 'pinia';
import { computed, markRaw, reactive, ref, shallowRef } from 'vue';
import type { FrameState, ObjectSummary, TrackPrompt } from '../../../src-shared/contract';
import { applyMaskRunsInPlace, diffMask, invertRuns, isEmptyRuns, type MaskRuns } from '../../../src-shared/mask-runs';
import { api } from '../api';
import { fillHoles, fillPolygon, floodFill, growOne, shrinkOne, strokeSegmentInPlace } from '../core/mask-edit';
import { useLogStore } from './log';
import { useSeriesStore } from './series';

export type MaskTool = 'brush' | 'eraser' | 'polygon' | 'fill' | 'pointPositive' | 'pointNegative' | 'box' | 'pan';

interface FrameChange {
  tilt: number;
  runs: MaskRuns;
  stateBefore: FrameState;
  stateAfter: FrameState;
}
interface HistoryEntry {
  seriesId: string;
  objectId: number;
  label: string;
  changes: FrameChange[];
  /** A change of one tilt's tracker prompt (points and box). */
  prompt?: { tilt: number; before: TrackPrompt | null; after: TrackPrompt | null };
}
const NO_RUNS = (): MaskRuns => ({ set: new Uint32Array(0), clear: new Uint32Array(0) });

const HISTORY_LIMIT = 200;

export const useMasksStore = defineStore('masks', () => {
  const log = useLogStore();
  const series = useSeriesStore();

  /** objectId → summary, for the active series. */
  const objects = reactive<Record<number, ObjectSummary>>({});
  /** objectId → nTilts * ny * nx local copy (raw, never reactive). */
  const stacks = shallowRef<Record<number, Uint8Array>>(markRaw({}));
  const activeObjectId = ref<number | null>(null);
  const tool = ref<MaskTool>('brush');
  const brushSize = ref(3);
  const overlayOpacity = ref(0.45);
  /** Bumps whenever a local mask changes, so canvases redraw. */
  const revision = ref(0);
  const polygon = ref<Array<[number, number]>>([]);
  const undoStack: HistoryEntry[] = [];
  const redoStack: HistoryEntry[] = [];
  const canUndo = ref(false);
  const canRedo = ref(false);
  const livePattern = shallowRef<{ pattern: Float32Array; nqy: number; nqx: number; probeCount: number; tilt: number } | null>(null);
  let loadedSeriesId: string | null = null;

  const seriesState = computed(() => series.active);
  const active = computed(() => (activeObjectId.value !== null ? objects[activeObjectId.value] ?? null : null));
  const list = computed(() => Object.values(objects).sort((a, b) => a.id - b.id));

  function dims(): { nTilts: number; ny: number; nx: number; frame: number } {
    const s = seriesState.value!;
    const [ny, nx] = s.summary.scanShape;
    return { nTilts: s.summary.nTilts, ny, nx, frame: ny * nx };
  }

  /** The local mask of one tilt (a view into the stack). */
  function frame(objectId: number, tilt: number): Uint8Array | null {
    const st = stacks.value[objectId];
    if (!st || !seriesState.value) return null;
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
    loadedSeriesId = seriesId;
    activeObjectId.value = summaries[0]?.id ?? null;
    undoStack.length = 0;
    redoStack.length = 0;
    syncHistoryFlags();
    revision.value++;
  }

  async function ensureLoaded(): Promise<void> {
    const s = seriesState.value;
    if (s && loadedSeriesId !== s.summary.seriesId) await load(s.summary.seriesId);
  }

  async function refreshObject(objectId: number, withMasks = false): Promise<void> {
    const s = seriesState.value;
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
    const s = seriesState.value;
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
    const s = seriesState.value;
    if (!s) return;
    try {
      objects[objectId] = await api().invoke('objects.update', { seriesId: s.summary.seriesId, objectId, ...patch });
      revision.value++;
    } catch (e) {
      log.error(e, 'objects');
    }
  }

  async function deleteObject(objectId: number): Promise<void> {
    const s = seriesState.value;
    if (!s) return;
    try {
      await api().invoke('objects.delete', { seriesId: s.summary.seriesId, objectId });
      delete objects[objectId];
      const next = { ...stacks.value };
      delete next[objectId];
      stacks.value = markRaw(next);
      if (activeObjectId.value === objectId) activeObjectId.value = list.value[0]?.id ?? null;
      revision.value++;
    } catch (e) {
      log.error(e, 'objects');
    }
  }

  function syncHistoryFlags(): void {
    canUndo.value = undoStack.length > 0;
    canRedo.value = redoStack.length > 0;
  }

  /** Sends one frame's diff to main and updates the summary from its answer. */
  async function sendFrame(seriesId: string, objectId: number, tilt: number, runs: MaskRuns, state: FrameState): Promise<void> {
    const r = await api().invoke('masks.edit', { seriesId, objectId, tilt, set: runs.set, clear: runs.clear, state });
    const o = objects[objectId];
    if (o) {
      o.frameState[tilt] = r.state;
      o.areaPx[tilt] = r.areaPx;
      o.version = r.version;
    }
  }

  /** Commits a change of the current tilt's mask: `next` replaces the local frame. */
  async function commitFrame(next: Uint8Array, label: string, tiltArg?: number): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o) return;
    const tilt = tiltArg ?? s.tilt;
    const f = frame(o.id, tilt);
    if (!f) return;
    const runs = diffMask(f, next);
    if (isEmptyRuns(runs)) return;
    const stateBefore = o.frameState[tilt]!;
    if (stateBefore === 'locked') {
      log.warn(`Tilt ${tilt} of ${o.name} is locked: unlock it (L) to edit`, 'masks');
      return;
    }
    f.set(next);
    revision.value++;
    pushHistory({ seriesId: s.summary.seriesId, objectId: o.id, label, changes: [{ tilt, runs, stateBefore, stateAfter: 'edited' }] });
    try {
      await sendFrame(s.summary.seriesId, o.id, tilt, runs, 'edited');
      scheduleLivePattern();
    } catch (e) {
      // Main refused: put the local copy back so it never shows what main does not hold.
      applyMaskRunsInPlace(f, invertRuns(runs));
      revision.value++;
      undoStack.pop();
      syncHistoryFlags();
      log.error(e, 'masks');
    }
  }

  function pushHistory(entry: HistoryEntry): void {
    undoStack.push(entry);
    if (undoStack.length > HISTORY_LIMIT) undoStack.shift();
    redoStack.length = 0;
    syncHistoryFlags();
  }

  async function replay(entry: HistoryEntry, direction: 'undo' | 'redo'): Promise<void> {
    if (entry.prompt) {
      const p = direction === 'undo' ? entry.prompt.before : entry.prompt.after;
      objects[entry.objectId] = await api().invoke('masks.setPrompt', {
        seriesId: entry.seriesId,
        objectId: entry.objectId,
        prompt: p ?? { tilt: entry.prompt.tilt, points: [] },
      });
    }
    for (const c of entry.changes) {
      const runs = direction === 'undo' ? invertRuns(c.runs) : c.runs;
      const state = direction === 'undo' ? c.stateBefore : c.stateAfter;
      const f = frame(entry.objectId, c.tilt);
      if (f) applyMaskRunsInPlace(f, runs);
      await sendFrame(entry.seriesId, entry.objectId, c.tilt, runs, state);
    }
    revision.value++;
    scheduleLivePattern();
  }

  async function undo(): Promise<void> {
    const e = undoStack.pop();
    if (!e) return log.info('Nothing to undo', 'edit');
    redoStack.push(e);
    syncHistoryFlags();
    try {
      await replay(e, 'undo');
    } catch (err) {
      log.error(err, 'masks');
    }
  }

  async function redo(): Promise<void> {
    const e = redoStack.pop();
    if (!e) return log.info('Nothing to redo', 'edit');
    undoStack.push(e);
    syncHistoryFlags();
    try {
      await replay(e, 'redo');
    } catch (err) {
      log.error(err, 'masks');
    }
  }

  // ── Brush and eraser: paint into a working copy, commit on release.
  let strokeBase: Uint8Array | null = null;
  let strokeLast: [number, number] | null = null;

  function beginStroke(x: number, y: number): void {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o || (tool.value !== 'brush' && tool.value !== 'eraser')) return;
    if (o.frameState[s.tilt] === 'locked') {
      log.warn(`Tilt ${s.tilt} of ${o.name} is locked: unlock it (L) to edit`, 'masks');
      return;
    }
    const f = frame(o.id, s.tilt)!;
    strokeBase = f.slice();
    strokeLast = [x, y];
    continueStroke(x, y);
  }

  /** Paints the segment from the last point; returns true when pixels may have changed. */
  function continueStroke(x: number, y: number): boolean {
    const s = seriesState.value;
    const o = active.value;
    if (!strokeBase || !strokeLast || !s || !o) return false;
    const { ny, nx } = dims();
    const f = frame(o.id, s.tilt)!;
    strokeSegmentInPlace(f, nx, ny, strokeLast[0], strokeLast[1], x, y, brushSize.value, tool.value === 'eraser' ? 0 : 1);
    strokeLast = [x, y];
    // No revision bump here: the editor repaints the segment itself; whole-frame views update on commit.
    scheduleLivePattern(f);
    return true;
  }

  async function endStroke(): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!strokeBase || !s || !o) return;
    const f = frame(o.id, s.tilt)!;
    const painted = f.slice();
    // Restore the base and commit the whole stroke as one edit (one undo step, one diff to main).
    f.set(strokeBase);
    strokeBase = null;
    strokeLast = null;
    await commitFrame(painted, tool.value === 'eraser' ? 'erase' : 'brush');
  }

  // ── Polygon / lasso.
  function addPolygonPoint(x: number, y: number): void {
    polygon.value = [...polygon.value, [x, y]];
  }
  function cancelPolygon(): void {
    polygon.value = [];
  }
  async function closePolygon(subtract = false): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o || polygon.value.length < 3) return cancelPolygon();
    const { ny, nx } = dims();
    const inside = fillPolygon(nx, ny, polygon.value);
    const next = frame(o.id, s.tilt)!.slice();
    for (let i = 0; i < next.length; i++) if (inside[i]) next[i] = subtract ? 0 : 1;
    polygon.value = [];
    await commitFrame(next, 'polygon');
  }

  async function flood(x: number, y: number): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o) return;
    const { ny, nx } = dims();
    const f = frame(o.id, s.tilt)!;
    const seed = f[Math.floor(x) + Math.floor(y) * nx] ? 1 : 0;
    await commitFrame(floodFill(f, nx, ny, x, y, seed ? 0 : 1), 'fill');
  }

  async function wholeFrame(op: 'fillHoles' | 'grow' | 'shrink' | 'clear' | 'copyPrevious' | 'copyNext'): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o) return;
    const { ny, nx, nTilts } = dims();
    const f = frame(o.id, s.tilt)!;
    let next: Uint8Array;
    if (op === 'fillHoles') next = fillHoles(f, nx, ny);
    else if (op === 'grow') next = growOne(f, nx, ny);
    else if (op === 'shrink') next = shrinkOne(f, nx, ny);
    else if (op === 'clear') next = new Uint8Array(f.length);
    else {
      const from = op === 'copyPrevious' ? s.tilt - 1 : s.tilt + 1;
      if (from < 0 || from >= nTilts) return log.info(`No ${op === 'copyPrevious' ? 'previous' : 'next'} tilt to copy from`, 'masks');
      next = frame(o.id, from)!.slice();
    }
    await commitFrame(next, op);
  }

  async function setFrameState(state: FrameState, tilts?: number[]): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o) return;
    const which = tilts ?? [s.tilt];
    const before = which.map((t) => o.frameState[t]!);
    try {
      objects[o.id] = await api().invoke('masks.setState', { seriesId: s.summary.seriesId, objectId: o.id, tilts: which, state });
      pushHistory({
        seriesId: s.summary.seriesId,
        objectId: o.id,
        label: state,
        changes: which.map((t, k) => ({ tilt: t, runs: NO_RUNS(), stateBefore: before[k]!, stateAfter: state })),
      });
    } catch (e) {
      log.error(e, 'masks');
    }
  }

  /** Sets one tilt's prompt in main and records it for undo. */
  async function changePrompt(tilt: number, after: TrackPrompt | null): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o) return;
    const before = o.prompts.find((p) => p.tilt === tilt) ?? null;
    try {
      objects[o.id] = await api().invoke('masks.setPrompt', { seriesId: s.summary.seriesId, objectId: o.id, prompt: after ?? { tilt, points: [] } });
      pushHistory({ seriesId: s.summary.seriesId, objectId: o.id, label: 'prompt', changes: [], prompt: { tilt, before, after } });
    } catch (e) {
      log.error(e, 'masks');
    }
  }

  async function toggleLock(): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o) return;
    const st = o.frameState[s.tilt];
    const area = o.areaPx[s.tilt] ?? 0;
    await setFrameState(st === 'locked' ? (area > 0 ? 'edited' : 'empty') : 'locked');
  }
  async function toggleExclude(): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o) return;
    const st = o.frameState[s.tilt];
    const area = o.areaPx[s.tilt] ?? 0;
    await setFrameState(st === 'excluded' ? (area > 0 ? 'edited' : 'empty') : 'excluded');
  }

  async function addPrompt(x: number, y: number, positive: boolean): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o) return;
    const existing = o.prompts.find((p) => p.tilt === s.tilt);
    await changePrompt(s.tilt, { tilt: s.tilt, points: [...(existing?.points ?? []), { x, y, positive }], ...(existing?.box ? { box: existing.box } : {}) });
  }
  async function setBox(box: [number, number, number, number]): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o) return;
    const existing = o.prompts.find((p) => p.tilt === s.tilt);
    await changePrompt(s.tilt, { tilt: s.tilt, points: existing?.points ?? [], box });
  }
  async function clearPrompts(): Promise<void> {
    const s = seriesState.value;
    if (s) await changePrompt(s.tilt, null);
  }

  // ── Live pattern: the summed diffraction inside the mask, recomputed in main, debounced while painting.
  let liveTimer: ReturnType<typeof setTimeout> | undefined;
  let liveSeq = 0;
  function scheduleLivePattern(preview?: Uint8Array): void {
    if (liveTimer) clearTimeout(liveTimer);
    const snapshot = preview ? preview.slice() : undefined;
    liveTimer = setTimeout(() => void refreshLivePattern(snapshot), 120);
  }
  async function refreshLivePattern(preview?: Uint8Array<ArrayBuffer>): Promise<void> {
    const s = seriesState.value;
    const o = active.value;
    if (!s || !o) return;
    const seq = ++liveSeq;
    try {
      const r = await api().invoke('masks.livePattern', {
        seriesId: s.summary.seriesId,
        objectId: o.id,
        tilt: s.tilt,
        ...(preview ? { preview } : {}),
      });
      if (seq === liveSeq) livePattern.value = markRaw({ ...r, tilt: s.tilt });
    } catch (e) {
      log.error(e, 'masks');
    }
  }

  /** Applies a tracker's result that main already holds: refetch, and record it for undo. */
  async function adoptTrackResult(objectId: number, before: Uint8Array, statesBefore: FrameState[]): Promise<void> {
    const s = seriesState.value;
    if (!s) return;
    await refreshObject(objectId, true);
    const after = stacks.value[objectId]!;
    const { frame: n, nTilts } = dims();
    const changes: FrameChange[] = [];
    const o = objects[objectId]!;
    for (let t = 0; t < nTilts; t++) {
      const runs = diffMask(before.subarray(t * n, (t + 1) * n), after.subarray(t * n, (t + 1) * n));
      if (!isEmptyRuns(runs) || statesBefore[t] !== o.frameState[t]) changes.push({ tilt: t, runs, stateBefore: statesBefore[t]!, stateAfter: o.frameState[t]! });
    }
    if (changes.length) pushHistory({ seriesId: s.summary.seriesId, objectId, label: 're-track', changes });
  }

  return {
    objects,
    stacks,
    list,
    active,
    activeObjectId,
    tool,
    brushSize,
    overlayOpacity,
    revision,
    polygon,
    canUndo,
    canRedo,
    livePattern,
    frame,
    load,
    ensureLoaded,
    refreshObject,
    createObject,
    updateObject,
    deleteObject,
    beginStroke,
    continueStroke,
    endStroke,
    addPolygonPoint,
    cancelPolygon,
    closePolygon,
    flood,
    wholeFrame,
    setFrameState,
    toggleLock,
    toggleExclude,
    addPrompt,
    setBox,
    clearPrompts,
    undo,
    redo,
    scheduleLivePattern,
    refreshLivePattern,
    adoptTrackResult,
  };
});
