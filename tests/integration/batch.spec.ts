// `tracked batch` on a real single-node SLURM cluster (Debian's slurm-wlm and munge, started by the test in a temp
// folder and stopped by PID): 3 synthetic series × 2 particles, one series with a truncated tilt; the array job and
// the merge jobs run, every report and the merged files are checked, the failed tasks show as failed without
// stopping the others, and a rerun redoes only them. The same plan on this machine gives byte-identical reflection
// files.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatch } from '../../src-main/cli/batch';
import type { GroupMergeReport } from '../../src-main/cli/batch/merge';
import type { BatchSummary } from '../../src-main/cli/batch/summary';
import { particleFromHklf } from '../../src-main/processing/merge-particles';
import { synthesize } from '../../src-main/synth/index';
import { startSlurm, type SlurmCluster } from '../helpers/slurm';

const root = mkdtempSync(join(tmpdir(), 'tracked-batch-'));
const entry = resolve('bin/tracked.mjs');
const SIZE = { scanShape: [40, 40] as [number, number], detectorShape: [96, 96] as [number, number], nTilts: 31, tiltStepDeg: 2 };
let cluster: SlurmCluster | null = null;
let plan = '';

/** The two largest particles on the middle tilt of a synthetic series, as X,Y@TILT targets (a pixel inside each). */
function twoTargets(dir: string): string[] {
  const f = new h5wasm.File(join(dir, 'truth', 'masks.h5'), 'r');
  try {
    const mid = Math.floor(SIZE.nTilts / 2);
    const [ny, nx] = SIZE.scanShape;
    const found = f
      .keys()
      .filter((k) => k.startsWith('object_'))
      .map((k) => {
        const m = ((f.get(k) as InstanceType<typeof h5wasm.Dataset>).value as Uint8Array).subarray(mid * ny * nx, (mid + 1) * ny * nx);
        const inside = [...m.keys()].filter((i) => m[i]);
        const cx = inside.reduce((a, i) => a + (i % nx), 0) / inside.length;
        const cy = inside.reduce((a, i) => a + Math.floor(i / nx), 0) / inside.length;
        const best = inside.reduce((b, i) => (Math.hypot((i % nx) - cx, Math.floor(i / nx) - cy) < Math.hypot((b % nx) - cx, Math.floor(b / nx) - cy) ? i : b), inside[0]!);
        return { area: inside.length, target: `${best % nx},${Math.floor(best / nx)}@${mid}` };
      })
      .sort((a, b) => b.area - a.area);
    return found.slice(0, 2).map((p) => p.target);
  } finally {
    f.close();
  }
}

const reflectionFiles = (out: string, s: BatchSummary): Record<string, Buffer> => {
  const files: Record<string, Buffer> = {};
  for (const t of s.tasks.filter((x) => x.state === 'ok' || x.state === 'skipped')) {
    for (const ext of ['hkl', 'ins', 'cif', 'cif_pets']) {
      const report = JSON.parse(readFileSync(join(out, 'tasks', t.id, 'report.json'), 'utf8')) as { objects: Array<{ reflections: { files: Record<string, string> } | null }> };
      const rel = report.objects[0]!.reflections?.files[ext === 'cif_pets' ? 'cifPets' : ext];
      if (rel) files[`tasks/${t.id}/${rel}`] = readFileSync(join(out, 'tasks', t.id, rel));
    }
  }
  for (const f of ['brookite.hkl', 'brookite.ins', 'brookite.cif', 'brookite.cif_pets']) if (existsSync(join(out, 'merge', 'brookite', f))) files[`merge/brookite/${f}`] = readFileSync(join(out, 'merge', 'brookite', f));
  return files;
};

beforeAll(async () => {
  await h5wasm.ready;
  const entries = [];
  for (const [k, name] of ['A', 'B', 'C'].entries()) {
    const dir = join(root, 'data', name);
    await synthesize({ preset: 'brookite-agglomerate', size: SIZE, outDir: dir, seed: 21 + k });
    entries.push({ path: `data/${name}/series.json`, targets: twoTargets(dir), mergeGroup: name === 'C' ? 'damaged' : 'brookite' });
  }
  // Series C: one tilt cut short, as a copy interrupted mid-transfer leaves it.
  const cut = join(root, 'data', 'C', 'tilt_005.h5');
  truncateSync(cut, Math.floor(statSync(cut).size / 2));
  plan = join(root, 'plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, defaults: { composition: 'Ti8 O16', spaceGroup: 'Pbca' }, series: entries }, null, 1));
  cluster = await startSlurm();
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('tracked batch', () => {
  let slurmSummary: BatchSummary;
  const slurmOut = join(root, 'out-slurm');

  it('runs the plan as a SLURM array job and dependent merge jobs: reports, merged files, the damaged series failed alone', async () => {
    const previous = process.env['SLURM_CONF'];
    process.env['SLURM_CONF'] = cluster!.env['SLURM_CONF'];
    try {
      slurmSummary = (await runBatch(plan, { out: slurmOut, entry, slurm: true, mem: '3G', pollS: 1 })) as BatchSummary;
    } finally {
      if (previous === undefined) delete process.env['SLURM_CONF'];
      else process.env['SLURM_CONF'] = previous;
    }
    const byState = (s: string) => slurmSummary.tasks.filter((t) => t.state === s).map((t) => t.id.split('-')[0]);
    expect(byState('ok')).toEqual(['A', 'A', 'B', 'B']);
    expect(byState('failed')).toEqual(['C', 'C']);
    for (const t of slurmSummary.tasks.filter((x) => x.state === 'failed')) {
      expect(t.error).toMatch(/tilt_005\.h5/);
      expect(t.attempts).toBe(2);
      expect(t.slurm).toMatch(/^\d+_\d$/);
    }
    for (const t of slurmSummary.tasks.filter((x) => x.state === 'ok')) {
      const report = JSON.parse(readFileSync(join(slurmOut, 'tasks', t.id, 'report.json'), 'utf8')) as { objects: Array<{ lattice: { status: string }; reflections: { nUnique: number; spaceGroup: { hm: string } } | null }> };
      expect(report.objects[0]!.lattice.status).toBe('indexed');
      expect(report.objects[0]!.reflections!.nUnique).toBeGreaterThan(20);
    }
    const brookite = slurmSummary.merges.find((m) => m.group === 'brookite')!;
    expect(brookite.state).toBe('ok');
    expect(slurmSummary.merges.find((m) => m.group === 'damaged')).toMatchObject({ state: 'blocked' });
    const merge = JSON.parse(readFileSync(join(slurmOut, 'merge', 'brookite', 'merge.json'), 'utf8')) as GroupMergeReport;
    expect(merge.particles).toHaveLength(4);
    expect(merge.particles.filter((p) => p.accepted).length).toBeGreaterThanOrEqual(3);
    for (const p of merge.particles.filter((x) => x.accepted && !x.reference)) expect(p.cc).toBeGreaterThan(0.5);
    // The merged .hkl reads back with every accepted particle as a batch; the .ins and .cif_pets are there.
    const hkl = readFileSync(join(slurmOut, 'merge', 'brookite', 'brookite.hkl'), 'utf8');
    const back = particleFromHklf('merged', hkl, merge.cell, 61);
    expect(back.hkl.length / 3).toBeGreaterThan(100);
    expect(readFileSync(join(slurmOut, 'merge', 'brookite', 'brookite.ins'), 'utf8')).toMatch(/^CELL /m);
    expect(readFileSync(join(slurmOut, 'merge', 'brookite', 'brookite.cif_pets'), 'utf8').match(/^data_/gm)!.length).toBe(merge.particles.filter((p) => p.accepted).length);
    const batch = JSON.parse(readFileSync(join(slurmOut, 'batch.json'), 'utf8')) as BatchSummary;
    expect(batch.counts).toMatchObject({ ok: 4, failed: 2 });
    expect(readFileSync(join(slurmOut, 'report.html'), 'utf8')).toContain('Merge group brookite');
    expect(readFileSync(join(slurmOut, 'slurm', 'tasks.sbatch'), 'utf8')).toMatch(/#SBATCH --array=0-5/);
  }, 900_000);

  it('a rerun through SLURM redoes only the failed tasks', async () => {
    const done = slurmSummary.tasks.filter((t) => t.state === 'ok').map((t) => join(slurmOut, 'tasks', t.id, 'status.json'));
    const before = done.map((f) => statSync(f).mtimeMs);
    process.env['SLURM_CONF'] = cluster!.env['SLURM_CONF'];
    let again: BatchSummary;
    try {
      again = (await runBatch(plan, { out: slurmOut, entry, slurm: true, mem: '3G', pollS: 1 })) as BatchSummary;
    } finally {
      delete process.env['SLURM_CONF'];
    }
    expect(again.tasks.map((t) => t.state)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'failed', 'failed']);
    expect(done.map((f) => statSync(f).mtimeMs)).toEqual(before);
    expect(readFileSync(join(slurmOut, 'slurm', 'tasks.sbatch'), 'utf8')).toMatch(/#SBATCH --array=4-5/);
    expect(again.merges.find((m) => m.group === 'brookite')!.state).toBe('ok');
  }, 600_000);

  it('runs the same plan on this machine with byte-identical reflection files', async () => {
    const localOut = join(root, 'out-local');
    const local = (await runBatch(plan, { out: localOut, entry, jobs: 2 })) as BatchSummary;
    expect(local.tasks.map((t) => t.state)).toEqual(slurmSummary.tasks.map((t) => t.state));
    const a = reflectionFiles(slurmOut, slurmSummary);
    const b = reflectionFiles(localOut, local);
    expect(Object.keys(a).length).toBeGreaterThanOrEqual(4 * 3 + 4);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const k of Object.keys(a)) expect(b[k]!.equals(a[k]!), k).toBe(true);
  }, 600_000);

  it('names the file, the entry and the field of a bad plan; prints the sbatch scripts with --dry-run', async () => {
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ version: 1, series: [{ path: 'data/A/series.json', targets: ['middle'] }] }));
    await expect(runBatch(bad, { out: join(root, 'x'), entry })).rejects.toThrow(/bad\.json: is not a valid batch plan: series\[0\]\.targets\[0\]: a target is 'auto'/);
    const csv = join(root, 'plan.csv');
    writeFileSync(csv, 'series,target,colour\ndata/A/series.json,auto,red\n');
    await expect(runBatch(csv, { out: join(root, 'x'), entry })).rejects.toThrow(/plan\.csv: unknown column "colour"/);
    writeFileSync(csv, 'series,target,merge_group,composition\ndata/A/series.json,auto,g,Ti8 O16\ndata/B/series.json,auto,g,Ti8 O16\n');
    const dry = (await runBatch(csv, { out: join(root, 'dry'), entry, slurm: true, dryRun: true, partition: 'batch', time: '1:00:00', mem: '4G', cpus: 2 })) as { scripts: Array<{ text: string }>; commands: string[] };
    for (const line of ['#SBATCH --array=0-1', '#SBATCH --partition=batch', '#SBATCH --time=1:00:00', '#SBATCH --mem=4G', '#SBATCH --cpus-per-task=2']) expect(dry.scripts[0]!.text).toContain(line);
    expect(dry.commands[1]).toMatch(/--dependency=afterok:ARRAY_0:ARRAY_1/);
    expect(existsSync(join(root, 'dry'))).toBe(false);
    // The command itself: usage mistakes exit 2, a plan error exits 1 with one line.
    const r = spawnSync(process.execPath, [entry, 'batch', bad, '--out', join(root, 'x')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(execFileSync(process.execPath, [entry, 'batch', '--help'], { encoding: 'utf8' })).toMatch(/--slurm/);
  }, 120_000);
});
