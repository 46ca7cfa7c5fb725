// The element table SHELX's long SFAC form needs, checked against cctbx (covalent radii: cctbx.eltbx.covalent_radii,
// Cordero 2008) and gemmi (atomic weights, IUPAC 2007; ours are CIAAW 2021 abridged, so within 0.02) for H…Bi.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PYTHON } from '../../../tests/helpers/cell-error';
import { elementData, elementSymbols } from '../elements';

const READ = `
import json, gemmi
from cctbx.eltbx import covalent_radii
print(json.dumps([[gemmi.Element(z).name, gemmi.Element(z).weight, covalent_radii.table(gemmi.Element(z).name).radius()] for z in range(1, 84)]))
`;

describe('element data', () => {
  it('has H…Bi in atomic-number order with cctbx’s covalent radii and the standard atomic weights', () => {
    const py = spawnSync(PYTHON, ['-c', READ], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const ref = JSON.parse(py.stdout) as Array<[string, number, number]>;
    expect(elementSymbols()).toEqual(ref.map(([s]) => s));
    ref.forEach(([symbol, weight, radius], i) => {
      const e = elementData(symbol)!;
      expect(e.z, symbol).toBe(i + 1);
      expect(Math.abs(e.atomicWeight - weight), symbol).toBeLessThan(0.02);
      expect(e.covalentRadiusA, symbol).toBeCloseTo(radius, 5);
    });
  });

  it('finds a symbol in any letter case and nothing beyond the table', () => {
    expect(elementData('ti')?.symbol).toBe('Ti');
    expect(elementData(' PB ')?.z).toBe(82);
    expect(elementData('Po')).toBeUndefined();
    expect(elementData('Xx')).toBeUndefined();
  });
});
