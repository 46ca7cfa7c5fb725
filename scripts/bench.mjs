// `npm run bench -- NAME [NAME…]`: bundles bench/NAME.ts, runs its default export and prints one JSON
// object (also written to bench-results/NAME.json). No name runs every bench. Benchmarks report ratios
// measured in the same run, because absolute times on a shared 2-core machine are noisy.
import { build } from 'esbuild';
import { NODE_ESM_BUNDLE } from './esbuild-node.mjs';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildCli } from './build-cli.mjs';
import { preflightOrExit } from './preflight.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const available = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    `usage: npm run bench [-- NAME…]\n  Runs the named benchmarks (default: all) and prints one JSON object; each also goes to bench-results/NAME.json.\n` +
      `  Available: ${available.join(', ')}. Each reports a ratio against a baseline measured in the same run.\n`,
  );
  process.exit(0);
}
const unknown = names.filter((n) => !available.includes(n));
if (unknown.length) {
  console.error(`bench: unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}`);
  process.exit(2);
}
if ((names.length ? names : available).includes('masks')) preflightOrExit(['chromium'], 'bench');
// Workers and the CLI run from out/cli, as in the app.
await buildCli({ quiet: true });
const results = {};
for (const name of names.length ? names : available) {
  const outfile = join(root, 'out', 'bench', `${name}.mjs`);
  await build({
    absWorkingDir: root,
    entryPoints: [join('bench', `${name}.ts`)],
    outfile,
    ...NODE_ESM_BUNDLE,
  });
  process.env.TRACKED_WORKER ??= join(root, 'out', 'cli', 'worker.mjs');
  const mod = await import(pathToFileURL(outfile).href);
  const t0 = performance.now();
  const result = await mod.default();
  results[name] = { ...result, benchWallS: (performance.now() - t0) / 1000 };
  mkdirSync(join(root, 'bench-results'), { recursive: true });
  writeFileSync(join(root, 'bench-results', `${name}.json`), JSON.stringify(results[name], null, 2));
}
process.stdout.write(`${JSON.stringify({ machine: { cpus: (await import('node:os')).availableParallelism(), node: process.version }, results }, null, 2)}\n`);
