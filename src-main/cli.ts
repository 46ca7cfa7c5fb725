// The `tracked` command: the same services as the app, headless (ARCHITECTURE §6). Every command prints
// progress on a TTY, exits non-zero with one line on bad input, and writes nothing partial.
// Each command loads its implementation when it runs (import() below; the bundle is split per command), so
// `tracked --version`, `--help` and a small `info` pay only for what they use: no HDF5 library, ONNX runtime or
// worker pool at start-up.
import { Command, CommanderError } from 'commander';
import pkg from '../package.json';
import type { RunOptions } from './cli/run';
import { PRESET_NAMES } from './synth/presets';
import { InputError, ParameterError, TrackedError } from '../src-shared/errors';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliErrorMessage } from './cli/error-message';
import { validateCell, type Cell } from './crystallography/lattice';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The run command's integration and reflection-file options. */
function withReflectionOptions(cmd: Command): Command {
  return cmd
    .option('--space-group <symbol>', 'space group for the reflection files, e.g. P21/c, Pbca or 14 (default: ranked from the data)')
    .option('--composition <formula>', 'unit-cell contents for NAME.ins (SFAC/UNIT), e.g. "Ti8 O16"')
    .option('--no-integrate', 'stop after the lattice (no integration, no reflection files)')
    .option('--frame-scales', 'scaling: fit a smooth scale per frame (dose fading, changing illuminated volume)')
    .option('--b-factor', 'scaling: frame scales and a B that changes with the tilt')
    .option('--no-lorentz', 'integrate without the Lorentz factor (only to see what it does: the intensities are then wrong)')
    .option('--batches', "NAME.hkl: write each reflection's frame as its batch number");
}

interface ReflectionFlags {
  spaceGroup?: string;
  composition?: string;
  integrate: boolean;
  lorentz: boolean;
  bFactor?: boolean;
  frameScales?: boolean;
  batches?: boolean;
}

function reflectionOptions(o: ReflectionFlags): NonNullable<RunOptions['reflections']> {
  const { spaceGroup, composition, integrate, lorentz, bFactor, frameScales, batches } = o;
  return { integrate, ...(lorentz === false ? { lorentz } : {}), ...(spaceGroup ? { spaceGroup } : {}), ...(composition ? { composition } : {}), ...(bFactor ? { bFactor } : {}), ...(frameScales ? { frameScales } : {}), ...(batches ? { batches } : {}) };
}

/** --cell a,b,c,alpha,beta,gamma (Å, °), checked as a cell. */
function parseCell(v: string): Cell {
  const x = v.split(',').map((t) => Number(t.trim()));
  if (x.length !== 6 || x.some((t) => !Number.isFinite(t))) throw new ParameterError('--cell', `${v}: give six numbers a,b,c,alpha,beta,gamma (Å, degrees)`);
  const cell = { a: x[0]!, b: x[1]!, c: x[2]!, alpha: x[3]!, beta: x[4]!, gamma: x[5]! };
  validateCell(cell, '--cell');
  return cell;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tracked')
    .description('trackED: from a 4D-STEM tomography tilt series to a single-crystal structure')
    .version(pkg.version, '-V, --version', 'print the version')
    .showHelpAfterError('(run `tracked --help` for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  interface AngleFlags {
    start?: number;
    step?: number;
    angle?: number;
  }
  /** --start/--step (a folder of tilts) or --angle (one 4D file: its angle; the same first-tilt angle). */
  const seriesAngles = (o: AngleFlags): { startDeg?: number; stepDeg?: number } => {
    if (o.angle !== undefined && o.start !== undefined) throw new ParameterError('--angle', 'give --angle (one 4D file) or --start/--step (a folder), not both');
    const start = o.angle ?? o.start;
    return { ...(start !== undefined ? { startDeg: start } : {}), ...(o.step !== undefined ? { stepDeg: o.step } : {}) };
  };

  program
    .command('info')
    .description('print JSON: format, dataset path, scan and detector shapes, dtype, calibration, datasets')
    .argument('<path>', 'an HDF5 file, a .mib file, a series.json or a tilts.csv')
    .option('--angle <deg>', 'a single 4D file: its tilt angle (default 0)', parseNumber('--angle'))
    .action(infoCommand);

  program
    .command('virtual')
    .description('virtual images of every tilt (all detectors in one pass over the bytes) as HDF5 or multi-page TIFF')
    .argument('<series>', 'series.json, tilts.csv, a folder of tilts (with --start/--step) or one 4D/5D file')
    .option('-d, --detector <spec>', 'bf:R | adf:RIN,ROUT | mask:FILE(.npy) | com | variance | sum (repeatable)', collect, [])
    .requiredOption('-o, --out <file>', 'output .h5 (one float32 dataset [tilt, ry, rx] per output) or .tif (32-bit, one page per tilt)')
    .option('--dataset <path>', 'HDF5 dataset path, when the layout is not recognised')
    .option('--scan <NYxNX>', 'scan shape (rows x columns) for files that do not record it', parseShape)
    .option('--start <deg>', 'folder of tilts: angle of the first file', parseNumber('--start'))
    .option('--step <deg>', 'folder of tilts: angle step', parseNumber('--step'))
    .option('--angle <deg>', 'a single 4D file (a series of one tilt): its tilt angle (default 0)', parseNumber('--angle'))
    .action(async (series: string, o: { detector: string[]; out: string; dataset?: string; scan?: [number, number] } & AngleFlags) => {
      // The workers start while the command's code loads.
      void (await import('./cli/pass-start')).startPassWorkers(series).catch(() => undefined);
      printJson(
        await (await guarded(() => import('./cli/virtual'))).runVirtualCommand(series, {
          detector: o.detector,
          out: o.out,
          ...(o.dataset ? { dataset: o.dataset } : {}),
          ...(o.scan ? { scanShape: o.scan } : {}),
          ...seriesAngles(o),
        }),
      );
    });

  const run = program
    .command('run')
    .description('the whole pipeline, headless: virtual images, target, tracking, masks, extraction, exports, report.json')
    .argument('<series>', 'series.json, tilts.csv, a folder of tilts or one 4D/5D file')
    .requiredOption('-o, --out <dir>', 'output folder')
    .option('-t, --target <spec>', "'auto' (largest isolated crystal on the middle tilt), 'all' (every particle on the middle tilt, tracked together) or X,Y@TILT (probe column, row, 0-based tilt)", 'auto')
    .option('--tracker <name>', 'classical | sam2', 'classical')
    .option('--model <dir>', 'SAM2: folder with the encoder and decoder ONNX exports')
    .option('--project <dir>', "a project folder (NAME.tracked) the app saved: its enabled objects' curated masks are extracted instead of finding and tracking a target (the folder is only read)")
    .option('--bf <r>', 'bright-field disk radius, detector pixels', parseNumber('--bf'))
    .option('--adf <rin,rout>', 'annular dark-field radii, detector pixels', (v: string) => {
      const [a, b] = v.split(',').map(Number);
      if (!(a! >= 0) || !(b! > a!)) throw new ParameterError('--adf', `${v}: give RIN,ROUT with 0 ≤ RIN < ROUT`);
      return [a!, b!] as [number, number];
    })
    .option('--background', 'subtract the local support-film background (ring of probe positions around the mask)')
    .option('--exclude-flagged', "leave the tilts the tracker flagged out of extraction (report.json's excludedTilts lists them)")
    .option('--scan <NYxNX>', 'scan shape (rows x columns) for files that do not record it', parseShape)
    .option('--start <deg>', 'folder of tilts: angle of the first file', parseNumber('--start'))
    .option('--step <deg>', 'folder of tilts: angle step', parseNumber('--step'))
    .option('--angle <deg>', 'a single 4D file (a series of one tilt): its tilt angle (default 0)', parseNumber('--angle'))
    .option('--voltage <kV>', 'accelerating voltage, where the data do not record it', parseNumber('--voltage'))
    .option('--q-pixel <invA>', 'reciprocal-space size of a detector pixel (Å⁻¹), where the data do not record it', parseNumber('--q-pixel'))
    .option('--no-process', 'stop after extraction and exports (no peaks, no lattice)')
    .option('--cell <a,b,c,al,be,ga>', 'known cell (Å, °): only the orientation is found and refined', parseCell)
    .option('--axis <deg>', 'rotation axis angle (degrees from +x towards +y, direction included): not searched', parseNumber('--axis'))
    .option('--fix-axis', 'with --axis: do not refine it either')
    .option('--spot-radius <px>', 'peak integration radius, detector pixels (default: from the direct beam)', parseNumber('--spot-radius'))
    .option('--min-i-sigma <n>', 'peaks: minimum I/σ (default 5)', parseNumber('--min-i-sigma'))
    .option('--d-min <A>', 'peaks: high-resolution limit, Å', parseNumber('--d-min'))
    .option('--max-misfit <deg>', 'Bravais search: largest metric misfit, degrees (default 2)', parseNumber('--max-misfit'))
    .option('--per-frame <mode>', 'per-frame corrections: auto | none | beam-centre | tilt | both (default auto)')
    .option('--rocking-centres', 'fit the rocking-curve centres as well as the positions (default: positions only)');
  withReflectionOptions(run).action(
      async (
        series: string,
        o: {
          process: boolean;
          cell?: Cell;
          axis?: number;
          fixAxis?: boolean;
          spotRadius?: number;
          minISigma?: number;
          dMin?: number;
          maxMisfit?: number;
          perFrame?: string;
          rockingCentres?: boolean;
          out: string;
          target: string;
          tracker: string;
          model?: string;
          project?: string;
          bf?: number;
          adf?: [number, number];
          background?: boolean;
          excludeFlagged?: boolean;
          scan?: [number, number];
          voltage?: number;
          qPixel?: number;
        } & AngleFlags &
          ReflectionFlags,
      ) => {
        if (o.tracker !== 'classical' && o.tracker !== 'sam2') throw new ParameterError('--tracker', `${o.tracker}: use classical or sam2`);
        const { start: _s, step: _p, angle: _a, scan, voltage, qPixel, cell, axis, fixAxis, spotRadius, minISigma, dMin, maxMisfit, perFrame, rockingCentres, spaceGroup: _g, composition: _c, integrate: _i, lorentz: _l, bFactor: _b, frameScales: _f, batches: _t, ...rest } = o;
        const modes = ['auto', 'none', 'beam-centre', 'tilt', 'both'] as const;
        if (perFrame !== undefined && !modes.includes(perFrame as (typeof modes)[number])) throw new ParameterError('--per-frame', `${perFrame}: use ${modes.join(', ')}`);
        if (fixAxis && axis === undefined) throw new ParameterError('--fix-axis', 'needs --axis');
        const peaks = { ...(spotRadius !== undefined ? { radiusPx: spotRadius } : {}), ...(minISigma !== undefined ? { minIOverSigma: minISigma } : {}), ...(dMin !== undefined ? { dMinA: dMin } : {}) };
        const lattice = { ...(maxMisfit !== undefined ? { maxMisfitDeg: maxMisfit } : {}), ...(perFrame ? { perFrame: perFrame as (typeof modes)[number] } : {}), ...(fixAxis ? { fixAxis: true } : {}), ...(rockingCentres ? { rockingCentres: true } : {}) };
        const processing = { ...(cell ? { cell } : {}), ...(axis !== undefined ? { axisDeg: axis } : {}), peaks, lattice, reflections: reflectionOptions(o) };
        const calibration = { ...(voltage !== undefined ? { voltageKV: voltage } : {}), ...(qPixel !== undefined ? { reciprocalPixelInvA: qPixel } : {}) };
        const seriesOptions = { ...seriesAngles(o), ...(scan ? { scanShape: scan } : {}), ...(Object.keys(calibration).length ? { calibration } : {}) };
        printJson(await (await guarded(() => import('./cli/run'))).runPipeline(series, { ...rest, ...processing, tracker: o.tracker, series: seriesOptions }));
      },
    );

  addSynthCommands(program);
  addBatchCommands(program);

  return program;
}

/** `tracked synth` and `tracked demo`. */
function addSynthCommands(program: Command): void {
  program
    .command('synth')
    .description('synthetic 4D-STEM tilt series with ground truth (kinematic diffraction from a real structure)')
    .requiredOption('-p, --preset <name>', PRESET_NAMES.join(' | '))
    .requiredOption('-o, --out <dir>', 'output folder (series.json, tilt_NNN.h5, truth/)')
    .option('-s, --size <size>', 'small | medium | large | fine (81 × 0.5° tilts)', 'small')
    .option('--seed <n>', 'random seed (same seed → identical files)', parseNumber('--seed'))
    .option('--mib', 'also write Quantum Detectors .mib files')
    .action(async (o: { preset: string; out: string; size: string; seed?: number; mib?: boolean }) => {
      printJson(await (await import('./cli/synth')).runSynthCommand(o));
    });

  program
    .command('demo')
    .description('make the small synthetic agglomerate and run every pipeline stage; prints a summary')
    .option('-o, --out <dir>', 'output folder (default: a folder in the system temp directory)')
    .option('--seed <n>', 'random seed', parseNumber('--seed'))
    .action(async (o: { out?: string; seed?: number }) => {
      process.stdout.write(`${await (await guarded(() => import('./cli/synth'))).runDemo(o)}\n`);
    });
}

/** `tracked batch` and the two commands its tasks and merge jobs run. */
function addBatchCommands(program: Command): void {
  program
    .command('batch')
    .description('many series and particles from a plan (JSON or CSV): on this machine, or as a SLURM array job with dependent merge jobs; writes batch.json and report.html')
    .argument('<plan>', 'plan.json or plan.csv (README "Running on a cluster")')
    .requiredOption('-o, --out <dir>', 'output folder: tasks/<id>/, merge/<group>/, batch.json, report.html')
    .option('-j, --jobs <n>', 'tasks at a time on this machine (default: from the cores and free memory)', parseNumber('--jobs'))
    .option('--per-disk <n>', 'tasks at a time reading series from one disk (default 1)', parseNumber('--per-disk'))
    .option('--no-merge', 'do not run the merge groups')
    .option('--slurm', 'submit an array job (one task per series and target) and a merge job per group to SLURM, then follow them')
    .option('--partition <p>', 'SLURM partition')
    .option('--time <t>', 'SLURM time limit per task (e.g. 2:00:00)')
    .option('--mem <m>', 'SLURM memory per task (e.g. 8G)')
    .option('--cpus <n>', 'SLURM CPUs per task', parseNumber('--cpus'))
    .option('--dry-run', 'with --slurm: print the sbatch scripts and commands; submit and write nothing')
    .action(async (plan: string, o: { out: string; jobs?: number; perDisk?: number; merge: boolean; slurm?: boolean; partition?: string; time?: string; mem?: string; cpus?: number; dryRun?: boolean }) => {
      if (o.dryRun && !o.slurm) throw new ParameterError('--dry-run', 'only with --slurm (it prints the sbatch scripts)');
      const entry = process.argv[1] ? resolve(process.argv[1]) : fileURLToPath(import.meta.url);
      const r = await (await guarded(() => import('./cli/batch'))).runBatch(plan, { ...o, entry });
      if ('dryRun' in r) {
        for (const s of r.scripts) process.stdout.write(`# ${s.file}\n${s.text}\n`);
        process.stdout.write(`# then:\n${r.commands.join('\n')}\n`);
        return;
      }
      printJson({ out: r.out, mode: r.mode, counts: r.counts, seconds: r.seconds, tasks: r.tasks.map((t) => ({ id: t.id, state: t.state, ...(t.error ? { error: t.error } : {}) })), merges: r.merges.map((m) => ({ group: m.group, state: m.state, ...(m.reason ? { reason: m.reason } : {}) })), report: join(r.out, 'report.html') });
      if (r.counts.failed || r.merges.some((m) => m.state !== 'ok')) throw new TrackedError(`${r.counts.failed} of ${r.tasks.length} tasks failed${r.merges.some((m) => m.state !== 'ok') ? ', not every merge group was merged' : ''}: see ${join(r.out, 'report.html')}`);
    });
  program
    .command('batch-task')
    .description("one task of a batch (what a SLURM array element and the local runner run): writes tasks/<id>/ and its status.json")
    .argument('<resolved-plan>', 'OUT/batch-plan.json, written by tracked batch')
    .requiredOption('--index <i>', 'the task (0-based; $SLURM_ARRAY_TASK_ID)', parseNumber('--index'))
    .option('--attempt <n>', 'which try this is (status.json records it)', parseNumber('--attempt'), 1)
    .action(async (plan: string, o: { index: number; attempt: number }) => {
      const code = await (await guarded(() => import('./cli/batch'))).batchTask(plan, o.index, o.attempt);
      if (code) throw new TrackedError(`task ${o.index} failed: see its status.json`);
    });
  program
    .command('batch-merge')
    .description("a batch's merge group: the particles' reflections scaled together into merge/<group>/ (what the SLURM merge job runs)")
    .argument('<resolved-plan>', 'OUT/batch-plan.json, written by tracked batch')
    .requiredOption('--group <name>', 'the merge group')
    .action(async (plan: string, o: { group: string }) => {
      const r = (await guarded(() => import('./cli/batch'))).batchMerge(plan, o.group);
      printJson({ group: r.group, spaceGroup: r.spaceGroup, cell: r.cell, particles: r.particles.map((p) => ({ name: p.name, accepted: p.accepted, scale: p.scale, cc: p.cc, r: p.r })), files: r.files });
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
function parseNumber(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new ParameterError(flag, `${v} is not a number`);
    return n;
  };
}
function parseShape(v: string): [number, number] {
  const m = /^(\d+)[x×,](\d+)$/.exec(v.trim());
  if (!m) throw new ParameterError('--scan', `${v}: give rows x columns, e.g. 64x64`);
  return [Number(m[1]), Number(m[2])];
}

/** `tracked info`: the JSON description; a file with no readable 4D-STEM data is still listed, then fails. */
async function infoCommand(path: string, o: { angle?: number }): Promise<void> {
  const info = await (await guarded(() => import('./io/inspect'))).inspect(path, o.angle !== undefined ? { startDeg: o.angle } : {});
  printJson(info);
  if (info.problem) throw new InputError(info.path, `holds no 4D-STEM data trackED can read: ${info.problem.replace(`${info.path}: `, '')}`);
}

/**
 * A command's module, loaded together with the HDF5 guard it needs (stages/hdf5-guard: every HDF5 open waits for
 * the file's structure to be walked in a worker under a deadline), which is then installed.
 */
async function guarded<T>(load: () => Promise<T>): Promise<T> {
  const [{ installHdf5Guard }, mod] = await Promise.all([import('./stages/hdf5-guard'), load()]);
  installHdf5Guard();
  return mod;
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage). Never throws. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage mistakes were already printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    const e = error instanceof Error ? error : new Error(String(error));
    process.stderr.write(`tracked: ${cliErrorMessage(e)}\n`);
    if (process.env['TRACKED_DEBUG'] && e.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
