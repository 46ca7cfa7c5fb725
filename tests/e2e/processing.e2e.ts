// The Processing tab against the test host on a synthetic single particle (31 tilts of 2°): track, extract, find the
// peaks and the lattice from the app's buttons, check the cell against the generator's truth (cctbx decides), see
// the axis, candidates and residuals drawn, edit peaks by clicking on the frame, and a malformed known cell refused.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { particleCellError, readTruth } from '../helpers/cell-error';
import { syntheticSeriesFixture } from './fixture';
import { extractAndIndex, firstProcessingSummary, openSeriesInMasksTab, trackFirstCandidate } from './flows';
import { pageErrors, screenshot } from './harness';

const SCAN = 32;
const fx = syntheticSeriesFixture('processing', 7, SCAN, {
  preset: 'single-isolated',
  size: { scanShape: [SCAN, SCAN], detectorShape: [128, 128], nTilts: 31, tiltStepDeg: 2 },
});

const summary = firstProcessingSummary;
async function framePeaks(page: Page, frame: number) {
  return page.evaluate(async (frame) => {
    const [s] = await window.api.invoke('series.list', {});
    const [o] = await window.api.invoke('objects.list', { seriesId: s!.seriesId });
    const p = await window.api.invoke('process.framePeaks', { seriesId: s!.seriesId, objectId: o!.id, frame });
    return { x: Array.from(p.x), y: Array.from(p.y), manual: Array.from(p.manual), indexed: Array.from(p.indexed) };
  }, frame);
}
/** Screen position of detector pixel (x, y) (pixel centres at integers) on the processing frame. */
async function screenOf(page: Page, x: number, y: number): Promise<[number, number]> {
  const r = (await page.getByTestId('processing-frame').locator('canvas').first().boundingBox())!;
  return [r.x + ((x + 0.5) / 128) * r.width, r.y + ((y + 0.5) / 128) * r.height];
}
const logText = (page: Page): Promise<string> => page.getByTestId('log').innerText();

describe('Processing tab', () => {
  it('tracks, extracts, finds peaks and the lattice, and shows cell, axis, candidates and residuals', async () => {
    const page = await fx.harness().newPage();
    await openSeriesInMasksTab(page, fx.manifest(), SCAN);
    await trackFirstCandidate(page);
    await extractAndIndex(page);
    await expect(page.getByTestId('peaks-summary').innerText()).resolves.toMatch(/^\d{3,} peaks/);

    const s = (await summary(page))!;
    const l = s.lattice!;
    const err = particleCellError(readTruth(fx.dir()), l.reducedCell!);
    expect(err.lengthPct).toBeLessThan(0.15);
    expect(err.angleDeg).toBeLessThan(0.1);
    expect(l.bravais).toBe('oP');
    await expect(page.getByTestId('lattice-cell').innerText()).resolves.toContain('oP');
    // What the tab shows is what main found: the a axis to 3 decimals, the candidates, both residual plots, the axis.
    await expect(page.getByTestId('lattice-cell').innerText()).resolves.toContain(l.cell!.a.toFixed(3));
    expect(await page.getByTestId('candidates-table').locator('tbody tr').count()).toBe(l.candidates.length);
    await page.getByTestId('residuals-px').waitFor();
    await page.getByTestId('residuals-phi').waitFor();
    await page.getByTestId('axis-line').waitFor();
    await expect(page.getByTestId('peak-frame-info').innerText()).resolves.toContain(`axis ${l.axis!.refinedDeg.toFixed(2)}°`);
    const tilt = await page.evaluate(() => Number((document.querySelector('.scrubber input[type="range"]') as HTMLInputElement).value));
    const fp = await framePeaks(page, tilt);
    expect(await page.getByTestId('peak-markers').locator('circle').count()).toBe(fp.x.length);
    // Hovering an indexed peak reads its indices.
    const k = fp.indexed.indexOf(1);
    expect(k).toBeGreaterThanOrEqual(0);
    await page.mouse.move(...(await screenOf(page, fp.x[k]!, fp.y[k]!)));
    await expect(page.getByTestId('peak-readout').innerText()).resolves.toMatch(/hkl -?\d+ -?\d+ -?\d+/);
    await screenshot(page, '40-processing');
    await page.locator('.side-col').evaluate((e) => e.scrollTo(0, e.scrollHeight));
    await screenshot(page, '42-processing-candidates');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  }, 300_000);

  it('removes and adds peaks by clicking on the frame; the lattice is then marked stale', async () => {
    const page = await fx.harness().newPage();
    // A fresh window: the series, its extraction and the processing results are main's, shown again as they were.
    await openSeriesInMasksTab(page, fx.manifest(), SCAN);
    await page.keyboard.press('4');
    await page.getByTestId('processing-tab').waitFor({ timeout: 30_000 });
    await page.getByTestId('lattice-cell').waitFor({ timeout: 30_000 });
    const tilt = await page.evaluate(() => Number((document.querySelector('.scrubber input[type="range"]') as HTMLInputElement).value));
    const before = await framePeaks(page, tilt);
    const n0 = (await summary(page))!.peaks!.nPeaks;
    const [x, y] = [before.x[0]!, before.y[0]!];
    await page.getByTestId('peak-tool-remove').click();
    await page.mouse.click(...(await screenOf(page, x, y)));
    await expect.poll(async () => (await framePeaks(page, tilt)).x.length).toBe(before.x.length - 1);
    await page.getByTestId('lattice-stale').waitFor();
    await expect.poll(() => page.getByTestId('peak-markers').locator('circle').count()).toBe(before.x.length - 1);
    await page.getByTestId('peak-tool-add').click();
    await page.mouse.click(...(await screenOf(page, x + 1, y)));
    await expect.poll(async () => (await framePeaks(page, tilt)).manual.filter((m) => m).length).toBe(1);
    await expect(page.getByTestId('peaks-summary').innerText()).resolves.toContain('1 added, 1 removed by hand');
    expect((await summary(page))!.peaks!.nPeaks).toBe(n0);
    // Clicking where there is no peak with the remove tool says so in the log; the app stays up.
    await page.getByTestId('peak-tool-remove').click();
    await page.mouse.click(...(await screenOf(page, 2, 2)));
    await expect.poll(() => logText(page)).toMatch(/no peak within/);
    await screenshot(page, '41-processing-edit');
    // A malformed known cell is refused before anything runs.
    await page.getByTestId('known-cell').fill('5.4 5.1');
    await page.getByTestId('find-lattice').click();
    await expect.poll(() => logText(page)).toMatch(/six numbers/);
    await page.close();
  }, 120_000);
});
