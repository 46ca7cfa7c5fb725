// `npm test`: typecheck (node + web) → lint → Electron security → unit/integration (Vitest) → e2e (Chromium + test host).
// Each stage streams its output; the last line adds up the test counts of both Vitest runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { preflightOrExit } from './preflight.mjs';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'usage: npm test\n' +
      '  typecheck (node, e2e, web) → lint (eslint + jscpd) → Electron security (electronegativity) → unit and integration\n' +
      '  tests (Vitest) → build → end-to-end tests in Chromium. Installs missing system packages when run as root on\n' +
      '  Debian (else names the command); the last line reads `total: N passed, N failed, N skipped`.\n',
  );
  process.exit(0);
}
// Before any test: what the suite needs from the machine (scripts/preflight.mjs).
preflightOrExit(['chromium', 'dials', 'slurm'], 'npm test');

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
mkdirSync('test-results', { recursive: true });
const failures = [];
const totals = { passed: 0, failed: 0, skipped: 0 };

function stage(name, cmd, args) {
  process.stdout.write(`\n━━ ${name} ━━ ${cmd} ${args.join(' ')}\n`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: process.env });
  const ok = r.status === 0;
  process.stdout.write(`━━ ${name}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (!ok) failures.push(name);
  return ok;
}

function addCounts(file) {
  if (!existsSync(file)) return false;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  totals.passed += report.numPassedTests ?? 0;
  totals.failed += report.numFailedTests ?? 0;
  totals.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  return true;
}

stage('typecheck (node: main + preload + tests)', npx, ['tsc', '--noEmit', '-p', 'tsconfig.node.json']);
stage('typecheck (e2e: harness + page code)', npx, ['tsc', '--noEmit', '-p', 'tsconfig.e2e.json']);
stage('typecheck (web: renderer + contract)', npx, ['vue-tsc', '--noEmit', '-p', 'tsconfig.web.json']);
stage('lint (eslint: layers, electron, Node APIs, function length; jscpd: duplicates)', 'npm', ['run', '--silent', 'lint']);
stage('Electron security (electronegativity, justified findings)', 'npm', ['run', '--silent', 'lint:electron']);

for (const f of ['test-results/unit.json', 'test-results/e2e.json']) rmSync(f, { force: true });
stage('unit + integration (vitest)', npx, ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/unit.json']);
if (!addCounts('test-results/unit.json')) failures.push('unit report missing');

if (stage('build (electron-vite: main, preload, renderer)', npx, ['electron-vite', 'build'])) {
  stage('e2e (Chromium + test host)', npx, [
    'vitest', 'run', '--config', 'vitest.e2e.config.ts', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/e2e.json',
  ]);
  if (!addCounts('test-results/e2e.json')) failures.push('e2e report missing');
}

if (failures.length) process.stdout.write(`\nFailed stages: ${failures.join(', ')}\n`);
if (failures.length && totals.failed === 0) totals.failed = failures.length;
process.stdout.write(`\ntotal: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(failures.length ? 1 : 0);
