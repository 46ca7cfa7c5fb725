// Every npm script the README names exists and runs: each is called with --help or a dry run here (the Electron
// ones can only show their help on a machine without the Electron binary). A script named in the README but
// missing here fails the test, so the two stay in step.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths';

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
/** script → a command that exercises it without doing the whole job, and text its output must hold. */
const DRY_RUNS: Record<string, { cmd: string; args: string[]; expect: RegExp }> = {
  test: { cmd: 'node', args: ['scripts/test-all.mjs', '--help'], expect: /total: N passed/ },
  e2e: { cmd: 'node', args: ['scripts/run-e2e.mjs', '--help'], expect: /Chromium/ },
  bench: { cmd: 'node', args: ['scripts/bench.mjs', '--help'], expect: /Available: .*virtual/ },
  'build:wasm': { cmd: 'node', args: ['scripts/build-wasm.mjs', '--help'], expect: /AssemblyScript/ },
  'build:cli': { cmd: 'node', args: ['scripts/build-cli.mjs', '--help'], expect: /out\/cli/ },
  'build:cli-app': { cmd: 'node', args: ['scripts/build-cli-app.mjs', '--help'], expect: /out\/cli-app/ },
  demo: { cmd: 'node', args: ['bin/tracked.mjs', 'demo', '--help'], expect: /Usage: tracked demo/ },
  typecheck: { cmd: npx, args: ['tsc', '-p', 'tsconfig.node.json', '--showConfig'], expect: /"strict": true/ },
  lint: { cmd: npx, args: ['eslint', '--print-config', 'src-main/io/util.ts'], expect: /boundaries\/dependencies/ },
  'lint:electron': { cmd: 'node', args: ['scripts/electronegativity.mjs', '--help'], expect: /electronegativity/ },
  unit: { cmd: npx, args: ['vitest', 'list', 'src-renderer/src/core'], expect: /mask overlay/ },
  start: { cmd: npx, args: ['electron-vite', 'preview', '--help'], expect: /preview/ },
  dev: { cmd: npx, args: ['electron-vite', 'dev', '--help'], expect: /dev/ },
  dist: { cmd: npx, args: ['electron-builder', '--help'], expect: /electron-builder/ },
};

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
const named = [...new Set([...readme.matchAll(/npm (?:run ([\w:-]+)|(test|start)\b)/g)].map((m) => m[1] ?? m[2]!))].sort();

describe('the scripts the README names', () => {
  it('the README names scripts, and each is in package.json and has a dry run here', () => {
    expect(named.length).toBeGreaterThan(5);
    for (const s of named) {
      expect(pkg.scripts[s], `package.json has no script '${s}'`).toBeDefined();
      expect(DRY_RUNS[s], `no dry run for '${s}' in tests/integration/scripts.spec.ts`).toBeDefined();
    }
  });

  it.each(named.filter((s) => DRY_RUNS[s]))('npm run %s: its dry run exits 0', (s) => {
    const d = DRY_RUNS[s]!;
    const r = spawnSync(d.cmd, d.args, { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' } });
    expect(r.status, `${d.cmd} ${d.args.join(' ')}: ${r.stderr}`).toBe(0);
    expect(r.stdout + r.stderr).toMatch(d.expect);
  }, 120_000);

  it('npm test stops at once with the one command to run when Chromium is missing (no stack trace)', () => {
    const r = spawnSync('node', ['scripts/test-all.mjs'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium', TRACKED_NO_INSTALL: '1' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/apt-get install -y chromium/);
    expect(r.stderr).not.toMatch(/\bat .*\.(m?js|ts):\d+/);
  });
});
