// `npm run bench -- batch`: tasks per hour of `tracked batch` on this machine, and through SLURM on this machine (a
// single-node cluster started for the bench, tests/helpers/slurm.ts): the same plan of small synthetic series, so
// the ratio is the scheduler's overhead (submission, the array's scheduling, polling) on top of the same work.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runBatch } from '../src-main/cli/batch';
import type { BatchSummary } from '../src-main/cli/batch/summary';
import { synthesize } from '../src-main/synth';
import { slurmUnavailable, startSlurm } from '../tests/helpers/slurm';

const SERIES = 4;
const SIZE = { scanShape: [32, 32] as [number, number], detectorShape: [64, 64] as [number, number], nTilts: 15, tiltStepDeg: 3 };

export default async function bench(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'tracked-bench-batch-'));
  const entry = resolve('bin/tracked.mjs');
  try {
    for (let k = 0; k < SERIES; k++) await synthesize({ preset: 'single-isolated', size: SIZE, outDir: join(dir, `s${k}`), seed: 40 + k });
    const plan = join(dir, 'plan.json');
    // Tracking, extraction and the exports: the part of a task that does not depend on the crystal.
    writeFileSync(plan, JSON.stringify({ version: 1, defaults: { process: false }, series: Array.from({ length: SERIES }, (_, k) => ({ path: `s${k}/series.json` })) }));
    const perHour = (s: BatchSummary): number => (s.counts.ok / s.seconds) * 3600;
    const local = (await runBatch(plan, { out: join(dir, 'local'), entry, jobs: 1 })) as BatchSummary;
    const why = slurmUnavailable();
    if (why) return { tasks: SERIES, localSeconds: local.seconds, localTasksPerHour: perHour(local), slurm: `not measured: ${why}` };
    const cluster = await startSlurm();
    try {
      process.env['SLURM_CONF'] = cluster.env['SLURM_CONF'];
      // One task at a time on the node as locally (--cpus = all cores), polled every second.
      const slurm = (await runBatch(plan, { out: join(dir, 'slurm'), entry, slurm: true, cpus: availableParallelism(), mem: '2G', pollS: 1 })) as BatchSummary;
      return {
        tasks: SERIES,
        localSeconds: +local.seconds.toFixed(2),
        slurmSeconds: +slurm.seconds.toFixed(2),
        localTasksPerHour: Math.round(perHour(local)),
        slurmTasksPerHour: Math.round(perHour(slurm)),
        slurmOverheadRatio: +(slurm.seconds / local.seconds).toFixed(3),
        slurmOverheadSecondsPerTask: +((slurm.seconds - local.seconds) / SERIES).toFixed(2),
      };
    } finally {
      delete process.env['SLURM_CONF'];
      await cluster.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
