// Which merge groups can run (every task of the group finished: SLURM's afterok, kept the same on this machine) and
// running them here.
import { cliErrorMessage } from '../error-message';
import { mergeGroup } from './merge';
import type { ResolvedPlan } from './plan';
import type { MergeOutcome, TaskOutcome } from './summary';

/** The tasks of a group that did not finish, or [] when it may be merged. */
export function unfinishedMembers(resolved: ResolvedPlan, group: string, tasks: readonly TaskOutcome[]): string[] {
  return (resolved.merges[group] ?? []).filter((i) => !['ok', 'skipped'].includes(tasks.find((t) => t.id === resolved.tasks[i]!.id)?.state ?? '')).map((i) => resolved.tasks[i]!.id);
}

export function runMerges(resolved: ResolvedPlan, tasks: readonly TaskOutcome[], note: (text: string) => void): MergeOutcome[] {
  return Object.keys(resolved.merges).map((group) => {
    const missing = unfinishedMembers(resolved, group, tasks);
    if (missing.length) {
      note(`merge ${group}: not run, ${missing.join(', ')} did not finish`);
      return { group, state: 'blocked', reason: `not run: ${missing.join(', ')} did not finish`, report: null };
    }
    try {
      const report = mergeGroup(resolved, group);
      note(`merge ${group}: ${report.particles.filter((p) => p.accepted).length} of ${report.particles.length} particles → merge/${group}/`);
      return { group, state: 'ok', reason: null, report };
    } catch (e) {
      note(`merge ${group}: failed: ${cliErrorMessage(e)}`);
      return { group, state: 'failed', reason: cliErrorMessage(e), report: null };
    }
  });
}
