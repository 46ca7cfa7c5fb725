// HKLF 4 files read back by cctbx's own SHELX reader (iotbx.shelx.hklf, Debian's python3-cctbx): every index,
// Fo², σ and batch as written (after the one scale), the strongest using the F8.2 field without overflow, deep
// negatives and large σ kept in range, the 0 0 0 record last; indices that do not fit I4 and non-measurements refused.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ParameterError } from '../../../../src-shared/errors';
import { PYTHON } from '../../../../tests/helpers/cell-error';
import { formatHklf4, type HklfReflection } from '../hklf';

const dir = mkdtempSync(join(tmpdir(), 'tracked-hklf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const READ = `
import json, sys
import iotbx.shelx.hklf as h
r = h.reader(file_name=sys.argv[1])
b = r.batch_numbers()
print(json.dumps({"hkl": [list(x) for x in r.indices()], "I": list(r.data()), "s": list(r.sigmas()), "batch": list(b) if b is not None else None}))
`;
function readBack(text: string): { hkl: number[][]; I: number[]; s: number[]; batch: number[] | null } {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.hkl`);
  writeFileSync(file, text);
  const py = spawnSync(PYTHON, ['-c', READ, file], { encoding: 'utf8' });
  expect(py.status, py.stderr).toBe(0);
  return JSON.parse(py.stdout);
}

describe('HKLF 4', () => {
  it('round-trips through cctbx with one scale, the strongest using the field, negatives and batches kept', () => {
    const refl: HklfReflection[] = [
      { h: 1, k: 0, l: 0, intensity: 2.5e6, sigma: 1.2e3, batch: 1 },
      { h: -12, k: 7, l: 3, intensity: 41.3, sigma: 9.9, batch: 2 },
      { h: 0, k: 0, l: 4, intensity: -805.2, sigma: 300, batch: 2 },
      { h: 105, k: -999, l: 2, intensity: 1234.5, sigma: 55, batch: 9999 },
    ];
    const { text, scale } = formatHklf4(refl);
    const lines = text.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('   0   0   0    0.00    0.00   0');
    expect(lines.every((l) => l.length === 32)).toBe(true);
    const back = readBack(text);
    expect(back.hkl).toEqual(refl.map((r) => [r.h, r.k, r.l]));
    expect(back.batch).toEqual(refl.map((r) => r.batch));
    refl.forEach((r, i) => {
      expect(back.I[i]).toBeCloseTo(r.intensity * scale, 1);
      expect(back.s[i]).toBeCloseTo(r.sigma * scale, 1);
    });
    expect(Math.max(...back.I)).toBeCloseTo(9999, 1);
  });

  it('keeps a deep negative and a huge σ inside F8.2 by scaling further down', () => {
    const { text, scale } = formatHklf4([
      { h: 1, k: 1, l: 1, intensity: 100, sigma: 5 },
      { h: 2, k: 1, l: 1, intensity: -50_000, sigma: 3e6 },
    ]);
    const back = readBack(text);
    expect(back.batch).toBeNull();
    expect(back.I[1]).toBeGreaterThanOrEqual(-9999.99);
    expect(back.s[1]).toBeLessThanOrEqual(99999.99);
    expect(back.I[0]! / back.I[1]!).toBeCloseTo(100 / -50_000, 3);
    expect(scale).toBeLessThan(1);
  });

  it('refuses what HKLF 4 cannot hold or what is not a measurement', () => {
    const ok = { h: 1, k: 2, l: 3, intensity: 10, sigma: 1 };
    expect(() => formatHklf4([{ ...ok, h: 10000 }])).toThrow(/I4/);
    expect(() => formatHklf4([{ ...ok, h: 0, k: 0, l: 0 }])).toThrow(/end-of-data/);
    expect(() => formatHklf4([{ ...ok, intensity: NaN }])).toThrow(ParameterError);
    expect(() => formatHklf4([{ ...ok, sigma: 0 }])).toThrow(/not a measurement/);
    expect(() => formatHklf4([{ ...ok, batch: 1 }, { ...ok, h: 2 }])).toThrow(/batch/);
  });
});
