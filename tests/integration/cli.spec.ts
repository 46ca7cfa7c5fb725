// The real `tracked` command, spawned as a user would run it.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json';
import { SHARED_DATA } from '../helpers/paths';
import { parseSmvHeader } from '../../src-main/io/export';
import { synthesize } from '../../src-main/synth/index';

const dir = mkdtempSync(join(tmpdir(), 'tracked-cli-'));
/** Creates an empty file; returns its path. */
const openAndClose = (p: string): string => (closeSync(openSync(p, 'w')), p);
const run = (...args: string[]) => spawnSync(process.execPath, ['bin/tracked.mjs', ...args], { encoding: 'utf8' });

beforeAll(async () => {
  await h5wasm.ready;
  const f = new h5wasm.File(join(dir, 'scan.h5'), 'w');
  f.create_group('entry');
  f.get('entry')!;
  const data = new Uint16Array(3 * 4 * 8 * 8).map((_, i) => i % 1000);
  f.create_dataset({ name: 'entry/data4d', data, shape: [3, 4, 8, 8], dtype: '<H' });
  f.create_dataset({ name: 'entry/angles', data: new Float64Array([-1, 0, 1]), shape: [3], dtype: '<d' });
  f.close();
  writeFileSync(join(dir, 'notes.txt'), 'this is not a 4D-STEM file\n'.repeat(20));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tracked CLI', () => {
  it('prints its version', () => {
    const r = run('--version');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('`info` prints the datasets of an HDF5 file as JSON', () => {
    const r = run('info', join(dir, 'scan.h5'));
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { format: string; datasets: Array<{ path: string; shape: number[]; dtype: string }> };
    expect(info.format).toMatch(/HDF5/i);
    const d = info.datasets.find((x) => x.path.endsWith('entry/data4d'));
    expect(d?.shape).toEqual([3, 4, 8, 8]);
    expect(d?.dtype).toMatch(/uint16/);
    expect(info.datasets.find((x) => x.path.endsWith('entry/angles'))?.shape).toEqual([3]);
  });

  it('exits non-zero with one line on a missing file', () => {
    const r = run('info', join(dir, 'missing.h5'));
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('missing.h5');
    expect(r.stdout).toBe('');
  });

  it('exits non-zero with one line on a file that is not HDF5 or MIB', () => {
    const r = run('info', join(dir, 'notes.txt'));
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('notes.txt');
  });

  it('a mistake found after the workers started (a large series) still ends the process at once, with status 1', () => {
    // Tilts the size of a real pass (sparse files: only their size is looked at before the detector is checked),
    // so `virtual` starts its worker pool first; an idle, never-used pool must not keep the process alive.
    const big = join(dir, 'big-series');
    mkdirSync(big);
    for (let i = 0; i < 2; i++) truncateSync(openAndClose(join(big, `tilt_00${i}.mib`)), 40 << 20);
    writeFileSync(join(big, 'series.json'), JSON.stringify({ version: 1, tilts: [0, 1].map((i) => ({ file: `tilt_00${i}.mib`, angleDeg: i })) }));
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['bin/tracked.mjs', 'virtual', join(big, 'series.json'), '-d', 'adf:60,10', '-o', join(dir, 'never.h5')], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/adf:60,10: give adf:RIN,ROUT/);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it('never writes over an input file, names a missing output folder, and fails `info` on a file with no 4D data', async () => {
    const s = await synthesize({ preset: 'single-isolated', size: { scanShape: [8, 8], detectorShape: [16, 16], nTilts: 3, tiltStepDeg: 2 }, outDir: join(dir, 'guard'), seed: 4 });
    const manifest = join(dir, 'guard', s.manifest);
    const tilt = join(dir, 'guard', 'tilt_001.h5');
    const before = readFileSync(tilt);
    symlinkSync(join(dir, 'guard'), join(dir, 'guard-link'));
    // The tilt itself, and another tilt reached through a link to the series folder.
    for (const out of [tilt, join(dir, 'guard-link', 'tilt_000.h5')]) {
      const r = run('virtual', manifest, '-d', 'bf:3', '-o', out);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/is an input file of the open series: raw data are never written to/);
    }
    expect(readFileSync(tilt).equals(before)).toBe(true);
    expect(readdirSync(join(dir, 'guard')).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const nodir = run('virtual', manifest, '-d', 'bf:3', '-o', join(dir, 'nowhere', 'v.h5'));
    expect(nodir.status).toBe(1);
    expect(nodir.stderr).toMatch(/the folder .*nowhere does not exist/);
    expect(nodir.stderr).not.toMatch(/HDF5-DIAG/);
    const no4d = run('info', join(SHARED_DATA, 'rosettasciio', 'hspy', 'example1_v1.2.hdf5'));
    expect(no4d.status).toBe(1);
    expect(JSON.parse(no4d.stdout).datasets.length).toBeGreaterThan(0);
    expect(no4d.stderr).toMatch(/holds no 4D-STEM data trackED can read/);
  });

  it('exits 2 on a usage mistake', () => {
    const r = run('info');
    expect(r.status).toBe(2);
  });

  it('`run` refuses an unknown space group or a bad composition before any work, in one line', () => {
    for (const [flag, value, says] of [
      ['--space-group', 'P 7', /space group/i],
      ['--composition', 'Ti8 Qq2', /"Qq" is not an element/],
      ['--composition', 'Ti8 O0', /count of O must be positive/],
    ] as const) {
      const out = join(dir, `refused-${flag.slice(2)}`);
      const r = run('run', join(dir, 'scan.h5'), '--out', out, flag, value);
      expect(r.status, `${flag} ${value}`).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(says);
      expect(readdirSync(out)).toEqual([]);
    }
  });
});

// A single 4D-STEM scan is the most common file a user has: it is a series of one tilt (angle 0, or --angle). The
// references are the files' own sums, computed independently (../shared/data/PROVENANCE.md, refvals_computed.json).
describe('tracked on a single 4D file (a series of one tilt)', () => {
  const real = (rel: string): string => join(SHARED_DATA, 'rosettasciio', rel);
  const sumImage = async (file: string): Promise<{ shape: number[]; values: Float32Array; angles: Float64Array }> => {
    const f = new h5wasm.File(file, 'r');
    try {
      const ds = f.get('virtual/sum') as import('h5wasm').Dataset;
      return { shape: ds.shape as number[], values: Float32Array.from(ds.value as Float32Array), angles: Float64Array.from((f.get('angleDeg') as import('h5wasm').Dataset).value as Float64Array) };
    } finally {
      f.close();
    }
  };

  it('`virtual FILE.mib -d sum` gives one tilt whose image is each frame\'s total count', async () => {
    const out = join(dir, 'mib-virtual.h5');
    const r = run('virtual', real('quantumdetector/unzipped/001_4x2_6bit.mib'), '-d', 'bf:5', '-d', 'sum', '-o', out);
    expect(r.status, r.stderr).toBe(0);
    const v = await sumImage(out);
    expect(v.shape).toEqual([1, 2, 4]);
    expect(Array.from(v.angles)).toEqual([0]);
    // Per-frame sums from PROVENANCE.md (numpy over the raw frames).
    expect(Array.from(v.values)).toEqual([448386, 449671, 452147, 455427, 450760, 453755, 455591, 457927]);
  });

  it('`virtual FILE.h5` (4D HDF5: py4DSTEM and EMD) works, and --angle sets the tilt angle', async () => {
    const py = join(dir, 'py4dstem-virtual.h5');
    let r = run('virtual', real('emd/py4DSTEM_size2x3x4x5.h5'), '-d', 'sum', '-o', py, '--angle', '12.5');
    expect(r.status, r.stderr).toBe(0);
    let v = await sumImage(py);
    expect(v.shape).toEqual([1, 2, 3]);
    expect(Array.from(v.angles)).toEqual([12.5]);
    expect(v.values.reduce((a, b) => a + b, 0)).toBeCloseTo(28255.876245498657, 1);
    const emd = join(dir, 'emd-virtual.h5');
    r = run('virtual', real('emd/Si100_4D.emd'), '-d', 'sum', '-o', emd);
    expect(r.status, r.stderr).toBe(0);
    v = await sumImage(emd);
    expect(v.shape).toEqual([1, 11, 11]);
    expect(v.values.reduce((a, b) => a + b, 0)).toBeCloseTo(110.66839191815737, 3);
  });

  it('`info` describes a 4D file as a series of one tilt', () => {
    const r = run('info', real('quantumdetector/unzipped/001_4x2_6bit.mib'), '--angle', '-7');
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { series: { nTilts: number; tiltRangeDeg: number[] } };
    expect(info.series.nTilts).toBe(1);
    expect(info.series.tiltRangeDeg).toEqual([-7, -7]);
  });

  it('`run` on one 4D file: frames without calibration (and a warning naming it); with --voltage/--q-pixel a one-frame smv/', async () => {
    // One tilt of a synthetic series is a plain 4D HDF5 file; its calibration lives in the series manifest, not in it.
    const synth = join(dir, 'one-tilt');
    await synthesize({ preset: 'single-isolated', size: { scanShape: [24, 24], detectorShape: [64, 64], nTilts: 1, tiltStepDeg: 1 }, outDir: synth, seed: 3 });
    const file = join(synth, 'tilt_000.h5');
    let r = run('run', file, '-o', join(dir, 'run-bare'));
    expect(r.status, r.stderr).toBe(0);
    let report = JSON.parse(readFileSync(join(dir, 'run-bare', 'report.json'), 'utf8')) as { series: { nTilts: number }; warnings: string[]; files: { smv: string[] } };
    expect(report.series.nTilts).toBe(1);
    expect(report.files.smv).toEqual([]);
    expect(report.warnings.join('\n')).toMatch(/no \.pts2 and no smv\/ \(wavelengthA: unknown/);
    expect(readdirSync(join(dir, 'run-bare', 'frames'))).toEqual(['0001.tif']);

    r = run('run', file, '-o', join(dir, 'run-cal'), '--voltage', '300', '--q-pixel', '0.02', '--angle', '4');
    expect(r.status, r.stderr).toBe(0);
    report = JSON.parse(readFileSync(join(dir, 'run-cal', 'report.json'), 'utf8'));
    expect(report.files.smv).toEqual(['smv/']);
    const img = readdirSync(join(dir, 'run-cal', 'smv')).filter((f) => f.endsWith('.img'));
    expect(img).toHaveLength(1);
    const { fields } = parseSmvHeader(new Uint8Array(readFileSync(join(dir, 'run-cal', 'smv', img[0]!))));
    expect(Number(fields.OSC_RANGE)).toBe(0); // a still
    expect(Number(fields.TRACKED_ANGLE_DEG)).toBe(4);
  }, 120_000);
});
