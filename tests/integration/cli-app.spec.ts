// The installed app's `tracked` command: out/cli-app (scripts/build-cli-app.mjs) laid out as the installers lay it
// out (<resources>/cli beside <resources>/resources/bin), far from this repository's node_modules, run by the
// launcher. Node stands in for the app's executable (which it is, with ELECTRON_RUN_AS_NODE=1).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../../package.json';
import { synthesize } from '../../src-main/synth';
// @ts-expect-error: a plain .mjs build script without types
import { buildCliApp, importedPackages } from '../../scripts/build-cli-app.mjs';

const app = mkdtempSync(join(tmpdir(), 'tracked-app-'));
const resources = join(app, 'resources');
const launcher = join(resources, 'resources', 'bin', 'tracked');
let series = '';
afterAll(() => rmSync(app, { recursive: true, force: true }));

beforeAll(async () => {
  await (buildCliApp as (o: object) => Promise<unknown>)({ out: join(resources, 'cli'), quiet: true, rebuild: false });
  mkdirSync(join(resources, 'resources'), { recursive: true });
  cpSync('resources/bin', join(resources, 'resources', 'bin'), { recursive: true });
  const s = await synthesize({ preset: 'single-isolated', size: { scanShape: [8, 8], detectorShape: [32, 32], nTilts: 2, tiltStepDeg: 2 }, outDir: join(app, 'data'), seed: 3, mib: true });
  series = join(app, 'data', s.manifest);
}, 120_000);

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync('sh', [launcher, ...args], { cwd: app, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env } });

describe('the installed `tracked` command', () => {
  it('runs from its own folder with the packages it needs and nothing else', () => {
    const v = run(['--version'], { TRACKED_ELECTRON: process.execPath });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const out = join(app, 'v.h5');
    const r = run(['virtual', series, '-d', 'adf:4,12', '-o', out], { TRACKED_ELECTRON: process.execPath });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ out, nTilts: 2, outputs: ['adf'] });
    expect(existsSync(out)).toBe(true);
    // onnxruntime's native binaries for this platform only.
    expect(readdirSync(join(resources, 'cli', 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6'))).toEqual([process.platform]);
  });

  it("finds the app's executable beside its resources and runs it as Node; says so when there is none", () => {
    // A stand-in executable where the installers put trackED, recording how it was started.
    const exe = join(app, 'trackED');
    writeFileSync(exe, `#!/bin/sh\necho "ELECTRON_RUN_AS_NODE=$ELECTRON_RUN_AS_NODE" > ${JSON.stringify(join(app, 'started'))}\nexec ${JSON.stringify(process.execPath)} "$@"\n`);
    chmodSync(exe, 0o755);
    try {
      const r = run(['--version']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
      expect(spawnSync('cat', [join(app, 'started')], { encoding: 'utf8' }).stdout.trim()).toBe('ELECTRON_RUN_AS_NODE=1');
    } finally {
      rmSync(exe);
    }
    const none = run(['--version']);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/the trackED executable was not found beside .*resources \(set TRACKED_ELECTRON\)/);
  });

  it('collects the packages a bundle imports (static, dynamic, require; subpaths folded; builtins left out)', () => {
    const code = `import a from "commander"; import { x } from 'csv-parse/sync'; const b = await import("h5wasm/node");
      import fs from "node:fs"; const c = require('@scope/pkg/sub'); import d from "./chunk.mjs"; s = " from '); x('";`;
    expect([...(importedPackages as (c: string) => Set<string>)(code)].sort()).toEqual(['@scope/pkg', 'commander', 'csv-parse', 'h5wasm']);
  });
});
