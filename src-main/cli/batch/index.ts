// `tracked batch`: a plan of many series and particles, run on this machine or through SLURM (./local.ts,
// ./slurm.ts); `tracked batch-task` and `tracked batch-merge` are what each task and merge job runs.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileAtomicSync } from '../../io/atomic';
import { runLocal, type LocalOptions } from './local';
import { mergeGroup } from './merge';
import { loadPlan, resolvePlan, type ResolvedPlan } from './plan';
import { checkSlurmOptions, followSlurm, slurmScripts, submitSlurm, type SlurmOptions } from './slurm';
import type { BatchSummary } from './summary';
import { readResolvedPlan, resolvedPlanFile, runTask } from './task';

/** A local run's options and a SLURM run's (the entry script and the stream are the same for both). */
export interface BatchOptions extends LocalOptions, SlurmOptions {
  out: string;
  slurm?: boolean;
  dryRun?: boolean;
}

/** The plan resolved into OUT (written as OUT/batch-plan.json unless only looking). */
export function preparePlan(planFile: string, o: Pick<BatchOptions, 'out' | 'dryRun'>): ResolvedPlan {
  const resolved = resolvePlan(loadPlan(planFile), planFile, resolve(o.out));
  if (!o.dryRun) {
    mkdirSync(resolved.out, { recursive: true });
    writeFileAtomicSync(resolvedPlanFile(resolved.out), `${JSON.stringify(resolved, null, 1)}\n`);
  }
  return resolved;
}

/** Runs the batch; with --dry-run and --slurm returns the scripts it would submit instead. */
export async function runBatch(planFile: string, o: BatchOptions): Promise<BatchSummary | { dryRun: true; scripts: Array<{ file: string; text: string }>; commands: string[] }> {
  if (o.slurm) checkSlurmOptions(o);
  const resolved = preparePlan(planFile, o);
  if (o.slurm && o.dryRun) {
    const s = slurmScripts(resolved, o);
    const scripts = [...(s.array ? [s.array] : []), ...s.merges.map(({ file, text }) => ({ file, text }))];
    const commands = [
      ...(s.array ? [`sbatch --parsable ${s.array.file}   # → ARRAY`] : []),
      ...s.merges.map((m) => {
        const deps = m.members.filter((i) => s.pending.includes(i)).map((i) => `ARRAY_${i}`);
        return `sbatch --parsable ${deps.length ? `--dependency=afterok:${deps.join(':')} --kill-on-invalid-dep=yes ` : ''}${m.file}`;
      }),
    ];
    return { dryRun: true, scripts, commands };
  }
  if (o.slurm) {
    const t0 = Date.now();
    return followSlurm(resolved, await submitSlurm(resolved, o), o, t0);
  }
  return runLocal(resolved, o);
}

/** `tracked batch-task PLAN --index I`: one task; exit code 0 or 1. */
export function batchTask(planFile: string, index: number, attempt: number): Promise<number> {
  return runTask(readResolvedPlan(planFile), index, attempt);
}

/** `tracked batch-merge PLAN --group G`. */
export function batchMerge(planFile: string, group: string): ReturnType<typeof mergeGroup> {
  return mergeGroup(readResolvedPlan(planFile), group);
}
