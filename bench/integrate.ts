// `npm run bench -- integrate`: our integration + scaling (`tracked run` with reflections) beside DIALS 3.12's on
// the same SMV frames, both HKLF 4 files measured against the generator's kinematic |F|² (truth/F2_<id>.json):
// R = Σ|I − k|F|²| / Σ|I| with the least-squares k, CC(I, |F|²), rows matched, fraction of negative intensities, and
// wall time. Cases: monoclinic-hard ('small': 121 tilts × 0.5°, particle 1 clicked at its centroid on tilt 60) and
// single-isolated at a fine size (121 tilts × 0.25°, 32 × 32 probes, 96 × 96 pixels).
// DIALS runs in the run's smv/: the commands of smv/README.txt (true beam centre, axis and gain are in the export),
// then dials.refine, dials.integrate, dials.symmetry (skipped if it fails), dials.scale (physical model; model=KB if
// that fails) and dials.export format=shelx (3.12 has no composition parameter: its .ins is a stub). Each step is
// timed; a failure is recorded and the case goes on. dials.unscaled: DIALS' integrated intensities (LP-corrected,
// before dials.scale) exported with intensity=sum and intensity=profile, outside the timing; on these sparse sets
// scaling raises DIALS' R, so rRatioBestDials and lowerRThanDials compare ours with the best of the three.
// rRatio = R(DIALS scaled) / R(ours). timeRatio = DIALS' wall time / our processing time (report.timingsS.processing:
// peaks, cell, refinement, integration, scaling, files; DIALS starts from the same extracted frames); ours.wallS is
// the whole run (virtual images, tracking, extraction, exports too).
// Reindexing to the truth, the same for both files (bench/python/hkl_truth.py): every integer matrix (entries −2…2)
// that maps the file's cell (its .ins CELL) onto the truth's within 3 % is tried and the one whose intensities
// correlate best with |F|² kept; for ours the reindexing by UB (q = UB·h against the truth's UB, as
// tests/integration/integrate.spec.ts does) is computed too and its R reported as ours.rViaUb, a check.
import h5wasm from 'h5wasm/node';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline } from '../src-main/cli/run';
import { inverse3, matMul, type Mat3 } from '../src-main/crystallography/math3';
import { synthesize } from '../src-main/synth/index';
import type { PresetName, SizeSpec } from '../src-main/synth/presets';
import { dialsInstalled, dialsStep, PYTHON, readmeCommands } from './dials-common';

interface Truth {
  particles: Array<{ id: number; cell: { a: number; b: number; c: number; alpha: number; beta: number; gamma: number }; UB: Mat3 }>;
}

interface Agreement {
  R: number | null;
  cc: number | null;
  n: number;
  nRows: number;
  negativeFraction: number | null;
  particle: number | null;
  reindex: Mat3 | null;
  viaUb?: { R: number | null; particle: number; maxNonInteger: number };
}

/** The file against the truth's |F|², by bench/python/hkl_truth.py; `ub`: the file's UB, for the check. */
function againstTruth(series: string, hkl: string, ins: string, ub?: Mat3): Agreement {
  const truth = JSON.parse(readFileSync(join(series, 'truth', 'truth.json'), 'utf8')) as Truth;
  const particles = truth.particles.map((p) => ({
    id: p.id,
    cell: [p.cell.a, p.cell.b, p.cell.c, p.cell.alpha, p.cell.beta, p.cell.gamma],
    UB: p.UB,
    f2: join(series, 'truth', `F2_${p.id}.json`),
  }));
  const py = spawnSync(PYTHON, [join(process.cwd(), 'bench', 'python', 'hkl_truth.py')], {
    input: JSON.stringify({ hkl, ins, truth: particles, ub: ub ?? null }),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (py.status !== 0) throw new Error(`hkl_truth.py: ${py.stderr}`);
  return JSON.parse(py.stdout) as Agreement;
}

/** The probe pixel of particle `id`'s mask nearest its centroid on tilt t, as `x,y@t` (where a user would click). */
async function clickOn(series: string, id: number, t: number): Promise<string> {
  await h5wasm.ready;
  const file = new h5wasm.File(join(series, 'truth', 'masks.h5'), 'r');
  try {
    const ds = file.get(`object_${id}`) as InstanceType<typeof h5wasm.Dataset>;
    const [, rows, cols] = ds.shape as [number, number, number];
    const mask = (ds.value as Uint8Array).subarray(t * rows * cols, (t + 1) * rows * cols);
    const pixels: Array<[number, number]> = [];
    for (let i = 0; i < mask.length; i++) if (mask[i]) pixels.push([i % cols, Math.floor(i / cols)]);
    const mean = [0, 1].map((k) => pixels.reduce((s, p) => s + p[k]!, 0) / pixels.length) as [number, number];
    const dist = (p: [number, number]): number => (p[0] - mean[0]) ** 2 + (p[1] - mean[1]) ** 2;
    const nearest = pixels.reduce((a, p) => (dist(p) < dist(a) ? p : a));
    return `${nearest[0]},${nearest[1]}@${t}`;
  } finally {
    file.close();
  }
}

interface DialsRun {
  wallS: number;
  steps: Record<string, number>;
  failed?: string;
  notes: string[];
  hkl?: string;
  /** dials.export of the integrated (or symmetrized) reflections before scaling, by intensity choice: the .hkl. */
  unscaled: Record<string, string>;
}

/** README commands, refine, integrate, symmetry, scale, export in `smv`; fallbacks as the header says. */
function runDials(smv: string): DialsRun {
  const run: DialsRun = { wallS: 0, steps: {}, notes: [], unscaled: {} };
  const step = (name: string, cmd: string): boolean => {
    const s = dialsStep(smv, cmd);
    run.steps[name] = Number(s.wallS.toFixed(2));
    run.wallS += s.wallS;
    if (s.error) run.notes.push(s.error);
    return !s.error;
  };
  const stop = (): DialsRun => ({ ...run, failed: run.notes[run.notes.length - 1] });
  for (const cmd of readmeCommands(smv)) if (!step(cmd.split(' ')[0]!, cmd)) return stop();
  const refined = step('dials.refine', 'dials.refine indexed.expt indexed.refl detector.fix=distance') ? 'refined' : 'indexed';
  if (!step('dials.integrate', `dials.integrate ${refined}.expt ${refined}.refl`)) return stop();
  const sym = step('dials.symmetry', 'dials.symmetry integrated.expt integrated.refl') ? 'symmetrized' : 'integrated';
  for (const choice of ['sum', 'profile']) {
    const files = `shelx.hklout=unscaled_${choice}.hkl shelx.ins=unscaled_${choice}.ins`;
    if (!dialsStep(smv, `dials.export ${sym}.expt ${sym}.refl format=shelx intensity=${choice} ${files}`).error) run.unscaled[choice] = join(smv, `unscaled_${choice}.hkl`);
  }
  if (!step('dials.scale', `dials.scale ${sym}.expt ${sym}.refl`) && !step('dials.scale model=KB', `dials.scale ${sym}.expt ${sym}.refl model=KB`)) return stop();
  if (!step('dials.export', 'dials.export scaled.expt scaled.refl format=shelx')) return stop();
  return { ...run, hkl: join(smv, 'dials.hkl') };
}

const FINE: SizeSpec = { scanShape: [32, 32], detectorShape: [96, 96], nTilts: 121, tiltStepDeg: 0.25 };
const CASES: Array<{ preset: PresetName; size: SizeSpec | 'small'; particle?: number; composition: string }> = [
  { preset: 'monoclinic-hard', size: 'small', particle: 1, composition: 'Ga8 O12' },
  { preset: 'single-isolated', size: FINE, composition: 'Ti8 O16' },
];

const round = (v: number | null | undefined, d = 4): number | null => (typeof v === 'number' ? Number(v.toFixed(d)) : null);
const spaceGroupOfIns = (ins: string): string | null => /^TITL .* in (\S+)/m.exec(readFileSync(ins, 'utf8'))?.[1] ?? null;

export default async function (): Promise<Record<string, unknown>> {
  const root = mkdtempSync(join(tmpdir(), 'tracked-bench-integrate-'));
  const rows: Array<Record<string, unknown>> = [];
  try {
    for (const c of CASES) {
      const series = join(root, c.preset, 'series');
      const out = join(root, c.preset, 'run');
      const sum = await synthesize({ preset: c.preset, size: c.size, outDir: series, seed: 1 });
      const target = c.particle ? await clickOn(series, c.particle, Math.floor(sum.nTilts / 2)) : undefined;
      const t0 = performance.now();
      const report = await runPipeline(join(series, sum.manifest), { out, ...(target ? { target } : {}), reflections: { composition: c.composition } });
      const wallS = (performance.now() - t0) / 1000;
      const processingS = report.timingsS.processing ?? null;
      let ours: Record<string, unknown> = { failed: `integration: ${report.integration?.status ?? 'not run'}`, wallS, processingS };
      let oursR: number | null = null;
      if (report.files.hkl && report.files.ins && report.lattice?.ub && report.integration?.setting) {
        // The files' indices are in the space group's standard setting: UB_files = UB · P⁻ᵀ.
        const p = report.integration.setting.p as Mat3;
        const ubFiles = matMul(report.lattice.ub as Mat3, inverse3([0, 1, 2].map((i) => [p[0][i], p[1][i], p[2][i]]) as Mat3));
        const a = againstTruth(series, join(out, report.files.hkl as string), join(out, report.files.ins as string), ubFiles);
        oursR = a.R;
        ours = {
          R: round(a.R),
          cc: round(a.cc),
          n: a.n,
          nRows: a.nRows,
          negativeFraction: round(a.negativeFraction),
          spaceGroup: report.integration.spaceGroup.hm,
          wallS: round(wallS, 2),
          processingS: round(processingS, 2),
          rViaUb: round(a.viaUb?.R),
        };
      }
      let dials: Record<string, unknown> = { skipped: 'DIALS is not installed (apt-get install -y dials)' };
      let dialsR: number | null = null;
      let bestDialsR: number | null = null;
      let dialsWallS: number | null = null;
      if (dialsInstalled()) {
        const smv = join(out, report.files.smv[0] as string);
        const d = runDials(smv);
        dialsWallS = d.wallS;
        dials = { wallS: round(d.wallS, 2), steps: d.steps, ...(d.failed ? { failed: d.failed } : {}), ...(d.notes.length && !d.failed ? { notes: d.notes } : {}) };
        const measure = (hkl: string): Agreement & { spaceGroup: string | null } => {
          const ins = hkl.replace(/\.hkl$/, '.ins');
          const a = againstTruth(series, hkl, ins);
          if (a.R !== null) bestDialsR = Math.min(bestDialsR ?? Infinity, a.R);
          return { ...a, spaceGroup: spaceGroupOfIns(ins) };
        };
        const brief = (a: Agreement): Record<string, unknown> => ({ R: round(a.R), cc: round(a.cc), n: a.n, nRows: a.nRows, negativeFraction: round(a.negativeFraction) });
        if (d.hkl && existsSync(d.hkl)) {
          const a = measure(d.hkl);
          dialsR = a.R;
          dials = { ...brief(a), spaceGroup: a.spaceGroup, ...dials };
        }
        dials.unscaled = Object.fromEntries(Object.entries(d.unscaled).map(([choice, hkl]) => [`intensity=${choice}`, brief(measure(hkl))]));
      }
      rows.push({
        preset: c.preset,
        nTilts: sum.nTilts,
        ...(target ? { target } : {}),
        ours,
        dials,
        rRatio: oursR && dialsR !== null ? round(dialsR / oursR, 3) : null,
        rRatioBestDials: oursR && bestDialsR !== null ? round(bestDialsR / oursR, 3) : null,
        timeRatio: processingS && dialsWallS !== null ? round(dialsWallS / processingS, 2) : null,
        lowerRThanDials: oursR !== null && bestDialsR !== null ? oursR < bestDialsR : null,
      });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { cases: rows };
}
