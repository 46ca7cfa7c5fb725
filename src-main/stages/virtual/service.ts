// Virtual images for a tilt series: every requested detector for every tilt in one pass over the bytes, spread over
// the worker pool.
//
// - Sources with an evenly spaced direct layout (contiguous HDF5, uncompressed chunks laid out frame by frame, MIB):
//   their probe positions are cut into row blocks ("units"); each worker opens the file read-only itself and
//   streams its unit (./unit.ts), so the bytes never cross the main thread.
// - Other sources: this thread reads blocks with readFrames and transfers them to the workers, with at most
//   pool.size + 1 blocks in flight.
// Memory stays bounded: a few MB of buffers per worker plus the outputs (images and one mean/max pattern per tilt).
//
// Detectors without their own centre (disk, annulus, com) are centred on the tilt's beam centre: ctx.beamCentre
// when given, else a fit on the mean of a few frames sampled across the scan (a quick pre-pass, so the main pass
// stays single). After the pass the centre is fitted again on the full mean pattern (`beamCentreFit`), which the
// UI offers.
//
// Pipelining: tilts are queued in order as soon as their centre is known; the pre-pass samples run a few tilts
// ahead, so the next tilts' units are queued long before the workers need them. Beam-centre fits (~1 ms) run on
// this thread: a fit sent to the pool waited behind the queued units (FIFO: 50–250 ms measured) and ran cold in
// a worker that fits only a few patterns per pass. The pool dispatches a worker's next unit in its message handler,
// before the merge (and a fit) here runs, so a fit delays no worker that just finished. ctx.onTrace gives a
// per-unit timeline for profiling.

import { open } from 'node:fs/promises';
import { InputError, ParameterError, throwIfAborted } from '../../../src-shared/errors';
import { BYTES_PER_PIXEL, NATIVE_LITTLE_ENDIAN, PIXEL_DTYPES } from '../../../src-shared/pixels';
import { readExactly } from '../../io/util';
import { WasmFrameKernel, type WasmDType } from '../../kernels/wasm';
import { readModeFromEnv, type ReadMode } from '../../io/read-mode';
import { INLINE_MAX_BYTES } from './inline-limit';
import type { FourDSource } from '../../io/types';
import { BeamCentreScratch, fitBeamCentre, type BeamCentreFit } from '../../kernels/beam-centre';
import {
  AccumulateScratch,
  accumulateFrames,
  createAccumulator,
  maxPattern,
  meanPattern,
  resolveKernel,
  type KernelChoice,
  type PatternOptions,
} from '../../kernels/virtual-accumulate';
import { compileDetectors, needsBeamCentre, type CompiledDetectors, type DetectorSpec, type EdgeMode, type OutputInfo } from '../../kernels/virtual-detectors';
import { PassScheduler } from '../../workers/pass';
import { inlineRunner, type TaskRunner } from '../../workers/inline';
import { sharedPool, type WorkerPool } from '../../workers/pool';
import { virtualTasks } from './tasks';
import type { VirtualPartial, VirtualTaskTrace } from './unit';

export type { DetectorSpec, OutputInfo } from '../../kernels/virtual-detectors';

export type VirtualStage = 'beam centre' | 'virtual images';

export interface VirtualContext {
  signal?: AbortSignal;
  /** Called at most every `progressIntervalMs` (and once at the end of each stage). Bytes are pixel bytes. */
  onProgress?(doneBytes: number, totalBytes: number, stage: VirtualStage): void;
  /** Default: the process-wide shared pool. */
  pool?: WorkerPool | TaskRunner;
  /** Beam centre [cx, cy] for all tilts, or one per tilt; skips the sampling pre-pass. */
  beamCentre?: readonly [number, number] | ReadonlyArray<readonly [number, number]>;
  /** Disk/annulus edges (default 'fractional'). */
  edge?: EdgeMode;
  /** Bytes per read in the workers (default 1 MiB) and per readFrames block of other sources (default 4 MiB). */
  blockBytes?: number;
  /** How the workers read direct sources (default env TRACKED_VIRTUAL_READS, else 'auto'; io/read-mode.ts). */
  reads?: ReadMode;
  /**
   * Target bytes per unit of a direct source. Default, guided: (bytes of this and the later direct tilts) /
   * (2 × pool size), within 16–256 MiB: whole files first, smaller units towards the end.
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
   * Accumulate the mean diffraction pattern (default true). false leaves `meanPattern` all zeros and skips the
   * full-mean fits (`beamCentreFit` all null): a pass that only needs images (the command line's `virtual`) then
   * reads each frame only where its detectors have pixels, when they need no per-frame stats (frameStatsNeeded).
   */
  meanPattern?: boolean;
  /**
   * Fit the beam centre on each tilt's full mean pattern (default true: `beamCentreFit`). false skips those fits
   * (~1 ms per tilt): `beamCentreFit` is then all null, and `beamCentre` is null for tilts where no detector needed
   * a centre.
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

/** Frames averaged for the pre-pass beam-centre fit, in CENTRE_RUNS runs of consecutive frames spread over the scan. */
const CENTRE_SAMPLES = 16;
const CENTRE_RUNS = 4;
/** Tilts whose beam centre is sampled and fitted ahead of the tilt being queued. */
const CENTRE_LOOKAHEAD = 4;
/** readFrames block of a source without a direct layout (read here, transferred to a worker). */
const DEFAULT_BLOCK_BYTES = 4 << 20;
/**
 * fs read size in the workers for direct sources. Small enough that a block read into the kernel's memory is still
 * in the core's cache when the kernel sums it (the read is a memcpy from the page cache): 1 MiB ran 1.3–1.5× faster
 * than 4 MiB warm and no slower cold; 16 MiB was 40 % slower.
 */
const DEFAULT_DIRECT_BLOCK_BYTES = 1 << 20;
const DTYPES = new Set(PIXEL_DTYPES);

const clock = (): number => performance.timeOrigin + performance.now();

/**
 * Whether the workers can stream a source's frames from its file themselves: a direct layout with evenly spaced
 * frames. Chunked files whose chunks are not evenly spaced (`frameOffsets`) go through readFrames instead.
 */
type StreamableSource = FourDSource & { direct: NonNullable<FourDSource['direct']> };

function streamable(s: FourDSource): s is StreamableSource {
  return s.direct !== undefined && s.direct.frameOffsets === undefined;
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
  const list = Array.isArray(sources) ? sources : [sources];
  if (list.length === 0) throw new ParameterError('sources', 'give at least one source');
  list.forEach(checkSource);
  throwIfAborted(ctx.signal);
  // Validate the specs once, before any reading (a bad radius must not wait for a pre-pass). About a centre far off
  // the detector every check runs but no weight is computed (~2 ms saved before the first unit can start).
  compileDetectors(detectors, { detectorShape: list[0].detectorShape, beamCentre: [-1e9, -1e9], edge: ctx.edge });
  return new VirtualPass(list, detectors, ctx).run();
}

/** One tilt of the pass: its source, outputs and pattern sums. */
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
  /** Row blocks of a streamable source; `slot` is its progress counter. */
  units: Array<{ start: number; count: number; slot: number }>;
}

/** The state of one computeVirtualImages call. */
class VirtualPass {
  private readonly t0 = performance.now();
  private readonly tStart: number;
  private readonly pool: TaskRunner;
  private readonly patterns: PatternOptions;
  private readonly kernel: KernelChoice | undefined;
  private readonly reads: ReadMode;
  private readonly needCentre: boolean;
  private readonly fitFull: boolean;
  private readonly plans: TiltPlan[];
  private readonly pass: PassScheduler;
  private readonly warnings: string[] = [];
  private readonly fitScratch = new BeamCentreScratch();
  private readonly sampleScratch = new AccumulateScratch();
  private readonly means: Float32Array[] = [];
  private readonly finalFits: Array<BeamCentreFit | null> = [];
  private readonly centreJobs: Array<Promise<BeamCentreFit | null> | null> = [];
  private readonly totalBytes: number;
  private readonly sampleBytes: number;
  private bytesRead = 0;
  private fallbackDoneBytes = 0;
  private sampledBytes = 0;
  private lastCentreReport = 0;
  /** Fallback sources are read one after the other, on this thread. */
  private fallback: Promise<void> = Promise.resolve();

  constructor(
    private readonly list: FourDSource[],
    private readonly detectors: DetectorSpec[],
    private readonly ctx: VirtualContext,
  ) {
    this.tStart = ctx.onTrace ? clock() : 0;
    // A small pass runs on this thread: starting the workers would cost more than the work.
    const bytes = list.reduce((a, s) => a + s.scanShape[0] * s.scanShape[1] * s.detectorShape[0] * s.detectorShape[1] * BYTES_PER_PIXEL[s.dtype], 0);
    this.pool = ctx.pool ?? (bytes <= INLINE_MAX_BYTES ? inlineRunner(virtualTasks) : sharedPool());
    this.patterns = { mean: ctx.meanPattern !== false, max: ctx.maxPattern !== false };
    this.kernel = ctx.kernel ?? kernelFromEnv();
    this.reads = ctx.reads ?? readModeFromEnv() ?? 'auto';
    this.needCentre = detectors.some(needsBeamCentre);
    this.fitFull = ctx.beamCentreFit !== false && ctx.meanPattern !== false;
    this.plans = this.planTilts();
    this.totalBytes = this.plans.reduce((a, p) => a + p.ny * p.nx * p.frameBytes, 0);
    this.sampleBytes = this.needCentre && !ctx.beamCentre
      ? list.reduce((a, s) => a + Math.min(CENTRE_SAMPLES, s.scanShape[0] * s.scanShape[1]) * s.detectorShape[0] * s.detectorShape[1] * BYTES_PER_PIXEL[s.dtype], 0)
      : 0;
    const slots = this.plans.reduce((a, p) => a + p.units.length, 0);
    this.pass = new PassScheduler({
      signal: ctx.signal,
      slots,
      intervalMs: ctx.progressIntervalMs,
      ...(ctx.onProgress ? { onTick: () => this.reportProgress() } : {}),
    });
  }

  async run(): Promise<VirtualResult> {
    await this.schedule().catch((e: unknown) => this.pass.fail(e));
    await this.pass.finish();
    return this.collect();
  }

  /**
   * Tilt plans and their units. Units depend only on shapes, so they are cut before any centre is known; guided:
   * as big as the work still to come allows (a whole file while much remains: one long sequential stream per
   * worker, one task set-up, one kernel memory to fault in), then smaller towards the end so every worker finishes
   * at about the same time. Measured on 7 × 134 MB MIB, 2 workers: whole-file units ran 15–25 % faster than 2 units
   * per file, warm and cold.
   */
  private planTilts(): TiltPlan[] {
    const guidedTarget = (remaining: number): number => Math.min(256 << 20, Math.max(16 << 20, remaining / (this.pool.size * 2)));
    let remaining = this.list.reduce((a, s) => a + (streamable(s) ? tiltBytes(s) : 0), 0);
    let slot = 0;
    return this.list.map((s) => {
      const [ny, nx] = s.scanShape;
      const npix = s.detectorShape[0] * s.detectorShape[1];
      const units: TiltPlan['units'] = [];
      if (streamable(s)) {
        const bytes = tiltBytes(s);
        const unitTarget = this.ctx.unitBytes ?? guidedTarget(remaining);
        remaining -= bytes;
        // Equal units of whole rows (not target-sized units plus a small remainder: each unit restarts read-ahead).
        // The 1e-9 keeps a tilt exactly one target long in one unit despite rounding.
        // The first tilt gives every worker a unit: the others would wait for the second tilt's centre.
        const least = slot === 0 && this.ctx.unitBytes === undefined ? this.pool.size : 1;
        const n = Math.min(ny, Math.max(least, Math.ceil(bytes / unitTarget - 1e-9)));
        for (let k = 0; k < n; k++) {
          const r0 = Math.floor((k * ny) / n);
          const r1 = Math.floor(((k + 1) * ny) / n);
          units.push({ start: r0 * nx, count: (r1 - r0) * nx, slot: slot++ });
        }
      }
      return {
        source: s, ny, nx, npix, frameBytes: npix * BYTES_PER_PIXEL[s.dtype], compiled: null, centre: null, images: [],
        patternSum: new Float64Array(npix), patternMax: new Float64Array(npix).fill(-Infinity), frames: 0, units,
      };
    });
  }

  private reportProgress(): void {
    let done = this.fallbackDoneBytes;
    for (const p of this.plans) for (const u of p.units) done += Atomics.load(this.pass.counters, u.slot) * p.frameBytes;
    this.ctx.onProgress?.(done, this.totalBytes, 'virtual images');
  }

  /** Per tilt, in order: centre, compile, queue its units; once tilt 0 is queued, the centre pre-pass runs CENTRE_LOOKAHEAD tilts ahead. */
  private async schedule(): Promise<void> {
    // Tilt 0's samples alone first: the workers wait for its centre, and the other tilts' reads would queue before
    // its own on libuv's threads (measured: 19 ms to the first unit with four tilts sampled at once).
    this.startCentre(0);
    for (let t = 0; t < this.plans.length; t++) {
      if (this.pass.stopped) return;
      const p = this.plans[t];
      const [nqy, nqx] = p.source.detectorShape;
      let centre = givenCentre(this.ctx, t, this.list.length);
      const job = this.centreJobs[t];
      if (job) {
        const fit = await job;
        if (fit) centre = [fit.cx, fit.cy];
        else {
          centre = [(nqx - 1) / 2, (nqy - 1) / 2];
          this.warnings.push(`${p.source.path}: no direct beam found in the sampled frames; detectors centred on the detector (${centre[0]}, ${centre[1]})`);
        }
      }
      p.centre = centre;
      p.compiled = compileDetectors(this.detectors, { detectorShape: [nqy, nqx], beamCentre: centre ?? undefined, edge: this.ctx.edge });
      p.images = p.compiled.outputs.map(() => new Float32Array(p.ny * p.nx));
      if (streamable(p.source)) this.queueUnits(t);
      else this.fallback = this.fallback.then(() => this.readTilt(t)).catch((e: unknown) => this.pass.fail(e));
      for (let k = t + 1; k <= t + CENTRE_LOOKAHEAD; k++) this.startCentre(k);
    }
    await this.fallback;
  }

  /** Samples and fits tilt t's beam centre (when a detector needs one and none was given). */
  private startCentre(t: number): void {
    if (t >= this.plans.length || this.centreJobs[t] !== undefined) return;
    const s = this.plans[t].source;
    if (!this.needCentre || givenCentre(this.ctx, t, this.list.length)) {
      this.centreJobs[t] = null;
      return;
    }
    const job = (async (): Promise<BeamCentreFit | null> => {
      const ts = this.ctx.onTrace ? clock() : 0;
      const { sum, bytes } = await this.sampleCentre(s);
      const te = this.ctx.onTrace ? clock() : 0;
      this.bytesRead += bytes;
      this.sampledBytes += bytes;
      const interval = this.ctx.progressIntervalMs ?? 100;
      if (this.ctx.onProgress && (performance.now() - this.lastCentreReport >= interval || this.sampledBytes === this.sampleBytes)) {
        this.lastCentreReport = performance.now();
        this.ctx.onProgress(this.sampledBytes, this.sampleBytes, 'beam centre');
      }
      const fit = fitBeamCentre(sum, [s.detectorShape[0], s.detectorShape[1]], { scratch: this.fitScratch });
      this.ctx.onTrace?.({ kind: 'centre', tilt: t, sampleStart: ts, sampleEnd: te, fitEnd: clock() });
      return fit;
    })();
    job.catch(() => undefined); // awaited in schedule()
    this.centreJobs[t] = job;
  }

  /**
   * Sum of CENTRE_SAMPLES frames spread over the scan: CENTRE_RUNS runs of consecutive probe positions, evenly
   * spaced. On a cold cache these are random reads while the workers stream other files: four reads of four frames
   * disturb the streams less than sixteen single frames, and the reads are issued together so their seeks overlap.
   * Summed by the pass's own kernel (SIMD for the common types, exact for integers): a JS loop over 16 frames cost
   * ~3 ms of this thread per tilt, time the workers then lacked a core for.
   */
  private async sampleCentre(s: FourDSource): Promise<{ sum: Float64Array; bytes: number }> {
    const [ny, nx] = s.scanShape;
    const n = ny * nx;
    const runs = Math.min(CENTRE_RUNS, n);
    const perRun = Math.max(1, Math.min(Math.floor(CENTRE_SAMPLES / runs), Math.floor(n / runs)));
    const starts = Array.from({ length: runs }, (_, i) => Math.max(0, Math.min(n - perRun, Math.floor(((i + 0.5) * n) / runs - perRun / 2))));
    throwIfAborted(this.pass.signal);
    if (streamable(s) && resolveKernel(this.kernel, s.dtype) === 'wasm') return this.sampleDirect(s, starts, perRun);
    const parts = await Promise.all(starts.map((start) => s.readFrames(start, perRun, this.pass.signal)));
    const compiled = compileDetectors([{ kind: 'sum' }], { detectorShape: s.detectorShape });
    const acc = createAccumulator(compiled, runs * perRun, { mean: true, max: false });
    let bytes = 0;
    parts.forEach((data, i) => {
      bytes += data.byteLength;
      accumulateFrames(compiled, acc, { data, count: perRun, position: i * perRun }, { signal: this.pass.signal, scratch: this.sampleScratch });
    });
    return { sum: acc.patternSum!, bytes };
  }

  /**
   * sampleCentre for a streamable source summed by the wasm kernel: the runs are read straight into the kernel's
   * memory, headers and file byte order included (one read per run, no copies, one pattern flush), as the workers
   * read their units; readFrames would copy each frame twice and swap it on this thread.
   */
  private async sampleDirect(s: StreamableSource, starts: number[], perRun: number): Promise<{ sum: Float64Array; bytes: number }> {
    const stride = s.direct.frameStrideBytes;
    const frameBytes = s.detectorShape[0] * s.detectorShape[1] * BYTES_PER_PIXEL[s.dtype];
    const runBytes = (perRun - 1) * stride + frameBytes;
    const frames = starts.length * perRun;
    // A kernel per sample (tilts are sampled side by side); its WebAssembly instance is a released one where there
    // is one (kernels/wasm: memory already grown and paged in), and goes back once every read has landed.
    const compiled = compileDetectors([{ kind: 'sum' }], { detectorShape: s.detectorShape });
    const kernel = new WasmFrameKernel(compiled, s.dtype as WasmDType, { mean: true, max: false, areaBytes: (frames - 1) * stride + frameBytes });
    try {
      // Runs are perRun × stride apart in the area, so all the sampled frames are `stride` apart.
      const area = kernel.area(0);
      const fh = await open(s.path, 'r');
      try {
        // Every read settles before the kernel is released (a read still in flight would write into the next
        // kernel's frames).
        const reads = await Promise.allSettled(starts.map((start, i) => readExactly(fh, s.path, area, i * perRun * stride, runBytes, s.direct.offset + start * stride)));
        const failed = reads.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      } finally {
        await fh.close();
      }
      throwIfAborted(this.pass.signal);
      const swap = BYTES_PER_PIXEL[s.dtype] > 1 && s.direct.littleEndian !== NATIVE_LITTLE_ENDIAN;
      kernel.run(0, 0, frames, stride, swap);
      const sum = new Float64Array(frameBytes / BYTES_PER_PIXEL[s.dtype]);
      kernel.flushPatterns(sum, null);
      return { sum, bytes: starts.length * runBytes };
    } finally {
      kernel.release();
    }
  }

  /** Queues tilt t's units on the pool: each worker streams its unit from the file itself. */
  private queueUnits(t: number): void {
    const p = this.plans[t];
    const s = p.source;
    for (const u of p.units) {
      const queued = this.ctx.onTrace ? clock() : 0;
      const job = this.pool.run(
        'virtualDirect',
        {
          path: s.path, layout: s.direct!, dtype: s.dtype, detectorShape: s.detectorShape, compiled: p.compiled!,
          patterns: this.patterns, start: u.start, count: u.count, blockBytes: this.ctx.blockBytes ?? DEFAULT_DIRECT_BLOCK_BYTES,
          reads: this.reads, progress: this.pass.counters, progressSlot: u.slot, kernel: this.kernel, trace: this.ctx.onTrace !== undefined,
        },
        { signal: this.pass.signal },
      );
      this.pass.add(job, (part) => {
        this.merge(t, u.start, part);
        this.ctx.onTrace?.({ kind: 'unit', tilt: t, start: u.start, count: u.count, queued, merged: clock(), task: part.trace ?? null });
      });
    }
  }

  /** A source without a streamable layout: read here, summed on the pool; a small window of blocks in flight bounds memory. */
  private async readTilt(t: number): Promise<void> {
    const p = this.plans[t];
    const n = p.ny * p.nx;
    const perBlock = Math.max(1, Math.floor((this.ctx.blockBytes ?? DEFAULT_BLOCK_BYTES) / p.frameBytes));
    for (let start = 0; start < n; start += perBlock) {
      if (this.pass.stopped) return;
      await this.pass.below(this.pool.size + 1);
      const count = Math.min(perBlock, n - start);
      const frames = await p.source.readFrames(start, count, this.pass.signal);
      if (frames.length < count * p.npix) {
        throw new InputError(p.source.path, `readFrames(${start}, ${count}) returned ${frames.length} pixels, expected ${count * p.npix}`);
      }
      // A copy we own, to transfer: the reader may keep (and reuse) the buffer it returned.
      const data = frames.slice(0, count * p.npix);
      const job = this.pool.run(
        'virtualBlock',
        { compiled: p.compiled!, patterns: this.patterns, data, count, kernel: this.kernel },
        { transfer: [data.buffer], signal: this.pass.signal },
      );
      this.pass.add(job, (part) => {
        this.merge(t, start, part);
        this.fallbackDoneBytes += count * p.frameBytes;
      });
    }
  }

  /** Adds a unit's partial images and patterns into tilt t; when the tilt is complete, fits its full mean. */
  private merge(t: number, start: number, part: VirtualPartial): void {
    const p = this.plans[t];
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
    this.bytesRead += part.bytesRead;
    if (p.frames === p.ny * p.nx) {
      // The tilt is complete: fit its full mean now, while the other tilts are still being summed.
      this.means[t] = meanPattern(p, p.npix);
      if (this.fitFull) {
        const fs = this.ctx.onTrace ? clock() : 0;
        this.finalFits[t] = fitBeamCentre(this.means[t], p.source.detectorShape, { scratch: this.fitScratch });
        this.ctx.onTrace?.({ kind: 'finalFit', tilt: t, start: fs, end: clock() });
      }
    }
  }

  /** Patterns and beam-centre fits per tilt. */
  private collect(): VirtualResult {
    const result: VirtualResult = {
      outputs: this.plans[0].compiled!.outputs,
      images: this.plans.map((p) => p.images),
      meanPattern: [],
      maxPattern: [],
      beamCentre: [],
      beamCentreFit: [],
      warnings: this.warnings,
      bytesRead: this.bytesRead,
      seconds: 0,
    };
    this.plans.forEach((p, t) => {
      const acc = { patternSum: p.patternSum, patternMax: this.patterns.max ? p.patternMax : null, frames: p.frames };
      const mean = this.means[t] ?? meanPattern(acc, p.npix);
      const fit = !this.fitFull ? null : this.means[t] ? this.finalFits[t] : fitBeamCentre(mean, p.source.detectorShape, { scratch: this.fitScratch });
      result.meanPattern.push(mean);
      result.maxPattern.push(maxPattern(acc, p.npix));
      result.beamCentreFit.push(fit);
      result.beamCentre.push(p.centre ?? (fit ? [fit.cx, fit.cy] : null));
    });
    result.seconds = (performance.now() - this.t0) / 1000;
    this.ctx.onTrace?.({ kind: 'run', start: this.tStart, end: clock() });
    return result;
  }
}

function tiltBytes(s: FourDSource): number {
  return s.scanShape[0] * s.scanShape[1] * s.detectorShape[0] * s.detectorShape[1] * BYTES_PER_PIXEL[s.dtype];
}

/** One output as a virtual image stack: Float32Array of nTilts * ny * nx. */
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
