import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { LogEntry } from '../../../src-shared/contract';

export interface LogLine extends LogEntry {
  id: number;
}

const MAX_LINES = 2000;

export const useLogStore = defineStore('log', () => {
  const lines = ref<LogLine[]>([]);
  let nextId = 1;

  function add(level: LogEntry['level'], message: string, source?: string): void {
    lines.value.push({ id: nextId++, level, message, time: Date.now(), ...(source ? { source } : {}) });
    if (lines.value.length > MAX_LINES) lines.value.splice(0, lines.value.length - MAX_LINES);
  }
  /** Logs an error with its name, as main sent it. */
  function error(e: unknown, source?: string): void {
    const err = e instanceof Error ? e : new Error(String(e));
    add('error', err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message, source);
  }
  function clear(): void {
    lines.value = [];
  }
  return { lines, add, error, clear, info: (m: string, s?: string) => add('info', m, s), warn: (m: string, s?: string) => add('warn', m, s) };
});
