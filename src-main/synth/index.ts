// trackED's synthetic 4D-STEM tomography generator: one call writes a tilt series (series.json + one EMD 1.0 HDF5
// file per tilt, optionally .mib files) and its ground truth (truth/) into outDir. The fixed part of the series is
// ./setup.ts, one tilt's rendering ./render-tilt.ts, the truth files ./write-truth.ts.
import { mkdirSync, rmdirSync, statSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledError, InputError, ParameterError, throwIfAborted } from '../../src-shared/errors';
import type { Vec3 } from '../crystallography/math3';
import { removeQuietly } from '../io/atomic';
import { EmdCubeWriter } from '../io/write-emd';
import { MibWriter } from '../io/write-mib';
import { PRESET_NAMES, dataBytes, type PresetName, type SizeName, type SizeSpec } from './presets';
import { Rng, mixSeed } from './prng';
import { emptyTruth, renderRows, renderScratch, sceneAtTilt, type SynthTruth } from './render-tilt';
import { makeSetup, resolveSize, seededUuid, type SynthSetup } from './setup';
import { writeManifests, writeTruthFiles } from './write-truth';

export { PRESET_NAMES, SIZE_NAMES, PRESETS, SIZES, tiltAnglesDeg, type PresetName, type SizeName, type SizeSpec } from './presets';

export interface SynthOptions {
  preset: PresetName;
  /** A named size, or an explicit one (tests use tiny ones). */
  size: SizeName | SizeSpec;
  outDir: string;
  /** 32-bit unsigned integer; default 1. */
  seed?: number;
  /** Also write tilt_NNN.mib (+ .hdr) per tilt and series-mib.json. */
  mib?: boolean;
  /** false: write the rounded expected counts instead of Poisson samples (for tests of geometry). Default true. */
  noise?: boolean;
}

export interface SynthContext {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, stage: string) => void;
}

export interface SynthSummary {
  preset: PresetName;
  size: string;
  seed: number;
  nTilts: number;
  scanShape: [number, number];
  detectorShape: [number, number];
  dtype: 'uint16';
  /** Bytes of all files written. */
  bytesWritten: number;
  /** Files written, relative to outDir. */
  files: string[];
  /** The manifest to open (relative to outDir). */
  manifest: string;
  particles: { id: number; structure: string; shape: string; semiAxesNm: Vec3 }[];
  seconds: number;
  probePositionsPerSecond: number;
}

/** Scan rows per block: as many as fit in ~32 MB of uint16 frames (at least one). */
const BLOCK_BYTES = 32 * 1024 * 1024;

function checkOptions(opts: SynthOptions): number {
  if (!opts || typeof opts !== 'object') throw new ParameterError('options', 'missing');
  if (!(PRESET_NAMES as readonly string[]).includes(opts.preset)) {
    throw new ParameterError('preset', `unknown preset '${String(opts.preset)}' (use ${PRESET_NAMES.join(', ')})`);
  }
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new ParameterError('seed', `must be an integer 0…4294967295 (got ${seed})`);
  if (typeof opts.outDir !== 'string' || opts.outDir.trim() === '') throw new ParameterError('outDir', 'must be a folder path');
  resolveSize(opts.size);
  return seed;
}

/** Creates outDir/truth and checks the disk has room for the series. */
function prepareOutput(outDir: string, needed: number): void {
  try {
    mkdirSync(join(outDir, 'truth'), { recursive: true });
  } catch (e) {
    throw new InputError(outDir, `cannot create the output folder: ${(e as Error).message}`);
  }
  try {
    const st = statfsSync(outDir);
    const free = Number(st.bavail) * Number(st.bsize);
    if (free < needed * 1.02 + 64e6) throw new InputError(outDir, `needs ${(needed / 1e9).toFixed(1)} GB, only ${(free / 1e9).toFixed(1)} GB free`);
  } catch (e) {
    if (e instanceof InputError) throw e; // statfs unsupported: go on
  }
}

/** Writes tilt ti's file(s), rendering the scan a block of rows at a time. Returns the tilt file's name. */
async function writeTilt(s: SynthSetup, truth: SynthTruth, ti: number, opts: SynthOptions, ctx: SynthContext, writers: { emd: EmdCubeWriter | null; mib: MibWriter | null }, onBlock: () => void): Promise<string> {
  const { ny, nx, nqy, nqx, preset } = s;
  const scene = sceneAtTilt(s, truth, ti);
  const file = `tilt_${String(ti).padStart(3, '0')}.h5`;
  const emd = await EmdCubeWriter.create({
    path: join(opts.outDir, file),
    scanShape: [ny, nx],
    detectorShape: [nqy, nqx],
    dtype: 'uint16',
    realPixelNm: s.realPixelNm,
    reciprocalPixelInvA: s.detector.pixelInvA,
    uuid: seededUuid(mixSeed(s.seed, 5000 + ti)),
    acquisition: {
      voltage_kV: preset.voltageKV,
      wavelength_A: s.wavelengthA,
      tilt_angle_deg: s.anglesDeg[ti]!,
      rotation_axis_deg: preset.rotationAxisDeg,
      convergence_semiangle_mrad: preset.convergenceMrad,
      dwell_time_s: preset.dwellS,
      electrons_per_probe: s.electronsPerProbe,
      synthetic: 'trackED synth',
    },
  });
  writers.emd = emd;
  if (opts.mib) {
    const start = new Date(Date.UTC(2024, 0, 15, 9, 0, 0) + (s.seed % 100000) * 1000);
    writers.mib = new MibWriter({
      path: join(opts.outDir, file.replace(/\.h5$/, '.mib')),
      detectorShape: [nqy, nqx],
      dtype: 'uint16',
      scanShape: [ny, nx],
      exposureS: preset.dwellS,
      start: new Date(start.getTime() + ti * 600_000),
    });
  }
  const rowsPerBlock = Math.max(1, Math.min(ny, Math.floor(BLOCK_BYTES / (nx * nqy * nqx * 2))));
  const rng = new Rng(mixSeed(s.seed, 1000 + ti));
  const block = emd.allocateRows(rowsPerBlock) as Uint16Array;
  const scratch = renderScratch(s);
  for (let r0 = 0; r0 < ny; r0 += rowsPerBlock) {
    throwIfAborted(ctx.signal);
    const nRows = Math.min(rowsPerBlock, ny - r0);
    renderRows(s, scene, truth, r0, nRows, block, rng, scratch);
    const data = block.subarray(0, nRows * nx * nqy * nqx);
    emd.writeRows(data);
    writers.mib?.writeFrames(data);
    onBlock();
    // Let progress events and cancellation through between blocks.
    await new Promise<void>((res) => setImmediate(res));
  }
  emd.close();
  writers.emd = null;
  writers.mib?.close();
  writers.mib = null;
  return file;
}

/**
 * Generates a synthetic series with ground truth into opts.outDir: series.json + one EMD 1.0 HDF5 file per tilt
 * (optionally .mib files), and truth/. Memory stays bounded by one block of rows whatever the size; every file
 * appears only when complete, and a cancelled or failed run removes what it had written.
 */
export async function synthesize(opts: SynthOptions, ctx: SynthContext = {}): Promise<SynthSummary> {
  const t0 = performance.now();
  const seed = checkOptions(opts);
  throwIfAborted(ctx.signal);
  const s = makeSetup(opts.preset, opts.size, seed, opts.noise !== false);
  prepareOutput(opts.outDir, dataBytes(s.size) * (opts.mib ? 2 : 1));
  const truth = emptyTruth(s);
  const blocksPerTilt = Math.ceil(s.ny / Math.max(1, Math.min(s.ny, Math.floor(BLOCK_BYTES / (s.nx * s.nqy * s.nqx * 2)))));
  const totalSteps = s.nTilts * blocksPerTilt + 1;
  let step = 0;
  const created: string[] = [];
  const writers: { emd: EmdCubeWriter | null; mib: MibWriter | null } = { emd: null, mib: null };
  const tiltFiles: string[] = [];
  try {
    for (let ti = 0; ti < s.nTilts; ti++) {
      throwIfAborted(ctx.signal);
      const file = await writeTilt(s, truth, ti, opts, ctx, writers, () => ctx.onProgress?.(++step, totalSteps, `tilt ${ti + 1}/${s.nTilts}`));
      tiltFiles.push(file);
      created.push(file);
      if (opts.mib) created.push(file.replace(/\.h5$/, '.mib'), file.replace(/\.h5$/, '.hdr'));
    }
    throwIfAborted(ctx.signal);
    await writeTruthFiles(s, truth, opts.outDir, created);
    writeManifests(s, tiltFiles, opts.outDir, opts.mib === true, created);
    ctx.onProgress?.(++step, totalSteps, 'truth');
  } catch (e) {
    writers.emd?.abort();
    writers.mib?.abort();
    for (const f of created) removeQuietly(join(opts.outDir, f));
    try {
      rmdirSync(join(opts.outDir, 'truth')); // only if this run left it empty
    } catch {
      /* not empty or not ours */
    }
    if (ctx.signal?.aborted && !(e instanceof CancelledError)) throw new CancelledError();
    throw e;
  }
  const bytesWritten = created.reduce((a, f) => a + statSync(join(opts.outDir, f)).size, 0);
  const seconds = (performance.now() - t0) / 1000;
  return {
    preset: s.preset.name as PresetName,
    size: s.sizeName,
    seed,
    nTilts: s.nTilts,
    scanShape: [s.ny, s.nx],
    detectorShape: [s.nqy, s.nqx],
    dtype: 'uint16',
    bytesWritten,
    files: created,
    manifest: 'series.json',
    particles: s.particles.map((p) => ({ id: p.id, structure: p.structureFile, shape: p.shape.kind, semiAxesNm: p.shape.semiAxesNm })),
    seconds,
    probePositionsPerSecond: (s.nTilts * s.ny * s.nx) / seconds,
  };
}
