// Curation as a crystallographer meets it, on a synthetic series damaged the way real data goes wrong
// (./alter-mib.ts): tilt 5 lost (the particle gone), tilt 15 merged (the particle twice its size), tilt 18 with
// its direct beam 6 px off (the fitted beam centre an outlier). Each shows on the timeline in its own colour,
// "C" visits all three, the counts match; Properties shows the series and the object; the Series tab warns about the
// beam centre; a re-track with barriers leaves another object's probe positions alone; Export asks before
// extracting the frames to check; once the project is written, the app asks where projects go.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { NEEDS_A_LOOK, STATUS_COLOURS } from '../../src-renderer/src/core/timeline';
import { growParticle, removeParticle, shiftBeam } from './alter-mib';
import { syntheticSeriesFixture } from './fixture';
import { openSeriesInMasksTab, timelineCounts, timelineDrawn, trackFirstCandidate } from './flows';
import { pageErrors, screenshot } from './harness';

const SCAN = 24;
const NQ = 32;
const N = 21;
const [LOST, MERGED, OFF_BEAM] = [4, 14, 17];
const tiltFile = (dir: string, t: number): string => join(dir, `tilt_${String(t).padStart(3, '0')}.mib`);
const fx = syntheticSeriesFixture('curation', 11, SCAN, {
  preset: 'single-isolated',
  size: { scanShape: [SCAN, SCAN], detectorShape: [NQ, NQ], nTilts: N, tiltStepDeg: 2 },
  mib: true,
  alter: (dir) => {
    removeParticle(tiltFile(dir, LOST), NQ);
    growParticle(tiltFile(dir, MERGED), NQ, SCAN, 2);
    shiftBeam(tiltFile(dir, OFF_BEAM), NQ, 6);
  },
});

const currentTilt = async (page: Page): Promise<string> => (await page.getByTestId('frame-state').getAttribute('data-tilt')) ?? '';

/** Main's masks of one object, all tilts. */
async function masksOf(page: Page, objectId: number): Promise<Uint8Array> {
  const m = await page.evaluate(async (id) => {
    const [s] = await window.api.invoke('series.list', {});
    return Array.from((await window.api.invoke('masks.stack', { seriesId: s!.seriesId, objectId: id })).masks);
  }, objectId);
  return Uint8Array.from(m);
}

describe('curation on a series with a lost tilt, a merged tilt and a beam-centre outlier', () => {
  it('shows, counts and visits each; Properties, the centre warning, barriers and the export ask', async () => {
    const page = await fx.harness().newPage();
    await page.setViewportSize({ width: 1280, height: 800 });
    await openSeriesInMasksTab(page, fx.manifest(), SCAN);
    const o = await trackFirstCandidate(page);
    await page.getByTestId(`object-${o.id}`).locator('.name').click();

    // The timeline: the three tilts in their statuses' colours, every other tracked tilt in the tracked colour.
    const { columns, statuses, width } = await timelineDrawn(page, o.id);
    expect(statuses[LOST]).toBe('lost');
    expect(statuses[MERGED]).toBe('check');
    expect(statuses[OFF_BEAM]).toBe('centre');
    expect(statuses.filter((s) => NEEDS_A_LOOK.has(s))).toHaveLength(3);
    // Each in its own colour, none of them the tracked colour.
    for (const t of [LOST, MERGED, OFF_BEAM]) expect(columns[Math.ceil((t * width) / N)], `tilt ${t + 1}`).toBe(statuses[t]);
    expect(new Set([STATUS_COLOURS.lost, STATUS_COLOURS.check, STATUS_COLOURS.centre, STATUS_COLOURS.tracked]).size).toBe(4);
    // The counts under the strip are the statuses drawn.
    const expected = new Map<string, number>();
    for (const s of statuses) expected.set(s, (expected.get(s) ?? 0) + 1);
    expect(await timelineCounts(page, o.id)).toEqual(expected);
    // "C" visits the three, in order from the current tilt, wrapping round.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const from = Number(await currentTilt(page));
    const order = [LOST, MERGED, OFF_BEAM].sort((a, b) => ((a - from + N) % N) - ((b - from + N) % N));
    for (const t of [...order, order[0]!]) {
      await page.keyboard.press('c');
      await expect.poll(() => currentTilt(page)).toBe(String(t));
    }
    await screenshot(page, '30-curation-timeline');

    // Properties: the object (its tilts by status, areas), then the series (format, shapes, tilts, range, axis).
    await expect(page.getByTestId('prop-states').textContent()).resolves.toMatch(/^1 lost, 1 to check, 1 beam centre off, 18 tracked$/);
    await expect(page.getByTestId('prop-flagged').textContent()).resolves.toBe('3');
    await expect(page.getByTestId('prop-area').textContent()).resolves.toMatch(/probe positions/);
    await page.getByTestId('series-list').locator('li').first().click();
    await expect(page.getByTestId('prop-tilts').textContent()).resolves.toBe(String(N));
    await expect(page.getByTestId('prop-range').textContent()).resolves.toBe('-20° … 20° in steps of 2°');
    await expect(page.getByTestId('series-properties').textContent()).resolves.toMatch(/MIB/);
    await expect(page.getByTestId('prop-axis').textContent()).resolves.toMatch(/°$/);

    // The Series tab warns that the fitted centres disagree, naming tilt 18, and says so on that tilt.
    await page.keyboard.press('1');
    await page.getByTestId('centre-warning').waitFor();
    await expect(page.getByTestId('centre-warning').textContent()).resolves.toMatch(/1 tilt more than 3 px[\s\S]*tilt 18\b/);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('End');
    for (let t = N - 1; t > OFF_BEAM; t--) await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.getByTestId('centre-warning').textContent()).toMatch(/On this tilt the beam centre \([\d.]+, [\d.]+\) is 6\.0 px from the series'/);
    await screenshot(page, '31-curation-centre-warning');
    await page.setViewportSize({ width: 1440, height: 1000 });
    await page.getByTestId('series-view').screenshot({ path: 'docs/images/detector-centre-warning.png' });
    await page.setViewportSize({ width: 1280, height: 800 });

    // Barriers: a second object on tilts 9–12 over the right half of the first one's particle, then the first
    // re-tracked from tilt 11 both ways: it takes none of the second's probe positions, and the second is unchanged.
    await page.keyboard.press('2');
    const first = await masksOf(page, o.id);
    const nb = await page.evaluate(async ({ first, n, tilts }) => {
      const [s] = await window.api.invoke('series.list', {});
      const other = await window.api.invoke('objects.create', { seriesId: s!.seriesId, name: 'neighbour' });
      for (const t of tilts) {
        const runs: number[] = [];
        const cols = first.slice(t * n * n, (t + 1) * n * n).flatMap((v, i) => (v ? [i % n] : []));
        const mid = (Math.min(...cols) + Math.max(...cols)) / 2;
        for (let y = 0; y < n; y++) for (let x = Math.ceil(mid); x < n; x++) if (first[t * n * n + y * n + x]) runs.push(y * n + x, 1);
        await window.api.invoke('masks.edit', { seriesId: s!.seriesId, objectId: other.id, tilt: t, set: Uint32Array.from(runs), clear: new Uint32Array(0), state: 'locked' });
      }
      return other.id;
    }, { first: Array.from(first), n: SCAN, tilts: [9, 10, 11, 12] });
    const neighbourBefore = await masksOf(page, nb);
    expect(neighbourBefore.some((v) => v)).toBe(true);
    await page.reload();
    await openSeriesInMasksTab(page, fx.manifest(), SCAN);
    await page.getByTestId(`object-${o.id}`).locator('.name').click();
    await expect(page.getByTestId('track-barriers').isChecked()).resolves.toBe(true);
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    while (Number(await currentTilt(page)) !== 11) await page.keyboard.press(Number(await currentTilt(page)) < 11 ? 'ArrowRight' : 'ArrowLeft');
    await page.getByTestId('retrack-both').click();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="log"] .line')].some((l) => /Track both from tilt 12.*done/.test(l.textContent ?? '')), undefined, { timeout: 60_000 });
    const after = await masksOf(page, o.id);
    let overlap = 0;
    for (let i = 0; i < after.length; i++) if (after[i] && neighbourBefore[i]) overlap++;
    expect(overlap, 'probe positions of the neighbour taken by the re-tracked object').toBe(0);
    expect(await masksOf(page, nb)).toEqual(neighbourBefore);
    for (const t of [9, 10, 11, 12]) expect(after.subarray(t * SCAN * SCAN, (t + 1) * SCAN * SCAN).some((v) => v), `tilt ${t + 1} still has the object`).toBe(true);

    // Export lists the frames to check and asks before extracting them.
    await page.evaluate(async (id) => {
      const [s] = await window.api.invoke('series.list', {});
      await window.api.invoke('objects.update', { seriesId: s!.seriesId, objectId: id, enabled: false });
    }, nb);
    await page.keyboard.press('6');
    await page.getByTestId('export-tab').waitFor();
    await expect(page.getByTestId('export-to-check').textContent()).resolves.toMatch(/frames? to check/);
    for (const t of [LOST, MERGED, OFF_BEAM]) await expect(page.getByTestId('export-to-check').textContent()).resolves.toMatch(new RegExp(`\\b${t + 1}\\b`));
    await page.getByTestId('extract-only').click();
    await page.getByTestId('export-ask').waitFor();
    await screenshot(page, '32-curation-export-ask');

    // Once the project is written, the Series tab asks where projects go; keeping them beside the series is remembered.
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.keyboard.press('1');
    await page.getByTestId('project-location-ask').waitFor({ timeout: 30_000 });
    await expect(page.getByTestId('project-location-ask').textContent()).resolves.toContain('beside the series');
    await page.getByTestId('project-location-keep').click();
    await page.getByTestId('project-location-ask').waitFor({ state: 'detached' });
    const info = await page.evaluate(async () => {
      const [s] = await window.api.invoke('series.list', {});
      return window.api.invoke('project.info', { seriesId: s!.seriesId });
    });
    expect(info).toMatchObject({ locationChosen: true, written: true, locationReason: 'beside the series' });
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });
});
