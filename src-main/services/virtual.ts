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
// `beamCentreFit`, so the UI can offer it.
//
// Pipelining: tilts are queued in order as soon as their centre is known; the pre-pass samples run a few tilts
// ahead and every beam-centre fit runs in the pool, so this thread only reads samples, hands out units and
// merges, and the workers never wait for it.

import { setMaxListeners } from 'node:events';
import { CancelledError, InputError, ParameterError, throwIfAborted } from '../errors';
import type { FourDSource, PixelDType } from '../io/types';
import { fitBeamCentre, type BeamCentreFit } from '../kernels/beam-centre';
import {
  compileDetectors,
  maxPattern,
  meanPattern,
  needsBeamCentre,
  type CompiledDetectors,
  type DetectorSpec,
  type EdgeMode,
  type KernelChoice,
  type OutputInfo,
  type PatternOptions,
} from '../kernels/virtual-detectors';
import { sharedPool, type WorkerPool } from '../workers/pool';
import { BYTES_PER_ELEMENT, type VirtualPartial } from '../workers/virtual-tasks';

export type { DetectorSpec, OutputInfo } from '../kernels/virtual-detectors';

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
  /** Bytes per read in the workers and per readFrames block (default 4 MiB). */
  blockBytes?: number;
  /** Target bytes per row block of a direct source (default: total / (4 × pool size), within 16–256 MiB). */
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
}

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

/** Frames averaged for the pre-pass beam-centre fit (spread evenly over the scan). */
const CENTRE_SAMPLES = 16;
/** Tilts whose beam centre is sampled and fitted ahead of the tilt being queued. */
const CENTRE_LOOKAHEAD = 4;
const DEFAULT_BLOCK_BYTES = 4 << 20;
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
 * Sum of CENTRE_SAMPLES frames spread over the scan (fitted for the beam centre by the caller). The reads are
 * issued together: on a cold cache they are random reads, and a queue of them costs one seek time, not sixteen.
 */
async function sampleCentre(s: FourDSource, signal: AbortSignal | undefined): Promise<{ sum: Float64Array; bytes: number }> {
  const [ny, nx] = s.scanShape;
  const [nqy, nqx] = s.detectorShape;
  const n = ny * nx;
  const k = Math.min(CENTRE_SAMPLES, n);
  const sum = new Float64Array(nqy * nqx);
  throwIfAborted(signal);
  const frames = await Promise.all(Array.from({ length: k }, (_, i) => s.readFrames(Math.floor(((i + 0.5) * n) / k), 1, signal)));
  let bytes = 0;
  for (const f of frames) {
    bytes += f.byteLength;
    for (let p = 0; p < sum.length; p++) sum[p] += f[p];
  }
  return { sum, bytes };
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
  const list = Array.isArray(sources) ? sources : [sources];
  if (list.length === 0) throw new ParameterError('sources', 'give at least one source');
  list.forEach(checkSource);
  throwIfAborted(ctx.signal);
  const pool = ctx.pool ?? sharedPool();
  const blockBytes = Math.max(1, ctx.blockBytes ?? DEFAULT_BLOCK_BYTES);
  const interval = ctx.progressIntervalMs ?? 100;
  const warnings: string[] = [];
  const patterns: PatternOptions = { mean: true, max: ctx.maxPattern !== false };
  const kernel = ctx.kernel ?? kernelFromEnv();
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
      frameBytes: npix * BYTES_PER_ELEMENT[s.dtype],
      compiled: null,
      centre: null,
      images: [],
      patternSum: new Float64Array(npix),
      patternMax: new Float64Array(npix).fill(-Infinity),
      frames: 0,
    };
  });
  const totalBytes = plans.reduce((a, p) => a + p.ny * p.nx * p.frameBytes, 0);
  // Units big enough that each worker streams long sequential runs (read-ahead works, few task messages), small
  // enough that all workers get several (balance) and the tail is short.
  const unitTarget = ctx.unitBytes ?? Math.min(256 << 20, Math.max(16 << 20, totalBytes / (pool.size * 4)));
  interface Unit { plan: TiltPlan; start: number; count: number; slot: number }
  const unitsOf = new Map<TiltPlan, Unit[]>();
  let nUnits = 0;
  for (const p of plans) {
    const units: Unit[] = [];
    if (p.source.direct) {
      // Equal units of whole rows (not target-sized units plus a small remainder: each unit restarts read-ahead).
      const n = Math.min(p.ny, Math.max(1, Math.ceil((p.ny * p.nx * p.frameBytes) / unitTarget)));
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

  // Beam-centre fits (20–50 ms each for 256×256) run in the pool, never on this thread: this thread hands the
  // workers their next unit, and a fit here left them idle until it returned.
  const fitInPool = (pattern: Float32Array | Float64Array, shape: [number, number], transfer: boolean): Promise<BeamCentreFit | null> => {
    const job = pool.run('fitBeamCentre', { pattern, shape }, { signal: stop.signal, transfer: transfer ? [pattern.buffer as ArrayBuffer] : [] });
    job.catch(() => undefined); // awaited (and its error reported) where the fit is used
    return job;
  };
  const finalFits: Array<Promise<BeamCentreFit | null>> = [];
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
      finalFits[t] = fitInPool(means[t], p.source.detectorShape, false);
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
  const sampleBytes = needCentre && !ctx.beamCentre ? list.reduce((a, s) => a + Math.min(CENTRE_SAMPLES, s.scanShape[0] * s.scanShape[1]) * s.detectorShape[0] * s.detectorShape[1] * BYTES_PER_ELEMENT[s.dtype], 0) : 0;
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
      const { sum, bytes } = await sampleCentre(s, stop.signal);
      bytesRead += bytes;
      sampled += bytes;
      if (ctx.onProgress && (performance.now() - lastReport >= interval || sampled === sampleBytes)) {
        lastReport = performance.now();
        ctx.onProgress(sampled, sampleBytes, 'beam centre');
      }
      return fitInPool(sum, [s.detectorShape[0], s.detectorShape[1]], true);
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
      if (!s.direct) fallback = fallback.then(() => readTilt(t)).catch(fail);
      else {
        const layout = s.direct;
        for (const u of unitsOf.get(p)!) {
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
                  blockBytes,
                  progress,
                  progressSlot: u.slot,
                  kernel,
                },
                { signal: stop.signal },
              )
              .then((part) => merge(t, u.start, part))
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
    const fit = means[t] ? await finalFits[t] : fitBeamCentre(mean, p.source.detectorShape);
    result.meanPattern.push(mean);
    result.maxPattern.push(maxPattern(acc, p.npix));
    result.beamCentreFit.push(fit);
    result.beamCentre.push(p.centre ?? (fit ? [fit.cx, fit.cy] : null));
  }
  result.seconds = (performance.now() - t0) / 1000;
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
