// Open tilt series and their virtual images, keyed by series id. Typed arrays are kept out of
// reactivity (markRaw): Vue must never walk a 20 MB Float32Array.
import { defineStore } from 'pinia';
import { computed, markRaw, reactive, ref } from 'vue';
import type { DetectorRequest, SeriesSummary, VirtualSummary } from '../../../src-shared/contract';
import type { ColormapName } from '../core/colormaps';
import { api } from '../api';
import { useJobsStore } from './jobs';
import { useLogStore } from './log';
import { useSelectionStore } from './selection';

export interface DetectorGeometry {
  /** Bright-field disk radius, detector pixels. */
  bfRadius: number;
  /** Annular dark-field inner and outer radii, detector pixels. */
  adfInner: number;
  adfOuter: number;
  /** Where the rings sit on every tilt, detector pixels [cx, cy]; null: on each tilt's fitted beam centre. */
  centre: [number, number] | null;
}

/** Detector changes that can be undone and redone (each a whole geometry; a pass recomputes the images). */
interface DetectorHistory {
  undo: DetectorGeometry[];
  redo: DetectorGeometry[];
}

export interface DisplayState {
  colormap: ColormapName;
  gamma: number;
  /** Lower/upper percentile for automatic contrast. */
  lowPct: number;
  highPct: number;
}

interface SeriesState {
  summary: SeriesSummary;
  tilt: number;
  output: string;
  virtual: VirtualSummary | null;
  /** output name → stack (nTilts * ny * nx), raw. */
  stacks: Record<string, Float32Array>;
  meanPattern: { tilt: number; pattern: Float32Array; nqy: number; nqx: number; beamCentre: [number, number] | null } | null;
  probe: { rx: number; ry: number; tilt: number; pattern: Float32Array; nqy: number; nqx: number } | null;
  detector: DetectorGeometry;
  detectorHistory: DetectorHistory;
}

const sameGeometry = (a: DetectorGeometry, b: DetectorGeometry): boolean =>
  a.bfRadius === b.bfRadius && a.adfInner === b.adfInner && a.adfOuter === b.adfOuter && a.centre?.[0] === b.centre?.[0] && a.centre?.[1] === b.centre?.[1];

/** The detector in words, for the log: radii and where the rings sit. */
export function describeDetector(g: DetectorGeometry): string {
  const at = g.centre ? `centred at (${g.centre[0].toFixed(1)}, ${g.centre[1].toFixed(1)}) on every tilt` : "on each tilt's fitted beam centre";
  return `BF ${g.bfRadius}, ADF ${g.adfInner}–${g.adfOuter} px, ${at}`;
}

function defaultDetector(summary: SeriesSummary): DetectorGeometry {
  // A sensible start before the user drags: BF a little larger than a typical direct-beam disk,
  // ADF from just outside it to most of the detector.
  const half = Math.min(...summary.detectorShape) / 2;
  return { bfRadius: Math.max(2, Math.round(half * 0.12)), adfInner: Math.round(half * 0.18), adfOuter: Math.round(half * 0.9), centre: null };
}

function detectorRequests(g: DetectorGeometry): DetectorRequest[] {
  // A plain pair: the geometry is reactive state, and a proxy cannot be cloned into the IPC message.
  const centre = g.centre ? { centre: [g.centre[0], g.centre[1]] as [number, number] } : {};
  return [
    { kind: 'disk', radius: g.bfRadius, name: 'bf', ...centre },
    { kind: 'annulus', rIn: g.adfInner, rOut: g.adfOuter, name: 'adf', ...centre },
    { kind: 'com', name: 'com', ...centre },
    { kind: 'variance', name: 'variance' },
    { kind: 'sum', name: 'sum' },
  ];
}

/** Undoable detector changes of the series in `byId`, each followed by a new pass (`computeVirtual`). */
function detectorEditing(
  byId: Record<string, SeriesState>,
  computeVirtual: (seriesId: string) => Promise<void>,
  log: ReturnType<typeof useLogStore>,
): {
  changeDetector: (seriesId: string, geometry: Partial<DetectorGeometry>) => Promise<void>;
  stepDetectorHistory: (seriesId: string, direction: 'undo' | 'redo') => Promise<boolean>;
} {
  /**
   * Changes the detector (radii and/or centre) as one undoable step and recomputes the virtual images (and so the
   * image the tracker follows). A change to the same geometry is no step.
   */
  async function changeDetector(seriesId: string, geometry: Partial<DetectorGeometry>): Promise<void> {
    const s = byId[seriesId];
    if (!s) return;
    const next = { ...s.detector, ...geometry };
    if (sameGeometry(next, s.detector)) return;
    s.detectorHistory.undo.push({ ...s.detector });
    s.detectorHistory.redo.splice(0);
    s.detector = next;
    log.info(`Detector: ${describeDetector(next)}`, 'series');
    await computeVirtual(seriesId);
  }

  /** Undoes (or redoes) the last detector change and recomputes the images; false when there is none. */
  async function stepDetectorHistory(seriesId: string, direction: 'undo' | 'redo'): Promise<boolean> {
    const s = byId[seriesId];
    const from = direction === 'undo' ? s?.detectorHistory.undo : s?.detectorHistory.redo;
    const to = direction === 'undo' ? s?.detectorHistory.redo : s?.detectorHistory.undo;
    const g = from?.pop();
    if (!s || !g || !to) return false;
    to.push({ ...s.detector });
    s.detector = g;
    log.info(`${direction === 'undo' ? 'Undo' : 'Redo'} detector change: ${describeDetector(g)}`, 'series');
    await computeVirtual(seriesId);
    return true;
  }

  return { changeDetector, stepDetectorHistory };
}

export const useSeriesStore = defineStore('series', () => {
  const byId = reactive<Record<string, SeriesState>>({});
  const activeId = ref<string | null>(null);
  const display = reactive<DisplayState>({ colormap: 'grey', gamma: 1, lowPct: 0.5, highPct: 99.5 });
  const playing = ref(false);
  const log = useLogStore();

  const active = computed(() => (activeId.value ? byId[activeId.value] ?? null : null));

  async function open(path: string): Promise<SeriesSummary | undefined> {
    try {
      const summary = await api().invoke('series.open', { path });
      byId[summary.seriesId] = {
        summary,
        tilt: Math.floor(summary.nTilts / 2),
        output: 'adf',
        virtual: null,
        stacks: markRaw({}),
        meanPattern: null,
        probe: null,
        detector: defaultDetector(summary),
        detectorHistory: { undo: [], redo: [] },
      };
      activeId.value = summary.seriesId;
      useSelectionStore().select({ kind: 'series', seriesId: summary.seriesId });
      try {
        const d = await api().invoke('series.suggestDetectors', { seriesId: summary.seriesId });
        byId[summary.seriesId]!.detector = { bfRadius: d.bfRadius, adfInner: d.adfInner, adfOuter: d.adfOuter, centre: null };
        if (d.diskRadius !== null) log.info(`Direct beam: disk radius ${d.diskRadius.toFixed(2)} px; BF ${d.bfRadius}, ADF ${d.adfInner}–${d.adfOuter} px`, 'series');
      } catch (e) {
        log.error(e, 'series');
      }
      log.info(
        `Opened ${summary.name}: ${summary.nTilts} tilts (${summary.anglesDeg[0]}° … ${summary.anglesDeg[summary.nTilts - 1]}°), scan ${summary.scanShape.join('×')}, detector ${summary.detectorShape.join('×')}`,
        'series',
      );
      for (const w of summary.warnings) log.warn(w, 'series');
      await computeVirtual(summary.seriesId);
      return summary;
    } catch (e) {
      log.error(e, 'series');
      return undefined;
    }
  }

  async function computeVirtual(seriesId: string): Promise<void> {
    const s = byId[seriesId];
    if (!s) return;
    try {
      const summary = await useJobsStore().run(
        'virtual.compute',
        { seriesId, detectors: detectorRequests(s.detector) },
        `Virtual images of ${s.summary.name}`,
      );
      s.virtual = summary;
      for (const w of summary.warnings) log.warn(w, 'virtual');
      const stacks: Record<string, Float32Array> = {};
      for (const o of summary.outputs) {
        const r = await api().invoke('virtual.stack', { seriesId, output: o.name });
        stacks[o.name] = r.stack;
      }
      s.stacks = markRaw(stacks);
      if (!summary.outputs.some((o) => o.name === s.output)) s.output = summary.outputs[0]?.name ?? s.output;
      await loadMeanPattern(seriesId);
    } catch {
      // The job store has logged it.
    }
  }

  async function loadMeanPattern(seriesId: string): Promise<void> {
    const s = byId[seriesId];
    if (!s?.virtual) return;
    const tilt = s.tilt;
    const r = await api().invoke('virtual.meanPattern', { seriesId, tilt });
    s.meanPattern = markRaw({ tilt, ...r });
  }

  async function showPattern(seriesId: string, rx: number, ry: number): Promise<void> {
    const s = byId[seriesId];
    if (!s) return;
    try {
      const r = await api().invoke('series.pattern', { seriesId, tilt: s.tilt, rx, ry });
      s.probe = markRaw({ rx, ry, tilt: s.tilt, ...r });
    } catch (e) {
      log.error(e, 'series');
    }
  }

  function setTilt(seriesId: string, tilt: number): void {
    const s = byId[seriesId];
    if (!s) return;
    const t = Math.min(s.summary.nTilts - 1, Math.max(0, Math.round(tilt)));
    if (t === s.tilt) return;
    s.tilt = t;
    void loadMeanPattern(seriesId).catch((e: unknown) => log.error(e, 'series'));
    if (s.probe) void showPattern(seriesId, s.probe.rx, s.probe.ry);
  }

  function step(delta: number | 'first' | 'last'): void {
    const s = active.value;
    if (!s) return;
    const t = delta === 'first' ? 0 : delta === 'last' ? s.summary.nTilts - 1 : s.tilt + delta;
    setTilt(s.summary.seriesId, t);
  }

  let timer: ReturnType<typeof setInterval> | undefined;
  function togglePlay(framesPerSecond = 8): void {
    playing.value = !playing.value;
    if (timer) clearInterval(timer);
    timer = undefined;
    if (!playing.value) return;
    timer = setInterval(() => {
      const s = active.value;
      if (!s) return;
      setTilt(s.summary.seriesId, (s.tilt + 1) % s.summary.nTilts);
    }, 1000 / framesPerSecond);
  }

  const { changeDetector, stepDetectorHistory } = detectorEditing(byId, computeVirtual, log);

  /** The current tilt's image of the selected output. */
  function currentImage(s: SeriesState): Float32Array | null {
    const stack = s.stacks[s.output];
    if (!stack) return null;
    const [ny, nx] = s.summary.scanShape;
    return stack.subarray(s.tilt * ny * nx, (s.tilt + 1) * ny * nx);
  }

  return { byId, activeId, active, display, playing, open, computeVirtual, showPattern, setTilt, step, togglePlay, changeDetector, stepDetectorHistory, currentImage };
});
