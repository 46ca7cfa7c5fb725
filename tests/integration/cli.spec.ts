// The real `tracked` command, spawned as a user would run it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json';

const dir = mkdtempSync(join(tmpdir(), 'tracked-cli-'));
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

  it('exits 2 on a usage mistake', () => {
    const r = run('info');
    expect(r.status).toBe(2);
  });
});
