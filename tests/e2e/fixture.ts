// The fixture the app's e2e specs share: a small synthetic brookite series (made by trackED's generator, read by its
// readers) in a temp folder, and a running test host with Chromium (./harness.ts). Registers the file's
// beforeAll/afterAll; the getters are valid inside tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { synthesize } from '../../src-main/synth/index';
import type { PresetName, SizeSpec } from '../../src-main/synth/presets';
import { startHarness, type Harness } from './harness';

export interface SeriesFixture {
  harness(): Harness;
  /** The series.json to open. */
  manifest(): string;
  dir(): string;
}

/** Any preset at any size; the default is the small brookite agglomerate most specs use. */
export interface FixtureOptions {
  preset?: PresetName;
  size?: SizeSpec;
  /** Also write Merlin .mib files and open their manifest (series-mib.json). */
  mib?: boolean;
  /** Changes the written files before the host starts (e.g. damage some tilts). */
  alter?: (dir: string) => void;
}

export function syntheticSeriesFixture(name: string, seed: number, scan = 40, options: FixtureOptions = {}): SeriesFixture {
  let h: Harness | undefined;
  let dir = '';
  let manifest = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `tracked-e2e-${name}-`));
    const s = await synthesize({
      preset: options.preset ?? 'brookite-agglomerate',
      size: options.size ?? { scanShape: [scan, scan], detectorShape: [96, 96], nTilts: 7, tiltStepDeg: 6 },
      outDir: dir,
      seed,
      ...(options.mib ? { mib: true } : {}),
    });
    manifest = join(dir, options.mib ? 'series-mib.json' : s.manifest);
    options.alter?.(dir);
    // The host accepts paths inside the series' folder only (its outputs go there too).
    h = await startHarness({ grantRoots: [dir] });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return { harness: () => h!, manifest: () => manifest, dir: () => dir };
}
