// The extracted 3D ED data set of each object (frames stay in main) and the export job.
import { defineStore } from 'pinia';
import { markRaw, ref, shallowRef } from 'vue';
import type { ExtractSummary } from '../../../src-shared/contract';
import { api } from '../api';
import { useJobsStore } from './jobs';
import { useLogStore } from './log';
import { useSeriesStore } from './series';

export const useExtractionStore = defineStore('extraction', () => {
  const summary = ref<ExtractSummary | null>(null);
  const objectId = ref<number | null>(null);
  const background = ref(false);
  const ringWidth = ref(2);
  const outDir = ref('');
  const frame = shallowRef<{ tilt: number; pattern: Float32Array; nqy: number; nqx: number; probeCount: number; beamCentre: [number, number] | null } | null>(null);
  const log = useLogStore();

  async function run(write: boolean): Promise<void> {
    const s = useSeriesStore().active;
    if (!s) return;
    if (write && !outDir.value.trim()) return log.warn('Give an output folder for the exported files', 'export');
    try {
      summary.value = await useJobsStore().run(
        'extract.run',
        {
          seriesId: s.summary.seriesId,
          background: background.value,
          ringWidth: ringWidth.value,
          ...(write ? { outDir: outDir.value.trim() } : {}),
        },
        write ? 'Extract and export' : 'Extract',
      );
      objectId.value = summary.value.objects[0]?.id ?? null;
      for (const w of summary.value.warnings) log.warn(w, 'extract');
      for (const o of summary.value.objects) {
        const n = o.included.reduce((a, b) => a + b, 0);
        log.info(`${o.name}: ${n} frames extracted${o.pts2 ? ` → ${o.pts2}` : ''}`, 'extract');
      }
      await loadFrame();
    } catch {
      // Logged by the job store.
    }
  }

  /** The extraction main holds for the active series (after a reload, or when another window ran it). */
  async function refresh(): Promise<void> {
    const s = useSeriesStore().active;
    if (!s) return;
    try {
      summary.value = await api().invoke('extract.summary', { seriesId: s.summary.seriesId });
      if (summary.value && !summary.value.objects.some((o) => o.id === objectId.value)) objectId.value = summary.value.objects[0]?.id ?? null;
    } catch (e) {
      log.error(e, 'extract');
    }
  }

  async function loadFrame(): Promise<void> {
    const s = useSeriesStore().active;
    if (!s || objectId.value === null || !summary.value) return;
    try {
      const r = await api().invoke('extract.frame', { seriesId: s.summary.seriesId, objectId: objectId.value, tilt: s.tilt });
      frame.value = markRaw({ tilt: s.tilt, ...r });
    } catch (e) {
      log.error(e, 'extract');
    }
  }

  /** A peak the Reciprocal space tab sent the user to: ringed on the pattern of its tilt. */
  const highlight = ref<{ tilt: number; x: number; y: number } | null>(null);
  return { highlight, summary, objectId, background, ringWidth, outDir, frame, run, refresh, loadFrame };
});
