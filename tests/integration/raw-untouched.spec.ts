// Raw data are never written (README "Masks live in main…": raw data is only ever opened read-only). A synthetic
// series on disk in two formats — EMD 1.0 HDF5 (series.json) and Quantum Detectors MIB with its .hdr
// (series-mib.json, and a tilts.csv written here) — is recorded file by file: SHA-256, size, mtime, ctime, inode and
// mode, and the folder listing. Then a full `tracked run` (a child process, through to the reflection files) on the
// HDF5 series and one to the exports on the MIB series, and an app session through the IPC registry the app serves
// (open, virtual images, an object from a prompt, tracking, a mask edit, a locked frame, re-tracking from it,
// extraction with exports, peaks, lattice, integration, reflection files, close). After each, every raw file must be
// as it was and nothing added to the raw folder; while they ran, every descriptor the process held on a raw file
// (/proc/PID/fd and the octal `flags:` of /proc/PID/fdinfo) must have been opened without O_WRONLY or O_RDWR. The raw
// files are left writable by their owner (and the tests run as root), so a write would succeed: only the code keeps
// them unchanged.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, closeSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { Worker } from 'node:worker_threads';
import { sampleDescriptors } from '../helpers/fd-sample.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffMask } from '../../src-shared/mask-runs';
import { synthesize } from '../../src-main/synth/index';
import { inProcessApi } from '../helpers/in-process-api';
import { REPO_ROOT } from '../helpers/paths';

/** What must not change about a raw file. ctime and inode catch a write whose mtime was put back, or a file replaced by a rename. */
interface FileStamp {
  sha256: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  mode: number;
}
/** Relative path → its stamp, or 'dir' for a folder: the listing and the files in one. */
type Snapshot = Map<string, FileStamp | 'dir'>;

function snapshot(root: string, into: Snapshot = new Map(), under = root): Snapshot {
  for (const name of readdirSync(under).sort()) {
    const p = join(under, name);
    const st = lstatSync(p);
    const rel = relative(root, p);
    if (st.isDirectory()) {
      into.set(rel, 'dir');
      snapshot(root, into, p);
    } else {
      into.set(rel, { sha256: createHash('sha256').update(readFileSync(p)).digest('hex'), size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, mode: st.mode });
    }
  }
  return into;
}

/** One line per difference: a file added, removed, or changed (which of its stamp's fields). */
function differences(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [rel, was] of before) {
    const now = after.get(rel);
    if (now === undefined) out.push(`removed: ${rel}`);
    else if (was === 'dir' || now === 'dir') {
      if (was !== now) out.push(`changed kind: ${rel}`);
    } else {
      const fields = (Object.keys(was) as Array<keyof FileStamp>).filter((k) => was[k] !== now[k]);
      if (fields.length) out.push(`changed ${fields.join(', ')}: ${rel}`);
    }
  }
  for (const rel of after.keys()) if (!before.has(rel)) out.push(`added: ${rel}`);
  return out;
}

/** O_WRONLY | O_RDWR in the octal `flags:` line of /proc/PID/fdinfo/N. */
const WRITE_ACCESS = 0o3;

/**
 * Samples the descriptors a process holds on files under a folder, with the flags each was opened with: another
 * process from a timer here; this process from a worker thread (./helpers/fd-watch-worker.mjs), which keeps sampling
 * while the main thread opens, reads and closes a file in one synchronous stretch.
 */
class DescriptorWatch {
  /** Path (relative to the folder) → every flags value seen on a descriptor of it. */
  readonly seen = new Map<string, Set<number>>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private thread: { worker: Worker; stop: Int32Array; done: Promise<Array<[string, number[]]>> } | undefined;
  private readonly root: string;

  constructor(
    private readonly pid: number | 'self',
    folder: string,
  ) {
    this.root = realpathSync(folder) + sep;
  }

  sample(): void {
    sampleDescriptors(this.pid, this.root, this.seen);
  }

  async start(everyMs = 10): Promise<this> {
    this.sample();
    if (this.pid !== 'self') {
      this.timer = setInterval(() => this.sample(), everyMs);
      return this;
    }
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(new URL('../helpers/fd-watch-worker.mjs', import.meta.url), { workerData: { root: this.root, stop } });
    const messages: unknown[] = [];
    let notify = (): void => undefined;
    worker.on('message', (m: unknown) => {
      messages.push(m);
      notify();
    });
    const next = (): Promise<unknown> => new Promise((res) => {
      if (messages.length) return res(messages.shift());
      notify = () => res(messages.shift());
    });
    await next(); // 'started': it is looking before anything runs
    this.thread = { worker, stop, done: next() as Promise<Array<[string, number[]]>> };
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.thread) {
      Atomics.store(this.thread.stop, 0, 1);
      Atomics.notify(this.thread.stop, 0);
      for (const [rel, flags] of await this.thread.done) {
        if (!this.seen.has(rel)) this.seen.set(rel, new Set());
        for (const f of flags) this.seen.get(rel)!.add(f);
      }
      await this.thread.worker.terminate();
    }
    this.sample();
  }

  /** Raw files held open with write access, with the flags (octal). */
  writable(): string[] {
    return [...this.seen].flatMap(([rel, set]) => [...set].filter((f) => f & WRITE_ACCESS).map((f) => `${rel} (flags 0${f.toString(8)})`));
  }

  /** The raw files seen open. */
  opened(): string[] {
    return [...this.seen.keys()].sort();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tracked-raw-untouched-'));
const raw = join(dir, 'raw');
const out = join(dir, 'out');
let before: Snapshot;

beforeAll(async () => {
  // One isolated brookite particle, 41 tilts of 1°: small, yet the pipeline indexes and integrates it.
  await synthesize({ preset: 'single-isolated', size: { scanShape: [24, 24], detectorShape: [64, 64], nTilts: 41, tiltStepDeg: 1 }, outDir: raw, seed: 11, mib: true });
  const mib = JSON.parse(readFileSync(join(raw, 'series-mib.json'), 'utf8')) as { tilts: Array<{ file: string; angleDeg: number }> };
  writeFileSync(join(raw, 'tilts.csv'), ['file,angle_deg', ...mib.tilts.map((t) => `${t.file},${t.angleDeg}`)].join('\n') + '\n');
  for (const [rel, s] of snapshot(raw)) if (s !== 'dir') chmodSync(join(raw, rel), 0o644);
  mkdirSync(out);
  before = snapshot(raw);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The raw folder exactly as recorded: same listing, every file's bytes, size, mtime, ctime, inode and mode. */
function expectRawUntouched(): void {
  expect(differences(before, snapshot(raw))).toEqual([]);
}

/** Every tilt file of one format (".h5", ".mib"), as recorded. */
const tiltFiles = (ext: string): string[] => [...before.keys()].filter((rel) => /^tilt_\d{3}\./.test(rel) && rel.endsWith(ext));

/** The watch saw the process hold every tilt file of those formats open (so it was looking), and none writable. */
function expectReadOnly(watch: DescriptorWatch, ...exts: string[]): void {
  expect(watch.opened()).toEqual(expect.arrayContaining(exts.flatMap(tiltFiles)));
  expect(watch.writable()).toEqual([]);
}

/** `tracked run` as a user runs it, its descriptors on the raw folder watched while it runs. */
async function trackedRun(args: string[]): Promise<{ code: number | null; stderr: string; watch: DescriptorWatch }> {
  const child = spawn(process.execPath, ['bin/tracked.mjs', 'run', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  const watch = await new DescriptorWatch(child.pid!, raw).start();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  await watch.stop();
  return { code, stderr, watch };
}

describe('raw data are never written', () => {
  it('the series is there in both formats, writable by its owner', () => {
    const names = [...before.keys()];
    expect(names.filter((n) => n.endsWith('.h5') && !n.startsWith('truth'))).toHaveLength(41);
    expect(names.filter((n) => n.endsWith('.mib'))).toHaveLength(41);
    expect(names.filter((n) => n.endsWith('.hdr'))).toHaveLength(41);
    expect(names).toEqual(expect.arrayContaining(['series.json', 'series-mib.json', 'tilts.csv', 'truth']));
    for (const s of before.values()) if (s !== 'dir') expect(s.mode & 0o600).toBe(0o600);
  });

  it('the check itself sees a byte appended, a write with its mtime put back, a file replaced by a rename, a file added', () => {
    const copy = join(dir, 'copy');
    mkdirSync(copy);
    // Whole seconds, so utimes can put an mtime back exactly.
    const t0 = 1_700_000_000;
    for (const f of ['series.json', 'tilt_000.hdr', 'tilt_001.hdr', 'tilt_002.hdr']) {
      copyFileSync(join(raw, f), join(copy, f));
      utimesSync(join(copy, f), t0, t0);
    }
    const was = snapshot(copy);
    expect(differences(was, snapshot(copy))).toEqual([]);
    appendFileSync(join(copy, 'series.json'), ' ');
    writeFileSync(join(copy, 'tilt_000.hdr'), readFileSync(join(copy, 'tilt_000.hdr')).reverse());
    utimesSync(join(copy, 'tilt_000.hdr'), t0, t0);
    writeFileSync(join(copy, 'next.tmp'), readFileSync(join(copy, 'tilt_001.hdr')));
    renameSync(join(copy, 'next.tmp'), join(copy, 'tilt_001.hdr'));
    mkdirSync(join(copy, 'series.tracked'));
    const d = differences(was, snapshot(copy));
    expect(d).toEqual([
      expect.stringMatching(/^changed sha256, size, mtimeMs, ctimeMs: series\.json$/),
      expect.stringMatching(/^changed sha256, ctimeMs: tilt_000\.hdr$/),
      expect.stringMatching(/^changed .*ino.*: tilt_001\.hdr$/),
      'added: series.tracked',
    ]);
    // And the descriptor watch sees a file of the folder held open for writing.
    const watch = new DescriptorWatch('self', copy);
    const fd = openSync(join(copy, 'tilt_002.hdr'), 'r+');
    watch.sample();
    closeSync(fd);
    expect(watch.writable()).toEqual([expect.stringMatching(/^tilt_002\.hdr \(flags 0\d*2\)$/)]);
  });

  it('a full `tracked run` on the HDF5 series, through to the reflection files, leaves it as it was', async () => {
    const r = await trackedRun([join(raw, 'series.json'), '--out', join(out, 'run-h5'), '--composition', 'Ti8 O16']);
    expect(r.code, r.stderr).toBe(0);
    // It got all the way: the reflection files were written (into --out, the project with them).
    for (const f of ['report.json', 'extracted.h5', 'target.hkl', 'target.ins', 'target.cif', 'target.cif_pets', 'project']) expect(existsSync(join(out, 'run-h5', f)), f).toBe(true);
    expectRawUntouched();
    expectReadOnly(r.watch, '.h5');
  });

  // Processing works on the extracted frames in memory: the MIB run stops before it, to keep the spec short.
  it('so does `tracked run` on the MIB files of a tilts.csv', async () => {
    const r = await trackedRun([join(raw, 'tilts.csv'), '--out', join(out, 'run-mib'), '--voltage', '200', '--q-pixel', '0.0390625', '--no-process']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'run-mib', 'extracted.h5'))).toBe(true);
    expectRawUntouched();
    expectReadOnly(r.watch, '.mib');
  });

  it('an app session that tracks, edits, locks, re-tracks, extracts, integrates and writes reflection files leaves it as it was', async () => {
    const app = inProcessApi({ projectDir: (origin) => join(out, 'projects', basename(origin)), checkpointDelayMs: 50 });
    const { api } = app;
    const watch = await new DescriptorWatch('self', raw).start();
    try {
      await appSession(api, join(raw, 'series.json'), join(out, 'app', 'h5'), true);
      await appSession(api, join(raw, 'series-mib.json'), join(out, 'app', 'mib'), false);
    } finally {
      await app.close();
      await watch.stop();
    }
    expect(existsSync(join(out, 'projects', 'series.json', 'masks.h5'))).toBe(true);
    expect(readdirSync(join(out, 'app', 'h5', 'reflections')).sort()).toEqual(['target.cif', 'target.cif_pets', 'target.hkl', 'target.ins']);
    expectRawUntouched();
    expectReadOnly(watch, '.h5', '.mib');
  }, 120_000);
});

type Api = ReturnType<typeof inProcessApi>['api'];

/**
 * What a person does in the app on one series, through window.api: every step that reads the raw files, then (with
 * `processing`) peaks, lattice, integration and the reflection files, which work on the extracted frames.
 */
async function appSession(api: Api, manifest: string, outDir: string, processing: boolean): Promise<void> {
  const series = await api.invoke('series.open', { path: manifest });
  const { seriesId, nTilts } = series;
  const [ny, nx] = series.scanShape;
  const d = await api.invoke('series.suggestDetectors', { seriesId });
  await api.runJob('virtual.compute', { seriesId, detectors: [{ kind: 'disk', radius: d.bfRadius, name: 'bf' }, { kind: 'annulus', rIn: d.adfInner, rOut: d.adfOuter, name: 'adf' }] });
  const mid = Math.floor(nTilts / 2);
  const [c] = await api.invoke('track.candidates', { seriesId, tilt: mid, image: 'adf' });
  const objectId = (await api.invoke('objects.create', { seriesId, name: 'target' })).id;
  const ids = { seriesId, objectId };
  await api.invoke('masks.setPrompt', { ...ids, prompt: { tilt: mid, points: [{ x: c!.x, y: c!.y, positive: true }] } });
  await api.runJob('track.run', { seriesId, objectIds: [objectId], fromTilt: mid, direction: 'both', image: 'adf' });
  // Edit one tilt (a pixel off the mask's edge), lock it, and track on from there.
  const edited = mid + 3;
  const n = ny * nx;
  const frame = (await api.invoke('masks.stack', ids)).masks.slice(edited * n, (edited + 1) * n);
  const after = frame.slice();
  const first = frame.indexOf(1);
  expect(first, `tilt ${edited} tracked`).toBeGreaterThanOrEqual(0);
  after[first] = 0;
  expect((await api.invoke('masks.edit', { ...ids, tilt: edited, ...diffMask(frame, after) })).state).toBe('edited');
  expect((await api.invoke('masks.setState', { ...ids, tilts: [edited], state: 'locked' })).frameState[edited]).toBe('locked');
  await api.runJob('track.run', { seriesId, objectIds: [objectId], fromTilt: edited, direction: 'forward', image: 'adf' });
  expect(Array.from((await api.invoke('masks.stack', ids)).masks.subarray(edited * n, (edited + 1) * n))).toEqual(Array.from(after));
  expect((await api.runJob('extract.run', { seriesId, outDir: join(outDir, 'extracted') })).objects).toHaveLength(1);
  expect(readdirSync(join(outDir, 'extracted')).length).toBeGreaterThan(0);
  if (processing) {
    await api.runJob('process.peaks', { ...ids, params: {} });
    expect((await api.runJob('process.lattice', { ...ids, params: {} })).lattice!.status).toBe('indexed');
    expect((await api.runJob('process.integrate', { ...ids, params: {} })).integration!.status).toBe('integrated');
    await api.invoke('process.exportReflections', { ...ids, folder: join(outDir, 'reflections'), name: 'target', composition: 'Ti8 O16' });
  }
  expect((await api.invoke('project.info', { seriesId })).dir.startsWith(join(out, 'projects'))).toBe(true);
  await api.invoke('series.close', { seriesId });
}
