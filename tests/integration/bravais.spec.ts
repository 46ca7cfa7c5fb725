// The Bravais-lattice search against cctbx (sgtbx.lattice_symmetry, what dials.refine_bravais_settings runs): one
// slightly distorted cell of every lattice type, handed over in a random primitive setting; the lattice types we
// list and the highest one must be cctbx's, with a comparable misfit. cctbx runs in ./python/bravais_ref.py.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bravaisCandidates } from '../../src-main/crystallography/bravais';
import { directMatrix, type Cell } from '../../src-main/crystallography/lattice';
import { det3, matMul, type Mat3 } from '../../src-main/crystallography/math3';
import { cellOfBasis, niggliReduce } from '../../src-main/crystallography/reduction';
import { REPO_ROOT } from '../helpers/paths';
import { rng } from '../helpers/rng';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const half = 0.5;
const third = 1 / 3;
// Primitive basis in conventional coordinates (columns) for each centring.
const CENTRING: Record<string, Mat3> = {
  P: [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  C: [
    [1, half, 0],
    [0, half, 0],
    [0, 0, 1],
  ],
  I: [
    [-half, half, half],
    [half, -half, half],
    [half, half, -half],
  ],
  F: [
    [0, half, half],
    [half, 0, half],
    [half, half, 0],
  ],
  R: [
    [2 * third, -third, -third],
    [third, third, -2 * third],
    [third, third, third],
  ],
};

const CASES: Array<{ expect: string; cell: Cell; centring: keyof typeof CENTRING }> = [
  { expect: 'cP', cell: { a: 4.1, b: 4.1, c: 4.1, alpha: 90, beta: 90, gamma: 90 }, centring: 'P' },
  { expect: 'cI', cell: { a: 5.3, b: 5.3, c: 5.3, alpha: 90, beta: 90, gamma: 90 }, centring: 'I' },
  { expect: 'cF', cell: { a: 5.9, b: 5.9, c: 5.9, alpha: 90, beta: 90, gamma: 90 }, centring: 'F' },
  { expect: 'tP', cell: { a: 4.6, b: 4.6, c: 2.96, alpha: 90, beta: 90, gamma: 90 }, centring: 'P' },
  { expect: 'tI', cell: { a: 3.79, b: 3.79, c: 9.51, alpha: 90, beta: 90, gamma: 90 }, centring: 'I' },
  { expect: 'oP', cell: { a: 9.184, b: 5.447, c: 5.145, alpha: 90, beta: 90, gamma: 90 }, centring: 'P' },
  { expect: 'oC', cell: { a: 5.1, b: 9.6, c: 7.3, alpha: 90, beta: 90, gamma: 90 }, centring: 'C' },
  { expect: 'oI', cell: { a: 4.2, b: 6.1, c: 8.7, alpha: 90, beta: 90, gamma: 90 }, centring: 'I' },
  { expect: 'oF', cell: { a: 5.2, b: 7.9, c: 9.6, alpha: 90, beta: 90, gamma: 90 }, centring: 'F' },
  { expect: 'hP', cell: { a: 3.25, b: 3.25, c: 5.21, alpha: 90, beta: 90, gamma: 120 }, centring: 'P' },
  { expect: 'hR', cell: { a: 4.99, b: 4.99, c: 17.06, alpha: 90, beta: 90, gamma: 120 }, centring: 'R' },
  { expect: 'mP', cell: { a: 7.3, b: 5.54, c: 9.69, alpha: 90, beta: 95.9, gamma: 90 }, centring: 'P' },
  { expect: 'mC', cell: { a: 12.214, b: 3.0371, c: 5.7981, alpha: 90, beta: 103.83, gamma: 90 }, centring: 'C' },
  { expect: 'aP', cell: { a: 5.56, b: 8.51, c: 12.69, alpha: 95.9, beta: 92.4, gamma: 98.1 }, centring: 'P' },
];

/** A random unimodular integer matrix (a product of shears), to hand the lattice over in an unreduced setting. */
function unimodular(r: () => number): Mat3 {
  let m: Mat3 = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  for (let k = 0; k < 3; k++) {
    const i = Math.floor(r() * 3);
    const j = (i + 1 + Math.floor(r() * 2)) % 3;
    const s: Mat3 = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
    s[i][j] = r() < 0.5 ? -1 : 1;
    m = matMul(m, s);
  }
  return m;
}

describe('Bravais-lattice search (against cctbx lattice_symmetry)', () => {
  const r = rng(7);
  const inputs = CASES.map((c) => {
    // Distort the metric slightly (what a refined cell looks like): ±0.05 % in lengths, ±0.03° in angles.
    const jitter = (v: number, s: number): number => v + (2 * r() - 1) * s;
    const cell = { a: jitter(c.cell.a, c.cell.a * 5e-4), b: jitter(c.cell.b, c.cell.b * 5e-4), c: jitter(c.cell.c, c.cell.c * 5e-4), alpha: jitter(c.cell.alpha, 0.03), beta: jitter(c.cell.beta, 0.03), gamma: jitter(c.cell.gamma, 0.03) };
    const primitive = matMul(matMul(directMatrix(cell), CENTRING[c.centring]), unimodular(r));
    expect(Math.abs(det3(primitive))).toBeGreaterThan(1);
    return { ...c, primitive };
  });
  const cellsIn = inputs.map((x) => {
    const p = cellOfBasis(x.primitive);
    return [p.a, p.b, p.c, p.alpha, p.beta, p.gamma];
  });
  const py = spawnSync(PYTHON, [join(REPO_ROOT, 'tests', 'integration', 'python', 'bravais_ref.py'), '2'], { input: JSON.stringify(cellsIn), encoding: 'utf8' });
  const ref = py.status === 0 ? (JSON.parse(py.stdout) as Array<{ settings: Array<{ bravais: string; delta: number }> }>) : null;

  it('cctbx is installed (apt-get install -y python3-cctbx; .ci/run does)', () => {
    expect(py.status, py.stderr).toBe(0);
  });

  inputs.forEach((x, k) => {
    it(`${x.expect}: the same lattice types as cctbx, the highest first, comparable misfits`, () => {
      expect(ref).not.toBeNull();
      const ours = bravaisCandidates(niggliReduce(x.primitive).basis, 2);
      // cctbx names a centred monoclinic lattice mC or mI by setting: the same lattice type.
      const theirs = ref![k].settings.map((s) => ({ ...s, bravais: s.bravais === 'mI' ? 'mC' : s.bravais }));
      expect(new Set(ours.map((c) => c.bravais))).toEqual(new Set(theirs.map((s) => s.bravais)));
      expect(ours[0].bravais).toBe(x.expect);
      expect(theirs[0].bravais).toBe(x.expect);
      for (const c of ours) {
        const best = Math.min(...theirs.filter((s) => s.bravais === c.bravais).map((s) => s.delta));
        // Our misfit is the largest constraint deviation, cctbx's δ the largest two-fold misalignment: same scale.
        expect(Math.abs(c.misfitDeg - best), `${c.bravais}: ours ${c.misfitDeg}, cctbx ${best}`).toBeLessThan(0.06);
      }
      // The conventional cell of the top candidate is the distorted input's conventional cell.
      const top = ours[0].constrainedCell;
      const sorted = (c: Cell): number[] => [c.a, c.b, c.c].sort((p, q) => p - q);
      sorted(top).forEach((v, i) => expect(v / sorted(x.cell)[i]).toBeCloseTo(1, 2));
    });
  });
});
