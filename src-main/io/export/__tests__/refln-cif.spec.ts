// The reflection CIF read by gemmi (Debian's python3-gemmi): the block, the cell with its su, the wavelength, the
// space group name with its spaces, and both loops row for row; names CIF cannot hold and non-numbers refused.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON } from '../../../../tests/helpers/cell-error';
import { formatReflnCif, withSu } from '../refln-cif';

const dir = mkdtempSync(join(tmpdir(), 'tracked-cif-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const READ = `
import json, sys, gemmi
doc = gemmi.cif.read_file(sys.argv[1])
b = doc.sole_block()
num = lambda tag: gemmi.cif.as_number(b.find_value(tag))
loop = lambda tags: [list(r) for r in b.find(tags)]
print(json.dumps({
  "name": b.name,
  "cell": [num("_cell_length_" + x) for x in "abc"] + [num("_cell_angle_" + x) for x in ("alpha", "beta", "gamma")],
  "a": b.find_value("_cell_length_a"),
  "wl": num("_diffrn_radiation_wavelength"),
  "sg": gemmi.cif.as_string(b.find_value("_space_group_name_H-M_alt")),
  "unmerged": loop(["_diffrn_refln_index_h", "_diffrn_refln_index_k", "_diffrn_refln_index_l", "_diffrn_refln_intensity_net", "_diffrn_refln_intensity_u", "_diffrn_refln_frame_id"]),
  "merged": loop(["_refln_index_h", "_refln_index_k", "_refln_index_l", "_refln_F_squared_meas", "_refln_F_squared_sigma", "_refln_observed_status"]),
}))
`;

describe('reflection CIF', () => {
  it('is read by gemmi with every item and both loops intact', () => {
    const text = formatReflnCif({
      name: 'particle_1',
      cell: { a: 9.184, b: 5.447, c: 5.145, alpha: 90, beta: 90, gamma: 90 },
      cellEsd: { a: 0.0003, b: 0.00015, c: 0.002, alpha: 0.01, beta: 0.01, gamma: 0.01 },
      wavelengthA: 0.025079,
      spaceGroupHM: 'P b c a',
      unmerged: [
        { h: 1, k: 0, l: 0, intensity: 1234.5678, sigma: 12.3, frame: 1 },
        { h: -2, k: 3, l: 1, intensity: -4.2, sigma: 3.1, frame: 7 },
      ],
      merged: [{ h: 2, k: 0, l: 0, intensity: 880.1, sigma: 20.2 }],
    });
    const file = join(dir, 'p1.cif');
    writeFileSync(file, text);
    const py = spawnSync(PYTHON, ['-c', READ, file], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const d = JSON.parse(py.stdout);
    expect(d.name).toBe('particle_1');
    expect(d.a).toBe('9.1840(3)');
    d.cell.forEach((v: number, i: number) => expect(v).toBeCloseTo([9.184, 5.447, 5.145, 90, 90, 90][i]!, 4));
    expect(d.wl).toBeCloseTo(0.025079, 6);
    expect(d.sg).toBe('P b c a');
    expect(d.unmerged).toEqual([
      ['1', '0', '0', '1234.568', '12.300', '1'],
      ['-2', '3', '1', '-4.200', '3.100', '7'],
    ]);
    expect(d.merged).toEqual([['2', '0', '0', '880.100', '20.200', 'o']]);
  });

  it('writes standard uncertainties the crystallographer’s way and refuses what CIF cannot hold', () => {
    expect(withSu(9.18401, 0.0003, 4)).toBe('9.1840(3)');
    expect(withSu(5.4471, 0.00015, 4)).toBe('5.44710(15)');
    expect(withSu(90, undefined, 3)).toBe('90.000');
    const base = { cell: { a: 5, b: 5, c: 5, alpha: 90, beta: 90, gamma: 90 }, wavelengthA: 0.0251, unmerged: [] };
    expect(() => formatReflnCif({ ...base, name: 'has space' })).toThrow(/data block name/);
    expect(() => formatReflnCif({ ...base, name: 'x', wavelengthA: 0 })).toThrow(/wavelength/);
    expect(() => formatReflnCif({ ...base, name: 'x', unmerged: [{ h: 1, k: 0, l: 0, intensity: NaN, sigma: 1, frame: 1 }] })).toThrow(/cannot be written/);
  });
});
