// The architecture of docs/ARCHITECTURE.md, checked: only the two Electron shells import electron, the preload
// exposes one `api`, the window keeps its security settings; and `npm run lint` really enforces the layers, the Node
// boundary, function length and duplicate code — each shown on a deliberate violation, linted with the project's
// own configuration.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|vue|mjs|js)$/.test(name) ? [p] : [];
  });
}

describe('architecture', () => {
  it('only src-main/index.ts and src-preload/index.ts import electron', () => {
    const importing = ['src-main', 'src-preload', 'src-renderer', 'src-shared']
      .flatMap(files)
      .filter((f) => /from\s+['"]electron['"]|require\(['"]electron['"]\)/.test(readFileSync(f, 'utf8')));
    expect(importing.sort()).toEqual([join('src-main', 'index.ts'), join('src-preload', 'index.ts')]);
  });

  it('the preload exposes exactly one object, `api`', () => {
    const src = readFileSync('src-preload/index.ts', 'utf8');
    expect(src.match(/exposeInMainWorld\(/g)).toHaveLength(1);
    expect(src).toMatch(/exposeInMainWorld\('api', createApi\(/);
  });

  it('the window keeps the Electron security settings', () => {
    const src = readFileSync('src-main/index.ts', 'utf8');
    for (const s of ['contextIsolation: true', 'sandbox: true', 'nodeIntegration: false', "action: 'deny'", 'will-navigate', 'Content-Security-Policy']) {
      expect(src).toContain(s);
    }
  });
});

describe('npm run lint fails on deliberate violations', () => {
  const eslint = new ESLint({ cwd: REPO_ROOT });
  /** The rule ids ESLint reports for `code` as if it were the file at `path` (relative to the repository). */
  async function rulesFor(path: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: join(REPO_ROOT, path) });
    return result!.messages.map((m) => m.ruleId ?? m.message);
  }

  it('accepts imports that follow the layers', async () => {
    expect(await rulesFor('src-main/stages/virtual/ok.ts', "import { BYTES_PER_PIXEL } from '../../../src-shared/pixels';\nimport { openSource } from '../../io/open';\nexport const x = [BYTES_PER_PIXEL, openSource];\n")).toEqual([]);
  }, 60_000);

  it.each([
    ['a kernel imports io', 'src-main/kernels/bad.ts', "import { readExactly } from '../io/util';\nexport const x = readExactly;\n"],
    ['io imports a stage', 'src-main/io/bad.ts', "import { computeVirtualImages } from '../stages/virtual';\nexport const x = computeVirtualImages;\n"],
    ['a stage imports the services', 'src-main/stages/virtual/bad.ts', "import { SeriesSessions } from '../../services/series-session';\nexport const x = SeriesSessions;\n"],
    ['the renderer imports main', 'src-renderer/src/bad.ts', "import { inspect } from '../../src-main/io/inspect';\nexport const x = inspect;\n"],
    ['src-shared imports main', 'src-shared/bad.ts', "import { fitBeamCentre } from '../src-main/kernels/beam-centre';\nexport const x = fitBeamCentre;\n"],
  ])('the layers: %s', async (_what, path, code) => {
    expect(await rulesFor(path, code)).toContain('boundaries/dependencies');
  }, 60_000);

  it('electron outside the two shells, and Node APIs in code that also runs in the renderer', async () => {
    expect(await rulesFor('src-main/services/bad.ts', "import { app } from 'electron';\nexport const x = app;\n")).toContain('no-restricted-imports');
    expect(await rulesFor('src-main/kernels/bad.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n")).toContain('no-restricted-imports');
    expect(await rulesFor('src-shared/bad.ts', "import { join } from 'node:path';\nexport const x = join;\n")).toContain('no-restricted-imports');
  }, 60_000);

  it('a function over 150 lines', async () => {
    const body = Array.from({ length: 151 }, (_, i) => `  total += ${i};`).join('\n');
    expect(await rulesFor('src-main/io/long.ts', `export function long(): number {\n  let total = 0;\n${body}\n  return total;\n}\n`)).toContain('max-lines-per-function');
  }, 60_000);

  it('a repeated block (jscpd, with the project configuration)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracked-jscpd-'));
    try {
      const block = Array.from({ length: 8 }, (_, i) => `  const v${i} = a[${i}] * b[${i}] + c[${i}] - d[${i}];\n  out.push(v${i} * ${i + 1});`).join('\n');
      writeFileSync(join(dir, 'one.ts'), `export function one(a: number[], b: number[], c: number[], d: number[], out: number[]): void {\n${block}\n}\n`);
      writeFileSync(join(dir, 'two.ts'), `export function two(a: number[], b: number[], c: number[], d: number[], out: number[]): void {\n${block}\n}\n`);
      const jscpd = join(REPO_ROOT, 'node_modules', '.bin', 'jscpd');
      const r = spawnSync(jscpd, ['--config', join(REPO_ROOT, '.jscpd.json'), dir], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/Clone found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
