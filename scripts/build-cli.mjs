// Builds the headless side (the `tracked` CLI and the worker_threads entry) into out/cli with esbuild.
// electron-vite builds the app; this small bundle lets `npx tracked` and the tests run without Electron.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { runIfMain } from './entry.mjs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildCli({ quiet = false } = {}) {
  await build({
    absWorkingDir: root,
    entryPoints: {
      tracked: 'src-main/cli.ts',
      ...(existsSync(join(root, 'src-main/workers/worker.ts')) ? { worker: 'src-main/workers/worker.ts' } : {}),
      ...(existsSync(join(root, 'src-main/stages/tracking/sam2/sam2.worker.ts')) ? { 'sam2-worker': 'src-main/stages/tracking/sam2/sam2.worker.ts' } : {}),
    },
    outdir: 'out/cli',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: quiet ? 'error' : 'info',
    // Some dependencies are CommonJS and call require(): give the ESM bundle one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
}

await runIfMain(import.meta.url, 'usage: npm run build:cli\n  Bundles the tracked CLI and the worker entries (worker, sam2-worker) into out/cli with esbuild.\n', () => buildCli());
