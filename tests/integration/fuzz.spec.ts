// Fuzz: thousands of mutated inputs through every reader (HDF5 tilts truncated or bit-flipped, MIB frames and
// headers, series.json and tilts.csv), the project loader (project.json, masks.h5, the results files) and the journal
// replay. Each case runs in a child process with a timeout, so a hang or a crash is caught and named, never waited
// on. Every case must end in success or a typed error (one line, naming the file, no control characters), leave no
// temporary file behind, and — for projects — load to a state that fits the series and survives a save and reload.
// The seed is printed (TRACKED_FUZZ_SEED repeats a run; TRACKED_FUZZ_CASES sets the cases per kind). A failing case
// is written to tests/fixtures/fuzz/ — commit it: the second test replays every kept case on each run
// (TRACKED_FUZZ_KEEP=kind:index,… keeps chosen cases too, e.g. ones that failed before a fix).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_ESM_BUNDLE } from '../../scripts/esbuild-node.mjs';
import { createAppState } from '../../src-main/ipc/bindings';
import { runExtractionJob } from '../../src-main/services/extraction-job';
import { synthesize } from '../../src-main/synth/index';
import { KINDS, loadBase, makeCase, type FuzzKind } from '../fuzz/cases';

const SEED = Number(process.env['TRACKED_FUZZ_SEED'] ?? 20261206);
const PER_KIND = Number(process.env['TRACKED_FUZZ_CASES'] ?? 500);
const CASE_TIMEOUT_MS = 15_000;
const BUNDLE = resolve('node_modules/.cache/fuzz/child.mjs');
const FIXTURES = resolve('tests/fixtures/fuzz');
const work = mkdtempSync(join(tmpdir(), 'tracked-fuzz-'));
const baseDir = join(work, 'base');

/** A small series (HDF5 + MIB), and a project on it: checkpointed objects, masks, history and an extraction, then more changes in the journal. */
async function makeBase(): Promise<void> {
  const size = { scanShape: [8, 8] as [number, number], detectorShape: [16, 16] as [number, number], nTilts: 2, tiltStepDeg: 2 };
  await synthesize({ preset: 'single-isolated', size, outDir: baseDir, seed: 3, mib: true });
  const state = createAppState({ projectDir: () => join(baseDir, 'project'), checkpointDelayMs: -1 });
  const { seriesId, source, anglesDeg } = await state.sessions.openSeries(join(baseDir, 'series.json'));
  writeFileSync(join(baseDir, 'base.json'), JSON.stringify({ origin: source, nTilts: 2, scanShape: size.scanShape, anglesDeg }));
  const p = await state.sessions.project(seriesId);
  const a = p.create('crystal');
  p.setFrames(a.id, [0, 1].map((t) => ({ tilt: t, runs: { set: Uint32Array.from([18 + t, 4, 26, 4]), clear: new Uint32Array(0) }, state: 'tracked' as const, quality: { flagged: t === 1, reason: 'area jump', areaChange: 0.4 } })));
  p.setPrompt(a.id, { tilt: 0, points: [{ x: 3, y: 2, positive: true }] });
  p.recordHistory('push', { objectId: a.id, label: 'Brush', changes: [{ tilt: 0, runs: { set: Uint32Array.from([18, 4]), clear: new Uint32Array(0) }, stateBefore: 'empty', stateAfter: 'edited' }] });
  await runExtractionJob(state.sessions, { seriesId, background: false, ringWidth: 2 });
  p.setResults('processing', state.sessions.get(seriesId).extractionId!, [{ objectId: a.id, peakParams: {}, latticeParams: {}, edits: { removed: [], added: [{ frame: 0, x: 3, y: 4 }] }, table: null, lattice: null, latticeStale: false, integration: null }]);
  await p.checkpoint();
  const b = p.create('neighbour');
  p.edit(b.id, 1, { set: Uint32Array.from([40, 3]), clear: new Uint32Array(0) });
  p.edit(a.id, 0, { set: new Uint32Array(0), clear: Uint32Array.from([18, 1]) });
  p.setState(a.id, [0], 'locked');
  p.recordHistory('undo');
  // Left as a session would leave it mid-work, minus the lock (this process is alive: the cases would be refused).
  rmSync(join(baseDir, 'project', 'session.lock'), { force: true });
}

interface Outcome {
  i: number;
  result: string;
}

/** Runs cases [from, to) of a kind (or one kept fixture) in a child; a case that times out or crashes it is recorded and the rest go on. */
function runChild(args: string[], from: number, to: number): Promise<Outcome[]> {
  return new Promise((done) => {
    const outcomes: Outcome[] = [];
    let current = from;
    let buffer = '';
    let timer: NodeJS.Timeout | undefined;
    const child = spawn(process.execPath, [BUNDLE, baseDir, ...args, ...(args[0] === '--fixture' ? [] : [String(from), String(to)])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        outcomes.push({ i: current, result: `timeout (> ${CASE_TIMEOUT_MS} ms)` });
        child.kill('SIGKILL');
      }, CASE_TIMEOUT_MS);
    };
    arm();
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const msg = JSON.parse(line) as { i: number; start?: boolean; result?: string };
        if (msg.start) {
          current = msg.i;
          arm();
        } else outcomes.push({ i: msg.i, result: msg.result! });
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = outcomes.at(-1);
      const finished = args[0] === '--fixture' ? outcomes.length > 0 : last?.i === to - 1;
      if (!finished && !(last?.i === current && last.result.startsWith('timeout'))) outcomes.push({ i: current, result: `crash (exit ${code ?? signal}): ${stderr.split('\n').find((l) => l.trim()) ?? ''}` });
      if (args[0] === '--fixture' || finished || current + 1 >= to) return done(outcomes);
      // Go on after the case that hung or crashed.
      void runChild(args, current + 1, to).then((rest) => done([...outcomes, ...rest]));
    });
  });
}

/** Keeps a failing case: its files exactly as made, and how it was made. */
function keepFixture(kind: FuzzKind, i: number, result: string): string {
  const c = makeCase(loadBase(baseDir), kind, SEED, i);
  const dir = join(FIXTURES, `${kind.replace(/\W/g, '_')}-${SEED}-${i}`);
  mkdirSync(join(dir, 'files'), { recursive: true });
  for (const [f, data] of Object.entries(c.files)) {
    mkdirSync(join(dir, 'files', f, '..'), { recursive: true });
    writeFileSync(join(dir, 'files', f), data);
  }
  writeFileSync(join(dir, 'case.json'), `${JSON.stringify({ kind, entry: c.entry, seed: SEED, index: i, found: result }, null, 1)}\n`);
  return dir;
}

beforeAll(async () => {
  await build({ ...NODE_ESM_BUNDLE, absWorkingDir: resolve('.'), entryPoints: ['tests/fuzz/child.ts'], outfile: BUNDLE });
  await h5wasm.ready;
  await makeBase();
  for (const spec of (process.env['TRACKED_FUZZ_KEEP'] ?? '').split(',').filter(Boolean)) {
    const [kind, i] = spec.split(':') as [FuzzKind, string];
    keepFixture(kind, Number(i), 'kept on request (TRACKED_FUZZ_KEEP): a case that failed before its fix');
  }
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('fuzz', () => {
  it(`${PER_KIND} cases per kind × ${KINDS.length} kinds (readers, project loader, journal replay), seed ${SEED}: only typed errors, nothing left behind`, async () => {
    const t0 = performance.now();
    const counts: Record<string, Record<string, number>> = {};
    const failures: string[] = [];
    // Two children at a time: one per core.
    const queue = [...KINDS];
    const worker = async (): Promise<void> => {
      for (let kind = queue.shift(); kind; kind = queue.shift()) {
        const outcomes = await runChild([String(SEED), kind], 0, PER_KIND);
        const tally = (counts[kind] = {} as Record<string, number>);
        for (const o of outcomes) {
          const key = o.result === 'ok' || o.result === 'typed' ? o.result : o.result.split(/[:(]/)[0]!.trim();
          tally[key] = (tally[key] ?? 0) + 1;
          if (key !== 'ok' && key !== 'typed') failures.push(`${kind} #${o.i}: ${o.result} → kept in ${keepFixture(kind, o.i, o.result)}`);
        }
        expect(outcomes.length, `${kind}: every case ran`).toBe(PER_KIND);
      }
    };
    await Promise.all([worker(), worker()]);
    const total = Object.values(counts).reduce((n, t) => n + Object.values(t).reduce((a, b) => a + b, 0), 0);
    console.log(`fuzz seed ${SEED}: ${total} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${failures.length} failures`);
    for (const [kind, t] of Object.entries(counts)) console.log(`  ${kind.padEnd(20)} ${Object.entries(t).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    expect(total).toBe(PER_KIND * KINDS.length);
    expect(failures).toEqual([]);
  }, 1_200_000);

  it('replays every kept failing case (tests/fixtures/fuzz/): each now ends in success or a typed error', async () => {
    const kept = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'case.json'))) : [];
    const results: string[] = [];
    for (const d of kept) {
      const [o] = await runChild(['--fixture', join(FIXTURES, d)], 0, 1);
      results.push(`${d}: ${o?.result ?? 'no result'}`);
    }
    console.log(`fuzz regression fixtures: ${kept.length}`);
    expect(results.filter((r) => !/: (ok|typed)$/.test(r))).toEqual([]);
    expect(kept.length).toBeGreaterThan(0);
  }, 300_000);
});
