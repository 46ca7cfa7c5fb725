// `tracked batch PLAN --out DIR --slurm`: the tasks as a SLURM array job (one element per series and target still to
// do), and per merge group a job that depends on its group's elements (`--dependency=afterok`, cancelled by SLURM if
// one fails). SLURM schedules, retries nothing itself (the script tries a failed task once more) and accounts; this
// process only submits, then follows the jobs (squeue; sacct or scontrol for finished ones) and each task's
// status.json and progress.json, and writes the same summary as a local run. Nothing of ours runs as a daemon.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ParameterError, TrackedError } from '../../../src-shared/errors';
import { writeFileAtomicSync } from '../../io/atomic';
import { BatchBoard, readProgress } from './board';
import { mergeDir } from './merge';
import { unfinishedMembers } from './merges';
import type { ResolvedPlan } from './plan';
import { summarise, taskOutcome, writeSummary, type BatchSummary, type MergeOutcome, type TaskOutcome } from './summary';
import { readStatus, resolvedPlanFile, taskDone } from './task';

const run = promisify(execFile);

export interface SlurmOptions {
  /** The `tracked` entry script the jobs run (an absolute path every node sees). */
  entry: string;
  partition?: string;
  time?: string;
  mem?: string;
  cpus?: number;
  /** Seconds between looks at the queue (default 2). */
  pollS?: number;
  stream?: NodeJS.WriteStream;
}

export interface SlurmScripts {
  dir: string;
  /** Indices of the tasks the array runs (those not done yet). */
  pending: number[];
  array: { file: string; text: string } | null;
  merges: Array<{ group: string; file: string; text: string; members: number[] }>;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** `--array` for a list of indices: ranges where they run on (0-3,5,7-9). */
export function arraySpec(indices: readonly number[]): string {
  const parts: string[] = [];
  for (let k = 0; k < indices.length; ) {
    let j = k;
    while (j + 1 < indices.length && indices[j + 1] === indices[j]! + 1) j++;
    parts.push(j > k ? `${indices[k]}-${indices[j]}` : `${indices[k]}`);
    k = j + 1;
  }
  return parts.join(',');
}

function header(name: string, o: SlurmOptions, output: string): string[] {
  return [
    '#!/bin/bash',
    `#SBATCH --job-name=${name}`,
    `#SBATCH --output=${output}`,
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
    ...(o.cpus ? [`#SBATCH --cpus-per-task=${o.cpus}`] : []),
  ];
}

/** The sbatch scripts for what is still to do (nothing is written or submitted). */
export function slurmScripts(resolved: ResolvedPlan, o: SlurmOptions): SlurmScripts {
  const dir = join(resolved.out, 'slurm');
  const plan = resolvedPlanFile(resolved.out);
  const tracked = `${quote(process.execPath)} ${quote(o.entry)}`;
  const pending = resolved.tasks.filter((t) => !taskDone(t)).map((t) => t.index);
  const array = pending.length
    ? {
        file: join(dir, 'tasks.sbatch'),
        text: [
          ...header('tracked-tasks', o, join(dir, 'logs', 'task-%a.log')),
          `#SBATCH --array=${arraySpec(pending)}`,
          `# trackED batch: one array element per series and target of ${plan}.`,
          '# Each writes tasks/<id>/ (report.json, status.json, progress.json); a failed task is tried once more.',
          'set -u',
          `${tracked} batch-task ${quote(plan)} --index "$SLURM_ARRAY_TASK_ID" --attempt 1 || exec ${tracked} batch-task ${quote(plan)} --index "$SLURM_ARRAY_TASK_ID" --attempt 2`,
          '',
        ].join('\n'),
      }
    : null;
  const merges = Object.entries(resolved.merges).map(([group, members]) => ({
    group,
    members,
    file: join(dir, `merge-${group}.sbatch`),
    text: [
      ...header(`tracked-merge-${group}`, o, join(dir, 'logs', `merge-${group}.log`)),
      `# trackED batch: merge group ${group} (tasks ${members.map((i) => resolved.tasks[i]!.id).join(', ')}), after every one of them succeeded.`,
      `exec ${tracked} batch-merge ${quote(plan)} --group ${quote(group)}`,
      '',
    ].join('\n'),
  }));
  return { dir, pending, array, merges };
}

async function sbatch(args: string[], file: string): Promise<string> {
  try {
    const { stdout } = await run('sbatch', ['--parsable', ...args, file]);
    const id = stdout.trim().split(';')[0]!;
    if (!/^\d+$/.test(id)) throw new Error(`unexpected answer "${stdout.trim()}"`);
    return id;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new TrackedError('sbatch is not on the PATH: is this a SLURM login node? (without --slurm the batch runs on this machine)');
    throw new TrackedError(`sbatch ${file} failed: ${(err.stderr || err.message).trim().split('\n')[0]}`);
  }
}

/** Writes the scripts and submits them: the array, then each merge after its group's elements. */
export async function submitSlurm(resolved: ResolvedPlan, o: SlurmOptions): Promise<{ scripts: SlurmScripts; arrayJob: string | null; mergeJobs: Record<string, string> }> {
  const scripts = slurmScripts(resolved, o);
  mkdirSync(join(scripts.dir, 'logs'), { recursive: true });
  if (scripts.array) writeFileAtomicSync(scripts.array.file, scripts.array.text);
  for (const m of scripts.merges) writeFileAtomicSync(m.file, m.text);
  const arrayJob = scripts.array ? await sbatch([], scripts.array.file) : null;
  const mergeJobs: Record<string, string> = {};
  for (const m of scripts.merges) {
    const deps = m.members.filter((i) => scripts.pending.includes(i)).map((i) => `${arrayJob}_${i}`);
    mergeJobs[m.group] = await sbatch(deps.length ? [`--dependency=afterok:${deps.join(':')}`, '--kill-on-invalid-dep=yes'] : [], m.file);
  }
  return { scripts, arrayJob, mergeJobs };
}

/** Job id → state ('PENDING', 'RUNNING', …) of what the queue still holds; array elements one by one. */
async function queued(ids: string[]): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  if (!ids.length) return states;
  try {
    const { stdout } = await run('squeue', ['-h', '-r', '-j', ids.join(','), '-o', '%i|%T']);
    for (const line of stdout.split('\n')) {
      const [id, state] = line.trim().split('|');
      if (id && state) states.set(id, state);
    }
  } catch {
    // A job that left the queue makes squeue complain about an invalid id: its state comes from finishedState.
  }
  return states;
}

/** The final state of a job no longer queued: sacct where accounting is kept, else scontrol while it remembers. */
async function finishedState(id: string): Promise<string | null> {
  try {
    const { stdout } = await run('sacct', ['-n', '-P', '-X', '-j', id, '-o', 'State']);
    const s = stdout.trim().split('\n')[0]?.trim();
    if (s) return s.split(' ')[0]!;
  } catch {
    /* accounting disabled */
  }
  try {
    const { stdout } = await run('scontrol', ['show', 'job', '-o', id]);
    return /JobState=(\S+)/.exec(stdout)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Follows the submitted jobs until none is queued; the summary of every task and merge. */
export async function followSlurm(resolved: ResolvedPlan, submitted: Awaited<ReturnType<typeof submitSlurm>>, o: SlurmOptions, t0 = Date.now()): Promise<BatchSummary> {
  const board = new BatchBoard(resolved.tasks, o.stream);
  const { arrayJob, mergeJobs, scripts } = submitted;
  const elementId = (i: number): string => `${arrayJob}_${i}`;
  const submittedAt = Date.now();
  for (;;) {
    const q = await queued([...(arrayJob ? [arrayJob] : []), ...Object.values(mergeJobs)]);
    for (const t of resolved.tasks) {
      if (!scripts.pending.includes(t.index)) board.set(t.id, 'skipped');
      else if (q.has(elementId(t.index))) board.set(t.id, q.get(elementId(t.index)) === 'RUNNING' ? 'running' : 'queued', readProgress(t));
      else board.set(t.id, readStatus(t)?.state === 'ok' ? 'ok' : 'failed');
    }
    if (![...q.keys()].length) break;
    await new Promise((r) => setTimeout(r, (o.pollS ?? 2) * 1000));
  }
  const tasks: TaskOutcome[] = resolved.tasks.map((t) => {
    if (!scripts.pending.includes(t.index)) return taskOutcome(t, 'skipped', 0);
    const s = readStatus(t);
    const ok = s?.state === 'ok' && s.hash === t.hash;
    return taskOutcome(t, ok ? 'ok' : 'failed', s?.attempt ?? 0, { slurm: elementId(t.index), ...(s?.state === 'running' ? { error: 'the job ended while the task ran (killed, out of time or memory?)' } : {}) });
  });
  const merges: MergeOutcome[] = [];
  for (const [group, id] of Object.entries(mergeJobs)) {
    const file = join(mergeDir(resolved, group), 'merge.json');
    const fresh = existsSync(file) && statSync(file).mtimeMs >= submittedAt - 1000;
    const missing = unfinishedMembers(resolved, group, tasks);
    const state = fresh ? 'COMPLETED' : await finishedState(id);
    const outcome: MergeOutcome = fresh
      ? { group, state: 'ok', reason: null, slurm: id, report: JSON.parse(readFileSync(file, 'utf8')) as MergeOutcome['report'] }
      : missing.length
        ? { group, state: 'blocked', reason: `not run: ${missing.join(', ')} did not finish (SLURM ${state ?? 'cancelled'} the dependent job)`, slurm: id, report: null }
        : { group, state: 'failed', reason: `job ${id} ended ${state ?? 'without a result'}; see ${join(scripts.dir, 'logs', `merge-${group}.log`)}`, slurm: id, report: null };
    board.note(`merge ${group}: ${outcome.state}${outcome.reason ? ` (${outcome.reason})` : ''}`);
    merges.push(outcome);
  }
  board.stop();
  const summary = summarise(resolved, 'slurm', t0, tasks, merges);
  writeSummary(resolved, summary);
  return summary;
}

export function checkSlurmOptions(o: { time?: string; mem?: string; cpus?: number }): void {
  if (o.time !== undefined && !/^(\d+-)?\d+(:\d{1,2}){0,2}$/.test(o.time)) throw new ParameterError('--time', `${o.time}: use minutes, MM:SS, HH:MM:SS or D-HH:MM:SS`);
  if (o.mem !== undefined && !/^\d+[KMGT]?$/i.test(o.mem)) throw new ParameterError('--mem', `${o.mem}: use a size like 4G or 16000M`);
  if (o.cpus !== undefined && !(Number.isInteger(o.cpus) && o.cpus > 0)) throw new ParameterError('--cpus', `${o.cpus}: give a positive whole number`);
}
