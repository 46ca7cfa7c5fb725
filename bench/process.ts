// `npm run bench -- process`: our processing (peaks + axis + cell + refinement) beside DIALS 3.12 on the same SMV
// frames of synthetic presets — cell error of each against the truth (after reduction to the truth's setting, by
// cctbx), indexed fraction and wall time — and cell finding alone on 100 000 simulated peaks.
// DIALS runs the commands of smv/README.txt (true beam centre, axis and gain are in the export) plus dials.refine;
// without DIALS the DIALS half is skipped with a message.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline } from '../src-main/cli/run';
import { bMatrix, type Cell } from '../src-main/crystallography/lattice';
import { rotationAboutAxis, matMul } from '../src-main/crystallography/math3';
import { indexPoints } from '../src-main/processing/indexing';
import { synthesize } from '../src-main/synth/index';
import type { PresetName, SizeName } from '../src-main/synth/presets';
import { dialsInstalled, dialsStep, PYTHON, readmeCommands } from './dials-common';

const ROOT = process.cwd();

interface Truth {
  particles: Array<{ id: number; cell: Cell; spaceGroup: string }>;
}

const cellArr = (c: Cell): number[] => [c.a, c.b, c.c, c.alpha, c.beta, c.gamma];

/** Errors of each cell against each particle (the best particle), by cctbx. */
function cellError(truth: Truth, cell: number[]): { lengthPct: number; angleDeg: number } | null {
  let best: { lengthPct: number; angleDeg: number } | null = null;
  for (const p of truth.particles) {
    const py = spawnSync(PYTHON, [join(ROOT, 'tests', 'integration', 'python', 'cell_error.py')], {
      input: JSON.stringify({ truth: cellArr(p.cell), spaceGroup: p.spaceGroup, cells: [cell] }),
      encoding: 'utf8',
    });
    if (py.status !== 0) throw new Error(`cell_error.py: ${py.stderr}`);
    const [e] = JSON.parse(py.stdout) as Array<{ lengthPct: number; angleDeg: number } | null>;
    if (e && (!best || Math.max(e.lengthPct / 0.15, e.angleDeg / 0.1) < Math.max(best.lengthPct / 0.15, best.angleDeg / 0.1))) best = e;
  }
  return best;
}

const DIALS_CELL = `
import json, sys
from dxtbx.model.experiment_list import ExperimentListFactory
from dials.array_family import flex
d = sys.argv[1]
el = ExperimentListFactory.from_json_file(d + "/refined.expt", check_format=False)
uc = el[0].crystal.get_unit_cell().niggli_cell()
strong = flex.reflection_table.from_file(d + "/strong.refl")
ref = flex.reflection_table.from_file(d + "/indexed.refl")
print(json.dumps({"cell": list(uc.parameters()), "indexed": int((ref["id"] >= 0).count(True)), "strong": len(strong)}))
`;

function runDials(smv: string): { cell: number[]; indexedFraction: number; wallS: number } | { error: string } {
  const commands = [...readmeCommands(smv), 'dials.refine indexed.expt indexed.refl detector.fix=distance'];
  let wallS = 0;
  for (const cmd of commands) {
    const step = dialsStep(smv, cmd);
    if (step.error) return { error: step.error };
    wallS += step.wallS;
  }
  const py = spawnSync(PYTHON, ['-c', DIALS_CELL, smv], { encoding: 'utf8' });
  if (py.status !== 0) return { error: py.stderr.trim().split('\n').slice(-1)[0] ?? 'dials result unreadable' };
  const d = JSON.parse(py.stdout) as { cell: number[]; indexed: number; strong: number };
  return { cell: d.cell, indexedFraction: d.indexed / d.strong, wallS };
}

/** Cell finding alone: 100 000 points of a lattice seen through a 60° wedge, with 10 % random points. */
function cellFinding100k(): Record<string, unknown> {
  const cell: Cell = { a: 12.214, b: 3.0371, c: 5.7981, alpha: 90, beta: 103.83, gamma: 90 };
  const ub = matMul(rotationAboutAxis([0.2, 0.7, -0.4], 1.1), bMatrix(cell));
  let seed = 12345;
  const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const n = 100_000;
  const q = new Float64Array(3 * n);
  let k = 0;
  while (k < n) {
    const h = [Math.round((rand() - 0.5) * 16), Math.round((rand() - 0.5) * 60), Math.round((rand() - 0.5) * 30)];
    const g = [0, 1, 2].map((j) => ub[j][0] * h[0] + ub[j][1] * h[1] + ub[j][2] * h[2]);
    const len = Math.hypot(g[0], g[1], g[2]);
    if (!(len > 0.05 && len < 1.2)) continue;
    // A 60° wedge about x: keep directions whose angle about x lies within ±30° of the yz-plane's z.
    if (Math.abs(Math.atan2(g[1], g[2])) > Math.PI / 6 && Math.abs(Math.atan2(-g[1], -g[2])) > Math.PI / 6) continue;
    const noise = k % 10 === 0;
    for (let j = 0; j < 3; j++) q[3 * k + j] = noise ? (rand() - 0.5) * 2 : g[j] + (rand() - 0.5) * 0.002;
    k++;
  }
  const t0 = performance.now();
  const r = indexPoints(q);
  const wallS = (performance.now() - t0) / 1000;
  return { nPeaks: n, wallS, peaksPerS: Math.round(n / wallS), indexedFraction: r.indexedFraction, cell: r.cell };
}

export default async function (): Promise<Record<string, unknown>> {
  const dialsAvailable = dialsInstalled();
  const root = mkdtempSync(join(tmpdir(), 'tracked-bench-process-'));
  const cases: Array<{ preset: PresetName; size: SizeName }> = [
    { preset: 'brookite-agglomerate', size: 'medium' },
    { preset: 'monoclinic-pair', size: 'medium' },
    { preset: 'monoclinic-hard', size: 'small' },
  ];
  const rows: Array<Record<string, unknown>> = [];
  try {
    for (const c of cases) {
      const dir = join(root, c.preset);
      const sum = await synthesize({ preset: c.preset, size: c.size, outDir: join(dir, 'series'), seed: 1 });
      const truth = JSON.parse(readFileSync(join(dir, 'series', 'truth', 'truth.json'), 'utf8')) as Truth;
      const report = await runPipeline(join(dir, 'series', sum.manifest), { out: join(dir, 'run') });
      const L = report.lattice;
      const ours = {
        cellError: L?.reducedCell ? cellError(truth, cellArr(L.reducedCell)) : null,
        bravais: L?.bravais ?? null,
        indexedFraction: L?.indexedFraction ?? null,
        rmsdPx: L?.rmsdPx ?? null,
        wallS: report.timingsS.processing ?? null,
      };
      let dials: Record<string, unknown> = { skipped: 'DIALS is not installed (apt-get install -y dials)' };
      if (dialsAvailable) {
        const d = runDials(join(dir, 'run', report.files.smv[0] as string));
        dials = 'error' in d ? { error: d.error } : { cellError: cellError(truth, d.cell), indexedFraction: d.indexedFraction, wallS: d.wallS };
      }
      const oe = ours.cellError;
      const de = (dials as { cellError?: { lengthPct: number; angleDeg: number } | null }).cellError;
      rows.push({
        preset: c.preset,
        size: c.size,
        nTilts: sum.nTilts,
        ours,
        dials,
        moreAccurateThanDials: oe && de ? oe.lengthPct <= de.lengthPct && oe.angleDeg <= de.angleDeg : null,
        speedupVsDials: typeof dials.wallS === 'number' && ours.wallS ? Number(((dials.wallS as number) / ours.wallS).toFixed(2)) : null,
      });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { presets: rows, cellFinding100k: cellFinding100k() };
}
