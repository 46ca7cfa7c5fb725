// The Reciprocal space tab (ARCHITECTURE §9): which objects are drawn (the current one and overlays), the colour
// scheme, 3D or section mode with the section's plane, the camera request, the hovered and selected points, and the
// actions on them (jump to the frame, remove peaks from indexing, propose a cell from three points). The clouds are
// typed arrays from main, held raw (markRaw) and keyed by series:object.
import { defineStore } from 'pinia';
import { computed, markRaw, reactive, ref, shallowRef } from 'vue';
import type { ReciprocalCloud } from '../../../src-shared/reciprocal';
import { api } from '../api';
import type { ColourBy } from '../reciprocal/colours';
import { basisFromPoints, type Vec3 } from '../reciprocal/geometry';
import { useExtractionStore } from './extraction';
import { useLogStore } from './log';
import { useMasksStore } from './masks';
import { useProcessingStore } from './processing';
import { useSeriesStore } from './series';
import { useUiStore } from './ui';

export type ViewPreset = 'beam' | 'a*' | 'b*' | 'c*' | 'uvw' | 'hkl';
export type SectionName = 'hk0' | 'h0l' | '0kl' | 'zone';

/** A point of the drawn clouds: which cloud (0 = the current object) and which peak of it. */
export interface PointRef {
  cloud: number;
  index: number;
}

/** Three integers from "1 0 0", "1,0,0" or "[100]"-style text; throws a sentence otherwise. */
export function parseTriple(text: string, what: string): Vec3 {
  const t = text.trim().replace(/^[[(]|[\])]$/g, '');
  const parts = /^-?\d-?\d-?\d$/.test(t) ? (t.match(/-?\d/g) ?? []) : t.split(/[\s,;]+/);
  const v = parts.map(Number);
  if (v.length !== 3 || v.some((x) => !Number.isInteger(x))) throw new Error(`${what} is three integers, e.g. "1 0 0"; got "${text.trim()}"`);
  if (v.every((x) => x === 0)) throw new Error(`${what} 0 0 0 is not a direction`);
  return v as Vec3;
}

export const useReciprocalStore = defineStore('reciprocal', () => {
  const log = useLogStore();
  const processing = useProcessingStore();
  const extraction = useExtractionStore();
  const mode = ref<'3d' | 'section'>('3d');
  const colourBy = ref<ColourBy>('indexed');
  const showNodes = ref(true);
  const overlay = ref<number[]>([]);
  const view = reactive<{ preset: ViewPreset; uvw: string; hkl: string; request: number }>({ preset: 'beam', uvw: '0 0 1', hkl: '1 0 0', request: 0 });
  const animate = ref(false);
  const section = reactive<{ name: SectionName; uvw: string; layer: number; thickness: number }>({ name: 'hk0', uvw: '0 0 1', layer: 0, thickness: 0.4 });
  const clouds = shallowRef<Record<string, ReciprocalCloud>>({});
  const problem = ref<string | null>(null);
  const hovered = ref<PointRef | null>(null);
  const picked = ref<PointRef | null>(null);
  /** Selected peaks of the current object (indices into its cloud). */
  const selection = ref<number[]>([]);
  const busy = ref(false);
  /** The object whose cloud is drawn: changes when its cloud has arrived, so the view is rebuilt, not remounted. */
  const shownObjectId = ref<number | null>(null);

  const key = (objectId: number): string => `${processing.ids?.seriesId ?? ''}:${objectId}`;
  /** The drawn clouds: the current object first, then the overlays that have one. */
  const drawn = computed<ReciprocalCloud[]>(() => {
    const id = shownObjectId.value;
    if (id === null) return [];
    const main = clouds.value[key(id)];
    if (!main) return [];
    return [main, ...overlay.value.filter((o) => o !== id).flatMap((o) => (clouds.value[key(o)] ? [clouds.value[key(o)]!] : []))];
  });
  const current = computed(() => drawn.value[0] ?? null);
  const colours = computed(() => drawn.value.map((c) => useMasksStore().objects[c.objectId]?.colour ?? '#ffffff'));

  async function fetchCloud(objectId: number): Promise<ReciprocalCloud> {
    const ids = processing.ids!;
    const c = await api().invoke('process.reciprocal', { seriesId: ids.seriesId, objectId });
    return markRaw(c);
  }

  /** Fetches the current object's cloud and the overlays'; a missing prerequisite becomes the tab's message. */
  async function load(): Promise<void> {
    const ids = processing.ids;
    problem.value = null;
    if (!ids) {
      problem.value = 'Extract an object and search its peaks (Processing tab) to see its reciprocal space.';
      return;
    }
    const next: Record<string, ReciprocalCloud> = {};
    try {
      next[key(ids.objectId)] = await fetchCloud(ids.objectId);
    } catch (e) {
      problem.value = e instanceof Error ? e.message.replace(/^\w+: /, '') : String(e);
      clouds.value = next;
      shownObjectId.value = null;
      return;
    }
    for (const o of overlay.value.filter((x) => x !== ids.objectId)) {
      try {
        next[key(o)] = await fetchCloud(o);
      } catch (e) {
        log.warn(`Overlay of object ${o} left out: ${e instanceof Error ? e.message : String(e)}`, 'reciprocal');
      }
    }
    clouds.value = next;
    shownObjectId.value = ids.objectId;
    selection.value = [];
    hovered.value = null;
    picked.value = null;
  }

  function requestView(preset: ViewPreset): void {
    view.preset = preset;
    view.request++;
  }

  function toggleSelected(index: number): void {
    const i = selection.value.indexOf(index);
    selection.value = i >= 0 ? selection.value.filter((x) => x !== index) : [...selection.value, index];
  }

  /** The Patterns tab at the point's frame, the peak ringed. */
  function jumpTo(p: PointRef): void {
    const c = drawn.value[p.cloud];
    const s = useSeriesStore().active;
    if (!c || !s) return;
    if (extraction.objectId !== c.objectId) extraction.objectId = c.objectId;
    useSeriesStore().setTilt(s.summary.seriesId, c.frame[p.index]!);
    extraction.highlight = { tilt: c.frame[p.index]!, x: c.x[p.index]!, y: c.y[p.index]! };
    useUiStore().activeTab = 'patterns';
  }

  /** Removes the selected peaks (one edit per peak, as the Processing tab's remove tool), then redraws. */
  async function removeSelected(): Promise<void> {
    const c = current.value;
    const ids = processing.ids;
    if (!c || !ids || !selection.value.length || busy.value) return;
    busy.value = true;
    try {
      for (const i of [...selection.value].sort((a, b) => b - a)) {
        const r = await api().invoke('process.editPeak', { ...ids, frame: c.frame[i]!, x: c.x[i]!, y: c.y[i]!, action: 'remove' });
        processing.keep(r.summary);
      }
      log.info(`Removed ${selection.value.length} peaks of ${c.name}; find the lattice again to use the change`, 'reciprocal');
      await load();
    } catch (e) {
      log.error(e, 'reciprocal');
    } finally {
      busy.value = false;
    }
  }

  /** Three selected points as a*, b*, c*: their cell goes into the lattice form as a known cell and the search runs. */
  async function proposeCell(): Promise<void> {
    const c = current.value;
    if (!c || selection.value.length !== 3) return;
    try {
      const v = selection.value.map((i) => [c.q[3 * i]!, c.q[3 * i + 1]!, c.q[3 * i + 2]!] as Vec3) as [Vec3, Vec3, Vec3];
      const { cell } = basisFromPoints(v);
      const text = [cell.a, cell.b, cell.c].map((x) => x.toFixed(3)).concat([cell.alpha, cell.beta, cell.gamma].map((x) => x.toFixed(2))).join(' ');
      processing.latticeForm.knownCell = text;
      log.info(`Cell from the three points: ${text} (Å, °); searching the orientation with it`, 'reciprocal');
      await processing.runLattice();
      await load();
    } catch (e) {
      log.error(e, 'reciprocal');
    }
  }

  return { mode, colourBy, showNodes, overlay, view, animate, section, clouds, problem, hovered, picked, selection, busy, drawn, current, colours, load, requestView, toggleSelected, jumpTo, removeSelected, proposeCell };
});
