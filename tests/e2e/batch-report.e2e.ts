// The batch's HTML report as a person opens it: a real `tracked batch` of two small synthetic series in one merge
// group, then report.html in Chromium from the file system — every task row with its three mask thumbnails loaded,
// the cell, the merge group's table. Saves docs/images/batch-report.png.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatch } from '../../src-main/cli/batch';
import type { BatchSummary } from '../../src-main/cli/batch/summary';
import { synthesize } from '../../src-main/synth/index';
import { startHarness, type Harness } from './harness';

const root = mkdtempSync(join(tmpdir(), 'tracked-e2e-batch-'));
let h: Harness | undefined;
let summary: BatchSummary;

beforeAll(async () => {
  const size = { scanShape: [32, 32] as [number, number], detectorShape: [96, 96] as [number, number], nTilts: 41, tiltStepDeg: 1 };
  for (const [k, name] of ['north', 'south'].entries()) await synthesize({ preset: 'single-isolated', size, outDir: join(root, name), seed: 60 + k });
  const plan = join(root, 'plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, defaults: { mergeGroup: 'brookite', spaceGroup: 'Pbca', composition: 'Ti8 O16' }, series: [{ path: 'north/series.json' }, { path: 'south/series.json' }] }));
  summary = (await runBatch(plan, { out: join(root, 'out'), entry: resolve('bin/tracked.mjs'), jobs: 2 })) as BatchSummary;
  h = await startHarness({ grantRoots: [root] });
}, 600_000);
afterAll(async () => {
  await h?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('batch report', () => {
  it('renders in Chromium with every thumbnail loaded, the cells and the merge group', async () => {
    expect(summary.counts.ok).toBe(2);
    const page = await h!.browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(pathToFileURL(join(root, 'out', 'report.html')).href);
    await page.getByRole('heading', { name: 'trackED batch' }).waitFor();
    const images = await page.locator('.thumbs img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
    expect(images.length).toBeGreaterThanOrEqual(4);
    expect(images.every((w) => w === 32)).toBe(true);
    const rows = await page.locator('tbody').first().locator('tr').allTextContents();
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r).toMatch(/ok.*\d+\.\d{3} \d+\.\d{3} \d+\.\d{3} Å/s);
    await expect(page.getByRole('heading', { name: /Merge group brookite/ }).textContent()).resolves.toMatch(/ok/);
    expect(await page.locator('table').nth(1).locator('tbody tr').allTextContents()).toEqual([expect.stringMatching(/north-auto \(reference\).*yes/), expect.stringMatching(/south-auto.*yes/)]);
    await page.screenshot({ path: 'docs/images/batch-report.png', fullPage: true });
    await page.close();
  });
});
