// How far a found cell is from the generator's truth, decided by cctbx (tests/integration/python/cell_error.py): both
// reduced to the same setting, then the largest relative length error and the largest angle error.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UnitCell } from '../../src-shared/processing';
import { REPO_ROOT } from './paths';

// Debian's python3 carries cctbx; a pyenv python3 earlier on the PATH would not.
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const cellArr = (c: UnitCell): number[] => [c.a, c.b, c.c, c.alpha, c.beta, c.gamma];

/** Per cell: its error against the truth, or null where cctbx finds no matching setting. */
export function cellErrors(truth: UnitCell, spaceGroup: string, cells: UnitCell[]): Array<{ lengthPct: number; angleDeg: number } | null> {
  const py = spawnSync(PYTHON, [join(REPO_ROOT, 'tests', 'integration', 'python', 'cell_error.py')], {
    input: JSON.stringify({ truth: cellArr(truth), spaceGroup, cells: cells.map(cellArr) }),
    encoding: 'utf8',
  });
  if (py.status !== 0) throw new Error(`cell_error.py failed: ${py.stderr}`);
  return JSON.parse(py.stdout) as Array<{ lengthPct: number; angleDeg: number } | null>;
}

/** truth/truth.json as the generator writes it (the fields the processing tests read). */
export interface TruthJson {
  wavelengthA: number;
  reciprocalPixelInvA: number;
  rotationAxisDeg: number;
  beamCentre: [number, number];
  particles: Array<{ id: number; cell: UnitCell; UB: [[number, number, number], [number, number, number], [number, number, number]]; spaceGroup: string }>;
}

/** The generator's truth of a synthetic series folder. */
export function readTruth(seriesDir: string): TruthJson {
  return JSON.parse(readFileSync(join(seriesDir, 'truth', 'truth.json'), 'utf8')) as TruthJson;
}

/** A found cell's error against one particle of the truth (the first by default); throws when none matches. */
export function particleCellError(truth: TruthJson, cell: UnitCell, particle = 0): { lengthPct: number; angleDeg: number } {
  const p = truth.particles[particle]!;
  const [err] = cellErrors(p.cell, p.spaceGroup, [cell]);
  if (!err) throw new Error(`no setting of ${JSON.stringify(cell)} matches the truth ${JSON.stringify(p.cell)}`);
  return err;
}
