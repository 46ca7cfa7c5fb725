// The kill test (README "Data safety"): curated work and exports survive SIGKILL.
//
// a. kill-driver.ts edits a project without end (brush strokes, tracker output, new objects, flags, deletions,
//    neighbours) with a 50–200 ms autosave, and is SIGKILLed after a random delay, or kills itself just before a
//    random file-system call: a journal append (sometimes torn part-way, as a kill between two pages of one write
//    leaves it), a checkpoint's write, rename or truncation. A fresh Project then loads the folder: it must open and
//    hold every operation the driver acknowledged (the one in flight may have landed, whole, or not at all). The
//    next round goes on in the same folder, so every open is also an open after a kill.
// b. `tracked run` killed while it extracts and writes the frames (TIFF, SMV).
// c. `tracked run` killed while it exports the masks, extracted.h5, the reflection files and report.json.
//    After b and c every file under its final name must be complete — byte for byte the file of an uninterrupted
//    run (HDF5: the same datasets, shapes and values) — and parse (TIFF pixels, SMV size, PNG, the HKLF 4
//    terminator); temp files (.NAME.tmp-PID-N, io/atomic.ts) may stay. The run's project must load and agree with
//    the masks it exported.
//
// One seed (printed; TRACKED_KILL_SEED=N repeats it) picks every delay and kill point; TRACKED_KILL_KEEP=1 keeps
// the projects and runs for a look.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import h5wasm from 'h5wasm/node';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_ESM_BUNDLE } from '../../scripts/esbuild-node.mjs';
import { parseSmvHeader } from '../../src-main/io/export';
import { Project } from '../../src-main/services/project';
import { synthesize } from '../../src-main/synth/index';
import { rng } from '../helpers/rng';
import type { DriverConfig } from './kill-driver';
import { applyOp, checksum, differences, snapshot, type KillOp, type ProjectState } from './kill-state';

const UTIF = createRequire(import.meta.url)('utif2') as typeof import('utif2');

const SEED = process.env['TRACKED_KILL_SEED'] ? Number(process.env['TRACKED_KILL_SEED']) : Math.floor(Math.random() * 2 ** 31);
/** A random stream; each lane of the test draws from its own, so the seed repeats the plan whatever the timing. */
function dice(seed: number): { rand: () => number; between: (lo: number, hi: number) => number; pickInt: (lo: number, hi: number) => number } {
  const rand = rng(seed);
  const between = (lo: number, hi: number): number => lo + rand() * (hi - lo);
  return { rand, between, pickInt: (lo, hi) => Math.min(hi, Math.floor(between(lo, hi + 1))) };
}
const laneA = dice(SEED);
const laneB = dice(SEED ^ 0x5bd1e995);
const ROUNDS = { a: 32, b: 11, c: 11 };
/** Of phase c's rounds, these run the processing too, to be killed while the reflection files are written. */
const C_WITH_REFLECTIONS = 4;
const CHECKPOINT_CALLS = 'openSync,writeSync,writeFileSync,fsyncSync,truncateSync,ftruncateSync,renameSync,unlinkSync,rmSync';

// Inside the repository (git-ignored), so the bundle's external imports resolve from node_modules.
const BUNDLE_DIR = resolve('node_modules/.cache/kill-test');
const DRIVER = join(BUNDLE_DIR, 'kill-driver.mjs');
const work = mkdtempSync(join(tmpdir(), 'tracked-kill-'));
const SIZE = { scanShape: [24, 24] as [number, number], detectorShape: [64, 64] as [number, number], nTilts: 21, tiltStepDeg: 3 };
const N_PIX = SIZE.scanShape[0] * SIZE.scanShape[1];
let manifest = '';
let anglesDeg: number[] = [];
/** `tracked run` options that let the processing index the series quickly (its true cell and axis). */
let processArgs: string[] = [];

type Phase = 'a' | 'b' | 'c';
const failures: string[] = [];
const stats = {
  kills: { a: 0, b: 0, c: 0 } as Record<Phase, number>,
  how: {} as Record<string, number>,
  ioPoints: {} as Record<string, number>,
  finishedBeforeKill: 0,
  reloads: 0,
  uncleanExits: 0,
  journalLinesSkipped: 0,
  acked: 0,
  ackedOlder: 0,
  inFlightLanded: 0,
  lostOlder: 0,
  lostYounger: 0,
  exports: {} as Record<string, number>,
  tempLeft: 0,
};
const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Child {
  stdout: () => string;
  stderr: () => string;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL now (nothing if it has exited). */
  kill: () => void;
  /** Date.now() when the test sent the kill. */
  killedAt: number | null;
}

function launch(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [DRIVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const c: Child = {
    stdout: () => out,
    stderr: () => err,
    closed: new Promise((res) => child.on('close', (code, signal) => res({ code, signal }))),
    killedAt: null,
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null || c.killedAt !== null) return;
      c.killedAt = Date.now();
      child.kill('SIGKILL');
    },
  };
  return c;
}

/** Polls `cond` every 3 ms; false when the child closed or `timeoutMs` passed first. */
async function until(c: Child, cond: () => boolean, timeoutMs: number): Promise<boolean> {
  let closed = false;
  void c.closed.then(() => (closed = true));
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (closed || Date.now() > end) return false;
    await sleep(3);
  }
  return true;
}

async function killAfter(c: Child, ms: number): Promise<void> {
  await Promise.race([sleep(ms), c.closed]);
  c.kill();
}

/** Where a driver killed itself, e.g. `renameSync masks.h5` or `appendFileSync journal.jsonl torn`. */
function ioPoint(stderr: string): string | null {
  const m = /killed-at \d+ (\w+) (\S+)(?: -> (\S+))?( torn)?/.exec(stderr);
  if (!m) return null;
  const file = finalName(basename(m[3] ?? m[2]!).replace(/\d{4}(?=\.(tif|img|png)\b)/, 'NNNN'));
  return `${m[1]} ${file}${m[4] ? ' torn' : ''}`;
}

const TEMP = /^\.(.+)\.tmp-\d+-\d+$/;
/** A temp file's final name with " (temp)", other names as they are. */
const finalName = (name: string): string => name.replace(TEMP, '$1 (temp)');

/** Opens the project as the app does after a crash; records a failure when it does not open. */
async function reload(dir: string, label: string): Promise<Project | null> {
  const p = new Project(dir, manifest, SIZE.nTilts, SIZE.scanShape, anglesDeg, -1);
  try {
    await p.load();
  } catch (e) {
    failures.push(`${label}: the project does not open: ${(e as Error).message}`);
    return null;
  }
  stats.reloads++;
  const recovery = (p as unknown as { recovery?: { uncleanExit?: boolean; journalSkipped?: number } }).recovery;
  if (recovery?.uncleanExit) stats.uncleanExits++;
  stats.journalLinesSkipped += recovery?.journalSkipped ?? 0;
  return p;
}

// ---- a: journal appends and autosave checkpoints -------------------------------------------------------------

interface Folder {
  dir: string;
  /** The state the last reload found. */
  state: ProjectState;
  /** The last round tore a journal append: the next one kills soon after the restart. */
  tornAppend: boolean;
}

interface Step {
  op: KillOp;
  ack?: { id?: number; t: number };
}

/** The driver's complete lines: every operation it announced, with its ack when it got one. */
function driverSteps(stdout: string): Step[] {
  const lines = stdout.split('\n').slice(0, -1);
  const steps = new Map<number, Step>();
  for (const line of lines) {
    const j = JSON.parse(line) as KillOp & { k: string; t: number };
    if (j.k === 'i') steps.set(j.seq, { op: j });
    else if (j.k === 'a') steps.get(j.seq)!.ack = { ...(j.id !== undefined ? { id: j.id } : {}), t: j.t };
  }
  return [...steps.values()];
}

/** The acknowledged operations a difference list shows missing, with their age at the kill. */
function lostOps(diffs: string[], acked: Array<{ op: KillOp; t: number }>, killT: number, checkpointMs: number): string[] {
  const out = new Set<string>();
  for (const d of diffs) {
    const m = /^object (\d+)(?: tilt (\d+))?/.exec(d);
    const id = m ? Number(m[1]) : NaN;
    const tilt = m?.[2] !== undefined ? Number(m[2]) : undefined;
    const last = [...acked].reverse().find((a) => a.op.id === id && (tilt === undefined || a.op.sums?.some(([t]) => t === tilt)));
    if (!last) continue;
    const age = killT - last.t;
    if (age > checkpointMs) stats.lostOlder++;
    else stats.lostYounger++;
    out.add(`${last.op.op} #${last.op.seq} acknowledged ${age} ms before the kill`);
  }
  return [...out];
}

/**
 * Every acknowledged operation is in the reloaded state; the object operation in flight is there whole or not at all,
 * and so is the neighbours write in flight (it runs alongside the object operations).
 */
function checkEdits(folder: Folder, stdout: string, actual: ProjectState, killT: number, checkpointMs: number, label: string): void {
  const emptySum = checksum(new Uint8Array(N_PIX), 'empty');
  let expected = folder.state;
  const acked: Array<{ op: KillOp; t: number }> = [];
  let inFlight: KillOp | null = null;
  let nbInFlight: number | null | undefined;
  for (const s of driverSteps(stdout)) {
    if (!s.ack && s.op.op === 'nb') nbInFlight = s.op.sum ?? null;
    else if (!s.ack) inFlight = s.op;
    if (!s.ack) continue;
    expected = applyOp(expected, s.op, SIZE.nTilts, emptySum, s.ack.id);
    acked.push({ op: s.op, t: s.ack.t });
  }
  stats.acked += acked.length;
  stats.ackedOlder += acked.filter((a) => killT - a.t > checkpointMs).length;
  if (nbInFlight !== undefined && actual.neighbours === nbInFlight) expected = { ...expected, neighbours: nbInFlight };
  let diffs = differences(expected, actual);
  const pending = inFlight;
  if (diffs.length && pending) {
    const created = pending.op === 'create' ? [...actual.objects].find(([id, o]) => o.name === pending.name && !expected.objects.has(id))?.[0] : undefined;
    if (!differences(applyOp(expected, pending, SIZE.nTilts, emptySum, created), actual).length) {
      diffs = [];
      stats.inFlightLanded++;
    }
  }
  if (diffs.length) {
    const lost = lostOps(diffs, acked, killT, checkpointMs);
    failures.push(`${label}: after reload ${diffs.length} difference(s) [${diffs.slice(0, 4).join('; ')}]; lost: ${lost.slice(0, 6).join(', ') || 'none acknowledged'}`);
  }
}

/**
 * How this round's driver dies: after a delay (from its start or from its first acknowledgement) or just before a
 * file-system call: the n-th journal append, or the n-th call of the checkpoints (and of the first autosaves of a new
 * project, when h5wasm loads for the first time), or soon after a restart on a journal whose last append was torn.
 */
function editKill(fresh: boolean, tornAppend: boolean): { kind: string; env: Record<string, string> } {
  const { rand, pickInt } = laneA;
  const torn = (p: number): Record<string, string> => (rand() < p ? { TRACKED_KILL_TORN: '1' } : {});
  const checkpoint = (lo: number, hi: number): Record<string, string> => ({ TRACKED_KILL_AT_IO: String(pickInt(lo, hi)), TRACKED_KILL_ONLY: CHECKPOINT_CALLS, ...torn(0.4) });
  if (tornAppend) return { kind: 'restart after a torn append', env: { TRACKED_KILL_AT_IO: String(pickInt(1, 40)) } };
  if (fresh) return { kind: 'first autosaves', env: checkpoint(15, 55) };
  const r = rand();
  if (r < 0.1) return { kind: 'boot', env: {} };
  if (r < 0.4) return { kind: 'timer', env: {} };
  if (r < 0.7) return { kind: 'journal append', env: { TRACKED_KILL_AT_IO: String(pickInt(1, 120)), TRACKED_KILL_ONLY: 'appendFileSync', ...torn(0.6) } };
  return { kind: 'checkpoint', env: checkpoint(1, 90) };
}

async function editRound(folder: Folder, i: number): Promise<void> {
  const { between, pickInt } = laneA;
  const checkpointMs = pickInt(50, 200);
  const { kind, env } = editKill(folder.state.objects.size === 0 && !existsSync(join(folder.dir, 'project.json')), folder.tornAppend);
  const cfg: DriverConfig = { dir: folder.dir, origin: manifest, nTilts: SIZE.nTilts, scanShape: SIZE.scanShape, anglesDeg, checkpointMs, seed: pickInt(1, 2 ** 30), maxMs: 8000 };
  const c = launch(['edit', JSON.stringify(cfg)], env);
  if (kind === 'boot') await killAfter(c, between(0, 500));
  else if (await until(c, () => c.stdout().includes('"k":"ready"'), 20_000)) await killAfter(c, kind === 'timer' ? between(0, 900) : 5000);
  c.kill();
  const { code, signal } = await c.closed;
  const killT = c.killedAt ?? Date.now();
  const label = `a${i} (${kind}, checkpoint ${checkpointMs} ms)`;
  if (signal !== 'SIGKILL') {
    failures.push(`${label}: the driver exited with ${code}: ${c.stderr().trim().split('\n').slice(-3).join(' | ')}`);
    return;
  }
  const where = ioPoint(c.stderr());
  stats.kills.a++;
  bump(stats.how, `a ${where ? kind : kind === 'boot' ? 'boot' : 'timer'}${where?.endsWith('torn') ? ' (torn)' : ''}`);
  if (where) bump(stats.ioPoints, where);
  folder.tornAppend = where === 'appendFileSync journal.jsonl torn';
  const p = await reload(folder.dir, label);
  if (!p) return;
  const actual = snapshot(p);
  checkEdits(folder, c.stdout(), actual, killT, checkpointMs, label);
  folder.state = actual;
}

async function phaseA(): Promise<void> {
  let folder: Folder | null = null;
  for (let i = 0; i < ROUNDS.a; i++) {
    // A fresh project now and then: its first checkpoint is the first time the driver loads h5wasm.
    if (i % 6 === 0) folder = { dir: join(work, `project-${i}`), state: { objects: new Map(), neighbours: null }, tornAppend: false };
    await editRound(folder!, i);
  }
}

// ---- b, c: `tracked run` ---------------------------------------------------------------------------------------

type RefFile = Buffer | Map<string, string>;

interface Calibration {
  /** A complete run's files (HDF5 as dataset → shape, dtype, checksum), by path relative to its folder. */
  ref: Map<string, RefFile>;
  /**
   * Indices of the file-system calls that write the frames (b), the other exports (c), the reflection files, one list
   * per kind of file (all frames/NNNN.tif are one kind), so that a kill picks the kind first and no kind crowds out
   * the others.
   */
  framesIo: number[][];
  exportIo: number[][];
  reflectionIo: number[][];
  /** From masks/masks.h5 to smv/XDS.INP (extraction and frames), from extracted.h5 to report.json (processing). */
  extractionMs: number;
  processingMs: number;
}

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name))]));
}

function h5Summary(path: string): Map<string, string> {
  const f = new h5wasm.File(path, 'r');
  try {
    const out = new Map<string, string>();
    const visit = (g: InstanceType<typeof h5wasm.Group>, prefix: string): void => {
      for (const k of g.keys()) {
        const x = g.get(k);
        if (x instanceof h5wasm.Dataset) {
          const v = x.value as unknown;
          out.set(`${prefix}${k}`, `${x.shape?.join('×')} ${String(x.dtype)} ${ArrayBuffer.isView(v) ? checksum(v) : checksum(Buffer.from(String(v)))}`);
        } else if (x instanceof h5wasm.Group) visit(x, `${prefix}${k}/`);
      }
    };
    visit(f, '');
    return out;
  } finally {
    f.close();
  }
}

/** Runs `tracked run` to the end, tracing its file-system calls and when the phase markers appear. */
async function calibrate(): Promise<Calibration> {
  const out = join(work, 'reference');
  const c = launch(['cli', 'run', manifest, '--out', out, ...processArgs], { TRACKED_KILL_TRACE: '1' });
  const markers = ['masks/masks.h5', 'smv/XDS.INP', 'extracted.h5', 'report.json'];
  const seen: Record<string, number> = {};
  await until(c, () => {
    for (const m of markers) if (!(m in seen) && existsSync(join(out, m))) seen[m] = performance.now();
    return markers.every((m) => m in seen);
  }, 120_000);
  const { code } = await c.closed;
  expect(code, c.stderr().slice(-2000)).toBe(0);
  expect(existsSync(join(out, 'target.hkl')), 'the complete run indexes the series and writes the reflection files').toBe(true);
  const ref = new Map<string, RefFile>();
  for (const rel of walk(out)) if (!rel.startsWith('project')) ref.set(rel, rel.endsWith('.h5') ? h5Summary(join(out, rel)) : readFileSync(join(out, rel)));
  const calls = [...c.stderr().matchAll(/^io (\d+) \w+ (\S+)(?: -> (\S+))?$/gm)].map((m) => ({ k: Number(m[1]), rel: relative(out, m[3] ?? m[2]!).replace(/(^|\/)\.([^/]+)\.tmp-\d+-\d+$/, '$1$2') }));
  const ks = (re: RegExp): number[][] => {
    const kinds = new Map<string, number[]>();
    for (const { k, rel } of calls.filter((x) => re.test(x.rel))) {
      const kind = rel.replace(/\d{4}/, 'NNNN');
      kinds.set(kind, [...(kinds.get(kind) ?? []), k]);
    }
    return [...kinds.values()];
  };
  return {
    ref,
    framesIo: ks(/^(frames\/\d+\.tif|smv\/.*\.img)$/),
    exportIo: ks(/^(masks\/|extracted\.h5$|[^/]+\.pts2$|smv\/(XDS\.INP|README\.txt)$)/),
    reflectionIo: ks(/^(peaks\.json|[^/]+\.(hkl|cif|cif_pets)|report\.json)$/),
    extractionMs: seen['smv/XDS.INP']! - seen['masks/masks.h5']!,
    processingMs: seen['report.json']! - seen['extracted.h5']!,
  };
}

/** What is wrong with a complete-looking file's content, or null; throws when it does not parse. */
function parseProblem(rel: string, bytes: Buffer): string | null {
  const text = (): string => bytes.toString('utf8');
  if (/\.tiff?$/.test(rel)) {
    const buf = Uint8Array.from(bytes).buffer;
    const pages = UTIF.decode(buf);
    const want = rel === 'virtual.tiff' ? SIZE.nTilts : 1;
    if (pages.length !== want) return `has ${pages.length} TIFF pages, not ${want}`;
    for (const p of pages) {
      UTIF.decodeImage(buf, p);
      const bits = (p['t258'] as number[] | undefined)?.[0] ?? 8;
      const data = (p as unknown as { data: Uint8Array }).data;
      if (data.length !== (p.width * p.height * bits) / 8) return `holds ${data.length} bytes of pixels, not ${(p.width * p.height * bits) / 8}`;
    }
  } else if (rel.endsWith('.img')) {
    const { headerBytes, fields } = parseSmvHeader(bytes);
    const want = headerBytes + Number(fields['SIZE1']) * Number(fields['SIZE2']) * 2;
    if (bytes.length !== want) return `is ${bytes.length} bytes, its SMV header says ${want}`;
  } else if (rel.endsWith('.png')) {
    const png = PNG.sync.read(bytes);
    if (png.width * png.height !== N_PIX) return `is ${png.width}×${png.height}`;
  } else if (rel.endsWith('.json')) {
    const j = JSON.parse(text()) as { version?: number };
    if (rel === 'report.json' && j.version !== 1) return 'is not a report';
  } else if (rel.endsWith('.hkl')) {
    if (!/^\s*0\s+0\s+0\s+0\.00\s+0\.00\s*$/m.test(text().trimEnd().split('\n').pop() ?? '')) return 'does not end with the HKLF 4 terminator';
  } else if (!rel.endsWith('.h5') && !text().endsWith('\n')) return 'does not end with a newline';
  return null;
}

function checkFile(path: string, rel: string, want: RefFile | undefined): string | null {
  if (want === undefined) return 'is not a file a complete run writes';
  const bytes = readFileSync(path);
  let problem: string | null;
  try {
    problem = rel.endsWith('.h5') ? null : parseProblem(rel, bytes);
    if (!problem && want instanceof Map) {
      const got = h5Summary(path);
      problem = [...want].every(([k, v]) => got.get(k) === v) && got.size === want.size ? null : 'holds other datasets or values than the complete run';
    }
  } catch (e) {
    return `does not parse: ${(e as Error).message.split('\n')[0]}`;
  }
  if (problem || want instanceof Map || rel === 'report.json') return problem;
  return bytes.equals(want) ? null : `differs from the complete run's file (${bytes.length} of ${want.length} bytes)`;
}

/** Every file under its final name is complete; the run's project opens and holds the masks it exported. */
async function checkRun(out: string, ref: Map<string, RefFile>, label: string): Promise<void> {
  if (!existsSync(out)) return;
  for (const rel of walk(out)) {
    if (rel.startsWith('project/')) continue;
    if (TEMP.test(basename(rel))) {
      stats.tempLeft++;
      continue;
    }
    bump(stats.exports, /\.[^./]+$/.exec(rel)?.[0] ?? basename(rel));
    const problem = checkFile(join(out, rel), rel, ref.get(rel));
    if (problem) failures.push(`${label}: ${rel} ${problem}`);
  }
  if (!existsSync(join(out, 'project'))) return;
  const p = await reload(join(out, 'project'), `${label} project`);
  const masks = join(out, 'masks', 'masks.h5');
  if (!p || !existsSync(masks)) return;
  const f = new h5wasm.File(masks, 'r');
  try {
    for (const name of f.keys()) {
      const exported = (f.get(name) as InstanceType<typeof h5wasm.Dataset>).value as Uint8Array;
      const o = p.objects.get(Number(name.replace('object_', '')));
      if (!o || checksum(o.masks) !== checksum(exported)) failures.push(`${label}: the reloaded project lacks the masks of ${name} that masks/masks.h5 exported`);
    }
  } finally {
    f.close();
  }
}

interface CliPlan {
  phase: 'b' | 'c';
  kind: 'timer' | 'io';
  reflections: boolean;
  env: Record<string, string>;
  trigger?: string;
  delayMs?: number;
}

function cliPlans(cal: Calibration): CliPlan[] {
  const { rand, between, pickInt } = laneB;
  const io = (phase: 'b' | 'c', kinds: number[][], reflections = false): CliPlan => {
    const ks = kinds[pickInt(0, kinds.length - 1)]!;
    return { phase, kind: 'io', reflections, env: { TRACKED_KILL_AT_IO: String(ks[pickInt(0, ks.length - 1)]), ...(rand() < 0.5 ? { TRACKED_KILL_TORN: '1' } : {}) } };
  };
  const timer = (phase: 'b' | 'c', trigger: string, windowMs: number, reflections = false): CliPlan => ({ phase, kind: 'timer', reflections, env: {}, trigger, delayMs: between(0, windowMs) });
  // Timed kills stay inside 90 % of the window the complete run took, so that few runs finish first.
  const b = Array.from({ length: ROUNDS.b }, (_, i) => (i % 2 ? io('b', cal.framesIo) : timer('b', 'masks/masks.h5', 0.9 * cal.extractionMs)));
  const c = Array.from({ length: ROUNDS.c }, (_, i) =>
    i >= C_WITH_REFLECTIONS ? io('c', cal.exportIo) : i % 2 ? io('c', cal.reflectionIo, true) : timer('c', 'extracted.h5', 0.9 * cal.processingMs, true),
  );
  return b.flatMap((x, i) => [x, ...(c[i] ? [c[i]!] : [])]).concat(c.slice(b.length));
}

async function cliRound(plan: CliPlan, i: number, ref: Map<string, RefFile>): Promise<void> {
  const out = join(work, `run-${i}`);
  const label = `${plan.phase}${i} (${plan.kind}${plan.reflections ? ', with reflections' : ''})`;
  const c = launch(['cli', 'run', manifest, '--out', out, ...(plan.reflections ? processArgs : ['--no-process'])], plan.env);
  if (plan.trigger && (await until(c, () => existsSync(join(out, plan.trigger!)), 120_000))) await killAfter(c, plan.delayMs!);
  await Promise.race([c.closed, sleep(120_000)]);
  c.kill();
  const { code, signal } = await c.closed;
  if (signal === 'SIGKILL') {
    stats.kills[plan.phase]++;
    bump(stats.how, `${plan.phase} ${plan.kind}${plan.env['TRACKED_KILL_TORN'] ? ' (torn)' : ''}`);
    const where = ioPoint(c.stderr());
    if (where) bump(stats.ioPoints, where);
  } else if (code === 0) stats.finishedBeforeKill++;
  else failures.push(`${label}: tracked run exited with ${code}: ${c.stderr().trim().split('\n').slice(-3).join(' | ')}`);
  await checkRun(out, ref, label);
  if (!process.env['TRACKED_KILL_KEEP']) rmSync(out, { recursive: true, force: true });
}

async function phasesBC(cal: Calibration): Promise<void> {
  const plans = cliPlans(cal);
  for (let i = 0; i < plans.length; i++) await cliRound(plans[i]!, i, cal.ref);
}

// ---- the test --------------------------------------------------------------------------------------------------

beforeAll(async () => {
  await build({
    ...NODE_ESM_BUNDLE,
    absWorkingDir: resolve('.'),
    entryPoints: { 'kill-driver': 'tests/integration/kill-driver.ts', worker: 'src-main/workers/worker.ts' },
    outdir: BUNDLE_DIR,
    outExtension: { '.js': '.mjs' },
  });
  await h5wasm.ready;
  const s = await synthesize({ preset: 'single-isolated', size: SIZE, outDir: join(work, 'series'), seed: 7 });
  manifest = join(work, 'series', s.manifest);
  anglesDeg = (JSON.parse(readFileSync(manifest, 'utf8')) as { tilts: Array<{ angleDeg: number }> }).tilts.map((t) => t.angleDeg);
  const truth = JSON.parse(readFileSync(join(work, 'series', 'truth', 'truth.json'), 'utf8')) as { rotationAxisDeg: number; particles: Array<{ cell: Record<string, number> }> };
  const cell = truth.particles[0]!.cell;
  processArgs = ['--cell', ['a', 'b', 'c', 'alpha', 'beta', 'gamma'].map((k) => cell[k]).join(','), '--axis', String(truth.rotationAxisDeg)];
}, 120_000);
afterAll(() => {
  if (process.env['TRACKED_KILL_KEEP']) console.log(`kill test: files kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
});

describe('kill test', () => {
  it(`SIGKILL during autosave, journal appends, extraction and export loses no acknowledged edit and leaves no half-written file (seed ${SEED})`, async () => {
    console.log(`kill test: seed ${SEED} (TRACKED_KILL_SEED=${SEED} repeats this plan)`);
    const t0 = performance.now();
    const cal = await calibrate();
    await Promise.all([phaseA(), phasesBC(cal)]);
    const kills = stats.kills.a + stats.kills.b + stats.kills.c;
    console.log(
      [
        `kill test: ${kills} kills in ${((performance.now() - t0) / 1000).toFixed(1)} s — a (autosave + journal) ${stats.kills.a}, b (extraction + frames) ${stats.kills.b}, c (exports) ${stats.kills.c}; runs that finished before their kill: ${stats.finishedBeforeKill}`,
        `  how: ${JSON.stringify(stats.how)}`,
        `  killed at: ${JSON.stringify(stats.ioPoints)}`,
        `  reloads ok: ${stats.reloads} (unclean exit seen ${stats.uncleanExits}, journal lines skipped ${stats.journalLinesSkipped})`,
        `  acknowledged edits verified: ${stats.acked} (${stats.ackedOlder} older than the checkpoint interval); in-flight edits that landed whole: ${stats.inFlightLanded}; lost: ${stats.lostOlder} older + ${stats.lostYounger} younger than the interval`,
        `  exports checked: ${Object.values(stats.exports).reduce((a, b) => a + b, 0)} files ${JSON.stringify(stats.exports)}; temp files left: ${stats.tempLeft}`,
        `  failures: ${failures.length}`,
      ].join('\n'),
    );
    expect(failures).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(50);
  }, 300_000);
});
