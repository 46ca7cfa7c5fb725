// Bundles the e2e test host (Node) and the page bridge (browser) into out/e2e.
import { build } from 'esbuild';
import { NODE_ESM_BUNDLE } from './esbuild-node.mjs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function buildE2e() {
  await build({
    absWorkingDir: root,
    entryPoints: { host: 'tests/e2e/host.ts' },
    outdir: 'out/e2e',
    outExtension: { '.js': '.mjs' },
    ...NODE_ESM_BUNDLE,
  });
  await build({
    absWorkingDir: root,
    entryPoints: { bridge: 'tests/e2e/bridge.ts' },
    outdir: 'out/e2e',
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    logLevel: 'error',
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildE2e();
}
