// Cell finding on a simulated cloud: a monoclinic lattice seen through a 60° wedge with 10 % random points. The
// reduced cell must come out, not a supercell: a periodicity's multiples score as well as it, and a supercell
// indexes as many points as its true cell.
import { describe, expect, it } from 'vitest';
import { bMatrix, type Cell } from '../../crystallography/lattice';
import { det3, matMul, rotationAboutAxis, inverse3, transpose } from '../../crystallography/math3';
import { indexPoints } from '../indexing';

function cloud(cell: Cell, n: number, seed: number): Float64Array {
  const ub = matMul(rotationAboutAxis([0.2, 0.7, -0.4], 1.1), bMatrix(cell));
  let s = seed;
  const rand = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const q = new Float64Array(3 * n);
  for (let k = 0; k < n; ) {
    const h = [Math.round((rand() - 0.5) * 16), Math.round((rand() - 0.5) * 16), Math.round((rand() - 0.5) * 16)];
    const g = [0, 1, 2].map((j) => ub[j]![0]! * h[0]! + ub[j]![1]! * h[1]! + ub[j]![2]! * h[2]!);
    const len = Math.hypot(g[0]!, g[1]!, g[2]!);
    if (!(len > 0.05 && len < 1.2)) continue;
    if (Math.abs(Math.atan2(g[1]!, g[2]!)) > Math.PI / 6 && Math.abs(Math.atan2(-g[1]!, -g[2]!)) > Math.PI / 6) continue;
    const noise = k % 10 === 0;
    for (let j = 0; j < 3; j++) q[3 * k + j] = noise ? (rand() - 0.5) * 2 : g[j]! + (rand() - 0.5) * 0.002;
    k++;
  }
  return q;
}

describe('indexPoints', () => {
  it.each([
    { name: 'β-Ga2O3 (3.04 Å short axis)', cell: { a: 12.214, b: 3.0371, c: 5.7981, alpha: 90, beta: 103.83, gamma: 90 }, volume: 208.8 },
    { name: 'triclinic', cell: { a: 6.1, b: 7.3, c: 8.9, alpha: 81, beta: 97, gamma: 104 }, volume: 378.3 },
  ])('finds the reduced cell of $name, not a supercell, and indexes the lattice points', ({ cell, volume }) => {
    const r = indexPoints(cloud(cell, 10_000, 12345));
    const v = Math.abs(det3(inverse3(transpose(r.ub))));
    expect(Math.abs(v / volume - 1)).toBeLessThan(0.01);
    expect(r.indexedFraction).toBeGreaterThan(0.89);
    const lengths = [r.cell.a, r.cell.b, r.cell.c].sort((p, q) => p - q);
    expect(Math.abs(lengths[0]! / Math.min(cell.a, cell.b, cell.c) - 1)).toBeLessThan(0.005);
  });
});
