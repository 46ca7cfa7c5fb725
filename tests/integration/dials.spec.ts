// The first outside program that consumes trackED's exports: DIALS (Debian's dials, 3.12). For the brookite,
// monoclinic and hard presets, `tracked run` makes smv/; the DIALS commands its README.txt prints are run there as
// printed (no hand-set gain or beam centre); dials.import must build one sequence of every tilt, and
// dials.find_spots + dials.index must find the true cell (its reduced primitive cell within 1 % and 1°, compared
// with cctbx in ./python/dials_result.py). The frames' beam centres, from report.json, must sit on the true beam.
// On the hard preset, dials.refine follows and trackED's own cell must be at least as close to the truth as DIALS'.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, type RunReport } from '../../src-main/cli/run';
import type { PresetName } from '../../src-main/synth/presets';
import { synthesize } from '../../src-main/synth/index';
import { REPO_ROOT } from '../helpers/paths';
import { particleCellError, readTruth } from '../helpers/cell-error';
import type { UnitCell } from '../../src-shared/processing';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const root = mkdtempSync(join(tmpdir(), 'tracked-dials-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await h5wasm.ready;
  if (!existsSync('/usr/bin/dials.import')) throw new Error('DIALS is missing: apt-get install -y dials python3-cctbx (.ci/run does)');
});

interface DialsResult {
  sequences: number;
  images: number[];
  strongSpots: number | null;
  cell: number[] | null;
  indexed: number | null;
  matches: Array<{ id: number; spaceGroup: string; reduced: number[]; match: boolean }>;
}

/** The DIALS command lines of smv/README.txt, as printed. */
function readmeCommands(smv: string): string[] {
  return readFileSync(join(smv, 'README.txt'), 'utf8')
    .split('\n')
    .filter((l) => /^ {2}dials\.\w+ /.test(l))
    .map((l) => l.trim());
}

/** Probe column and row of the truth pixel nearest particle 1's centroid on tilt t (what a user would click). */
function targetOf(dir: string, t: number): string {
  const f = new h5wasm.File(join(dir, 'truth', 'masks.h5'), 'r');
  try {
    const ds = f.get('object_1') as InstanceType<typeof h5wasm.Dataset>;
    const [, ny, nx] = ds.shape as number[];
    const m = (ds.value as Uint8Array).subarray(t * ny! * nx!, (t + 1) * ny! * nx!);
    let sx = 0;
    let sy = 0;
    let c = 0;
    m.forEach((v, i) => {
      if (!v) return;
      sx += i % nx!;
      sy += Math.floor(i / nx!);
      c++;
    });
    let best = 0;
    let bd = Infinity;
    m.forEach((v, i) => {
      const d = ((i % nx!) - sx / c) ** 2 + (Math.floor(i / nx!) - sy / c) ** 2;
      if (v && d < bd) [best, bd] = [i, d];
    });
    return `${best % nx!},${Math.floor(best / nx!)}@${t}`;
  } finally {
    f.close();
  }
}

const CASES: Array<{ preset: PresetName; target: 'auto' | 'particle 1'; compare?: true }> = [
  { preset: 'brookite-agglomerate', target: 'auto' },
  { preset: 'monoclinic-pair', target: 'auto' },
  { preset: 'monoclinic-hard', target: 'particle 1', compare: true },
  { preset: 'monoclinic-hard-thick-film', target: 'particle 1' },
];

/** DIALS' refined reduced cell (dials.refine after the README's commands), as a trackED cell. */
function dialsRefinedCell(smv: string): UnitCell {
  const r = spawnSync('bash', ['-c', 'dials.refine indexed.expt indexed.refl detector.fix=distance'], { cwd: smv, encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.status, r.stdout.slice(-2000)).toBe(0);
  const py = spawnSync(PYTHON, ['-c', DIALS_REFINED_CELL, join(smv, 'refined.expt')], { encoding: 'utf8' });
  expect(py.status, py.stderr).toBe(0);
  const [a, b, c, alpha, beta, gamma] = JSON.parse(py.stdout) as number[];
  return { a: a!, b: b!, c: c!, alpha: alpha!, beta: beta!, gamma: gamma! };
}
const DIALS_REFINED_CELL = `
import json, sys
from dxtbx.model.experiment_list import ExperimentListFactory
el = ExperimentListFactory.from_json_file(sys.argv[1], check_format=False)
print(json.dumps(list(el[0].crystal.get_unit_cell().niggli_cell().parameters())))
`;

describe.each(CASES)('DIALS reads the smv/ export of $preset as one sweep and indexes the true cell', ({ preset, target, compare }) => {
  it('one sequence of every tilt; find_spots + index find the cell within 1 % and 1°; every frame on the true beam', async () => {
    const dir = join(root, preset);
    const sum = await synthesize({ preset, size: 'small', outDir: join(dir, 'series'), seed: 1 });
    const out = join(dir, 'run');
    const report: RunReport = await runPipeline(join(dir, 'series', sum.manifest), {
      out,
      target: target === 'auto' ? 'auto' : targetOf(join(dir, 'series'), Math.floor(sum.nTilts / 2)),
    });
    const smv = join(out, report.files.smv[0] as string);
    const commands = readmeCommands(smv);
    expect(commands.map((c) => c.split(' ')[0])).toEqual(['dials.import', 'dials.find_spots', 'dials.index']);
    for (const cmd of commands) {
      expect(cmd).not.toMatch(/gain|beam\.centre|slow_fast_beam_centre|fast_slow_beam_centre/);
      const r = spawnSync('bash', ['-c', cmd], { cwd: smv, encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(r.status, `${cmd}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).toBe(0);
    }
    const py = spawnSync(PYTHON, [join(REPO_ROOT, 'tests', 'integration', 'python', 'dials_result.py'), smv, join(dir, 'series', 'truth', 'truth.json')], { encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const d = JSON.parse(py.stdout) as DialsResult;
    expect(d.sequences).toBe(1);
    expect(d.images).toEqual([sum.nTilts]);
    expect(d.strongSpots).toBeGreaterThan(100);
    expect(d.cell, JSON.stringify(d)).not.toBeNull();
    expect(d.indexed!).toBeGreaterThan(0.5 * d.strongSpots!);
    // The target's own crystal: particle 1 for the hard presets; for the auto-picked one, any of the particles (they
    // share one structure in these presets).
    expect(d.matches.some((m) => m.match), JSON.stringify(d)).toBe(true);

    // One geometry: every frame's centre within a pixel of the true beam; the SMV headers all hold one centre.
    const truth = JSON.parse(readFileSync(join(dir, 'series', 'truth', 'truth.json'), 'utf8')) as { beamCentre: [number, number] | Array<[number, number]> };
    const beamAt = (t: number): [number, number] => (Array.isArray(truth.beamCentre[0]) ? (truth.beamCentre as Array<[number, number]>)[t]! : (truth.beamCentre as [number, number]));
    const bc = report.objects[0]!.beamCentre;
    expect(bc.perTilt.length).toBe(sum.nTilts);
    for (const [t, cx, cy] of bc.perTilt) {
      const [tx, ty] = beamAt(t);
      expect(Math.hypot(cx - tx, cy - ty), `tilt ${t}`).toBeLessThan(1);
    }
    expect(bc.smvCentrePx).not.toBeNull();

    // On the hard preset our cell is closer to the truth than DIALS' refined one, on the same frames (cctbx decides).
    if (compare) {
      const truth1 = readTruth(join(dir, 'series'));
      const ours = particleCellError(truth1, report.lattice!.reducedCell!);
      const theirs = particleCellError(truth1, dialsRefinedCell(smv));
      expect(ours.lengthPct, JSON.stringify({ ours, theirs })).toBeLessThanOrEqual(theirs.lengthPct);
      expect(ours.angleDeg, JSON.stringify({ ours, theirs })).toBeLessThanOrEqual(theirs.angleDeg);
    }
  }, 600_000);
});
