// Builds the headless side (the `tracked` CLI and the worker_threads entry) into out/cli with esbuild.
// electron-vite builds the app; this small bundle lets `npx tracked` and the tests run without Electron.
import { build } from 'esbuild';
import { NODE_ESM_BUNDLE } from './esbuild-node.mjs';
import { fileURLToPath } from 'node:url';
import { existsSync, rmSync } from 'node:fs';
import { runIfMain } from './entry.mjs';
import { writeSplitH5wasm } from './h5wasm-split.mjs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildCli({ quiet = false } = {}) {
  // Chunk names carry content hashes: clear the last build's, so only what the entries import is shipped.
  rmSync(join(root, 'out', 'cli', 'chunks'), { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: {
      tracked: 'src-main/cli.ts',
      ...(existsSync(join(root, 'src-main/workers/worker.ts')) ? { worker: 'src-main/workers/worker.ts' } : {}),
      ...(existsSync(join(root, 'src-main/stages/tracking/sam2/sam2.worker.ts')) ? { 'sam2-worker': 'src-main/stages/tracking/sam2/sam2.worker.ts' } : {}),
    },
    outdir: 'out/cli',
    outExtension: { '.js': '.mjs' },
    // One chunk per command's code (cli.ts imports each when it runs): start-up loads only what the command needs.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    ...NODE_ESM_BUNDLE,
    sourcemap: 'linked',
    logLevel: quiet ? 'error' : 'info',
  });
  const why = writeSplitH5wasm(join(root, 'out', 'cli'));
  if (why) console.warn(`build:cli: h5wasm loads from its package (no split copy: ${why})`);
}

await runIfMain(import.meta.url, 'usage: npm run build:cli\n  Bundles the tracked CLI and the worker entries (worker, sam2-worker) into out/cli with esbuild.\n', () => buildCli());
