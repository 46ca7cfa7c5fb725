// What the user last selected (a file, a series or an object): the Properties panel shows it.
import { defineStore } from 'pinia';
import { ref } from 'vue';

export type Selection =
  | { kind: 'file'; path: string }
  | { kind: 'series'; seriesId: string }
  | { kind: 'object'; seriesId: string; objectId: number };

export const useSelectionStore = defineStore('selection', () => {
  const current = ref<Selection | null>(null);
  function select(s: Selection | null): void {
    current.value = s;
  }
  return { current, select };
});
