// Processing of the extracted objects (ARCHITECTURE §9): the parameters a person sets, each object's results keyed
// by series and object id, the current frame's peaks, and the peak-editing tool. Results stay in main; only
// summaries and one frame's peaks come here (typed arrays kept out of reactivity).
import { defineStore } from 'pinia';
import { computed, markRaw, reactive, ref, shallowRef } from 'vue';
import type { FramePeaks, LatticeParametersInput, PeakParametersInput, ProcessingSummary, Statement, UnitCell } from '../../../src-shared/processing';
import { PER_FRAME_CORRECTIONS } from '../../../src-shared/processing';
import { api } from '../api';
import { useExtractionStore } from './extraction';
import { useJobsStore } from './jobs';
import { useLogStore } from './log';
import { useSeriesStore } from './series';

/** A number field of a form: '' when left empty (the pipeline's default is used). */
export type Field = number | '';
export const given = (v: Field): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
/** The object without its undefined fields (the contract's parameters leave out what was not set). */
export const only = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export type PeakTool = 'inspect' | 'add' | 'remove';

/** "a b c α β γ" (spaces or commas) as a cell; null when empty; throws a sentence when malformed. */
export function parseCell(text: string): UnitCell | null {
  const t = text.trim();
  if (!t) return null;
  const v = t.split(/[\s,;]+/).map(Number);
  if (v.length !== 6 || v.some((x) => !Number.isFinite(x))) throw new Error(`a known cell is six numbers "a b c α β γ" (Å, °); got "${t}"`);
  const [a, b, c, alpha, beta, gamma] = v as [number, number, number, number, number, number];
  return { a, b, c, alpha, beta, gamma };
}

/** The parameter forms and their conversion to the contract's parameters (empty fields left out). */
function processingForms() {
  const peakForm = reactive<{ radiusPx: Field; minIOverSigma: Field; minSeparationPx: Field; dMinA: Field; dMaxA: Field; gain: Field }>({
    radiusPx: '',
    minIOverSigma: '',
    minSeparationPx: '',
    dMinA: '',
    dMaxA: '',
    gain: '',
  });
  const latticeForm = reactive<{
    axisDeg: Field;
    fixAxis: boolean;
    knownCell: string;
    maxMisfitDeg: Field;
    perFrame: (typeof PER_FRAME_CORRECTIONS)[number];
    rockingCentres: boolean;
  }>({
    axisDeg: '',
    fixAxis: false,
    knownCell: '',
    maxMisfitDeg: '',
    perFrame: 'auto',
    rockingCentres: false,
  });
  function peakParams(): PeakParametersInput {
    return only({
      radiusPx: given(peakForm.radiusPx),
      minIOverSigma: given(peakForm.minIOverSigma),
      minSeparationPx: given(peakForm.minSeparationPx),
      dMinA: given(peakForm.dMinA),
      dMaxA: given(peakForm.dMaxA),
      gain: given(peakForm.gain),
    });
  }
  function latticeParams(): LatticeParametersInput {
    const cell = parseCell(latticeForm.knownCell);
    return only({
      axisDeg: given(latticeForm.axisDeg),
      fixAxis: latticeForm.fixAxis && given(latticeForm.axisDeg) !== undefined ? true : undefined,
      knownCell: cell ?? undefined,
      maxMisfitDeg: given(latticeForm.maxMisfitDeg),
      perFrame: latticeForm.perFrame === 'auto' ? undefined : latticeForm.perFrame,
      rockingCentres: latticeForm.rockingCentres || undefined,
    });
  }

  return { peakForm, latticeForm, peakParams, latticeParams };
}

export const useProcessingStore = defineStore('processing', () => {
  const log = useLogStore();
  const { peakForm, latticeForm, peakParams, latticeParams } = processingForms();
  const byKey = ref<Record<string, ProcessingSummary>>({});
  const framePeaks = shallowRef<FramePeaks | null>(null);
  const tool = ref<PeakTool>('inspect');
  const busy = ref(false);

  const ids = computed(() => {
    const s = useSeriesStore().active;
    const objectId = useExtractionStore().objectId;
    return s && objectId !== null ? { seriesId: s.summary.seriesId, objectId } : null;
  });
  const key = (i: { seriesId: string; objectId: number }): string => `${i.seriesId}:${i.objectId}`;
  const current = computed(() => (ids.value ? (byKey.value[key(ids.value)] ?? null) : null));

  function keep(summary: ProcessingSummary): void {
    byKey.value[key(summary)] = summary;
  }
  function report(statements: Statement[]): void {
    for (const st of statements) {
      if (st.severity === 'error') log.error(st.message, 'processing');
      else if (st.severity === 'warning') log.warn(st.message, 'processing');
      else log.info(st.message, 'processing');
    }
  }

  async function runPeaks(): Promise<void> {
    const i = ids.value;
    if (!i || busy.value) return;
    busy.value = true;
    try {
      const s = await useJobsStore().run('process.peaks', { ...i, params: peakParams() }, 'Peak search');
      keep(s);
      log.info(`${s.peaks!.nPeaks} peaks on ${s.peaks!.perFrame.filter((n) => n > 0).length} frames (disk radius ${s.peaks!.radiusPx.toFixed(2)} px)`, 'processing');
      await loadFramePeaks();
    } catch {
      // Logged by the job store.
    } finally {
      busy.value = false;
    }
  }

  async function runLattice(): Promise<void> {
    const i = ids.value;
    if (!i || busy.value) return;
    let params: LatticeParametersInput;
    try {
      params = latticeParams();
    } catch (e) {
      return log.error(e, 'processing');
    }
    busy.value = true;
    try {
      const s = await useJobsStore().run('process.lattice', { ...i, params }, 'Lattice');
      keep(s);
      const l = s.lattice!;
      if (l.status === 'indexed' && l.cell) {
        const c = l.cell;
        log.info(
          `${l.bravais} ${c.a.toFixed(4)} ${c.b.toFixed(4)} ${c.c.toFixed(4)} Å ${c.alpha.toFixed(3)} ${c.beta.toFixed(3)} ${c.gamma.toFixed(3)}°, ${((l.indexedFraction ?? 0) * 100).toFixed(1)} % indexed`,
          'processing',
        );
      }
      report(l.statements);
      await loadFramePeaks();
    } catch {
      // Logged by the job store.
    } finally {
      busy.value = false;
    }
  }

  /** The summary main holds for the current object (after a reload or a switch of object). */
  async function refresh(): Promise<void> {
    const i = ids.value;
    if (!i) return;
    try {
      const s = await api().invoke('process.summary', i);
      if (s) keep(s);
      else delete byKey.value[key(i)];
      await loadFramePeaks();
    } catch (e) {
      log.error(e, 'processing');
    }
  }

  async function loadFramePeaks(): Promise<void> {
    const i = ids.value;
    const s = useSeriesStore().active;
    if (!i || !s || !current.value?.peaks) {
      framePeaks.value = null;
      return;
    }
    try {
      framePeaks.value = markRaw(await api().invoke('process.framePeaks', { ...i, frame: s.tilt }));
    } catch (e) {
      log.error(e, 'processing');
    }
  }

  /** A click on the frame with the add or remove tool (detector px, pixel centres at integers). */
  async function editAt(x: number, y: number): Promise<void> {
    const i = ids.value;
    const s = useSeriesStore().active;
    if (!i || !s || tool.value === 'inspect' || !current.value?.peaks) return;
    try {
      const r = await api().invoke('process.editPeak', { ...i, frame: s.tilt, x, y, action: tool.value });
      keep(r.summary);
      framePeaks.value = markRaw(r.peaks);
      log.info(`${tool.value === 'add' ? 'Added a peak at' : 'Removed the peak near'} (${x.toFixed(1)}, ${y.toFixed(1)}) on tilt ${s.tilt + 1}`, 'processing');
    } catch (e) {
      log.error(e, 'processing');
    }
  }

  return { peakForm, latticeForm, ids, current, framePeaks, tool, busy, keep, report, runPeaks, runLattice, refresh, loadFramePeaks, editAt };
});
