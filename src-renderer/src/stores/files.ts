// Files the user inspected or checked, keyed by path.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { FileHashResult, FileInfo } from '../../../src-shared/contract';
import { api } from '../api';
import { useJobsStore } from './jobs';
import { useLogStore } from './log';
import { useSelectionStore } from './selection';

export const useFilesStore = defineStore('files', () => {
  const infoByPath = ref<Record<string, FileInfo>>({});
  const hashByPath = ref<Record<string, FileHashResult>>({});
  /** The Series tab's "File or series" field: kept here so that switching tabs does not empty it. */
  const typedPath = ref('');
  const log = useLogStore();

  async function inspect(path: string): Promise<FileInfo | undefined> {
    try {
      const info = await api().invoke('file.info', { path });
      infoByPath.value[path] = info;
      useSelectionStore().select({ kind: 'file', path });
      log.info(`${path}: ${info.format}${info.scanShape ? `, scan ${info.scanShape.join('×')}` : ''}${info.detectorShape ? `, detector ${info.detectorShape.join('×')}` : ''}`, 'file.info');
      return info;
    } catch (e) {
      log.error(e, 'file.info');
      return undefined;
    }
  }

  async function checksum(path: string): Promise<void> {
    try {
      const result = await useJobsStore().run('file.hash', { path }, `SHA-256 of ${path.split(/[\\/]/).pop()}`);
      hashByPath.value[path] = result;
      log.info(`${path}: sha256 ${result.hex}`, 'file.hash');
    } catch {
      // Already in the log.
    }
  }

  return { infoByPath, hashByPath, typedPath, inspect, checksum };
});
