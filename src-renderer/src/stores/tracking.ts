// Running the trackers from the mask workspace; results land in main, then the masks store refetches.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { CandidateSummary } from '../../../src-shared/contract';
import { api } from '../api';
import { useJobsStore } from './jobs';
import { useLogStore } from './log';
import { useLivePatternStore } from './live-pattern';
import { useMaskToolsStore } from './mask-tools';
import { useMasksStore } from './masks';
import { useNeighboursStore } from './neighbours';
import { usePromptsStore } from './prompts';
import { useSeriesStore } from './series';

export const useTrackingStore = defineStore('tracking', () => {
  const maxFrames = ref<number | null>(null);
  const tracker = ref<'classical' | 'sam2'>('classical');
  const modelDir = ref('');
  const candidates = ref<CandidateSummary[]>([]);
  /** The tilt the candidates were found on (they are drawn on that tilt only). */
  const candidatesTilt = ref<number | null>(null);
  /** The virtual image to track in; '' = bright field and dark field together (the default). */
  const image = ref('');
  /** Other objects' masks are barriers a re-track never takes (on by default). */
  const barriers = ref(true);
  const log = useLogStore();

  async function retrack(direction: 'forward' | 'backward' | 'both', objectIds?: number[]): Promise<void> {
    const series = useSeriesStore();
    const masks = useMasksStore();
    const s = series.active;
    const ids = objectIds ?? (masks.activeObjectId !== null ? [masks.activeObjectId] : []);
    if (!s || ids.length === 0) return log.warn('Select or create an object first', 'tracking');
    const before = new Map(ids.map((id) => [id, { masks: masks.stacks[id]!.slice(), states: [...masks.objects[id]!.frameState] }]));
    try {
      const result = await useJobsStore().run(
        'track.run',
        {
          seriesId: s.summary.seriesId,
          objectIds: ids,
          fromTilt: s.tilt,
          direction,
          ...(maxFrames.value ? { maxFrames: maxFrames.value } : {}),
          ...(image.value ? { image: image.value } : {}),
          tracker: tracker.value,
          ...(tracker.value === 'sam2' && modelDir.value ? { modelDir: modelDir.value } : {}),
          barriers: barriers.value,
        },
        `Track ${direction} from tilt ${s.tilt + 1}`,
      );
      for (const o of result.objects) {
        const b = before.get(o.id)!;
        await masks.refreshObject(o.id, true);
        useMaskToolsStore().recordRetrack(o.id, b.masks, b.states);
        log.info(`${masks.objects[o.id]?.name ?? o.id}: ${o.framesTracked} frames tracked, ${o.framesFlagged} flagged${o.stopped ? ` — stopped: ${o.stopped}` : ''}`, 'tracking');
      }
      await useNeighboursStore().load();
      void useLivePatternStore().refresh();
    } catch {
      // Logged by the job store.
    }
  }

  async function detect(): Promise<void> {
    const s = useSeriesStore().active;
    if (!s) return;
    try {
      candidates.value = await api().invoke('track.candidates', { seriesId: s.summary.seriesId, tilt: s.tilt, ...(image.value ? { image: image.value } : {}) });
      candidatesTilt.value = s.tilt;
      log.info(`${candidates.value.length} particle candidates on tilt ${s.tilt + 1}`, 'tracking');
    } catch (e) {
      log.error(e, 'tracking');
    }
  }

  /** Creates an object prompted with one positive point at a candidate (or a clicked position). */
  async function objectFromPoint(x: number, y: number): Promise<void> {
    const masks = useMasksStore();
    const s = useSeriesStore().active;
    if (!s) return;
    const o = await masks.createObject();
    if (!o) return;
    await usePromptsStore().addPoint(x, y, true);
    candidates.value = [];
    await retrack('both', [o.id]);
  }

  return { maxFrames, tracker, modelDir, image, barriers, candidates, candidatesTilt, retrack, detect, objectFromPoint };
});
