// Virtual images for a tilt series: every requested detector for every tilt in one pass over the bytes, spread
// over the worker pool.
//
// - Sources with a `direct` layout (contiguous HDF5, uncompressed chunks laid out frame by frame, MIB): their probe
//   positions are cut into row blocks; each worker opens the file read-only itself and streams its block with fs
//   reads into reused buffers, so the bytes never cross the main thread (virtual-tasks.ts).
// - Other sources: the main thread reads blocks with readFrames and transfers them to the workers, with at most
//   pool.size + 1 blocks in flight.
// Memory stays bounded: a few MB of buffers per worker plus the outputs (images and one mean/max pattern per tilt).
//
// Detectors without their own centre (disk, annulus, com) are centred on the tilt's beam centre: ctx.beamCentre
// when given, else a fit on the mean of a few frames sampled across the scan (a quick pre-pass, so the main pass
// stays single). After the pass, the centre is fitted again on the full mean pattern and returned as
// `beamCentreFit`, so the UI can offer it (ctx.beamCentreFit = false skips that fit).
//
// Pipelining: tilts are queued in order as soon as their centre is known; the pre-pass samples run a few tilts
// ahead, so the next tilts' units are queued long before the workers need them. Beam-centre fits (~2 ms) run on
// this thread (see fitFull below for why not in the pool). ctx.onTrace gives a per-unit timeline for profiling.

import { setMaxListeners } from 'node:events';
import { CancelledError, InputError, ParameterError, throwIfAborted } from '../../../src-shared/errors';
import type { FourDSource } from '../../io/types';
import { fitBeamCentre, type BeamCentreFit } from '../../kernels/beam-centre';
import {
  accumulateFrames,
  compileDetectors,
  createAccumulator,
  maxPattern,
  meanPattern,
  needsBeamCentre,
  type CompiledDetectors,
  type DetectorSpec,
  type EdgeMode,
  type KernelChoice,
  type OutputInfo,
  type PatternOptions,
} from '../../kernels/virtual-detectors';
import { sharedPool, type WorkerPool } from '../../workers/pool';
import { type VirtualPartial, type VirtualTaskTrace } from './unit';

import { readModeFromEnv, type ReadMode } from '../../io/read-mode';
import { type PixelDType, BYTES_PER_PIXEL } from '../../../src-shared/pixels';

export type { DetectorSpec, OutputInfo } from '../../kernels/virtual-detectors';

export type VirtualStage = 'beam centre' | 'virtual images';

export interface VirtualContext {
  signal?: AbortSignal;
  /** Called at most every `progressIntervalMs` (and once at the end of each stage). Bytes are pixel bytes. */
  onProgress?(doneBytes: number, totalBytes: number, stage: VirtualStage): void;
  /** Default: the process-wide shared pool. */
  pool?: WorkerPool;
  /** Beam centre [cx, cy] for all tilts, or one per tilt; skips the sampling pre-pass. */
  beamCentre?: readonly [number, number] | ReadonlyArray<readonly [number, number]>;
  /** Disk/annulus edges (default 'fractional'). */
  edge?: EdgeMode;
  /** Bytes per read in the workers (default 1 MiB) and per readFrames block of other sources (default 4 MiB). */
  blockBytes?: number;
  /**
   * How the workers read direct sources with the wasm kernel (default env TRACKED_VIRTUAL_READS, else 'auto':
   * synchronous while reads come from the page cache, pipelined from the first that does not). See virtual-tasks.ts.
   */
  reads?: ReadMode;
  /**
   * Target bytes per row block (unit) of a direct source. Default, guided: (bytes of this and the later direct
   * tilts) / (2 × pool size), within 16–256 MiB: whole files first, smaller units towards the end.
   */
  unitBytes?: number;
  /** Default 100 ms. */
  progressIntervalMs?: number;
  /**
   * Inner loops: 'auto' (default: WebAssembly SIMD for uint8/uint16/uint32/float32, the JS kernel otherwise),
   * 'js' to force the JS reference kernel, 'wasm' to require the SIMD one (ParameterError where it cannot run).
   * Env TRACKED_VIRTUAL_KERNEL sets the default.
   */
  kernel?: KernelChoice;
  /** Accumulate the max diffraction pattern (default true; false leaves `maxPattern` all zeros). */
  maxPattern?: boolean;
  /**
   * Fit the beam centre on each tilt's full mean pattern (default true: `beamCentreFit`, which the app's mean-pattern
   * view shows). false skips those fits (~2 ms per tilt) for callers that never read them: `beamCentreFit` is then
   * all null, and `beamCentre` is null for tilts where no detector needed a centre. Nothing else changes.
   */
  beamCentreFit?: boolean;
  /** Profiling: called with a timeline of each phase (epoch ms); asks the workers for their per-block timings. */
  onTrace?(event: VirtualTraceEvent): void;
}

/** One timed phase of computeVirtualImages (see `onTrace`); times are epoch milliseconds. */
export type VirtualTraceEvent =
  | { kind: 'unit'; tilt: number; start: number; count: number; queued: number; merged: number; task: VirtualTaskTrace | null }
  | { kind: 'centre'; tilt: number; sampleStart: number; sampleEnd: number; fitEnd: number }
  | { kind: 'finalFit'; tilt: number; start: number; end: number }
  | { kind: 'run'; start: number; end: number };

export interface VirtualResult {
  /** What each image is: images[t][k] was made by outputs[k] (com gives two outputs, X and Y). */
  outputs: OutputInfo[];
  /** [tilt][output] → Float32Array of ny*nx, index ry * nx + rx. */
  images: Float32Array[][];
  /** [tilt] → mean diffraction pattern, nqy*nqx. */
  meanPattern: Float32Array[];
  /** [tilt] → max diffraction pattern, nqy*nqx (zeros when ctx.maxPattern is false). */
  maxPattern: Float32Array[];
  /** [tilt] → the centre the centre-less detectors used ([cx, cy]); when none needed one, the full-mean fit. */
  beamCentre: Array<[number, number] | null>;
  /** [tilt] → beam-centre fit on the full mean pattern (null when no beam was found). */
  beamCentreFit: Array<BeamCentreFit | null>;
  /** Problems that did not stop the job (e.g. no beam found: detectors centred on the detector instead). */
  warnings: string[];
  /** Bytes read from files (MIB frame headers included). */
  bytesRead: number;
  seconds: number;
}

/** Frames averaged for the pre-pass beam-centre fit, in CENTRE_RUNS runs of consecutive frames spread evenly over the scan. */
const CENTRE_SAMPLES = 16;
const CENTRE_RUNS = 4;
/** Tilts whose beam centre is sampled and fitted ahead of the tilt being queued. */
const CENTRE_LOOKAHEAD = 4;
/**
 * Whether the workers can stream a source's frames from its file themselves: a direct layout with evenly spaced
 * frames. Chunked files whose chunks are not evenly spaced (`frameOffsets`) go through readFrames instead.
 */
function streamable(s: FourDSource): s is FourDSource & { direct: NonNullable<FourDSource['direct']> } {
  return s.direct !== undefined && s.direct.frameOffsets === undefined;
}

/** readFrames block of a source without a direct layout (read here, transferred to a worker). */
const DEFAULT_BLOCK_BYTES = 4 << 20;
/**
 * fs read size in the workers for direct sources. Small enough that a block read into the kernel's memory is
 * still in the core's cache when the kernel sums it (the read is a memcpy from the page cache): 1 MiB ran
 * 1.3–1.5× faster than 4 MiB warm and no slower cold (the kernel's read-ahead keeps the stream sequential);
 * 16 MiB was 40 % slower.
 */
const DEFAULT_DIRECT_BLOCK_BYTES = 1 << 20;
const DTYPES = new Set<PixelDType>(['uint8', 'uint16', 'uint32', 'int8', 'int16', 'int32', 'float32', 'float64']);

interface TiltPlan {
  source: FourDSource;
  ny: number;
  nx: number;
  npix: number;
  frameBytes: number;
  /** Set once the tilt's centre is known. */
  compiled: CompiledDetectors | null;
  centre: [number, number] | null;
  images: Float32Array[];
  patternSum: Float64Array;
  patternMax: Float64Array;
  frames: number;
}

function checkSource(s: FourDSource, t: number): void {
  const bad = (what: string): never => {
    throw new InputError(s.path, `${what} (tilt ${t})`);
  };
  const [ny, nx] = s.scanShape;
  const [nqy, nqx] = s.detectorShape;
  for (const v of [ny, nx, nqy, nqx]) if (!Number.isInteger(v) || v < 1) bad(`bad shape: scan [${ny}, ${nx}], detector [${nqy}, ${nqx}]`);
  if (!DTYPES.has(s.dtype)) bad(`pixel type '${s.dtype}' is not supported`);
  if (ny * nx > 0x7fffffff) bad(`${ny * nx} probe positions are more than this tool handles`);
}

/**
 * Sum of CENTRE_SAMPLES frames spread over the scan (fitted for the beam centre by the caller): CENTRE_RUNS runs of
 * consecutive probe positions, evenly spaced. On a cold cache these are random reads while the workers stream other
 * files: four reads of four frames disturb the streams less than sixteen single frames, and the reads are issued
 * together so their seeks overlap.
 */
async function sampleCentre(s: FourDSource, signal: AbortSignal | undefined): Promise<{ sum: Float64Array; bytes: number }> {
  const [ny, nx] = s.scanShape;
  const [nqy, nqx] = s.detectorShape;
  const n = ny * nx;
  const runs = Math.min(CENTRE_RUNS, n);
  const perRun = Math.max(1, Math.min(Math.floor(CENTRE_SAMPLES / runs), Math.floor(n / runs)));
  throwIfAborted(signal);
  const parts = await Promise.all(Array.from({ length: runs }, (_, i) => {
    const start = Math.min(n - perRun, Math.floor(((i + 0.5) * n) / runs - perRun / 2));
    return s.readFrames(Math.max(0, start), perRun, signal);
  }));
  // Summed by the pass's own kernel (SIMD for the common types, exact for integers): a JS loop over 16 frames cost
  // ~3 ms of this (main) thread per tilt, time the workers then lacked a core for.
  const compiled = compileDetectors([{ kind: 'sum' }], { detectorShape: [nqy, nqx] });
  const acc = createAccumulator(compiled, runs * perRun, { mean: true, max: false });
  let bytes = 0;
  parts.forEach((data, i) => {
    bytes += data.byteLength;
    accumulateFrames(compiled, acc, { data, count: perRun, position: i * perRun }, signal);
  });
  return { sum: acc.patternSum!, bytes };
}

function kernelFromEnv(): KernelChoice | undefined {
  const v = process.env.TRACKED_VIRTUAL_KERNEL;
  if (v === undefined || v === '') return undefined;
  if (v === 'auto' || v === 'js' || v === 'wasm') return v;
  throw new ParameterError('TRACKED_VIRTUAL_KERNEL', `must be auto, js or wasm, got '${v}'`);
}

function givenCentre(ctx: VirtualContext, t: number, nTilts: number): [number, number] | null {
  const bc = ctx.beamCentre;
  if (!bc) return null;
  if (typeof bc[0] === 'number') return [bc[0], (bc as readonly [number, number])[1]];
  const list = bc as ReadonlyArray<readonly [number, number]>;
  if (list.length !== nTilts) throw new ParameterError('beamCentre', `gives ${list.length} centres for ${nTilts} tilts`);
  return [list[t][0], list[t][1]];
}

/** Computes every detector for every tilt. Rejects with InputError, ParameterError or CancelledError. */
export async function computeVirtualImages(
  sources: FourDSource[] | FourDSource,
  detectors: DetectorSpec[],
  ctx: VirtualContext = {},
): Promise<VirtualResult> {
  const t0 = performance.now();
  const clock = (): number => performance.timeOrigin + performance.now();
  const onTrace = ctx.onTrace;
  const tStart = onTrace ? clock() : 0;
  const list = Array.isArray(sources) ? sources : [sources];
  if (list.length === 0) throw new ParameterError('sources', 'give at least one source');
  list.forEach(checkSource);
  throwIfAborted(ctx.signal);
  const pool = ctx.pool ?? sharedPool();
  const blockBytes = Math.max(1, ctx.blockBytes ?? DEFAULT_BLOCK_BYTES);
  const directBlockBytes = Math.max(1, ctx.blockBytes ?? DEFAULT_DIRECT_BLOCK_BYTES);
  const interval = ctx.progressIntervalMs ?? 100;
  const warnings: string[] = [];
  const patterns: PatternOptions = { mean: true, max: ctx.maxPattern !== false };
  const kernel = ctx.kernel ?? kernelFromEnv();
  const reads = ctx.reads ?? readModeFromEnv() ?? 'auto';
  const needCentre = detectors.some(needsBeamCentre);
  let bytesRead = 0;

  // Validate the specs once, before any reading (a bad radius must not wait for a pre-pass).
  compileDetectors(detectors, { detectorShape: list[0].detectorShape, beamCentre: [0, 0], edge: ctx.edge });

  // ── Plans and work units. Units depend only on shapes, so they are cut before any centre is known.
  const plans: TiltPlan[] = list.map((s) => {
    const [ny, nx] = s.scanShape;
    const [nqy, nqx] = s.detectorShape;
    const npix = nqy * nqx;
    return {
      source: s,
      ny,
      nx,
      npix,
      frameBytes: npix * BYTES_PER_PIXEL[s.dtype],
      compiled: null,
      centre: null,
      images: [],
      patternSum: new Float64Array(npix),
      patternMax: new Float64Array(npix).fill(-Infinity),
      frames: 0,
    };
  });
  const totalBytes = plans.reduce((a, p) => a + p.ny * p.nx * p.frameBytes, 0);
  // Units, guided: as big as the work still to come allows (a whole file while much remains: one long sequential
  // stream per worker, each worker on its own file, one task set-up, a fresh kernel memory to fault in and a
  // dispatch per unit), then smaller towards the end so every worker finishes at about the same time. Measured on
  // 7 × 134 MB MIB, 2 workers: whole-file units ran 15–25 % faster than 2 units per file, warm and cold.
  // ctx.unitBytes fixes the target instead.
  const guidedTarget = (remaining: number): number => Math.min(256 << 20, Math.max(16 << 20, remaining / (pool.size * 2)));
  interface Unit { plan: TiltPlan; start: number; count: number; slot: number }
  const unitsOf = new Map<TiltPlan, Unit[]>();
  let nUnits = 0;
  let remaining = plans.reduce((a, p) => a + (streamable(p.source) ? p.ny * p.nx * p.frameBytes : 0), 0);
  for (const p of plans) {
    const units: Unit[] = [];
    if (streamable(p.source)) {
      const bytes = p.ny * p.nx * p.frameBytes;
      const unitTarget = ctx.unitBytes ?? guidedTarget(remaining);
      remaining -= bytes;
      // Equal units of whole rows (not target-sized units plus a small remainder: each unit restarts read-ahead).
      // The 1e-9 keeps a tilt exactly one target long in one unit despite rounding.
      const n = Math.min(p.ny, Math.max(1, Math.ceil(bytes / unitTarget - 1e-9)));
      for (let k = 0; k < n; k++) {
        const r0 = Math.floor((k * p.ny) / n);
        const r1 = Math.floor(((k + 1) * p.ny) / n);
        units.push({ plan: p, start: r0 * p.nx, count: (r1 - r0) * p.nx, slot: nUnits++ });
      }
    }
    unitsOf.set(p, units);
  }

  // Shared progress: one frame counter per direct unit (workers store into it), plus frames merged here.
  const progress = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, nUnits)));
  let fallbackDoneBytes = 0;
  const reportProgress = (): void => {
    let done = fallbackDoneBytes;
    for (const units of unitsOf.values()) for (const u of units) done += Atomics.load(progress, u.slot) * u.plan.frameBytes;
    ctx.onProgress?.(done, totalBytes, 'virtual images');
  };
  const timer = ctx.onProgress ? setInterval(reportProgress, interval) : null;
  timer?.unref();

  // One controller stops everything: the caller's cancel, or the first failure.
  const stop = new AbortController();
  // Every queued unit listens on this signal (one listener each); that is by design, not a leak.
  setMaxListeners(0, stop.signal);
  const onCallerAbort = (): void => stop.abort();
  ctx.signal?.addEventListener('abort', onCallerAbort, { once: true });
  let firstError: unknown = null;
  const fail = (e: unknown): void => {
    firstError ??= e;
    stop.abort();
  };

  // Beam-centre fits run here, on this thread: a fit of a 256×256 pattern now takes ~2 ms (linear-time median,
  // pruned peak search), while a fit sent to the pool waited behind the queued units (FIFO: 50–250 ms measured,
  // so the next tilt's units were queued late and the workers ran dry) and ran cold (un-optimised) in a worker
  // that fits only a few patterns per pass. The pool dispatches a worker's next unit in its message handler,
  // before the merge (and a fit) here runs, so a fit delays no worker that just finished.
  const fitFull = ctx.beamCentreFit !== false;
  const finalFits: Array<BeamCentreFit | null> = [];
  const means: Float32Array[] = [];

  const merge = (t: number, start: number, part: VirtualPartial): void => {
    const p = plans[t];
    if (part.firstNonFinite >= 0) {
      const pos = start + part.firstNonFinite;
      throw new InputError(p.source.path, `the frame at probe position (ry ${Math.floor(pos / p.nx)}, rx ${pos % p.nx}) holds NaN or Inf values`, {
        position: pos,
      });
    }
    p.images.forEach((img, k) => img.set(part.outputs[k], start));
    if (part.patternSum) for (let q = 0; q < p.npix; q++) p.patternSum[q] += part.patternSum[q];
    if (part.patternMax) for (let q = 0; q < p.npix; q++) if (part.patternMax[q] > p.patternMax[q]) p.patternMax[q] = part.patternMax[q];
    p.frames += part.frames;
    bytesRead += part.bytesRead;
    if (p.frames === p.ny * p.nx) {
      // The tilt is complete: fit its full mean now, while the other tilts are still being summed.
      means[t] = meanPattern(p, p.npix);
      if (fitFull) {
        const fs = onTrace ? clock() : 0;
        finalFits[t] = fitBeamCentre(means[t], p.source.detectorShape);
        onTrace?.({ kind: 'finalFit', tilt: t, start: fs, end: clock() });
      }
    }
  };

  // Fallback sources: read here, sum there. A small window of blocks in flight bounds memory.
  const window = pool.size + 1;
  const inflight = new Set<Promise<void>>();
  const readTilt = async (t: number): Promise<void> => {
    const p = plans[t];
    const compiled = p.compiled!;
    const n = p.ny * p.nx;
    const perBlock = Math.max(1, Math.floor(blockBytes / p.frameBytes));
    for (let start = 0; start < n; start += perBlock) {
      if (stop.signal.aborted) return;
      while (inflight.size >= window) await Promise.race(inflight);
      const count = Math.min(perBlock, n - start);
      const frames = await p.source.readFrames(start, count, stop.signal);
      if (frames.length < count * p.npix) {
        throw new InputError(p.source.path, `readFrames(${start}, ${count}) returned ${frames.length} pixels, expected ${count * p.npix}`);
      }
      // A copy we own, to transfer: the reader may keep (and reuse) the buffer it returned.
      const data = frames.slice(0, count * p.npix);
      const job = pool
        .run('virtualBlock', { compiled, patterns, data, count, kernel }, { transfer: [data.buffer], signal: stop.signal })
        .then((part) => {
          merge(t, start, part);
          fallbackDoneBytes += count * p.frameBytes;
        })
        .catch(fail)
        .finally(() => inflight.delete(job));
      inflight.add(job);
    }
  };

  // ── Per tilt, in order: centre, compile, queue its units. Centres are sampled here and fitted in the pool
  // CENTRE_LOOKAHEAD tilts ahead, so a tilt's centre is ready when its turn comes and the pool's FIFO (fits ahead
  // of the units queued after them) never runs dry; later tilts' pre-passes overlap the earlier tilts' main pass.
  const jobs: Promise<void>[] = [];
  let fallback: Promise<void> = Promise.resolve();
  const sampleBytes = needCentre && !ctx.beamCentre ? list.reduce((a, s) => a + Math.min(CENTRE_SAMPLES, s.scanShape[0] * s.scanShape[1]) * s.detectorShape[0] * s.detectorShape[1] * BYTES_PER_PIXEL[s.dtype], 0) : 0;
  let sampled = 0;
  let lastReport = 0;
  const centreJobs: Array<Promise<BeamCentreFit | null> | null> = [];
  const startCentre = (t: number): void => {
    if (t >= plans.length || centreJobs[t] !== undefined) return;
    const s = plans[t].source;
    if (!needCentre || givenCentre(ctx, t, list.length)) {
      centreJobs[t] = null;
      return;
    }
    const job = (async (): Promise<BeamCentreFit | null> => {
      const ts = onTrace ? clock() : 0;
      const { sum, bytes } = await sampleCentre(s, stop.signal);
      const te = onTrace ? clock() : 0;
      bytesRead += bytes;
      sampled += bytes;
      if (ctx.onProgress && (performance.now() - lastReport >= interval || sampled === sampleBytes)) {
        lastReport = performance.now();
        ctx.onProgress(sampled, sampleBytes, 'beam centre');
      }
      const fit = fitBeamCentre(sum, [s.detectorShape[0], s.detectorShape[1]]);
      onTrace?.({ kind: 'centre', tilt: t, sampleStart: ts, sampleEnd: te, fitEnd: clock() });
      return fit;
    })();
    job.catch(() => undefined); // awaited below
    centreJobs[t] = job;
  };
  const schedule = async (): Promise<void> => {
    for (let t = 0; t < CENTRE_LOOKAHEAD; t++) startCentre(t);
    for (let t = 0; t < plans.length; t++) {
      if (stop.signal.aborted) return;
      const p = plans[t];
      const s = p.source;
      const [nqy, nqx] = s.detectorShape;
      let centre = givenCentre(ctx, t, list.length);
      const job = centreJobs[t];
      if (job) {
        const fit = await job;
        if (fit) centre = [fit.cx, fit.cy];
        else {
          centre = [(nqx - 1) / 2, (nqy - 1) / 2];
          warnings.push(`${s.path}: no direct beam found in the sampled frames; detectors centred on the detector (${centre[0]}, ${centre[1]})`);
        }
      }
      p.centre = centre;
      const compiled = compileDetectors(detectors, { detectorShape: [nqy, nqx], beamCentre: centre ?? undefined, edge: ctx.edge });
      p.compiled = compiled;
      p.images = compiled.outputs.map(() => new Float32Array(p.ny * p.nx));
      if (!streamable(s)) fallback = fallback.then(() => readTilt(t)).catch(fail);
      else {
        const layout = s.direct;
        for (const u of unitsOf.get(p)!) {
          const queued = onTrace ? clock() : 0;
          jobs.push(
            pool
              .run(
                'virtualDirect',
                {
                  path: s.path,
                  layout,
                  dtype: s.dtype,
                  detectorShape: s.detectorShape,
                  compiled,
                  patterns,
                  start: u.start,
                  count: u.count,
                  blockBytes: directBlockBytes,
                  reads,
                  progress,
                  progressSlot: u.slot,
                  kernel,
                  trace: onTrace !== undefined,
                },
                { signal: stop.signal },
              )
              .then((part) => {
                merge(t, u.start, part);
                onTrace?.({ kind: 'unit', tilt: t, start: u.start, count: u.count, queued, merged: clock(), task: part.trace ?? null });
              })
              .catch(fail),
          );
        }
      }
      startCentre(t + CENTRE_LOOKAHEAD);
    }
  };

  try {
    await schedule().catch(fail);
    await fallback;
    await Promise.all(inflight);
    await Promise.all(jobs);
  } finally {
    if (timer) clearInterval(timer);
    ctx.signal?.removeEventListener('abort', onCallerAbort);
  }
  if (ctx.signal?.aborted) throw new CancelledError();
  if (firstError) throw firstError;
  reportProgress();

  // ── Patterns and beam-centre fits per tilt.
  const result: VirtualResult = {
    outputs: plans[0].compiled!.outputs,
    images: plans.map((p) => p.images),
    meanPattern: [],
    maxPattern: [],
    beamCentre: [],
    beamCentreFit: [],
    warnings,
    bytesRead,
    seconds: 0,
  };
  for (let t = 0; t < plans.length; t++) {
    const p = plans[t];
    const acc = { patternSum: p.patternSum, patternMax: patterns.max ? p.patternMax : null, frames: p.frames };
    const mean = means[t] ?? meanPattern(acc, p.npix);
    const fit = !fitFull ? null : means[t] ? finalFits[t] : fitBeamCentre(mean, p.source.detectorShape);
    result.meanPattern.push(mean);
    result.maxPattern.push(maxPattern(acc, p.npix));
    result.beamCentreFit.push(fit);
    result.beamCentre.push(p.centre ?? (fit ? [fit.cx, fit.cy] : null));
  }
  result.seconds = (performance.now() - t0) / 1000;
  onTrace?.({ kind: 'run', start: tStart, end: clock() });
  return result;
}

/** One output as a VirtualImageStack (DESIGN §3): Float32Array of nTilts * ny * nx. */
export function imageStack(result: VirtualResult, outputName: string): Float32Array {
  const k = result.outputs.findIndex((o) => o.name === outputName);
  if (k < 0) throw new ParameterError('output', `no output named '${outputName}' (have ${result.outputs.map((o) => o.name).join(', ')})`);
  const per = result.images[0][k].length;
  const out = new Float32Array(result.images.length * per);
  result.images.forEach((imgs, t) => {
    if (imgs[k].length !== per) throw new ParameterError('output', 'tilts differ in scan shape; no single stack');
    out.set(imgs[k], t * per);
  });
  return out;
}
