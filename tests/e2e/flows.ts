// Steps several app specs take the same way: open a series and go to the Masks tab, read main's objects, and track
// the first auto-detected candidate.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { STATUS_COLOURS, type TimelineStatus } from '../../src-renderer/src/core/timeline';

/** Opens the series and waits for its virtual image (scanWidth probe positions wide), then shows the Masks tab. */
export async function openSeriesInMasksTab(page: Page, manifest: string, scanWidth: number): Promise<void> {
  await page.getByTestId('inspect-path').fill(manifest);
  await page.getByTestId('open-button').click();
  await page.waitForFunction((w) => (document.querySelector('[data-testid="virtual-image"] canvas') as HTMLCanvasElement | null)?.width === w, scanWidth, { timeout: 60_000 });
  await page.keyboard.press('2');
  await page.getByTestId('masks-tab').waitFor();
}

export async function mainObjects(page: Page) {
  return page.evaluate(async () => {
    const [s] = await window.api.invoke('series.list', {});
    return window.api.invoke('objects.list', { seriesId: s!.seriesId });
  });
}

/**
 * Auto-detect, click the first candidate, and wait until its tracking run is over (its frames are tracked; the run's
 * neighbours are written before them). Returns the new object.
 */
export async function trackFirstCandidate(page: Page): Promise<Awaited<ReturnType<typeof mainObjects>>[number]> {
  const before = (await mainObjects(page)).length;
  await page.getByTestId('auto-detect').click();
  await page.getByTestId('candidates').waitFor();
  await page.getByTestId('candidates').locator('li').first().click();
  await expect.poll(async () => (await mainObjects(page)).length).toBe(before + 1);
  const created = (await mainObjects(page)).at(-1)!;
  await expect
    .poll(async () => (await mainObjects(page)).find((o) => o.id === created.id)!.frameState.filter((st) => st === 'tracked').length, { timeout: 30_000 })
    .toBeGreaterThan(3);
  return created;
}

/**
 * From the Masks tab with a tracked object: the Processing tab's Extract, Find peaks and Find lattice buttons, each
 * waited for until its result shows.
 */
export async function extractAndIndex(page: Page): Promise<void> {
  await page.keyboard.press('4');
  await page.getByTestId('processing-extract').click();
  await page.getByTestId('processing-tab').waitFor({ timeout: 60_000 });
  await page.getByTestId('find-peaks').click();
  await page.getByTestId('peaks-summary').waitFor({ timeout: 60_000 });
  await page.getByTestId('find-lattice').click();
  await page.getByTestId('lattice-cell').waitFor({ timeout: 120_000 });
}

/** Main's processing summary of the first object of the first open series. */
export async function firstProcessingSummary(page: Page) {
  return page.evaluate(async () => {
    const [s] = await window.api.invoke('series.list', {});
    const [o] = await window.api.invoke('objects.list', { seriesId: s!.seriesId });
    return window.api.invoke('process.summary', { seriesId: s!.seriesId, objectId: o!.id });
  });
}

/**
 * Clicks the Export tab's Extract (or Extract and export) button; where it asks about frames to check first, answers
 * "Include them" (the specs that use this are not about flags) — then waits for the result.
 */
export async function extractIncludingFlagged(page: Page, button: 'extract-only' | 'extract-export'): Promise<void> {
  await page.getByTestId(button).click();
  const ask = page.getByTestId('export-ask');
  const result = page.getByTestId('export-result');
  await Promise.race([ask.waitFor({ timeout: 60_000 }), result.waitFor({ timeout: 60_000 })]);
  if (await ask.isVisible()) await page.getByTestId('export-include-flagged').click();
  await result.waitFor({ timeout: 60_000 });
}

const hex = (c: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];

/** The status each pixel column of an object's timeline strip shows (read back from the canvas), and the statuses it was given. */
export async function timelineDrawn(page: Page, id: number): Promise<{ columns: Array<TimelineStatus | null>; statuses: TimelineStatus[]; width: number }> {
  const { pixels, statuses, width } = await page.evaluate((oid) => {
    const c = document.querySelector(`[data-testid="timeline-${oid}"]`) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, Math.round(c.height * 0.7), c.width, 1).data;
    const dpr = c.width / c.clientWidth;
    const px: number[][] = [];
    for (let x = 0; x < Math.floor(c.clientWidth); x++) {
      const i = 4 * Math.floor((x + 0.5) * dpr);
      px.push([d[i]!, d[i + 1]!, d[i + 2]!]);
    }
    return { pixels: px, statuses: (c.dataset['statuses'] ?? '').split(','), width: Math.floor(c.clientWidth) };
  }, id);
  const byColour = Object.entries(STATUS_COLOURS).map(([s, c]) => [s as TimelineStatus, hex(c)] as const);
  const columns = pixels.map((p) => byColour.find(([, c]) => c.every((v, k) => Math.abs(v - p[k]!) <= 2))?.[0] ?? null);
  return { columns, statuses: statuses as TimelineStatus[], width };
}

/** The counts under an object's timeline strip, by status. */
export async function timelineCounts(page: Page, id: number): Promise<Map<string, number>> {
  const counts = await page
    .getByTestId(`timeline-counts-${id}`)
    .locator('[data-status]')
    .evaluateAll((els) => els.map((e) => [e.getAttribute('data-status'), Number.parseInt(e.textContent ?? '', 10)]));
  return new Map(counts as Array<[string, number]>);
}
