// Integrated, scaled and merged reflections of the extracted objects and their files for SHELX and Jana2020
// (ARCHITECTURE §9): the integration form, the files form, and per object (keyed series:object) the last preview and
// the last files written. The reflections themselves stay in main; their report arrives in the processing summary.
import { defineStore } from 'pinia';
import { computed, reactive, ref, watch } from 'vue';
import type { IntegrationParametersInput, ReflectionExportResult, ReflectionFilesInput, ReflectionPreview } from '../../../src-shared/processing';
import { api } from '../api';
import { useExtractionStore } from './extraction';
import { useJobsStore } from './jobs';
import { useLogStore } from './log';
import { given, only, useProcessingStore, type Field } from './processing';

/** What the Export tab shows: the extraction and purity, or the reflections and their files. */
export type ExportSection = 'extraction' | 'reflections';

/** A space-group field as the contract takes it: a number when it is one, else the symbol; undefined when empty. */
export function spaceGroupOf(text: string): string | number | undefined {
  const t = text.trim();
  if (!t) return undefined;
  return /^\d+$/.test(t) ? Number(t) : t;
}

/** An object's name as a file stem (what `tracked run` does with it). */
export function fileStem(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[.-]+/, '') || 'object';
}

export const useReflectionsStore = defineStore('reflections', () => {
  const log = useLogStore();
  const processing = useProcessingStore();
  const extraction = useExtractionStore();
  const section = ref<ExportSection>('extraction');
  const form = reactive<{ spaceGroup: string; frameScales: boolean; bFactor: boolean; dMinA: Field; firstTilt: Field; lastTilt: Field }>({
    spaceGroup: '',
    frameScales: false,
    bFactor: false,
    dMinA: '',
    firstTilt: '',
    lastTilt: '',
  });
  /** mergeWith: ids of other integrated objects merged with the current one into one data set. */
  const files = reactive<{ composition: string; name: string; folder: string; batches: boolean; merged: boolean; mergeWith: number[] }>({
    composition: '',
    name: '',
    folder: '',
    batches: false,
    merged: false,
    mergeWith: [],
  });
  const previews = ref<Record<string, { preview: ReflectionPreview; args: string }>>({});
  const written = ref<Record<string, ReflectionExportResult>>({});
  const busy = ref(false);

  const key = computed(() => (processing.ids ? `${processing.ids.seriesId}:${processing.ids.objectId}` : null));
  const integration = computed(() => processing.current?.integration ?? null);
  const object = computed(() => extraction.summary?.objects.find((o) => o.id === extraction.objectId) ?? null);
  /** The other extracted objects, candidates to merge with the current one. */
  const others = computed(() => (extraction.summary?.objects ?? []).filter((o) => o.id !== extraction.objectId).map((o) => ({ id: o.id, name: o.name })));
  const group = computed(() => files.mergeWith.filter((id) => others.value.some((o) => o.id === id)));
  /** Defaults the empty fields stand for: the object's name, the folder its frames were exported to. */
  const defaultName = computed(() => fileStem(object.value?.name ?? 'object'));
  const defaultFolder = computed(() => object.value?.dir ?? extraction.summary?.outDir ?? '');
  const preview = computed(() => (key.value ? (previews.value[key.value]?.preview ?? null) : null));
  /** The fields changed since the preview was made. */
  const previewStale = computed(() => !!key.value && !!previews.value[key.value] && previews.value[key.value]!.args !== JSON.stringify(fileArgs()));
  const lastWritten = computed(() => (key.value ? (written.value[key.value] ?? null) : null));

  // Reflections dropped in main (new peaks or lattice) take their preview with them.
  watch(integration, (v) => {
    if (!v && key.value) delete previews.value[key.value];
  });

  function integrationParams(): IntegrationParametersInput {
    const first = given(form.firstTilt);
    const last = given(form.lastTilt);
    // One bound alone means "from here to the end" (or "from the start to here").
    const n = object.value?.included.length ?? 0;
    const tilts = first !== undefined || last !== undefined ? { first: first ?? 1, last: last ?? n } : undefined;
    return only({ spaceGroup: spaceGroupOf(form.spaceGroup), frameScales: form.frameScales || undefined, bFactor: form.bFactor || undefined, dMinA: given(form.dMinA), tilts });
  }
  function fileArgs(): ReflectionFilesInput {
    return only({
      name: files.name.trim() || defaultName.value,
      composition: files.composition.trim() || undefined,
      // The group in the field must be the one the data were merged in (main says so otherwise).
      spaceGroup: spaceGroupOf(form.spaceGroup),
      batches: (files.batches && !files.merged) || undefined,
      merged: files.merged || undefined,
      mergeWith: group.value.length ? [...group.value] : undefined,
    });
  }

  async function integrate(): Promise<void> {
    const i = processing.ids;
    if (!i || busy.value) return;
    busy.value = true;
    try {
      const s = await useJobsStore().run('process.integrate', { ...i, params: integrationParams() }, 'Integration');
      processing.keep(s);
      const r = s.integration!;
      delete previews.value[`${i.seriesId}:${i.objectId}`];
      log.info(
        `${r.nReflections} reflections, ${r.nUnique} unique to ${r.dMinA.toFixed(2)} Å; Rint ${r.rInt?.toFixed(3) ?? '–'}, CC½ ${r.ccHalf?.toFixed(3) ?? '–'}, ⟨I/σ⟩ ${r.meanIOverSigma.toFixed(1)}; ${r.spaceGroup.hm} (Laue ${r.laue.chosen})`,
        'reflections',
      );
      processing.report(r.statements);
    } catch {
      // Logged by the job store.
    } finally {
      busy.value = false;
    }
  }

  async function previewFiles(): Promise<void> {
    const i = processing.ids;
    if (!i || !integration.value) return;
    const args = fileArgs();
    try {
      const p = await api().invoke('process.previewReflections', { ...i, ...args });
      previews.value[`${i.seriesId}:${i.objectId}`] = { preview: p, args: JSON.stringify(args) };
    } catch (e) {
      log.error(e, 'reflections');
    }
  }

  async function writeFiles(): Promise<void> {
    const i = processing.ids;
    if (!i || !integration.value || busy.value) return;
    const folder = files.folder.trim() || defaultFolder.value;
    if (!folder) return log.warn('Give the folder to write the reflection files into', 'reflections');
    busy.value = true;
    try {
      const args = fileArgs();
      const r = await api().invoke('process.exportReflections', { ...i, ...args, folder });
      written.value[`${i.seriesId}:${i.objectId}`] = r;
      log.info(`Wrote ${r.files.map((f) => f.path.split(/[\\/]/).pop()).join(', ')} to ${r.folder}`, 'reflections');
      if (!previews.value[`${i.seriesId}:${i.objectId}`] || previewStale.value) await previewFiles();
    } catch (e) {
      log.error(e, 'reflections');
    } finally {
      busy.value = false;
    }
  }

  return { section, form, files, busy, integration, others, group, defaultName, defaultFolder, preview, previewStale, lastWritten, integrationParams, fileArgs, integrate, previewFiles, writeFiles };
});
