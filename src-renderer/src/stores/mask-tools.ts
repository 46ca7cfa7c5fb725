// The mask editing tools and their history: brush and eraser strokes, polygon, flood fill, whole-frame operations,
// frame states. Each tool computes the new mask of the current tilt with a pure kernel (core/mask-edit.ts) and
// commits it as one edit: applied to the local copy, recorded for undo, sent to main as a run-length diff. Undo and
// redo replay the diffs (and prompt changes, and re-track results) both ways.
import { defineStore } from 'pinia';
import { ref, watch, type Ref } from 'vue';
import type { FrameState, TrackPrompt } from '../../../src-shared/contract';
import type { HistoryAction, HistoryEntryWire } from '../../../src-shared/project';
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

type Masks = ReturnType<typeof useMasksStore>;
type Series = ReturnType<typeof useSeriesStore>;
type Log = ReturnType<typeof useLogStore>;
type Live = ReturnType<typeof useLivePatternStore>;

/** Main keeps the history with the project (undo across restarts): each step is sent, and a series' stacks are
 * fetched when it loads. A failed send is logged; the local history stays as it is. */
function remoteHistory(log: Log) {
  const send = (seriesId: string, action: HistoryAction, entry?: HistoryEntry): void => {
    // Plain copies: reactive proxies (prompts come from the objects store) cannot cross the bridge.
    const wire: HistoryEntryWire | undefined = entry && {
      objectId: entry.objectId,
      label: entry.label,
      changes: entry.changes.map((c) => ({ tilt: c.tilt, runs: { set: c.runs.set.slice(), clear: c.runs.clear.slice() }, stateBefore: c.stateBefore, stateAfter: c.stateAfter })),
      ...(entry.prompt ? { prompt: JSON.parse(JSON.stringify(entry.prompt)) as NonNullable<HistoryEntry['prompt']> } : {}),
    };
    api()
      .invoke('project.recordHistory', { seriesId, action, ...(wire ? { entry: wire } : {}) })
      .catch((e: unknown) => log.error(e, 'project'));
  };
  const fetch = async (seriesId: string): Promise<{ undo: HistoryEntry[]; redo: HistoryEntry[] }> => {
    const h = await api().invoke('project.history', { seriesId });
    const local = (e: HistoryEntryWire): HistoryEntry => ({ ...e, seriesId });
    return { undo: h.undo.map(local), redo: h.redo.map(local) };
  };
  return { send, fetch };
}

/** The undo and redo stacks and their replay (mask diffs both ways, prompt changes, frame states). */
function createHistory(masks: Masks, live: Live, log: Log) {
  const undoStack: HistoryEntry[] = [];
  const redoStack: HistoryEntry[] = [];
  const canUndo = ref(false);
  const canRedo = ref(false);
  const remote = remoteHistory(log);
  const sync = (): void => {
    canUndo.value = undoStack.length > 0;
    canRedo.value = redoStack.length > 0;
  };
  function clear(): void {
    undoStack.length = 0;
    redoStack.length = 0;
    sync();
  }
  /** Starts a series' history from what main kept with its project. */
  async function seed(seriesId: string | null): Promise<void> {
    clear();
    if (!seriesId) return;
    try {
      const kept = await remote.fetch(seriesId);
      undoStack.push(...kept.undo);
      redoStack.push(...kept.redo);
      sync();
    } catch (e) {
      log.error(e, 'project');
    }
  }
  function push(entry: HistoryEntry): void {
    undoStack.push(entry);
    if (undoStack.length > HISTORY_LIMIT) undoStack.shift();
    redoStack.length = 0;
    sync();
    remote.send(entry.seriesId, 'push', entry);
  }
  /** Drops the newest entry (its change never reached main). */
  function dropLast(): void {
    const e = undoStack.pop();
    sync();
    if (e) remote.send(e.seriesId, 'drop');
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
      masks.applyLocal(entry.objectId, c.tilt, runs);
      await masks.sendFrame(entry.seriesId, entry.objectId, c.tilt, runs, direction === 'undo' ? c.stateBefore : c.stateAfter);
    }
    live.schedule();
  }
  async function step(from: HistoryEntry[], to: HistoryEntry[], direction: 'undo' | 'redo'): Promise<void> {
    const e = from.pop();
    if (!e) return log.info(direction === 'undo' ? 'Nothing to undo' : 'Nothing to redo', 'edit');
    to.push(e);
    sync();
    remote.send(e.seriesId, direction);
    try {
      await replay(e, direction);
    } catch (err) {
      log.error(err, 'masks');
    }
  }
  const undo = (): Promise<void> => step(undoStack, redoStack, 'undo');
  const redo = (): Promise<void> => step(redoStack, undoStack, 'redo');
  return { canUndo, canRedo, clear, seed, push, dropLast, undo, redo };
}

/** The drawing tools: brush and eraser strokes, polygon, flood fill, whole-frame operations. */
function createDrawing(masks: Masks, series: Series, live: Live, log: Log, tool: Ref<MaskTool>, brushSize: Ref<number>, commitFrame: (next: Uint8Array, label: string) => Promise<void>) {
  const polygon = ref<Array<[number, number]>>([]);
  // Brush and eraser paint into the local frame; the whole stroke is committed on release (one undo step, one diff).
  let strokeBase: Uint8Array | null = null;
  let strokeLast: [number, number] | null = null;

  /** The active object and current tilt, or null. */
  function target(): { o: NonNullable<Masks['active']>; tilt: number; f: Uint8Array } | null {
    const s = series.active;
    const o = masks.active;
    const f = s && o ? masks.frame(o.id, s.tilt) : null;
    return s && o && f ? { o, tilt: s.tilt, f } : null;
  }
  function beginStroke(x: number, y: number): void {
    const t = target();
    if (!t || (tool.value !== 'brush' && tool.value !== 'eraser')) return;
    if (t.o.frameState[t.tilt] === 'locked') return log.warn(`Tilt ${t.tilt + 1} of ${t.o.name} is locked: unlock it (L) to edit`, 'masks');
    strokeBase = t.f.slice();
    strokeLast = [x, y];
    continueStroke(x, y);
  }
  /** Paints the segment from the last point; returns true when pixels may have changed. */
  function continueStroke(x: number, y: number): boolean {
    const t = target();
    if (!strokeBase || !strokeLast || !t) return false;
    const { ny, nx } = masks.dims();
    strokeSegmentInPlace(t.f, nx, ny, strokeLast[0], strokeLast[1], x, y, brushSize.value, tool.value === 'eraser' ? 0 : 1);
    strokeLast = [x, y];
    // No revision bump here: the editor repaints the segment itself; whole-frame views update on commit.
    live.schedule(t.f);
    return true;
  }
  async function endStroke(): Promise<void> {
    const t = target();
    if (!strokeBase || !t) return;
    const painted = t.f.slice();
    t.f.set(strokeBase);
    strokeBase = null;
    strokeLast = null;
    await commitFrame(painted, tool.value === 'eraser' ? 'erase' : 'brush');
  }
  const addPolygonPoint = (x: number, y: number): void => void (polygon.value = [...polygon.value, [x, y]]);
  const cancelPolygon = (): void => void (polygon.value = []);
  async function closePolygon(subtract = false): Promise<void> {
    const t = target();
    if (!t || polygon.value.length < 3) return cancelPolygon();
    const { ny, nx } = masks.dims();
    const inside = fillPolygon(nx, ny, polygon.value);
    const next = t.f.slice();
    for (let i = 0; i < next.length; i++) if (inside[i]) next[i] = subtract ? 0 : 1;
    polygon.value = [];
    await commitFrame(next, 'polygon');
  }
  async function flood(x: number, y: number): Promise<void> {
    const t = target();
    if (!t) return;
    const { ny, nx } = masks.dims();
    const seed = t.f[Math.floor(x) + Math.floor(y) * nx] ? 1 : 0;
    await commitFrame(floodFill(t.f, nx, ny, x, y, seed ? 0 : 1), 'fill');
  }
  async function wholeFrame(op: FrameOp): Promise<void> {
    const t = target();
    if (!t) return;
    const { ny, nx, nTilts } = masks.dims();
    let next: Uint8Array;
    if (op === 'fillHoles') next = fillHoles(t.f, nx, ny);
    else if (op === 'grow') next = growOne(t.f, nx, ny);
    else if (op === 'shrink') next = shrinkOne(t.f, nx, ny);
    else if (op === 'clear') next = new Uint8Array(t.f.length);
    else {
      const from = op === 'copyPrevious' ? t.tilt - 1 : t.tilt + 1;
      if (from < 0 || from >= nTilts) return log.info(`No ${op === 'copyPrevious' ? 'previous' : 'next'} tilt to copy from`, 'masks');
      next = masks.frame(t.o.id, from)!.slice();
    }
    await commitFrame(next, op);
  }
  return { polygon, beginStroke, continueStroke, endStroke, addPolygonPoint, cancelPolygon, closePolygon, flood, wholeFrame };
}

export const useMaskToolsStore = defineStore('maskTools', () => {
  const log = useLogStore();
  const masks = useMasksStore();
  const series = useSeriesStore();
  const live = useLivePatternStore();
  const tool = ref<MaskTool>('brush');
  const brushSize = ref(3);
  const overlayOpacity = ref(0.45);
  const history = createHistory(masks, live, log);
  // History is per series, kept with its project: opening one starts from what was kept.
  watch(() => masks.loadedSeriesId, (id) => void history.seed(id));

  /** Commits a change of the active object's mask on a tilt (default the current one): `next` replaces it. */
  async function commitFrame(next: Uint8Array, label: string, tiltArg?: number): Promise<void> {
    const s = series.active;
    const o = masks.active;
    const tilt = tiltArg ?? s?.tilt ?? 0;
    const f = s && o ? masks.frame(o.id, tilt) : null;
    if (!s || !o || !f) return;
    const runs = diffMask(f, next);
    if (isEmptyRuns(runs)) return;
    const stateBefore = o.frameState[tilt]!;
    if (stateBefore === 'locked') return log.warn(`Tilt ${tilt + 1} of ${o.name} is locked: unlock it (L) to edit`, 'masks');
    masks.applyLocal(o.id, tilt, runs);
    history.push({ seriesId: s.summary.seriesId, objectId: o.id, label, changes: [{ tilt, runs, stateBefore, stateAfter: 'edited' }] });
    try {
      await masks.sendFrame(s.summary.seriesId, o.id, tilt, runs, 'edited');
      live.schedule();
    } catch (e) {
      // Main refused: put the local copy back so it never shows what main does not hold.
      masks.applyLocal(o.id, tilt, invertRuns(runs));
      history.dropLast();
      log.error(e, 'masks');
    }
  }
  const drawing = createDrawing(masks, series, live, log, tool, brushSize, commitFrame);

  async function setFrameState(state: FrameState, tilts?: number[]): Promise<void> {
    const s = series.active;
    const o = masks.active;
    if (!s || !o) return;
    const which = tilts ?? [s.tilt];
    const before = which.map((t) => o.frameState[t]!);
    try {
      await masks.sendStates(s.summary.seriesId, o.id, which, state);
      const changes = which.map((t, k) => ({ tilt: t, runs: NO_RUNS(), stateBefore: before[k]!, stateAfter: state }));
      history.push({ seriesId: s.summary.seriesId, objectId: o.id, label: state, changes });
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
    if (changes.length) history.push({ seriesId: s.summary.seriesId, objectId, label: 're-track', changes });
  }

  return {
    tool,
    brushSize,
    overlayOpacity,
    canUndo: history.canUndo,
    canRedo: history.canRedo,
    pushHistory: history.push,
    clearHistory: history.clear,
    undo: history.undo,
    redo: history.redo,
    commitFrame,
    ...drawing,
    setFrameState,
    toggleLock: (): Promise<void> => toggleState('locked'),
    toggleExclude: (): Promise<void> => toggleState('excluded'),
    recordRetrack,
  };
});
