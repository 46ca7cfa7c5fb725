// The active series' project as main keeps it: where it is, whether it is saved, what opening it recovered after an
// unclean exit; the recently opened projects; Save As. Main writes; this store only shows and asks.
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import type { ProjectInfo, RecentProject } from '../../../src-shared/project';
import { api } from '../api';
import { useLogStore } from './log';
import { useSeriesStore } from './series';

export const useProjectStore = defineStore('project', () => {
  const series = useSeriesStore();
  const log = useLogStore();
  const info = ref<ProjectInfo | null>(null);
  const recent = ref<RecentProject[]>([]);
  /** The inline Save As folder field is shown (where no native dialog exists, or it was cancelled). */
  const saveAsOpen = ref(false);
  /** The inline field for the projects folder is shown (where no native dialog exists). */
  const locationOpen = ref(false);

  async function refresh(): Promise<void> {
    const id = series.active?.summary.seriesId;
    if (!id) {
      info.value = null;
      return;
    }
    try {
      info.value = await api().invoke('project.info', { seriesId: id });
    } catch (e) {
      info.value = null;
      log.error(e, 'project');
    }
  }

  async function loadRecent(): Promise<void> {
    try {
      recent.value = await api().invoke('project.recent', {});
    } catch (e) {
      log.error(e, 'project');
    }
  }

  /** The folder picked in the native dialog; undefined when cancelled, or where there is no dialog (the test host). */
  async function pickFolder(title: string): Promise<string | undefined> {
    try {
      const picked = await api().invoke('dialog.open', { title, directory: true });
      return picked.canceled ? undefined : picked.paths[0] || undefined;
    } catch {
      return undefined;
    }
  }

  /** Runs a move of the project (its log line as result); then the bar and the recent list follow it. */
  async function relocate(move: () => Promise<string>): Promise<boolean> {
    try {
      log.info(await move(), 'project');
      await refresh();
      await loadRecent();
      return true;
    } catch (e) {
      log.error(e, 'project');
      return false;
    }
  }

  /** Save As into `dir`; without one, the native folder dialog (or the inline field where there is none). */
  async function saveAs(dir?: string): Promise<boolean> {
    const id = series.active?.summary.seriesId;
    if (!id) return false;
    const target = dir?.trim() || (await pickFolder('Save the project into a new folder'));
    if (!target) {
      saveAsOpen.value = true;
      return false;
    }
    return relocate(async () => {
      const r = await api().invoke('project.saveAs', { seriesId: id, dir: target });
      saveAsOpen.value = false;
      return `Project saved as ${r.dir}; work continues there`;
    });
  }

  /**
   * Where projects go, remembered for the next series: `folder`, or null to keep them beside the series where
   * possible. Without an argument, the native folder dialog (or the inline field where there is none).
   */
  async function chooseLocation(folder?: string | null): Promise<boolean> {
    const id = series.active?.summary.seriesId;
    if (!id) return false;
    const target = folder === null ? null : folder?.trim() || (await pickFolder('Choose the folder for trackED projects'));
    if (target === undefined) {
      locationOpen.value = true;
      return false;
    }
    return relocate(async () => {
      const r = await api().invoke('project.chooseLocation', { seriesId: id, folder: target });
      locationOpen.value = false;
      return target === null ? `Projects stay beside their series where possible; this one is in ${r.dir}` : `Projects go to ${target}; this one is now in ${r.dir}`;
    });
  }

  async function resolveRecovery(action: 'keep' | 'discard'): Promise<void> {
    const id = series.active?.summary.seriesId;
    if (!id) return;
    try {
      const r = await api().invoke('project.resolveRecovery', { seriesId: id, action });
      if (action === 'keep') log.info('Recovered changes kept and saved', 'project');
      else log.info(`Back to the last save${r.keptAs ? `; the discarded changes are kept in ${r.keptAs}` : ''}`, 'project');
      await refresh();
    } catch (e) {
      log.error(e, 'project');
    }
  }

  watch(
    () => series.active?.summary.seriesId,
    () => void refresh(),
  );

  return { info, recent, saveAsOpen, locationOpen, refresh, loadRecent, saveAs, chooseLocation, resolveRecovery };
});
