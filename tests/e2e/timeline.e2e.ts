// The object timeline as a user meets it on long series: every tilt drawn at 1280 px width (121 and 361 tilts, the
// left panel ~200 px wide), the drawn colours equal to the statuses and the counts under the strip, and "C" visiting
// every frame to check. Saves docs/images/timeline-121.png and timeline-361.png.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { NEEDS_A_LOOK, type TimelineStatus } from '../../src-renderer/src/core/timeline';
import { syntheticSeriesFixture } from './fixture';
import { pageErrors } from './harness';
import { mainObjects, openSeriesInMasksTab, timelineCounts, timelineDrawn, trackFirstCandidate } from './flows';

const SCAN = 24;
const fx121 = syntheticSeriesFixture('timeline-121', 9, SCAN, { preset: 'single-isolated', size: { scanShape: [SCAN, SCAN], detectorShape: [32, 32], nTilts: 121, tiltStepDeg: 0.5 } });
const fx361 = syntheticSeriesFixture('timeline-361', 10, SCAN, { preset: 'single-isolated', size: { scanShape: [SCAN, SCAN], detectorShape: [32, 32], nTilts: 361, tiltStepDeg: 0.25 } });

async function check(page: Page, n: number, shot: string): Promise<void> {
  await openSeriesInMasksTab(page, shot === 'timeline-121' ? fx121.manifest() : fx361.manifest(), SCAN);
  const o = await trackFirstCandidate(page);
  // A person's decisions on a few tilts, through the app's own calls, then the view reloaded from main.
  await page.evaluate(async ({ id, n }) => {
    const [s] = await window.api.invoke('series.list', {});
    await window.api.invoke('masks.setState', { seriesId: s!.seriesId, objectId: id, tilts: [10, 11, 12], state: 'locked' });
    await window.api.invoke('masks.setState', { seriesId: s!.seriesId, objectId: id, tilts: [n - 3], state: 'excluded' });
  }, { id: o.id, n });
  await page.reload();
  await openSeriesInMasksTab(page, shot === 'timeline-121' ? fx121.manifest() : fx361.manifest(), SCAN);
  await page.getByTestId(`object-${o.id}`).locator('.name').click();
  const { columns, statuses, width } = await timelineDrawn(page, o.id);
  expect(statuses).toHaveLength(n);
  expect(columns.every((c) => c !== null), 'every column shows a status colour (nothing clipped or blank)').toBe(true);
  if (width >= n) {
    // Each tilt has its own columns (the first is ⌈t·width/n⌉): the colour drawn there is its status.
    for (let t = 0; t < n; t++) expect(columns[Math.ceil((t * width) / n)], `tilt ${t + 1}`).toBe(statuses[t]);
  } else {
    // Several tilts per column: the most urgent of them shows — the locked run over the tracked tilts around it, and
    // every lost or flagged tilt.
    expect(columns).toContain('locked');
    for (const s of NEEDS_A_LOOK) expect(columns.includes(s)).toBe(statuses.includes(s));
  }
  // The counts under the strip are the statuses it draws.
  const expected = new Map<string, number>();
  for (const s of statuses) expected.set(s, (expected.get(s) ?? 0) + 1);
  expect(await timelineCounts(page, o.id)).toEqual(expected);
  await expect(page.getByTestId(`timeline-counts-${o.id}`).textContent()).resolves.toContain(`${n} tilts`);
  // "C" visits every frame to check, in order, wrapping round.
  const toCheck = statuses.flatMap((s, t) => (NEEDS_A_LOOK.has(s) ? [t] : []));
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  for (const t of toCheck.slice(0, 5)) {
    await page.keyboard.press('c');
    await expect.poll(async () => (await page.getByTestId('frame-state').getAttribute('data-tilt')) ?? '').toBe(String(t));
  }
  await page.getByTestId('objects-panel').screenshot({ path: `docs/images/${shot}.png` });
  expect((await mainObjects(page)).length).toBeGreaterThan(0);
  if (shot === 'timeline-121') await exportAsks(page, o.id, statuses);
  expect(pageErrors(page)).toEqual([]);
}

/** The Export tab lists the frames to check and asks before extracting them; "Leave them out" excludes them. */
async function exportAsks(page: Page, id: number, statuses: TimelineStatus[]): Promise<void> {
  const toCheck = statuses.flatMap((s, t) => (NEEDS_A_LOOK.has(s) ? [t] : []));
  expect(toCheck.length, 'this series has frames to check').toBeGreaterThan(0);
  await page.keyboard.press('6');
  await page.getByTestId('export-tab').waitFor();
  await expect(page.getByTestId('export-to-check').textContent()).resolves.toContain(`${toCheck.length} frames to check`);
  await page.getByTestId('extract-only').click();
  await page.getByTestId('export-ask').waitFor();
  await page.getByTestId('export-exclude-flagged').click();
  await page.getByTestId('export-result').waitFor({ timeout: 60_000 });
  const o = (await mainObjects(page)).find((x) => x.id === id)!;
  const trackedToCheck = toCheck.filter((t) => statuses[t] === 'check');
  expect(trackedToCheck.length).toBeGreaterThan(0);
  for (const t of trackedToCheck) expect(o.frameState[t], `tilt ${t + 1}`).toBe('excluded');
}

describe('object timeline', () => {
  it('draws all 121 tilts at 1280 px, the colours and counts agree, C visits the frames to check', async () => {
    const page = await fx121.harness().newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    await check(page, 121, 'timeline-121');
    await page.close();
  });
  it('draws all 361 tilts at 1280 px', async () => {
    const page = await fx361.harness().newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    await check(page, 361, 'timeline-361');
    await page.close();
  });
});
