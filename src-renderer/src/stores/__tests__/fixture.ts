// What the store specs share: a tiny synthetic series on disk (made once per file), and for every test a fresh
// Pinia and a fresh in-process window.api over main's real services (tests/helpers/in-process-api.ts), so a store's
// actions reach the same code they reach in the app, and nothing carries over between tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPinia, setActivePinia } from 'pinia';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { synthesize } from '../../../../src-main/synth/index';
import { inProcessApi, installWindowApi, type InProcessApi } from '../../../../tests/helpers/in-process-api';

export const SCAN = 24;
export const DETECTOR = 32;
export const TILTS = 5;

export interface StoreFixture {
  /** The series.json of the synthetic series. */
  manifest(): string;
  dir(): string;
  /** This test's in-process API (its main-side state included). */
  main(): InProcessApi;
}

export function storeFixture(): StoreFixture {
  let dir = '';
  let manifest = '';
  let current: InProcessApi | null = null;
  let n = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tracked-stores-'));
    const s = await synthesize({
      preset: 'brookite-agglomerate',
      size: { scanShape: [SCAN, SCAN], detectorShape: [DETECTOR, DETECTOR], nTilts: TILTS, tiltStepDeg: 5 },
      outDir: join(dir, 'series'),
      seed: 7,
    });
    manifest = join(dir, 'series', s.manifest);
  }, 120_000);
  beforeEach(() => {
    setActivePinia(createPinia());
    const projectDir = join(dir, `project-${++n}`);
    current = inProcessApi({ projectDir: () => projectDir, checkpointDelayMs: -1 });
    installWindowApi(current.api);
  });
  afterEach(async () => {
    await current?.close();
    current = null;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { manifest: () => manifest, dir: () => dir, main: () => current! };
}

/** Waits until `check` holds (stores debounce and refetch asynchronously). */
export async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
