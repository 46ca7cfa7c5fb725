// DESIGN §2: only the two Electron shells import electron, so everything else runs in Node or Chromium.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|vue|mjs|js)$/.test(name) ? [p] : [];
  });
}

describe('architecture', () => {
  it('only src-main/index.ts and src-preload/index.ts import electron', () => {
    const importing = ['src-main', 'src-preload', 'src-renderer']
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
