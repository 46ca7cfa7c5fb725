// The child process kill.spec.ts SIGKILLs. Bundled for Node with esbuild at test time (out/kill-test/); two modes:
//
//   node kill-driver.mjs edit '<json DriverConfig>'   opens a Project and edits it without end, as a person curating
//       masks would (brush strokes, tracker output, new objects, flags, deletions, neighbours), with a short autosave
//       delay so checkpoints run all the time. Before each operation it prints an intent line (what the project will
//       hold afterwards, as checksums: kill-state.ts) and after it returns an ack line, both with writeSync on stdout,
//       so every ack is in the pipe before the next operation starts. Operations on objects run one after another;
//       a neighbours write (particles.h5, a tracking run's result) runs alongside them, one at a time.
//   node kill-driver.mjs cli <tracked arguments…>    the `tracked` command itself (src-main/cli.ts main).
//
// Fault injection (both modes), through the node:fs functions every writer calls (also h5wasm's file system):
//   TRACKED_KILL_AT_IO=k       SIGKILL this process just before its k-th file-system call that changes a file
//                              (open for writing, write, append, fsync, truncate, rename, remove);
//   TRACKED_KILL_TORN=1        …and when that call writes bytes, first write only a random part of them (what a
//                              SIGKILL between two pages of one write() leaves);
//   TRACKED_KILL_ONLY=a,b      count only these calls (e.g. appendFileSync: the journal's appends);
//   TRACKED_KILL_TRACE=1       print each such call on stderr (`io <k> <call> <path>`), to plan the kills.
// Before dying it prints `killed-at <k> <call> <path> [torn <bytes>/<bytes>]` on stderr.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { diffMask, type MaskRuns } from '../../src-shared/mask-runs';
import { Project } from '../../src-main/services/project';
import { main } from '../../src-main/cli';
import { rng } from '../helpers/rng';
import { checksum, neighboursSum, type KillOp } from './kill-state';

export interface DriverConfig {
  dir: string;
  origin: string;
  nTilts: number;
  scanShape: [number, number];
  anglesDeg: number[];
  checkpointMs: number;
  seed: number;
  /** Stop (and close the project) after this long; the test kills the driver well before. */
  maxMs: number;
}

const orig = { writeSync: fs.writeSync, appendFileSync: fs.appendFileSync };
const emit = (line: object): void => {
  orig.writeSync(1, `${JSON.stringify(line)}\n`);
};

/** How many bytes a call would write (0 when it writes none or the form is not one of the usual ones). */
function payloadBytes(name: string, args: unknown[]): number {
  const data = name === 'writeSync' ? args[1] : name === 'appendFileSync' || name === 'writeFileSync' ? args[1] : undefined;
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (ArrayBuffer.isView(data)) return name === 'writeSync' && typeof args[3] === 'number' ? (args[3] as number) : data.byteLength;
  return 0;
}

/** Writes the first `bytes` of what the call would write (a torn write), with the unpatched functions. */
function writePrefix(name: string, args: unknown[], bytes: number): void {
  const data = args[1];
  const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from((data as ArrayBufferView).buffer, (data as ArrayBufferView).byteOffset, (data as ArrayBufferView).byteLength);
  if (name === 'writeSync') {
    const offset = typeof data === 'string' ? 0 : ((args[2] as number | undefined) ?? 0);
    const position = typeof data === 'string' ? (args[2] as number | null | undefined) : (args[4] as number | null | undefined);
    orig.writeSync(args[0] as number, buf, offset, bytes, position ?? null);
  } else if (name === 'appendFileSync') orig.appendFileSync(args[0] as fs.PathOrFileDescriptor, buf.subarray(0, bytes));
  else fs.writeFileSync.call(fs, args[0] as fs.PathOrFileDescriptor, buf.subarray(0, bytes));
}

const isWriteOpen = (flags: unknown): boolean => (typeof flags === 'string' ? /[wa+]/.test(flags) : typeof flags === 'number' && (flags & 3) !== 0);

function installFaults(): void {
  const killAt = Number(process.env['TRACKED_KILL_AT_IO'] ?? 0);
  const torn = process.env['TRACKED_KILL_TORN'] === '1';
  const trace = process.env['TRACKED_KILL_TRACE'] === '1';
  const only = process.env['TRACKED_KILL_ONLY']?.split(',');
  if (!killAt && !trace) return;
  const pick = rng(killAt * 7919 + 13);
  const names = ['openSync', 'writeSync', 'writeFileSync', 'appendFileSync', 'fsyncSync', 'truncateSync', 'ftruncateSync', 'renameSync', 'unlinkSync', 'rmSync'] as const;
  const table = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
  const fdPath = new Map<number, string>();
  let count = 0;
  // appendFileSync calls writeFileSync: a call made inside another one is part of it, not a call of its own.
  let depth = 0;
  for (const name of names) {
    const fn = table[name]!;
    table[name] = function (this: unknown, ...args: unknown[]): unknown {
      if (depth === 0 && (name !== 'openSync' || isWriteOpen(args[1])) && (!only || only.includes(name))) {
        count++;
        const target = typeof args[0] === 'number' ? (fdPath.get(args[0]) ?? `fd ${args[0]}`) : String(args[0]);
        const where = `${count} ${name} ${target}${name === 'renameSync' ? ` -> ${String(args[1])}` : ''}`;
        if (trace) orig.writeSync(2, `io ${where}\n`);
        if (count === killAt) {
          const size = torn ? payloadBytes(name, args) : 0;
          const part = size > 1 ? 1 + Math.floor(pick() * (size - 1)) : 0;
          depth++;
          if (part) writePrefix(name, args, part);
          orig.writeSync(2, `killed-at ${where}${part ? ` torn ${part}/${size}` : ''}\n`);
          process.kill(process.pid, 'SIGKILL');
        }
      }
      depth++;
      let result: unknown;
      try {
        result = fn.apply(this, args);
      } finally {
        depth--;
      }
      if (name === 'openSync' && typeof result === 'number') fdPath.set(result, String(args[0]));
      return result;
    };
  }
  syncBuiltinESMExports();
}

/** A filled disk of radius r at (cx, cy) painted with `value` into a copy of `frame`. */
function paintDisk(frame: Uint8Array, nx: number, cx: number, cy: number, r: number, value: 0 | 1): Uint8Array {
  const out = frame.slice();
  const ny = frame.length / nx;
  for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(ny - 1, Math.ceil(cy + r)); y++) {
    for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(nx - 1, Math.ceil(cx + r)); x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) out[y * nx + x] = value;
  }
  return out;
}

interface Ctx {
  p: Project;
  rand: () => number;
  nx: number;
  n: number;
  /** A neighbours write (a tracking run's result) is under way: edits go on meanwhile, as in the app. */
  nbBusy: boolean;
}

const int = (rand: () => number, k: number): number => Math.floor(rand() * k);

/** A brush or eraser stroke on one frame: the runs and the frame after it. */
function stroke(c: Ctx, id: number, tilt: number): { runs: MaskRuns; after: Uint8Array } {
  const before = c.p.get(id).masks.subarray(tilt * c.n, (tilt + 1) * c.n);
  const ny = c.n / c.nx;
  const after = paintDisk(before, c.nx, c.rand() * c.nx, c.rand() * ny, 1 + c.rand() * 5, c.rand() < 0.7 ? 1 : 0);
  return { runs: diffMask(before, after), after };
}

/** Tracker-like output for some tilts: a fresh blob each, or (rarely) speckle, which makes a long journal line. */
function trackerFrames(c: Ctx, id: number): Array<{ tilt: number; runs: MaskRuns; after: Uint8Array }> {
  const tilts = [...new Set(Array.from({ length: 1 + int(c.rand, 4) }, () => int(c.rand, c.p.nTilts)))];
  const speckle = c.rand() < 0.1;
  return tilts.map((tilt) => {
    const before = c.p.get(id).masks.subarray(tilt * c.n, (tilt + 1) * c.n);
    const after = speckle ? Uint8Array.from(before, () => (c.rand() < 0.5 ? 1 : 0)) : paintDisk(new Uint8Array(c.n), c.nx, c.rand() * c.nx, (c.rand() * c.n) / c.nx, 2 + c.rand() * 6, 1);
    return { tilt, runs: diffMask(before, after), after };
  });
}

/** Announces, performs and acknowledges one random operation (a neighbours write is acknowledged when it is done). */
function step(c: Ctx, seq: number): void {
  const { p, rand } = c;
  const ids = [...p.objects.keys()];
  const r = rand();
  const id = ids[int(rand, ids.length)]!;
  const t = Date.now();
  if (!ids.length || r < 0.08) {
    const name = `k${process.pid}-${seq}`;
    emit({ k: 'i', seq, op: 'create', name } satisfies KillOp & { k: string });
    const o = p.create(name);
    emit({ k: 'a', seq, id: o.id, t });
  } else if (r < 0.68) {
    const tilt = int(rand, p.nTilts);
    const { runs, after } = stroke(c, id, tilt);
    emit({ k: 'i', seq, op: 'edit', id, sums: [[tilt, checksum(after, 'edited')]] });
    p.edit(id, tilt, runs);
    emit({ k: 'a', seq, t });
  } else if (r < 0.9) {
    const frames = trackerFrames(c, id);
    emit({ k: 'i', seq, op: 'frames', id, sums: frames.map((f) => [f.tilt, checksum(f.after, 'tracked')]) });
    p.setFrames(id, frames.map((f) => ({ tilt: f.tilt, runs: f.runs, state: 'tracked' as const, quality: { flagged: rand() < 0.2 } })));
    emit({ k: 'a', seq, t });
  } else if (r < 0.95) {
    const patch = { visible: rand() < 0.5, enabled: rand() < 0.5 };
    emit({ k: 'i', seq, op: 'update', id, ...patch });
    p.update(id, patch);
    emit({ k: 'a', seq, t });
  } else if (r < 0.97 && ids.length > 2) {
    emit({ k: 'i', seq, op: 'delete', id });
    p.delete(id);
    emit({ k: 'a', seq, t });
  } else if (!c.nbBusy) {
    const labels = rand() < 0.2 ? null : Uint16Array.from({ length: p.nTilts * c.n }, () => (rand() < 0.1 ? 1 + int(rand, 3) : 0));
    emit({ k: 'i', seq, op: 'nb', sum: neighboursSum(labels) });
    c.nbBusy = true;
    void p.setNeighbours(labels).then(() => {
      c.nbBusy = false;
      emit({ k: 'a', seq, t: Date.now() });
    });
  }
}

async function editLoop(cfg: DriverConfig): Promise<void> {
  const p = new Project(cfg.dir, cfg.origin, cfg.nTilts, cfg.scanShape, cfg.anglesDeg, cfg.checkpointMs);
  await p.load();
  emit({ k: 'ready', pid: process.pid, objects: p.objects.size });
  const c: Ctx = { p, rand: rng(cfg.seed), nx: cfg.scanShape[1], n: p.frameSize, nbBusy: false };
  const end = Date.now() + cfg.maxMs;
  for (let seq = 0; Date.now() < end; seq++) {
    step(c, seq);
    // Edits arrive as separate events (IPC messages in the app): the autosave timer runs between them, and a
    // burst of several in one tick now and then.
    if (c.rand() < 0.8) await new Promise((resolve) => setTimeout(resolve, int(c.rand, 3)));
  }
  while (c.nbBusy) await new Promise((resolve) => setTimeout(resolve, 5));
  await p.close();
  emit({ k: 'closed' });
}

installFaults();
const [mode, ...rest] = process.argv.slice(2);
if (mode === 'edit') await editLoop(JSON.parse(rest[0]!) as DriverConfig);
else if (mode === 'cli') process.exitCode = await main([process.argv[0]!, 'tracked', ...rest]);
else {
  process.stderr.write('usage: kill-driver.mjs edit CONFIG_JSON | cli ARGS…\n');
  process.exitCode = 2;
}
