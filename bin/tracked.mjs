#!/usr/bin/env node
// The `tracked` command. Runs the bundled CLI in out/cli; in a source checkout it (re)builds that bundle
// first when any source file is newer, so `npx tracked` works straight after `npm ci`.
import { existsSync, statSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'out', 'cli', 'tracked.mjs');

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const sources = ['src-main', 'src-shared'].map((d) => join(root, d));
const hasSources = sources.every((d) => existsSync(d)) && existsSync(join(root, 'scripts', 'build-cli.mjs'));
if (hasSources) {
  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  if (Math.max(...sources.map(newestMtime)) > built) {
    const { buildCli } = await import(pathToFileURL(join(root, 'scripts', 'build-cli.mjs')).href);
    await buildCli({ quiet: true });
  }
}
const { main } = await import(pathToFileURL(bundle).href);
process.exitCode = await main(process.argv);
