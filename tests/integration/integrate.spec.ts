// Integration, scaling and the reflection files against the generator's truth: `tracked run` on synthetic series with
// fine tilt steps, given only the frames and the calibration. Reflections whose rocking curve was sampled on ≥ 2 frames
// must agree with the kinematic |F|² (R with one scale), their deviations in units of σ must spread near 1, and the
// same data without the Lorentz factor must fail the bar. The files must read back in cctbx (HKLF 4, .ins) and gemmi
// (.cif, .cif_pets), and a kinematic fit of the true structure (scale and overall B only) to the .hkl must give
// R1(F) ≤ 0.20.
import h5wasm from 'h5wasm/node';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, type RunReport } from '../../src-main/cli/run';
import { inverse3, matMul, type Mat3 } from '../../src-main/crystallography/math3';
import { mergedGroupFiles, mergeParticles, particleFromHklf } from '../../src-main/processing/merge-particles';
import type { PresetName, SizeSpec } from '../../src-main/synth/presets';
import { synthesize } from '../../src-main/synth/index';
import { PYTHON, type TruthJson } from '../helpers/cell-error';
import { REPO_ROOT } from '../helpers/paths';

const root = mkdtempSync(join(tmpdir(), 'tracked-integrate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await h5wasm.ready;
});

/** Integer M with h_truth = M·h_ours (our UB against the truth's, allowing the mirrored axis direction). */
function reindexToTruth(ub: Mat3, truthUb: Mat3): Mat3 {
  let best: { err: number; m: Mat3 } | null = null;
  for (const d of [
    [1, 1, 1],
    [1, 1, -1],
    [-1, -1, 1],
    [-1, -1, -1],
  ]) {
    const dub = ub.map((row, i) => row.map((v) => v * d[i])) as Mat3;
    const m = matMul(inverse3(truthUb), dub);
    const err = Math.max(...m.flat().map((v) => Math.abs(v - Math.round(v))));
    if (!best || err < best.err) best = { err, m: m.map((row) => row.map(Math.round)) as Mat3 };
  }
  expect(best!.err).toBeLessThan(0.05);
  return best!.m;
}

function truthF2(dir: string, id: number): Map<string, number> {
  const rows = JSON.parse(readFileSync(join(dir, 'truth', `F2_${id}.json`), 'utf8')) as number[][];
  return new Map(rows.map((r) => [`${r[0]},${r[1]},${r[2]}`, r[3]]));
}

/**
 * R = Σ|I − k F²| / Σ|I| with the least-squares k, and the spread of z = (I − k F²)/σ: 1.4826 × its median absolute
 * deviation (the SD for normal z, not pulled by the few reflections a dynamical-free model still gets wrong).
 */
function agreement(rows: Array<{ I: number; s: number; f2: number }>): { r: number; zSpread: number; n: number } {
  const k = rows.reduce((a, x) => a + x.I * x.f2, 0) / rows.reduce((a, x) => a + x.f2 * x.f2, 0);
  const r = rows.reduce((a, x) => a + Math.abs(x.I - k * x.f2), 0) / rows.reduce((a, x) => a + Math.abs(x.I), 0);
  const z = rows.map((x) => (x.I - k * x.f2) / x.s);
  const median = (v: number[]): number => {
    const t = [...v].sort((x, y) => x - y);
    return t.length % 2 ? t[(t.length - 1) / 2]! : (t[t.length / 2 - 1]! + t[t.length / 2]!) / 2;
  };
  const mz = median(z);
  return { r, zSpread: 1.4826 * median(z.map((x) => Math.abs(x - mz))), n: rows.length };
}

/** The .hkl rows (scaled, unmerged, as written) whose reflection the truth lists, against its |F|². */
function hklAgainstTruth(path: string, f2: Map<string, number>, m: Mat3): ReturnType<typeof agreement> {
  const rows: Array<{ I: number; s: number; f2: number }> = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const h = [0, 4, 8].map((o) => Number(line.slice(o, o + 4)));
    if (line.length < 28 || (!h[0] && !h[1] && !h[2])) continue;
    const ht = [0, 1, 2].map((i) => m[i][0] * h[0] + m[i][1] * h[1] + m[i][2] * h[2]);
    const v = f2.get(ht.join(',')) ?? f2.get(ht.map((x) => -x).join(','));
    if (v !== undefined) rows.push({ I: Number(line.slice(12, 20)), s: Number(line.slice(20, 28)), f2: v });
  }
  return agreement(rows);
}

function python(script: string, input: unknown): Record<string, unknown> {
  const py = spawnSync(PYTHON, [join(REPO_ROOT, 'tests', 'integration', 'python', script)], { input: JSON.stringify(input), encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`${script} failed: ${py.stderr}`);
  return JSON.parse(py.stdout) as Record<string, unknown>;
}

/** Fine steps, as 4D-STEM tomography records them. */
const FINE = (stepDeg: number, scan: number, nTilts = 121): SizeSpec => ({ scanShape: [scan, scan], detectorShape: [96, 96], nTilts, tiltStepDeg: stepDeg });

const CASES: Array<{ preset: PresetName; size: SizeSpec | 'small'; target?: string; maxR: number; structure: string; composition: string }> = [
  { preset: 'single-isolated', size: FINE(0.25, 32), maxR: 0.15, structure: 'brookite_TiO2.cif', composition: 'Ti8 O16' },
  // The agglomerate's auto-picked particle, tracked through five touching rods (0.5° steps over 40°).
  { preset: 'brookite-agglomerate', size: FINE(0.5, 48, 81), maxR: 0.15, structure: 'brookite_TiO2.cif', composition: 'Ti8 O16' },
  { preset: 'monoclinic-hard', size: 'small', target: '21,13@60', maxR: 0.2, structure: 'beta_Ga2O3.cif', composition: 'Ga8 O12' },
];

describe.each(CASES)('integration of $preset against the kinematic truth', ({ preset, size, target, maxR, structure, composition }) => {
  const dir = join(root, preset);
  let report: RunReport;
  let truth: TruthJson;
  let m: Mat3;
  let particle: number;

  beforeAll(async () => {
    await synthesize({ preset, size, outDir: join(dir, 'series') });
    report = await runPipeline(join(dir, 'series', 'series.json'), { out: join(dir, 'run'), ...(target ? { target } : {}), reflections: { composition } });
    truth = JSON.parse(readFileSync(join(dir, 'series', 'truth', 'truth.json'), 'utf8')) as TruthJson;
    const ub = report.lattice!.ub as Mat3;
    // The target's own crystal: the particle whose UB reindexes ours to integers.
    const fits = truth.particles.map((p) => {
      const mm = matMul(inverse3(p.UB as Mat3), ub);
      return Math.max(...mm.flat().map((v) => Math.abs(v - Math.round(v))));
    });
    particle = truth.particles[fits.indexOf(Math.min(...fits))]!.id;
    // The files are written in the space group's standard setting: UB_files = UB · P⁻ᵀ.
    const p = report.integration!.setting!.p as Mat3;
    const ubFiles = matMul(ub, inverse3([0, 1, 2].map((i) => [p[0][i], p[1][i], p[2][i]]) as Mat3));
    m = reindexToTruth(ubFiles, truth.particles.find((q) => q.id === particle)!.UB as Mat3);
  }, 600_000);

  it('writes NAME.hkl, .ins, .cif and .cif_pets and report.json integration', () => {
    expect(report.integration?.status).toBe('integrated');
    for (const k of ['hkl', 'ins', 'cif', 'cifPets']) expect(report.files[k], k).toBeTruthy();
    expect(report.integration!.nUnique).toBeGreaterThan(40);
    expect(report.integration!.ccHalf).toBeGreaterThan(0.8);
    // The data's space group, in its standard setting, is the generator's.
    expect(report.integration!.spaceGroup.hm.replace(/ /g, '')).toBe(truth.particles.find((q) => q.id === particle)!.spaceGroup.replace(/ /g, ''));
  });

  it(`agrees with |F|² on reflections sampled on ≥ 2 frames (R ≤ ${maxR}, z spread near 1), and fails without Lorentz`, async () => {
    const a = hklAgainstTruth(join(dir, 'run', report.files.hkl as string), truthF2(join(dir, 'series'), particle), m);
    expect(a.n).toBeGreaterThan(50);
    expect(a.r).toBeLessThanOrEqual(maxR);
    expect(a.zSpread).toBeGreaterThan(0.5);
    expect(a.zSpread).toBeLessThan(2);
    // The same frames without the Lorentz factor: the bar is missed.
    const plain = await runPipeline(join(dir, 'series', 'series.json'), { out: join(dir, 'run-no-lorentz'), ...(target ? { target } : {}), reflections: { lorentz: false } });
    const b = hklAgainstTruth(join(dir, 'run-no-lorentz', plain.files.hkl as string), truthF2(join(dir, 'series'), particle), m);
    expect(b.r).toBeGreaterThan(maxR);
    expect(b.r).toBeGreaterThan(2 * a.r);
  }, 300_000);


  it('reads back in cctbx and gemmi, and the true structure fits the .hkl with R1(F) ≤ 0.20', () => {
    const run = join(dir, 'run');
    const r1 = python('kinematic_r1.py', { hkl: join(run, report.files.hkl as string), ins: join(run, report.files.ins as string), structure: join(REPO_ROOT, 'resources', 'structures', structure), reindex: m });
    expect(r1.r1 as number).toBeLessThanOrEqual(0.2);
    const py = spawnSync(
      PYTHON,
      [
        '-c',
        `import gemmi, sys, json
out = {}
for p in sys.argv[1:]:
    doc = gemmi.cif.read_file(p)
    b = doc.sole_block()
    out[p.rsplit('.', 1)[1]] = {'refln': len(b.find_loop('_refln_index_h')), 'zone': len(b.find_loop('_diffrn_zone_axis_id')), 'merged': len(b.find_loop('_refln_F_squared_meas')) if b.find_loop('_refln_F_squared_meas') else 0}
print(json.dumps(out))`,
        join(run, report.files.cif as string),
        join(run, report.files.cifPets as string),
      ],
      { encoding: 'utf8' },
    );
    expect(py.status, py.stderr).toBe(0);
    const loops = JSON.parse(py.stdout) as Record<string, { refln: number; zone: number }>;
    expect(loops.cif_pets!.zone).toBeGreaterThan(50);
    expect(loops.cif_pets!.refln).toBeGreaterThan(100);
    expect(loops.cif!.refln).toBeGreaterThan(50);
  });
});

/** Probe column and row nearest particle `id`'s centroid on tilt t of the truth masks (what a user would click). */
function targetOf(dir: string, id: number, t: number): string {
  const f = new h5wasm.File(join(dir, 'truth', 'masks.h5'), 'r');
  try {
    const ds = f.get(`object_${id}`) as InstanceType<typeof h5wasm.Dataset>;
    const [, ny, nx] = ds.shape as number[];
    const m = (ds.value as Uint8Array).subarray(t * ny! * nx!, (t + 1) * ny! * nx!);
    const on: number[] = [];
    m.forEach((v, i) => v && on.push(i));
    const cx = on.reduce((a, i) => a + (i % nx!), 0) / on.length;
    const cy = on.reduce((a, i) => a + Math.floor(i / nx!), 0) / on.length;
    const best = on.reduce((b, i) => (((i % nx!) - cx) ** 2 + (Math.floor(i / nx!) - cy) ** 2 < ((b % nx!) - cx) ** 2 + (Math.floor(b / nx!) - cy) ** 2 ? i : b));
    return `${best % nx!},${Math.floor(best / nx!)}@${t}`;
  } finally {
    f.close();
  }
}

describe('the two touching particles of monoclinic-hard merged into one data set', () => {
  // The series of the monoclinic-hard case above (describe blocks run in order); particle 1 was tracked there.
  const dir = join(root, 'monoclinic-hard');

  it('tracks particle 2 as well, and merges both with a scale, agreement and more unique reflections than either', async () => {
    const runs = [
      { name: 'particle 1', out: join(dir, 'run') },
      { name: 'particle 2', out: join(dir, 'run-2') },
    ];
    await runPipeline(join(dir, 'series', 'series.json'), { out: runs[1]!.out, target: targetOf(join(dir, 'series'), 2, 60), reflections: { composition: 'Ga8 O12' } });
    const particles = runs.map((r) => {
      const rep = JSON.parse(readFileSync(join(r.out, 'report.json'), 'utf8')) as RunReport;
      return particleFromHklf(r.name, readFileSync(join(r.out, rep.files.hkl as string), 'utf8'), rep.integration!.cell!, rep.integration!.spaceGroup.number);
    });
    const m = mergeParticles(particles);
    expect(m.particles.every((p) => p.accepted)).toBe(true);
    const other = m.particles.find((p) => p.name !== m.referenceName)!;
    expect(other.cc!).toBeGreaterThan(0.8);
    expect(other.nCommon).toBeGreaterThan(10);
    // More unique reflections than either particle alone (completeness compares ranges that differ per particle).
    const alone = particles.map((q) => mergeParticles([q]).statistics.overall.nUnique);
    expect(m.statistics.overall.nUnique).toBeGreaterThan(Math.max(...alone));
    const files = mergedGroupFiles(m, { name: 'hard-pair', wavelengthA: 0.0197, cellEsd: [0, 0, 0, 0, 0, 0], composition: [{ element: 'Ga', count: 8 }, { element: 'O', count: 12 }] });
    // The merged file still fits the true structure.
    const hklPath = join(dir, 'merged.hkl');
    const insPath = join(dir, 'merged.ins');
    writeFileSync(hklPath, files.hkl);
    writeFileSync(insPath, files.ins!);
    const truth = JSON.parse(readFileSync(join(dir, 'series', 'truth', 'truth.json'), 'utf8')) as TruthJson;
    const rep1 = JSON.parse(readFileSync(join(dir, 'run', 'report.json'), 'utf8')) as RunReport;
    const refRun = m.referenceName === 'particle 1' ? rep1 : (JSON.parse(readFileSync(join(dir, 'run-2', 'report.json'), 'utf8')) as RunReport);
    const p = refRun.integration!.setting!.p as Mat3;
    const ubFiles = matMul(refRun.lattice!.ub as Mat3, inverse3([0, 1, 2].map((i) => [p[0][i], p[1][i], p[2][i]]) as Mat3));
    const fits = truth.particles.map((q) => Math.max(...matMul(inverse3(q.UB as Mat3), ubFiles).flat().map((v) => Math.abs(v - Math.round(v)))));
    const id = truth.particles[fits.indexOf(Math.min(...fits))]!.id;
    const r1 = python('kinematic_r1.py', { hkl: hklPath, ins: insPath, structure: join(REPO_ROOT, 'resources', 'structures', 'beta_Ga2O3.cif'), reindex: reindexToTruth(ubFiles, truth.particles.find((q) => q.id === id)!.UB as Mat3) });
    expect(r1.r1 as number).toBeLessThanOrEqual(0.2);
  }, 300_000);
});
