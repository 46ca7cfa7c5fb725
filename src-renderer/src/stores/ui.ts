// Layout state and the command bus shared by shortcuts and the native menu.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { AppCommand, AppInfo } from '../../../src-shared/contract';
import { api } from '../api';
import { useLogStore } from './log';
import { useFilesStore } from './files';
import { useProjectStore } from './project';
import { useMasksStore } from './masks';
import { objectTimeline } from './timeline';
import { nextToCheck } from '../core/timeline';
import { useSeriesStore } from './series';
import { useMaskToolsStore, type MaskTool } from './mask-tools';
import { useTrackingStore } from './tracking';

export const TABS = [
  { id: 'series', label: 'Series' },
  { id: 'masks', label: 'Masks' },
  { id: 'patterns', label: 'Patterns' },
  { id: 'processing', label: 'Processing' },
  { id: 'reciprocal', label: 'Reciprocal space' },
  { id: 'export', label: 'Export' },
] as const;
export type TabId = (typeof TABS)[number]['id'];

export const useUiStore = defineStore('ui', () => {
  const activeTab = ref<TabId>('series');
  const logVisible = ref(true);
  const shortcutsVisible = ref(false);
  const aboutVisible = ref(false);
  const appInfo = ref<AppInfo | null>(null);
  const inspectFocusTick = ref(0);
  const zoomFitTick = ref(0);
  const log = useLogStore();

  async function loadAppInfo(): Promise<void> {
    try {
      appInfo.value = await api().invoke('app.info', {});
      log.info(`trackED ${appInfo.value.version} (${appInfo.value.host}, ${appInfo.value.platform}, ${appInfo.value.cpus} cores)`, 'app');
    } catch (e) {
      log.error(e, 'app');
    }
  }

  async function runCommand(command: AppCommand): Promise<void> {
    switch (command) {
      case 'file.open':
      case 'file.inspect': {
        activeTab.value = 'series';
        if (command === 'file.inspect') {
          inspectFocusTick.value++;
          return;
        }
        try {
          const picked = await api().invoke('dialog.open', {
            title: 'Open a tilt series (series.json, tilts.csv, HDF5 or MIB)',
            filters: [
              { name: '4D-STEM', extensions: ['json', 'csv', 'h5', 'hdf5', 'emd', 'hspy', 'nxs', 'mib'] },
              { name: 'All files', extensions: ['*'] },
            ],
          });
          if (!picked.canceled && picked.paths[0]) await useFilesStore().inspect(picked.paths[0]);
        } catch (e) {
          log.error(e, 'file');
        }
        return;
      }
      case 'file.openProject':
        activeTab.value = 'series';
        try {
          const picked = await api().invoke('dialog.open', { title: 'Open a trackED project folder (NAME.tracked)', directory: true });
          if (!picked.canceled && picked.paths[0]) await useSeriesStore().open(picked.paths[0]);
        } catch (e) {
          log.error(e, 'file');
        }
        return;
      case 'file.saveProjectAs':
        activeTab.value = 'series';
        await useProjectStore().saveAs();
        return;
      case 'series.prevTilt':
        return useSeriesStore().step(-1);
      case 'series.nextTilt':
        return useSeriesStore().step(1);
      case 'series.firstTilt':
        return useSeriesStore().step('first');
      case 'series.lastTilt':
        return useSeriesStore().step('last');
      case 'series.play':
        return useSeriesStore().togglePlay();
      case 'edit.undo':
      case 'edit.redo': {
        // On the Series tab the detector is what is edited; elsewhere the masks.
        const direction = command === 'edit.undo' ? 'undo' : 'redo';
        const s = useSeriesStore().active;
        if (activeTab.value === 'series' && s) {
          await useSeriesStore().stepDetectorHistory(s.summary.seriesId, direction);
          return;
        }
        return direction === 'undo' ? useMaskToolsStore().undo() : useMaskToolsStore().redo();
      }
      case 'view.tab.series':
      case 'view.tab.masks':
      case 'view.tab.patterns':
      case 'view.tab.processing':
      case 'view.tab.reciprocal':
      case 'view.tab.export':
        activeTab.value = command.slice('view.tab.'.length) as TabId;
        return;
      case 'masks.toolBrush':
      case 'masks.toolEraser':
      case 'masks.toolPolygon':
      case 'masks.toolFill':
      case 'masks.toolPointPositive':
      case 'masks.toolPointNegative':
      case 'masks.toolBox': {
        const tool = command.slice('masks.tool'.length);
        useMaskToolsStore().tool = (tool.charAt(0).toLowerCase() + tool.slice(1)) as MaskTool;
        return;
      }
      case 'masks.brushSmaller':
        useMaskToolsStore().brushSize = Math.max(1, useMaskToolsStore().brushSize - 1);
        return;
      case 'masks.brushLarger':
        useMaskToolsStore().brushSize = Math.min(64, useMaskToolsStore().brushSize + 1);
        return;
      case 'masks.fillHoles':
        return useMaskToolsStore().wholeFrame('fillHoles');
      case 'masks.grow':
        return useMaskToolsStore().wholeFrame('grow');
      case 'masks.shrink':
        return useMaskToolsStore().wholeFrame('shrink');
      case 'masks.clear':
        return useMaskToolsStore().wholeFrame('clear');
      case 'masks.copyPrevious':
        return useMaskToolsStore().wholeFrame('copyPrevious');
      case 'masks.copyNext':
        return useMaskToolsStore().wholeFrame('copyNext');
      case 'masks.toggleLock':
        return useMaskToolsStore().toggleLock();
      case 'masks.nextToCheck': {
        const s = useSeriesStore().active;
        const o = useMasksStore().active;
        if (!s || !o) return;
        const next = nextToCheck(objectTimeline(o, s.virtual?.beamCentreFit ?? []), s.tilt);
        if (next === null) return log.info(`${o.name}: no lost or flagged frame to check`, 'masks');
        useSeriesStore().setTilt(s.summary.seriesId, next);
        return;
      }
      case 'masks.toggleExclude':
        return useMaskToolsStore().toggleExclude();
      case 'masks.retrackForward':
        return useTrackingStore().retrack('forward');
      case 'masks.retrackBackward':
        return useTrackingStore().retrack('backward');
      case 'masks.zoomFit':
        zoomFitTick.value++;
        return;
      case 'view.toggleLog':
        logVisible.value = !logVisible.value;
        return;
      case 'help.shortcuts':
        shortcutsVisible.value = !shortcutsVisible.value;
        return;
      case 'help.about':
        aboutVisible.value = true;
        return;
    }
  }

  return { activeTab, logVisible, shortcutsVisible, aboutVisible, appInfo, inspectFocusTick, zoomFitTick, loadAppInfo, runCommand };
});
