// `npm run e2e`: builds the app (electron-vite: main, preload, renderer) and runs the end-to-end tests in Debian's
// Chromium against the test host (tests/e2e/). Extra arguments go to Vitest (e.g. a spec file, `-t name`).
import { spawnSync } from 'node:child_process';
import { preflightOrExit } from './preflight.mjs';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'usage: npm run e2e [-- VITEST_ARGS]\n' +
      '  Builds the app with electron-vite, then runs tests/e2e/*.e2e.ts in Chromium (CHROMIUM_PATH, default /usr/bin/chromium)\n' +
      '  against the test host. Screenshots go to test-results/e2e/.\n',
  );
  process.exit(0);
}
preflightOrExit(['chromium'], 'e2e');
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const build = spawnSync(npx, ['electron-vite', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync(npx, ['vitest', 'run', '--config', 'vitest.e2e.config.ts', ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
