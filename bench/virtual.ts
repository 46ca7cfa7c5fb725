// `npm run bench -- virtual`: throughput and memory of trackED's virtual imaging against the physical limit.
//
// For each series size and each format it writes a synthetic tilt series (one file per tilt, 256×256 uint16
// frames, 32×32 probe positions), through the app's own writers, and opens it with the app's reader (openSource):
//   MIB   Merlin .mib + .hdr (MibWriter): 384-byte frame headers, big-endian pixels: layout 'mib'
//   HDF5  py4DSTEM/EMD (EmdCubeWriter): one contiguous uncompressed little-endian dataset: layout 'contiguous'
// then measures, in this process:
//   raw      plain sequential fs.read of all files, one 4 MiB buffer, one thread (what the disk/page cache gives)
//   tracked  computeVirtualImages with bf + adf + com + variance + sum and the mean pattern in one pass, as the app
//            and the CLI run it (beam-centre pre-pass and final fits included)
// with the page cache cold (dropped before each run, when this machine lets us) and warm, and reports bytes/s,
// the ratio tracked/raw, and peak RSS during the tracked runs (process RSS sampled every 20 ms; worker_threads
// live in this process, so their memory is in it). Temp data is deleted afterwards.
// Disk and CPU on a shared VM drift a lot: raw and tracked are measured in alternating pairs (env
// TRACKED_BENCH_REPEATS, default 3) and medians reported with every pair; the worker pool is started before
// timing; the load average before/after is recorded. Also reported: single-thread kernel GB/s (JS reference vs
// WebAssembly SIMD), the warm tracked GB/s with the JS kernel forced, and one traced run cold and warm
// (coldTimeline / warmTimeline): per worker thread, ms spent setting up tasks, in the kernel, waiting for reads,
// and idle (no task: queue empty, beam-centre fits, dispatch), plus the time to the first unit and the tail.
//
// Sizes: opts.sizesGB, else env TRACKED_BENCH_VIRTUAL_GB (comma list, e.g. "1,8"), else [1]. CI can use "0.25".
// Formats: opts.formats, else env TRACKED_BENCH_VIRTUAL_FORMATS (e.g. "MIB"), else both.
// Env TRACKED_BENCH_VIRTUAL_TRACE=PREFIX also writes the traced runs' raw events to PREFIX-FORMAT-cold|warm.json.
// Data folder: opts.dir, else env TRACKED_BENCH_DIR, else the OS temp dir.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { FourDSource } from '../src-main/io/types';
import { compileDetectors, detectorWeights, type DetectorSpec } from '../src-main/kernels/virtual-detectors';
import { openSource } from '../src-main/io/open';
import { EmdCubeWriter } from '../src-main/io/write-emd';
import { MibWriter } from '../src-main/io/write-mib';
import { computeVirtualImages, type VirtualContext, type VirtualTraceEvent } from '../src-main/stages/virtual/service';
import { WasmFrameKernel } from '../src-main/kernels/wasm';
import { WorkerPool } from '../src-main/workers/pool';
import { rng } from '../tests/helpers/rng';
import { accumulateFrames, createAccumulator, resolveKernel, type KernelChoice } from '../src-main/kernels/virtual-accumulate';

export interface VirtualBenchOptions {
  sizesGB?: number[];
  dir?: string;
  /** Worker script; default env TRACKED_WORKER, else a fresh esbuild of src-main/workers/worker.ts. */
  workerPath?: string;
  /** Keep the written series (default false). */
  keep?: boolean;
  /** Which formats (default env TRACKED_BENCH_VIRTUAL_FORMATS, else both: "MIB,HDF5"). */
  formats?: Array<'MIB' | 'HDF5'>;
}

const NQ = 256;
const SCAN = 32; // 32×32 probe positions per tilt: 1024 frames, ~134 MB per file
const HEADER = 384;
const FRAME_BYTES = NQ * NQ * 2;
const STRIDE = HEADER + FRAME_BYTES;
const BLOCK = 4 << 20;

const DETECTORS: DetectorSpec[] = [
  { kind: 'disk', radius: 12 },
  { kind: 'annulus', rIn: 20, rOut: 100 },
  { kind: 'com' },
  { kind: 'variance' },
  { kind: 'sum' },
];

/** 64 distinct big-endian frames (with headers): direct beam at a tilt-dependent centre, Bragg spots, noise. */
function templateFrames(tilt: number): Buffer {
  const rand = rng(1000 + tilt);
  const cx = 127.3 + 2 * Math.sin(tilt);
  const cy = 128.6 + 2 * Math.cos(tilt);
  const disk = detectorWeights({ kind: 'disk', radius: 11, cx, cy }, { detectorShape: [NQ, NQ] });
  const buf = Buffer.alloc(64 * STRIDE);
  for (let f = 0; f < 64; f++) {
    buf.write(`MQ1,${String(f + 1).padStart(6, '0')},${HEADER},01,${NQ},${NQ},U16,`, f * STRIDE, 'latin1');
    for (let p = 0; p < NQ * NQ; p++) {
      let v = 2000 * disk[p] + rand() * 8;
      if (f % 3 === 0 && (p & 4095) === 1234) v += 500;
      buf.writeUInt16BE(Math.min(65535, Math.floor(v)), f * STRIDE + HEADER + p * 2);
    }
  }
  return buf;
}

/** The 64 template frames of a tilt, native-endian. */
function templatePixels(tilt: number): Uint16Array {
  const tpl = templateFrames(tilt);
  const frames = new Uint16Array(64 * NQ * NQ);
  for (let f = 0; f < 64; f++) {
    for (let p = 0; p < NQ * NQ; p++) frames[f * NQ * NQ + p] = tpl.readUInt16BE(f * STRIDE + HEADER + p * 2);
  }
  return frames;
}

/** Merlin .mib files (+ .hdr) written by the app's MibWriter: 384-byte headers, big-endian uint16. */
function writeSeries(dir: string, nTilts: number): string[] {
  const files: string[] = [];
  for (let t = 0; t < nTilts; t++) {
    const file = join(dir, `tilt_${String(t).padStart(3, '0')}.mib`);
    const frames = templatePixels(t);
    const w = new MibWriter({ path: file, detectorShape: [NQ, NQ], dtype: 'uint16', scanShape: [SCAN, SCAN], exposureS: 0.001, start: new Date(0) });
    // 64 template frames repeated: content varies enough for the kernels, writing stays fast.
    for (let f = 0; f < SCAN * SCAN; f += 64) w.writeFrames(frames.subarray(0, Math.min(64, SCAN * SCAN - f) * NQ * NQ));
    w.close();
    files.push(file);
  }
  return files;
}

/** The same frames as writeSeries, as uncompressed contiguous py4DSTEM/EMD files (little-endian uint16). */
async function writeSeriesHdf5(dir: string, nTilts: number): Promise<string[]> {
  const files: string[] = [];
  for (let t = 0; t < nTilts; t++) {
    const file = join(dir, `tilt_${String(t).padStart(3, '0')}.h5`);
    const frames = templatePixels(t);
    const w = await EmdCubeWriter.create({
      path: file,
      scanShape: [SCAN, SCAN],
      detectorShape: [NQ, NQ],
      dtype: 'uint16',
      realPixelNm: 1,
      reciprocalPixelInvA: 0.01,
      uuid: '00000000-0000-4000-8000-000000000000',
    });
    try {
      // One scan row (SCAN frames) per write, the template frames repeated as in the MIB files.
      const row = new Uint16Array(SCAN * NQ * NQ);
      for (let r = 0; r < SCAN; r++) {
        for (let c = 0; c < SCAN; c++) {
          const f = (r * SCAN + c) % 64;
          row.set(frames.subarray(f * NQ * NQ, (f + 1) * NQ * NQ), c * NQ * NQ);
        }
        w.writeRows(row);
      }
      w.close();
    } catch (e) {
      w.abort();
      throw e;
    }
    files.push(file);
  }
  return files;
}

/** Drops the page cache for `files`: the global knob if we may, else posix_fadvise(DONTNEED) through dd. */
function dropCache(files: string[]): string | null {
  try {
    spawnSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return '/proc/sys/vm/drop_caches';
  } catch {
    // not root, or a container: fall through
  }
  // GNU dd's iflag=nocache with count=0 calls posix_fadvise(POSIX_FADV_DONTNEED) over the whole file.
  let ok = true;
  for (const f of files) {
    const r = spawnSync('dd', [`if=${f}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });
    ok &&= r.status === 0;
  }
  return ok ? 'posix_fadvise(DONTNEED) via dd iflag=nocache (guest page cache only; a VM host may still cache)' : null;
}

function rawRead(files: string[]): { bytes: number; seconds: number } {
  const buf = Buffer.allocUnsafe(BLOCK);
  const t = performance.now();
  let bytes = 0;
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      let pos = 0;
      let n: number;
      while ((n = readSync(fd, buf, 0, BLOCK, pos)) > 0) pos += n;
      bytes += pos;
    } finally {
      closeSync(fd);
    }
  }
  return { bytes, seconds: (performance.now() - t) / 1000 };
}

/**
 * The same plain reads on `threads` threads at once (files dealt out round-robin, 1 MiB readSync into one buffer per
 * thread, nothing else done with the bytes): the most any pass that must bring every byte into user space can get
 * from this machine with that many cores, before it computes anything.
 */
async function parallelRead(files: string[], threads: number): Promise<{ bytes: number; seconds: number }> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { openSync, readSync, closeSync } = require('node:fs');
    const buf = Buffer.allocUnsafe(1 << 20);
    parentPort.once('message', () => {
      let bytes = 0;
      for (const f of workerData) {
        const fd = openSync(f, 'r');
        let pos = 0, n;
        while ((n = readSync(fd, buf, 0, buf.length, pos)) > 0) pos += n;
        closeSync(fd);
        bytes += pos;
      }
      parentPort.postMessage(bytes);
    });`;
  const shares = Array.from({ length: threads }, (_, k) => files.filter((_, i) => i % threads === k));
  const workers = shares.map((share) => new Worker(code, { eval: true, workerData: share }));
  // Started (and idle) before timing, as the pool's workers are.
  await Promise.all(workers.map((w) => new Promise((r) => w.once('online', r))));
  const t = performance.now();
  try {
    const counts = await Promise.all(workers.map((w) => new Promise<number>((res, rej) => {
      w.once('message', res);
      w.once('error', rej);
      w.postMessage('go');
    })));
    return { bytes: counts.reduce((a, b) => a + b, 0), seconds: (performance.now() - t) / 1000 };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

type Format = 'MIB' | 'HDF5';

/** Sources for the files through the app's readers (openSource), as the app opens them. */
async function openAll(format: Format, files: string[]): Promise<FourDSource[]> {
  const sources = await Promise.all(files.map((f) => openSource(f)));
  const want = format === 'MIB' ? 'mib' : 'contiguous';
  for (const s of sources) {
    if (s.direct?.kind !== want) throw new Error(`${s.path}: expected a '${want}' direct layout, got ${s.direct?.kind ?? 'none'}`);
  }
  return sources;
}

/** Experiments: env TRACKED_BENCH_VIRTUAL_BLOCK_MB / _UNIT_MB override ctx.blockBytes / ctx.unitBytes. */
function tuning(): Pick<VirtualContext, 'blockBytes' | 'unitBytes'> {
  const mb = (v: string | undefined): number | undefined => (v ? Math.round(Number(v) * 2 ** 20) : undefined);
  const out: Pick<VirtualContext, 'blockBytes' | 'unitBytes'> = {};
  const b = mb(process.env.TRACKED_BENCH_VIRTUAL_BLOCK_MB);
  const u = mb(process.env.TRACKED_BENCH_VIRTUAL_UNIT_MB);
  if (b) out.blockBytes = b;
  if (u) out.unitBytes = u;
  return out;
}

interface TrackedRun {
  bytes: number;
  seconds: number;
  peakRssMB: number;
  baseRssMB: number;
  /** CPU the whole process (main + workers + libuv) used during the run, and the main thread's busy time, in ms. */
  cpuMs: number;
  mainBusyMs: number;
  timeline?: Timeline;
}

async function trackedRun(
  format: Format,
  files: string[],
  pool: WorkerPool,
  opts: { kernel?: KernelChoice; trace?: boolean; dropBefore?: boolean } = {},
): Promise<TrackedRun> {
  // Sources are opened (headers read) before the cache is dropped and before timing: the pass is what is measured.
  const sources = await openAll(format, files);
  if (opts.dropBefore) dropCache(files);
  const base = process.memoryUsage.rss();
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const events: VirtualTraceEvent[] = [];
  // As the app and the CLI run it (SeriesSessions.computeVirtual): the mean pattern, no max pattern.
  const ctx: VirtualContext = { pool, kernel: opts.kernel ?? 'auto', maxPattern: false, ...tuning() };
  if (opts.trace) ctx.onTrace = (e) => events.push(e);
  try {
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const r = await computeVirtualImages(sources, DETECTORS, ctx);
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    peak = Math.max(peak, process.memoryUsage.rss());
    const out: TrackedRun = {
      bytes: r.bytesRead,
      seconds: r.seconds,
      peakRssMB: peak / 2 ** 20,
      baseRssMB: base / 2 ** 20,
      cpuMs: (cpu.user + cpu.system) / 1000,
      mainBusyMs: elu.active,
    };
    if (opts.trace) {
      out.timeline = timeline(events);
      const dump = process.env.TRACKED_BENCH_VIRTUAL_TRACE;
      if (dump) writeFileSync(`${dump}-${format}-${opts.dropBefore ? 'cold' : 'warm'}.json`, JSON.stringify(events));
    }
    return out;
  } finally {
    clearInterval(sampler);
    for (const s of sources) s.close();
  }
}

/** Where the pass's time went, per worker thread (ms), from the trace events of one run. */
interface Timeline {
  runMs: number;
  /** Run start → first unit task starts on a worker (centre pre-pass of tilt 0, queueing). */
  firstUnitStartMs: number;
  /** Last unit task ends → run returns (final fits, merges, result assembly). */
  tailMs: number;
  centre: { n: number; sampleMsMedian: number; fitMsMedian: number; sampleMsMax: number };
  finalFit: { n: number; msMedian: number };
  units: number;
  perThread: Array<{ thread: number; tasks: number; setupMs: number; kernelMs: number; readWaitMs: number; otherMs: number; idleMs: number }>;
}

function timeline(events: VirtualTraceEvent[]): Timeline {
  const run = events.find((e) => e.kind === 'run') as Extract<VirtualTraceEvent, { kind: 'run' }>;
  const units = events.filter((e): e is Extract<VirtualTraceEvent, { kind: 'unit' }> => e.kind === 'unit');
  const centres = events.filter((e): e is Extract<VirtualTraceEvent, { kind: 'centre' }> => e.kind === 'centre');
  const fits = events.filter((e): e is Extract<VirtualTraceEvent, { kind: 'finalFit' }> => e.kind === 'finalFit');
  const runMs = run.end - run.start;
  const byThread = new Map<number, Timeline['perThread'][number]>();
  let firstStart = Infinity;
  let lastEnd = -Infinity;
  for (const u of units) {
    const t = u.task;
    if (!t) continue;
    firstStart = Math.min(firstStart, t.start);
    lastEnd = Math.max(lastEnd, t.end);
    let row = byThread.get(t.thread);
    if (!row) byThread.set(t.thread, (row = { thread: t.thread, tasks: 0, setupMs: 0, kernelMs: 0, readWaitMs: 0, otherMs: 0, idleMs: runMs }));
    row.tasks++;
    row.setupMs += t.ready - t.start;
    let prev = t.ready;
    let kernel = 0;
    let wait = 0;
    for (const [, , k0, k1] of t.blocks) {
      wait += Math.max(0, k0 - prev);
      kernel += k1 - k0;
      prev = k1;
    }
    row.kernelMs += kernel;
    row.readWaitMs += wait;
    row.otherMs += t.end - t.ready - kernel - wait;
    row.idleMs -= t.end - t.start;
  }
  return {
    runMs,
    firstUnitStartMs: firstStart - run.start,
    tailMs: run.end - lastEnd,
    centre: {
      n: centres.length,
      sampleMsMedian: centres.length ? median(centres.map((c) => c.sampleEnd - c.sampleStart)) : 0,
      sampleMsMax: centres.length ? Math.max(...centres.map((c) => c.sampleEnd - c.sampleStart)) : 0,
      fitMsMedian: centres.length ? median(centres.map((c) => c.fitEnd - c.sampleEnd)) : 0,
    },
    finalFit: { n: fits.length, msMedian: fits.length ? median(fits.map((f) => f.end - f.start)) : 0 },
    units: units.length,
    perThread: [...byThread.values()].sort((a, b) => a.thread - b.thread).map((r) => ({
      thread: r.thread,
      tasks: r.tasks,
      setupMs: round1(r.setupMs),
      kernelMs: round1(r.kernelMs),
      readWaitMs: round1(r.readWaitMs),
      otherMs: round1(r.otherMs),
      idleMs: round1(r.idleMs),
    })),
  };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

async function buildWorker(): Promise<{ path: string; cleanup: () => void }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const entry = [resolve(here, '../src-main/workers/worker.ts'), resolve(process.cwd(), 'src-main/workers/worker.ts')].find(existsSync);
  if (!entry) throw new Error('src-main/workers/worker.ts not found: run the bench from the repository root or set TRACKED_WORKER');
  const out = mkdtempSync(join(tmpdir(), 'tracked-bench-worker-'));
  const { build } = await import('esbuild');
  await build({ entryPoints: [entry], outfile: join(out, 'worker.mjs'), bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'error' });
  return { path: join(out, 'worker.mjs'), cleanup: () => rmSync(out, { recursive: true, force: true }) };
}

const GB = 1e9;

/**
 * Single-thread kernel throughput (GB/s of frame bytes, one core) on 256×256 uint16 frames with the bench's
 * detectors and the mean pattern (as the app runs it): the inner loops alone, no I/O. JS: over a native-endian
 * array. wasm: 8 MIB frames (big-endian, headers) already in the kernel's memory, as a worker's read leaves them
 * (accumulateFrames would add a copy into that memory).
 */
function kernelThroughput(kernel: 'js' | 'wasm', seconds = 0.6): number {
  const frames = 8;
  const tpl = templateFrames(0);
  const compiled = compileDetectors(DETECTORS, { detectorShape: [NQ, NQ], beamCentre: [127.3, 128.6] });
  let bytes = 0;
  let t: number;
  if (kernel === 'wasm') {
    const k = new WasmFrameKernel(compiled, 'uint16', { mean: true, max: false, areaBytes: frames * STRIDE });
    k.area(0).set(tpl.subarray(0, frames * STRIDE));
    const once = (): void => {
      if (k.needsFlushBefore(frames)) k.flushPatterns(null, null);
      k.run(0, HEADER, frames, STRIDE, true);
    };
    once(); // warm-up
    t = performance.now();
    while (performance.now() - t < seconds * 1000) {
      once();
      bytes += frames * FRAME_BYTES;
    }
  } else {
    const data = new Uint16Array(frames * NQ * NQ);
    for (let f = 0; f < frames; f++) {
      for (let p = 0; p < NQ * NQ; p++) data[f * NQ * NQ + p] = tpl.readUInt16BE(f * STRIDE + HEADER + p * 2);
    }
    const acc = createAccumulator(compiled, frames, { mean: true, max: false });
    accumulateFrames(compiled, acc, { data, count: frames, position: 0 }, { kernel: 'js' }); // warm-up / JIT
    t = performance.now();
    while (performance.now() - t < seconds * 1000) {
      accumulateFrames(compiled, acc, { data, count: frames, position: 0 }, { kernel: 'js' });
      bytes += data.byteLength;
    }
  }
  return bytes / ((performance.now() - t) / 1000) / GB;
}

interface Pair {
  rawGBps: number;
  trackedGBps: number;
  ratio: number;
  trackedSeconds: number;
  peakRssMB: number;
  /** Process CPU during the tracked run ÷ (wall × cores): 1 = every core busy all along. */
  cpuShare: number;
  /** The main thread's busy time during the tracked run ÷ its wall time. */
  mainBusyShare: number;
}

function pairOf(raw: { bytes: number; seconds: number }, tr: TrackedRun): Pair {
  const rawGBps = raw.bytes / raw.seconds / GB;
  const trackedGBps = tr.bytes / tr.seconds / GB;
  const wallMs = tr.seconds * 1000;
  return {
    rawGBps,
    trackedGBps,
    ratio: trackedGBps / rawGBps,
    trackedSeconds: tr.seconds,
    peakRssMB: tr.peakRssMB,
    cpuShare: tr.cpuMs / (wallMs * availableParallelism()),
    mainBusyShare: tr.mainBusyMs / wallMs,
  };
}

function summarise(pairs: Pair[]): Record<string, unknown> {
  return {
    rawGBps: median(pairs.map((p) => p.rawGBps)),
    trackedGBps: median(pairs.map((p) => p.trackedGBps)),
    ratio: median(pairs.map((p) => p.ratio)),
    peakRssMB: Math.max(...pairs.map((p) => p.peakRssMB)),
    pairs,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
};

export default async function bench(opts: VirtualBenchOptions = {}): Promise<Record<string, unknown>> {
  const sizes = opts.sizesGB ?? (process.env.TRACKED_BENCH_VIRTUAL_GB ?? '1').split(',').map(Number).filter((x) => x > 0);
  const root = opts.dir ?? process.env.TRACKED_BENCH_DIR ?? tmpdir();
  let worker = opts.workerPath ?? process.env.TRACKED_WORKER;
  let cleanupWorker = (): void => undefined;
  if (!worker) {
    const w = await buildWorker();
    worker = w.path;
    cleanupWorker = w.cleanup;
  }
  const pool = new WorkerPool({ workerPath: worker });
  const repeats = Math.max(1, Number(process.env.TRACKED_BENCH_REPEATS ?? 3));
  const formats = (opts.formats ?? (process.env.TRACKED_BENCH_VIRTUAL_FORMATS ?? 'MIB,HDF5').split(',')).filter((f): f is Format => f === 'MIB' || f === 'HDF5');
  const runs: Record<string, unknown>[] = [];
  const notes: string[] = [];
  // Other processes on a shared machine skew everything: record the load before and after.
  const loadBefore = loadavg()[0];
  const kernelGBpsPerCore = { js: kernelThroughput('js'), wasm: resolveKernel('auto', 'uint16') === 'wasm' ? kernelThroughput('wasm') : null };
  try {
    // Start the workers (and compile the wasm kernel in them) before timing anything: a one-off ~0.1 s per worker.
    {
      const dir = mkdtempSync(join(root, 'tracked-bench-warmup-'));
      try {
        await trackedRun('MIB', writeSeries(dir, 1), pool);
        if (formats.includes('HDF5')) await trackedRun('HDF5', await writeSeriesHdf5(dir, 1), pool);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    for (const sizeGB of sizes) {
      const nTilts = Math.max(1, Math.round((sizeGB * GB) / (SCAN * SCAN * STRIDE)));
      const run: Record<string, unknown> = {
        sizeGB: (nTilts * SCAN * SCAN * STRIDE) / GB,
        nTilts,
        scanShape: [SCAN, SCAN],
        detectorShape: [NQ, NQ],
        detectors: DETECTORS.map((d) => d.kind),
      };
      for (const format of formats) {
        const dir = mkdtempSync(join(root, `tracked-bench-virtual-${format.toLowerCase()}-`));
        try {
          const files = format === 'MIB' ? writeSeries(dir, nTilts) : await writeSeriesHdf5(dir, nTilts);
          const res: Record<string, unknown> = {
            format:
              format === 'MIB'
                ? 'Merlin MIB written by MibWriter (+ .hdr), big-endian uint16, 384-byte frame headers, opened with openSource'
                : 'py4DSTEM/EMD HDF5 written by EmdCubeWriter, contiguous, little-endian uint16, opened with openSource (direct layout)',
            fileGB: files.reduce((a, f) => a + statSync(f).size, 0) / GB,
          };
          // Disk bandwidth on a shared VM drifts by 2× within a minute: measure raw and tracked in alternating
          // pairs, REPEATS times, and report each pair's ratio and the median.
          const how = dropCache(files);
          if (how) {
            const pairs: Pair[] = [];
            for (let i = 0; i < repeats; i++) {
              dropCache(files);
              const raw = rawRead(files);
              const tr = await trackedRun(format, files, pool, { dropBefore: true });
              pairs.push(pairOf(raw, tr));
            }
            res.cold = { cacheDrop: how, ...summarise(pairs) };
            res.coldTimeline = (await trackedRun(format, files, pool, { dropBefore: true, trace: true })).timeline;
          } else {
            res.cold = 'not measured: this machine lets us drop neither the page cache nor a file\'s cached pages';
          }
          // Warm: read once so everything is cached (if it fits in RAM), then measure in alternating triples: the
          // plain read, the pass, and what this machine allows at all: the plain reads on as many threads as the pool
          // has, computing nothing, and from that and the single-core kernel speed the best a pass could do if
          // reading and summing overlapped perfectly with no other overhead (each byte copied once, then summed once,
          // on `cores` cores). Each triple gives its own share of that bound: the machine's speed drifts between
          // triples, much less within one.
          rawRead(files);
          const warmPairs: Pair[] = [];
          const ceilingRatios: number[] = [];
          const ceilingGBps: number[] = [];
          const boundRatios: number[] = [];
          const ofBound: number[] = [];
          const kernelGBps = kernelGBpsPerCore.wasm ?? kernelGBpsPerCore.js;
          for (let i = 0; i < repeats; i++) {
            const raw = rawRead(files);
            const tr = await trackedRun(format, files, pool);
            const par = await parallelRead(files, pool.size);
            const pair = pairOf(raw, tr);
            warmPairs.push(pair);
            const parGBps = par.bytes / par.seconds / GB;
            ceilingGBps.push(parGBps);
            ceilingRatios.push(parGBps / pair.rawGBps);
            const boundRatio = 1 / (1 / parGBps + 1 / (pool.size * kernelGBps)) / pair.rawGBps;
            boundRatios.push(boundRatio);
            ofBound.push(pair.ratio / boundRatio);
          }
          const parallelGBps = median(ceilingGBps);
          const boundGBps = 1 / (1 / parallelGBps + 1 / (pool.size * kernelGBps));
          // The JS reference kernel on the same warm files, once, for comparison.
          const js = await trackedRun(format, files, pool, { kernel: 'js' });
          res.warm = {
            ...summarise(warmPairs),
            ceiling: {
              threads: pool.size,
              parallelReadGBps: parallelGBps,
              parallelReadRatio: median(ceilingRatios),
              kernelBoundGBps: boundGBps,
              kernelBoundRatio: median(boundRatios),
              /** Per triple: the pass's ratio ÷ that triple's kernelBoundRatio (target ≥ 0.8), and their median. */
              ofKernelBound: median(ofBound),
              ofKernelBoundPerTriple: ofBound,
            },
            fitsInRam: nTilts * SCAN * SCAN * STRIDE < totalmem() * 0.7,
            jsKernelTrackedGBps: js.bytes / js.seconds / GB,
          };
          res.warmTimeline = (await trackedRun(format, files, pool, { trace: true })).timeline;
          run[format] = res;
        } finally {
          if (!opts.keep) rmSync(dir, { recursive: true, force: true });
        }
      }
      runs.push(run);
    }
  } finally {
    await pool.close();
    cleanupWorker();
  }
  notes.push('ratio = trackED bytes/s ÷ plain single-thread sequential fs.read bytes/s of the same files, same process');
  notes.push(`cold and warm: ${repeats} alternating raw/tracked pairs (env TRACKED_BENCH_REPEATS), medians reported; workers started before timing`);
  notes.push('kernelGBpsPerCore: one thread, all five detectors + the mean pattern; JS reference over native-endian frames, WebAssembly SIMD over big-endian MIB frames already in its memory');
  notes.push('warm.ceiling: parallelRead* = the plain reads on the pool\'s thread count computing nothing (÷ raw); kernelBound* = 1 / (1/parallelRead + 1/(threads × kernelGBpsPerCore)): a pass with perfect overlap and no other work; ofKernelBound = median over raw/tracked/parallel-read triples of the pass\'s ratio ÷ the triple\'s kernelBoundRatio (target ≥ 0.8)');
  notes.push('peakRssMB: process RSS (main + worker_threads) sampled every 20 ms during the tracked run; target < 600');
  return {
    name: 'virtual',
    machine: {
      cpus: cpus().length,
      threads: availableParallelism(),
      model: cpus()[0]?.model,
      memGB: totalmem() / GB,
      node: process.version,
      loadavg1Before: loadBefore,
      loadavg1After: loadavg()[0],
    },
    poolSize: availableParallelism(),
    tuning: tuning(),
    kernel: resolveKernel('auto', 'uint16'),
    kernelGBpsPerCore,
    targets: { warmOfKernelBound: 0.8, coldRatio: 0.9, peakRssMB: 600 },
    runs,
    notes,
  };
}
