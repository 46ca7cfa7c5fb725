// The mask editing tools and their history: brush and eraser strokes, polygon, flood fill, whole-frame operations,
// frame states. Each tool computes the new mask of the current tilt with a pure kernel (core/mask-edit.ts) and
// commits it as one edit: applied to the local copy, recorded for undo, sent to main as a run-length diff. Undo and
// redo replay the diffs (and prompt changes, and re-track results) both ways.
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import type { FrameState, TrackPrompt } from '../../../src-shared/contract';
import { diffMask, invertRuns, isEmptyRuns, type MaskRuns } from '../../../src-shared/mask-runs';
import { api } from '../api';
import { fillHoles, fillPolygon, floodFill, growOne, shrinkOne, strokeSegmentInPlace } from '../core/mask-edit';
import { useLivePatternStore } from './live-pattern';
import { useLogStore } from './log';
import { useMasksStore } from './masks';
import { useSeriesStore } from './series';

export type MaskTool = 'brush' | 'eraser' | 'polygon' | 'fill' | 'pointPositive' | 'pointNegative' | 'box' | 'pan';
export type FrameOp = 'fillHoles' | 'grow' | 'shrink' | 'clear' | 'copyPrevious' | 'copyNext';

interface FrameChange {
  tilt: number;
  runs: MaskRuns;
  stateBefore: FrameState;
  stateAfter: FrameState;
}
export interface HistoryEntry {
  seriesId: string;
  objectId: number;
  label: string;
  changes: FrameChange[];
  /** A change of one tilt's tracker prompt (points and box). */
  prompt?: { tilt: number; before: TrackPrompt | null; after: TrackPrompt | null };
}

const NO_RUNS = (): MaskRuns => ({ set: new Uint32Array(0), clear: new Uint32Array(0) });
const HISTORY_LIMIT = 200;

export const useMaskToolsStore = defineStore('maskTools', () => {
  const log = useLogStore();
  const masks = useMasksStore();
  const series = useSeriesStore();
  const live = useLivePatternStore();

  const tool = ref<MaskTool>('brush');
  const brushSize = ref(3);
  const overlayOpacity = ref(0.45);
  const polygon = ref<Array<[number, number]>>([]);
  const undoStack: HistoryEntry[] = [];
  const redoStack: HistoryEntry[] = [];
  const canUndo = ref(false);
  const canRedo = ref(false);

  function syncHistoryFlags(): void {
    canUndo.value = undoStack.length > 0;
    canRedo.value = redoStack.length > 0;
  }

  function clearHistory(): void {
    undoStack.length = 0;
    redoStack.length = 0;
    syncHistoryFlags();
  }

  // History is per series: opening another one starts afresh.
  watch(() => masks.loadedSeriesId, clearHistory);

  function pushHistory(entry: HistoryEntry): void {
    undoStack.push(entry);
    if (undoStack.length > HISTORY_LIMIT) undoStack.shift();
    redoStack.length = 0;
    syncHistoryFlags();
  }

  /** Commits a change of the active object's mask on a tilt (default the current one): `next` replaces it. */
  async function commitFrame(next: Uint8Array, label: string, tiltArg?: number): Promise<void> {
    const s = series.active;
    const o = masks.active;
    if (!s || !o) return;
    const tilt = tiltArg ?? s.tilt;
    const f = masks.frame(o.id, tilt);
    if (!f) return;
    const runs = diffMask(f, next);
    if (isEmptyRuns(runs)) return;
    const stateBefore = o.frameState[tilt]!;
    if (stateBefore === 'locked') {
      log.warn(`Tilt ${tilt + 1} of ${o.name} is locked: unlock it (L) to edit`, 'masks');
      return;
    }
    masks.applyLocal(o.id, tilt, runs);
    pushHistory({ seriesId: s.summary.seriesId, objectId: o.id, label, changes: [{ tilt, runs, stateBefore, stateAfter: 'edited' }] });
    try {
      await masks.sendFrame(s.summary.seriesId, o.id, tilt, runs, 'edited');
      live.schedule();
    } catch (e) {
      // Main refused: put the local copy back so it never shows what main does not hold.
      masks.applyLocal(o.id, tilt, invertRuns(runs));
      undoStack.pop();
      syncHistoryFlags();
      log.error(e, 'masks');
    }
  }

  async function replay(entry: HistoryEntry, direction: 'undo' | 'redo'): Promise<void> {
    if (entry.prompt) {
      const p = direction === 'undo' ? entry.prompt.before : entry.prompt.after;
      masks.objects[entry.objectId] = await api().invoke('masks.setPrompt', {
        seriesId: entry.seriesId,
        objectId: entry.objectId,
        prompt: p ?? { tilt: entry.prompt.tilt, points: [] },
      });
    }
    for (const c of entry.changes) {
      const runs = direction === 'undo' ? invertRuns(c.runs) : c.runs;
      const state = direction === 'undo' ? c.stateBefore : c.stateAfter;
      masks.applyLocal(entry.objectId, c.tilt, runs);
      await masks.sendFrame(entry.seriesId, entry.objectId, c.tilt, runs, state);
    }
    live.schedule();
  }

  async function step(from: HistoryEntry[], to: HistoryEntry[], direction: 'undo' | 'redo'): Promise<void> {
    const e = from.pop();
    if (!e) return log.info(direction === 'undo' ? 'Nothing to undo' : 'Nothing to redo', 'edit');
    to.push(e);
    syncHistoryFlags();
    try {
      await replay(e, direction);
    } catch (err) {
      log.error(err, 'masks');
    }
  }
  const undo = (): Promise<void> => step(undoStack, redoStack, 'undo');
  const redo = (): Promise<void> => step(redoStack, undoStack, 'redo');

  // ── Brush and eraser: paint into the local frame, commit the whole stroke on release (one undo step, one diff).
  let strokeBase: Uint8Array | null = null;
  let strokeLast: [number, number] | null = null;

  function beginStroke(x: number, y: number): void {
    const s = series.active;
    const o = masks.active;
    if (!s || !o || (tool.value !== 'brush' && tool.value !== 'eraser')) return;
    if (o.frameState[s.tilt] === 'locked') {
      log.warn(`Tilt ${s.tilt + 1} of ${o.name} is locked: unlock it (L) to edit`, 'masks');
      return;
    }
    strokeBase = masks.frame(o.id, s.tilt)!.slice();
    strokeLast = [x, y];
    continueStroke(x, y);
  }

  /** Paints the segment from the last point; returns true when pixels may have changed. */
  function continueStroke(x: number, y: number): boolean {
    const s = series.active;
    const o = masks.active;
    if (!strokeBase || !strokeLast || !s || !o) return false;
    const { ny, nx } = masks.dims();
    const f = masks.frame(o.id, s.tilt)!;
    strokeSegmentInPlace(f, nx, ny, strokeLast[0], strokeLast[1], x, y, brushSize.value, tool.value === 'eraser' ? 0 : 1);
    strokeLast = [x, y];
    // No revision bump here: the editor repaints the segment itself; whole-frame views update on commit.
    live.schedule(f);
    return true;
  }

  async function endStroke(): Promise<void> {
    const s = series.active;
    const o = masks.active;
    if (!strokeBase || !s || !o) return;
    const f = masks.frame(o.id, s.tilt)!;
    const painted = f.slice();
    f.set(strokeBase);
    strokeBase = null;
    strokeLast = null;
    await commitFrame(painted, tool.value === 'eraser' ? 'erase' : 'brush');
  }

  // ── Polygon.
  function addPolygonPoint(x: number, y: number): void {
    polygon.value = [...polygon.value, [x, y]];
  }
  function cancelPolygon(): void {
    polygon.value = [];
  }
  async function closePolygon(subtract = false): Promise<void> {
    const s = series.active;
    const o = masks.active;
    if (!s || !o || polygon.value.length < 3) return cancelPolygon();
    const { ny, nx } = masks.dims();
    const inside = fillPolygon(nx, ny, polygon.value);
    const next = masks.frame(o.id, s.tilt)!.slice();
    for (let i = 0; i < next.length; i++) if (inside[i]) next[i] = subtract ? 0 : 1;
    polygon.value = [];
    await commitFrame(next, 'polygon');
  }

  async function flood(x: number, y: number): Promise<void> {
    const s = series.active;
    const o = masks.active;
    if (!s || !o) return;
    const { ny, nx } = masks.dims();
    const f = masks.frame(o.id, s.tilt)!;
    const seed = f[Math.floor(x) + Math.floor(y) * nx] ? 1 : 0;
    await commitFrame(floodFill(f, nx, ny, x, y, seed ? 0 : 1), 'fill');
  }

  async function wholeFrame(op: FrameOp): Promise<void> {
    const s = series.active;
    const o = masks.active;
    if (!s || !o) return;
    const { ny, nx, nTilts } = masks.dims();
    const f = masks.frame(o.id, s.tilt)!;
    let next: Uint8Array;
    if (op === 'fillHoles') next = fillHoles(f, nx, ny);
    else if (op === 'grow') next = growOne(f, nx, ny);
    else if (op === 'shrink') next = shrinkOne(f, nx, ny);
    else if (op === 'clear') next = new Uint8Array(f.length);
    else {
      const from = op === 'copyPrevious' ? s.tilt - 1 : s.tilt + 1;
      if (from < 0 || from >= nTilts) return log.info(`No ${op === 'copyPrevious' ? 'previous' : 'next'} tilt to copy from`, 'masks');
      next = masks.frame(o.id, from)!.slice();
    }
    await commitFrame(next, op);
  }

  // ── Frame states.
  async function setFrameState(state: FrameState, tilts?: number[]): Promise<void> {
    const s = series.active;
    const o = masks.active;
    if (!s || !o) return;
    const which = tilts ?? [s.tilt];
    const before = which.map((t) => o.frameState[t]!);
    try {
      await masks.sendStates(s.summary.seriesId, o.id, which, state);
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

  /** Lock (or exclude) the current tilt, or lift it back to edited/empty. */
  async function toggleState(state: 'locked' | 'excluded'): Promise<void> {
    const s = series.active;
    const o = masks.active;
    if (!s || !o) return;
    const area = o.areaPx[s.tilt] ?? 0;
    await setFrameState(o.frameState[s.tilt] === state ? (area > 0 ? 'edited' : 'empty') : state);
  }
  const toggleLock = (): Promise<void> => toggleState('locked');
  const toggleExclude = (): Promise<void> => toggleState('excluded');

  /** Records a tracker's result that main already holds (and the masks store refetched) as one undo step. */
  function recordRetrack(objectId: number, before: Uint8Array, statesBefore: FrameState[]): void {
    const s = series.active;
    const o = masks.objects[objectId];
    const after = masks.stacks[objectId];
    if (!s || !o || !after) return;
    const { frame: n, nTilts } = masks.dims();
    const changes: FrameChange[] = [];
    for (let t = 0; t < nTilts; t++) {
      const runs = diffMask(before.subarray(t * n, (t + 1) * n), after.subarray(t * n, (t + 1) * n));
      if (!isEmptyRuns(runs) || statesBefore[t] !== o.frameState[t]) changes.push({ tilt: t, runs, stateBefore: statesBefore[t]!, stateAfter: o.frameState[t]! });
    }
    if (changes.length) pushHistory({ seriesId: s.summary.seriesId, objectId, label: 're-track', changes });
  }

  return {
    tool,
    brushSize,
    overlayOpacity,
    polygon,
    canUndo,
    canRedo,
    pushHistory,
    clearHistory,
    commitFrame,
    undo,
    redo,
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
    recordRetrack,
  };
});

