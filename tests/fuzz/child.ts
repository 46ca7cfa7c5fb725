// Runs fuzz cases in a process of its own, so the spec can time each one out and kill a hang (a loop inside the
// HDF5 library cannot be interrupted from JavaScript). Arguments: BASE_DIR SEED KIND FROM TO, or BASE_DIR --fixture
// DIR (a kept case). One JSON line per case on stdout: { i, start: true } before it, { i, result, ms } after it.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { installHdf5Guard } from '../../src-main/stages/hdf5-guard';
import { KINDS, loadBase, makeCase, runCase, type CaseFiles, type FuzzKind } from './cases';

const say = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

async function one(base: ReturnType<typeof loadBase>, kind: FuzzKind, i: number, c: CaseFiles, root: string): Promise<void> {
  say({ i, start: true });
  const t0 = performance.now();
  for (const [f, data] of Object.entries(c.files)) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), data);
  }
  let result = await runCase(base, kind, join(root, c.entry));
  // Nothing half-written may be left behind, whatever the outcome.
  // Only this case's own files: another child works in the same folder at the same time.
  const tag = c.entry.split('/')[0]!;
  const own = statSync(join(root, tag), { throwIfNoEntry: false })?.isDirectory() ? readdirSync(join(root, tag)).map((f) => `${tag}/${f}`) : readdirSync(root);
  const left = own.filter((f) => f.includes('.tmp-') && f.includes(tag));
  if (left.length) result = `left behind: ${left.join(', ')}`;
  for (const f of Object.keys(c.files)) rmSync(join(root, f.split('/')[0]!), { recursive: true, force: true });
  say({ i, result, ms: Math.round(performance.now() - t0) });
}

async function main(): Promise<void> {
  await h5wasm.ready;
  installHdf5Guard();
  const [baseDir, a, b, c, d] = process.argv.slice(2);
  const base = loadBase(baseDir!);
  if (a === '--fixture') {
    // A kept case (./fixtures.ts): its files as they were found, opened from the base folder like a fresh case.
    const meta = JSON.parse(readFileSync(join(b!, 'case.json'), 'utf8')) as { kind: FuzzKind; entry: string };
    const files: Record<string, Buffer> = {};
    const filesDir = join(b!, 'files');
    for (const f of readdirSync(filesDir, { recursive: true }).map(String)) if (statSync(join(filesDir, f)).isFile()) files[f] = readFileSync(join(filesDir, f));
    await one(base, meta.kind, 0, { entry: meta.entry, files }, base.dir);
    return;
  }
  const seed = Number(a);
  const kind = b as FuzzKind;
  if (!KINDS.includes(kind)) throw new Error(`unknown kind ${kind}`);
  for (let i = Number(c); i < Number(d); i++) await one(base, kind, i, makeCase(base, kind, seed, i), base.dir);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`fuzz child: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  },
);
