// What a batch did: batch.json (one entry per task and per merge group) and report.html beside it, a page a person
// opens in a browser — one row per task with thumbnails of the tracked mask at the first, middle and last tilt, the
// cell, the indexed fraction, completeness, R and time, then the merge groups with each particle's scale and
// agreement. Both runners (local and SLURM) write the same two files.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeFileAtomicSync } from '../../io/atomic';
import type { GroupMergeReport } from './merge';
import type { BatchTask, ResolvedPlan } from './plan';
import { readReport, readStatus } from './task';

export type TaskState = 'pending' | 'queued' | 'running' | 'ok' | 'failed' | 'skipped';

export interface TaskOutcome {
  id: string;
  series: string;
  target: string;
  mergeGroup: string | null;
  /** 'skipped': finished by an earlier run with the same plan entry. */
  state: TaskState;
  attempts: number;
  seconds: number | null;
  error: string | null;
  /** SLURM: the array job and element. */
  slurm?: string;
  objects: Array<{ name: string; cell: string | null; indexedFraction: number | null; spaceGroup: string | null; completeness: number | null; rInt: number | null; nUnique: number | null }>;
}

export interface MergeOutcome {
  group: string;
  state: 'ok' | 'failed' | 'blocked' | 'pending';
  /** Why it failed or was not run. */
  reason: string | null;
  slurm?: string;
  report: GroupMergeReport | null;
}

export interface BatchSummary {
  version: 1;
  plan: string;
  out: string;
  mode: 'local' | 'slurm';
  startedAt: string;
  finishedAt: string;
  seconds: number;
  counts: Record<TaskState, number>;
  tasks: TaskOutcome[];
  merges: MergeOutcome[];
}

const cellText = (c: { a: number; b: number; c: number; alpha: number; beta: number; gamma: number } | null | undefined): string | null =>
  c ? `${c.a.toFixed(3)} ${c.b.toFixed(3)} ${c.c.toFixed(3)} Å, ${c.alpha.toFixed(2)} ${c.beta.toFixed(2)} ${c.gamma.toFixed(2)}°` : null;

/** One task's outcome from what it left in its folder (report.json, status.json). */
export function taskOutcome(task: BatchTask, state: TaskState, attempts: number, extra: { slurm?: string; error?: string | null } = {}): TaskOutcome {
  const status = readStatus(task);
  const report = state === 'ok' || state === 'skipped' ? readReport(task) : null;
  return {
    id: task.id,
    series: task.series,
    target: task.target,
    mergeGroup: task.mergeGroup,
    state,
    attempts,
    seconds: status?.seconds ?? null,
    error: state === 'failed' ? (extra.error ?? status?.error ?? 'failed without a status (killed?)') : null,
    ...(extra.slurm ? { slurm: extra.slurm } : {}),
    objects: (report?.objects ?? []).map((o) => ({
      name: o.name,
      cell: cellText(o.lattice?.cell),
      indexedFraction: o.lattice?.indexedFraction ?? null,
      spaceGroup: o.reflections?.spaceGroup.hm ?? null,
      completeness: o.reflections?.completeness ?? null,
      rInt: o.reflections?.rInt ?? null,
      nUnique: o.reflections?.nUnique ?? null,
    })),
  };
}

export function summarise(resolved: ResolvedPlan, mode: BatchSummary['mode'], t0: number, tasks: TaskOutcome[], merges: MergeOutcome[]): BatchSummary {
  const counts: Record<TaskState, number> = { pending: 0, queued: 0, running: 0, ok: 0, failed: 0, skipped: 0 };
  for (const t of tasks) counts[t.state]++;
  return { version: 1, plan: resolved.plan, out: resolved.out, mode, startedAt: new Date(t0).toISOString(), finishedAt: new Date().toISOString(), seconds: (Date.now() - t0) / 1000, counts, tasks, merges };
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)} %`);

/** Mask PNGs of the task's first object at its first, target and last tilt (relative to the report). */
function thumbnails(resolved: ResolvedPlan, task: BatchTask): string {
  const report = readReport(task);
  const o = report?.objects[0];
  if (!report || !o) return '';
  const tilts = [...new Set([0, report.target.tilt, report.series.nTilts - 1])];
  return tilts
    .map((t) => join(task.out, 'masks', `object_${o.id}_${String(t + 1).padStart(4, '0')}.png`))
    .filter((f) => existsSync(f))
    .map((f) => `<img src="${esc(relative(resolved.out, f))}" alt="mask" title="${esc(o.name)}">`)
    .join('');
}

function taskRows(resolved: ResolvedPlan, s: BatchSummary): string {
  return s.tasks
    .map((t) => {
      const task = resolved.tasks.find((x) => x.id === t.id)!;
      const objs = t.objects.length ? t.objects : [null];
      return objs
        .map((o, k) => {
          const head = k
            ? '<td colspan="3"></td>'
            : `<td rowspan="1"><b>${esc(t.id)}</b><br><span class="dim">${esc(t.target)}${t.mergeGroup ? ` · group ${esc(t.mergeGroup)}` : ''}</span></td><td class="thumbs">${thumbnails(resolved, task)}</td><td class="state ${t.state}">${t.state}${t.attempts > 1 ? ` (${t.attempts} tries)` : ''}${t.error ? `<br><span class="err">${esc(t.error)}</span>` : ''}</td>`;
          return `<tr>${head}<td>${esc(o?.name ?? '–')}</td><td>${esc(o?.cell ?? '–')}</td><td>${pct(o?.indexedFraction)}</td><td>${esc(o?.spaceGroup ?? '–')}</td><td>${pct(o?.completeness)}</td><td>${pct(o?.rInt)}</td><td>${k || t.seconds === null ? '' : `${t.seconds.toFixed(1)} s`}</td></tr>`;
        })
        .join('\n');
    })
    .join('\n');
}

function mergeSections(s: BatchSummary): string {
  return s.merges
    .map((m) => {
      const r = m.report;
      const head = `<h2>Merge group ${esc(m.group)} <span class="state ${m.state}">${m.state}</span></h2>${m.reason ? `<p class="err">${esc(m.reason)}</p>` : ''}`;
      if (!r) return head;
      const rows = r.particles
        .map((p) => `<tr><td>${esc(p.name)}${p.reference ? ' (reference)' : ''}</td><td>${p.accepted ? 'yes' : `no: ${esc(p.reason)}`}</td><td>${p.scale?.toFixed(3) ?? '–'}</td><td>${p.cc?.toFixed(3) ?? '–'}</td><td>${p.r?.toFixed(3) ?? '–'}</td><td>${p.nCommon}</td><td>${esc(p.reindex)}</td></tr>`)
        .join('\n');
      const o = r.overall;
      return `${head}<p>${esc(r.spaceGroup)} · ${esc(cellText(r.cell) ?? '')} · ${o.nUnique} unique, completeness ${pct(o.completeness)}, multiplicity ${o.multiplicity.toFixed(1)}, R<sub>int</sub> ${pct(o.rInt)}, CC½ ${o.ccHalf?.toFixed(3) ?? '–'} · files: ${Object.values(r.files).map((f) => `<code>merge/${esc(m.group)}/${esc(f)}</code>`).join(' ')}</p>
<table><thead><tr><th>particle</th><th>joined</th><th>scale</th><th>CC</th><th>R</th><th>common</th><th>reindexed</th></tr></thead><tbody>${rows}</tbody></table>`;
    })
    .join('\n');
}

function html(resolved: ResolvedPlan, s: BatchSummary): string {
  const c = s.counts;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trackED batch — ${esc(resolved.out)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1d2330; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; width: 100%; } th, td { border-bottom: 1px solid #dde2ea; padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f8; font-weight: 600; } .dim { color: #6b7484; font-size: 12px; }
.thumbs img { width: 64px; height: 64px; image-rendering: pixelated; border: 1px solid #c8ced8; margin-right: 4px; background: #000; }
.state { font-weight: 600; } .ok, .skipped { color: #1f7a3a; } .failed, .blocked { color: #b3261e; } .pending, .queued, .running { color: #8a6d00; }
.err { color: #b3261e; font-size: 12px; } code { font-size: 12px; }
</style></head><body>
<h1>trackED batch</h1>
<p>${esc(s.mode === 'slurm' ? 'Run through SLURM' : 'Run on this machine')} · plan <code>${esc(s.plan)}</code> · ${s.tasks.length} tasks: ${c.ok} finished, ${c.skipped} done earlier, ${c.failed} failed${c.pending + c.queued + c.running ? `, ${c.pending + c.queued + c.running} not finished` : ''} · ${s.seconds.toFixed(1)} s · ${esc(s.finishedAt)}</p>
<table><thead><tr><th>task</th><th>tracked mask (first, target, last tilt)</th><th>outcome</th><th>object</th><th>cell</th><th>indexed</th><th>space group</th><th>completeness</th><th>R<sub>int</sub></th><th>time</th></tr></thead>
<tbody>
${taskRows(resolved, s)}
</tbody></table>
${mergeSections(s)}
</body></html>
`;
}

/** Writes OUT/batch.json and OUT/report.html (atomically). */
export function writeSummary(resolved: ResolvedPlan, s: BatchSummary): void {
  writeFileAtomicSync(join(resolved.out, 'batch.json'), `${JSON.stringify(s, null, 1)}\n`);
  writeFileAtomicSync(join(resolved.out, 'report.html'), html(resolved, s));
}
