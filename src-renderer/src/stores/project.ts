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

  /** Save As into `dir`; without one, the native folder dialog (or the inline field where there is none). */
  async function saveAs(dir?: string): Promise<boolean> {
    const id = series.active?.summary.seriesId;
    if (!id) return false;
    let target = dir?.trim();
    if (!target) {
      try {
        const picked = await api().invoke('dialog.open', { title: 'Save the project into a new folder', directory: true });
        target = picked.canceled ? undefined : picked.paths[0];
      } catch {
        // No native dialog here (the test host): type the folder instead.
      }
      if (!target) {
        saveAsOpen.value = true;
        return false;
      }
    }
    try {
      const r = await api().invoke('project.saveAs', { seriesId: id, dir: target });
      saveAsOpen.value = false;
      log.info(`Project saved as ${r.dir}; work continues there`, 'project');
      await refresh();
      await loadRecent();
      return true;
    } catch (e) {
      log.error(e, 'project');
      return false;
    }
  }

  /**
   * Where projects go, remembered for the next series: `folder`, or null to keep them beside the series where
   * possible. Without an argument, the native folder dialog (or the inline field where there is none).
   */
  async function chooseLocation(folder?: string | null): Promise<boolean> {
    const id = series.active?.summary.seriesId;
    if (!id) return false;
    let target = typeof folder === 'string' ? folder.trim() || undefined : folder;
    if (target === undefined) {
      try {
        const picked = await api().invoke('dialog.open', { title: 'Choose the folder for trackED projects', directory: true });
        target = picked.canceled ? undefined : picked.paths[0];
      } catch {
        // No native dialog here (the test host): type the folder instead.
      }
      if (target === undefined) {
        locationOpen.value = true;
        return false;
      }
    }
    try {
      const r = await api().invoke('project.chooseLocation', { seriesId: id, folder: target });
      locationOpen.value = false;
      log.info(target === null ? `Projects stay beside their series where possible; this one is in ${r.dir}` : `Projects go to ${target}; this one is now in ${r.dir}`, 'project');
      await refresh();
      await loadRecent();
      return true;
    } catch (e) {
      log.error(e, 'project');
      return false;
    }
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
