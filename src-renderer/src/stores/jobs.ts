// Jobs as the job bar shows them: keyed by id, fed by main's job events.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { JobArgs, JobKind, JobResult } from '../../../src-shared/contract';
import { api } from '../api';
import { useLogStore } from './log';

export interface JobView {
  jobId: string;
  kind: string;
  label: string;
  done: number;
  total: number;
  stage: string;
  etaS?: number;
  state: 'running' | 'cancelling';
  startedAt: number;
}

export const useJobsStore = defineStore('jobs', () => {
  const byId = ref<Record<string, JobView>>({});
  const list = computed(() => Object.values(byId.value).sort((a, b) => a.startedAt - b.startedAt));
  const log = useLogStore();

  /** Runs a job, shows it in the job bar, logs its outcome. Rejects like the job. */
  async function run<K extends JobKind>(kind: K, args: JobArgs<K>, label: string): Promise<JobResult<K>> {
    let id: string | undefined;
    try {
      const result = await api().runJob(kind, args, {
        onStarted: (jobId) => {
          id = jobId;
          byId.value[jobId] = { jobId, kind, label, done: 0, total: 0, stage: 'starting', state: 'running', startedAt: Date.now() };
          log.info(`${label}: started`, kind);
        },
        onProgress: (p) => {
          const job = byId.value[p.jobId];
          if (!job) return;
          job.done = p.done;
          job.total = p.total;
          job.stage = p.stage;
          job.etaS = p.etaS;
        },
      });
      log.info(`${label}: done`, kind);
      return result;
    } catch (e) {
      if (e instanceof Error && e.name === 'AbortError') log.warn(`${label}: cancelled`, kind);
      else log.error(e, kind);
      throw e;
    } finally {
      if (id) delete byId.value[id];
    }
  }

  async function cancel(jobId: string): Promise<void> {
    const job = byId.value[jobId];
    if (job) job.state = 'cancelling';
    await api().cancelJob(jobId);
  }

  return { byId, list, run, cancel };
});
