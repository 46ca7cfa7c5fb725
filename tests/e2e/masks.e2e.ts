// The mask curation workspace against the test host on a synthetic series: paint, undo, erase, polygon,
// live pattern, re-track from an edited frame, and nothing lost when the host is killed mid-session.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { syntheticSeriesFixture } from './fixture';
import { pageErrors, screenshot } from './harness';
import { extractIncludingFlagged, mainObjects, openSeriesInMasksTab as openSeries, trackFirstCandidate } from './flows';

const N = 40;
const fx = syntheticSeriesFixture('masks', 5, N);

async function openSeriesInMasksTab(page: Page): Promise<void> {
  await openSeries(page, fx.manifest(), N);
}

/** Screen position of image pixel (x, y) (continuous coordinates) in the mask editor. */
async function screenOf(page: Page, x: number, y: number): Promise<[number, number]> {
  const r = (await page.locator('[data-testid="mask-editor"] .layer').boundingBox())!;
  return [r.x + (x / N) * r.width, r.y + (y / N) * r.height];
}

/** The current tilt's mask of one object, as main holds it. */
async function mainFrame(page: Page, objectId: number, tilt: number): Promise<number[]> {
  return page.evaluate(
    async ({ objectId, tilt, n }) => {
      const [s] = await window.api.invoke('series.list', {});
      const r = await window.api.invoke('masks.stack', { seriesId: s!.seriesId, objectId });
      return Array.from(r.masks.subarray(tilt * n, (tilt + 1) * n));
    },
    { objectId, tilt, n: N * N },
  );
}
const at = (f: number[], x: number, y: number): number => f[x + y * N]!;
const area = (f: number[]): number => f.reduce((a, b) => a + b, 0);

async function stroke(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  const a = await screenOf(page, ...from);
  const b = await screenOf(page, ...to);
  await page.mouse.move(...a);
  await page.mouse.down();
  await page.mouse.move(...b, { steps: 8 });
  await page.mouse.up();
}

/** Polygon tool: clicks the vertices (probe positions) and closes with Enter. */
async function drawPolygon(page: Page, vertices: ReadonlyArray<readonly [number, number]>): Promise<void> {
  await page.keyboard.press('p');
  for (const [x, y] of vertices) {
    const [sx, sy] = await screenOf(page, x, y);
    await page.mouse.click(sx, sy);
  }
  await page.keyboard.press('Enter');
}

describe('mask curation', () => {
  it('paints, undoes, redoes, erases and fills a polygon — each change reaching main', async () => {
    const page = await fx.harness().newPage();
    await openSeriesInMasksTab(page);
    await page.getByTestId('new-object').click();
    await page.getByTestId('object-1').waitFor();
    const tilt = 3;
    await page.keyboard.press('b');
    await page.getByTestId('brush-size').fill('1');

    // A one-pixel brush stroke along row 10 from column 5 to 15.
    await stroke(page, [5.5, 10.5], [15.5, 10.5]);
    await expect.poll(async () => area(await mainFrame(page, 1, tilt))).toBe(11);
    let f = await mainFrame(page, 1, tilt);
    for (let x = 5; x <= 15; x++) expect(at(f, x, 10)).toBe(1);
    expect(at(f, 10, 11)).toBe(0);
    await expect.poll(async () => (await page.getByTestId('timeline-1').getAttribute('data-statuses'))?.split(',')[tilt]).toBe('edited');

    await page.keyboard.press('Control+z');
    await expect.poll(async () => area(await mainFrame(page, 1, tilt))).toBe(0);
    await page.keyboard.press('Control+Shift+Z');
    await expect.poll(async () => area(await mainFrame(page, 1, tilt))).toBe(11);

    // Erase the middle of the line with a 3-pixel eraser.
    await page.keyboard.press('e');
    await page.getByTestId('brush-size').fill('3');
    await stroke(page, [10.5, 9.5], [10.5, 11.5]);
    await expect.poll(async () => at(await mainFrame(page, 1, tilt), 10, 10)).toBe(0);
    f = await mainFrame(page, 1, tilt);
    expect(at(f, 5, 10)).toBe(1);
    expect(at(f, 15, 10)).toBe(1);

    // A polygon from (20,20) to (30,28): Enter closes it.
    await drawPolygon(page, [
      [20, 20],
      [30, 20],
      [30, 28],
      [20, 28],
    ]);
    await expect.poll(async () => at(await mainFrame(page, 1, tilt), 25, 24)).toBe(1);
    f = await mainFrame(page, 1, tilt);
    expect(at(f, 19, 24)).toBe(0);
    expect(at(f, 31, 24)).toBe(0);

    // The live pattern shows the sum of the probes in the mask, and follows the next edit.
    await page.getByTestId('live-pattern-image').waitFor();
    const probes = async (): Promise<number> => Number(/(\d+) probes/.exec((await page.getByTestId('live-pattern').textContent()) ?? '')?.[1] ?? -1);
    await expect.poll(probes).toBe(area(await mainFrame(page, 1, tilt)));
    await page.keyboard.press('=');
    await expect.poll(async () => area(await mainFrame(page, 1, tilt))).toBeGreaterThan(area(f));
    await expect.poll(probes).toBe(area(await mainFrame(page, 1, tilt)));
    await screenshot(page, '20-masks-edit');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('re-tracks forward from an edited frame: keeps the edit, fills later frames, leaves earlier ones', async () => {
    const page = await fx.harness().newPage();
    await openSeriesInMasksTab(page);
    const countBefore = (await mainObjects(page)).length;
    await page.getByTestId('new-object').click();
    await expect.poll(async () => (await mainObjects(page)).length).toBe(countBefore + 1);
    const id = Math.max(...(await mainObjects(page)).map((o) => o.id));
    await page.getByTestId(`object-${id}`).locator('.name').click();
    // Outline the best-scoring particle candidate of the middle tilt with a polygon.
    const candidates = await page.evaluate(async () => {
      const [s] = await window.api.invoke('series.list', {});
      return window.api.invoke('track.candidates', { seriesId: s!.seriesId, tilt: 3, image: 'adf' });
    });
    expect(candidates.length).toBeGreaterThan(0);
    const [x0, y0, x1, y1] = candidates[0]!.bbox;
    await drawPolygon(page, [
      [x0, y0],
      [x1 + 1, y0],
      [x1 + 1, y1 + 1],
      [x0, y1 + 1],
    ]);
    await expect.poll(async () => area(await mainFrame(page, id, 3))).toBeGreaterThan(0);
    const edited = await mainFrame(page, id, 3);

    await page.keyboard.press('t');
    await expect.poll(async () => (await mainObjects(page)).find((o) => o.id === id)!.frameState.slice(4).every((s) => s === 'tracked'), { timeout: 30_000 }).toBe(true);
    const after = (await mainObjects(page)).find((o) => o.id === id)!;
    expect(after.frameState[3]).toBe('edited');
    expect(after.frameState.slice(0, 3)).toEqual(['empty', 'empty', 'empty']);
    expect(await mainFrame(page, id, 3)).toEqual(edited);
    for (let t = 4; t < 7; t++) expect(area(await mainFrame(page, id, t))).toBeGreaterThan(0);
    // The object is selected: the Properties panel counts its tilts by the statuses its timeline draws.
    await page.getByTestId(`object-${id}`).locator('.name').click();
    const drawn = ((await page.getByTestId(`timeline-${id}`).getAttribute('data-statuses')) ?? '').split(',');
    expect(drawn.slice(0, 4)).toEqual(['empty', 'empty', 'empty', 'edited']);
    const order = ['lost', 'check', 'edited', 'locked', 'tracked', 'excluded', 'empty'];
    const label = (st: string): string => (st === 'check' ? 'to check' : st);
    const expected = order.filter((st) => drawn.includes(st)).map((st) => `${drawn.filter((x) => x === st).length} ${label(st)}`).join(', ');
    await expect(page.getByTestId('prop-states').textContent()).resolves.toBe(expected);
    await expect(page.getByTestId('prop-area').textContent()).resolves.toMatch(/probe positions$/);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await screenshot(page, '21-masks-retracked');
    await page.close();
  });

});

describe('mask curation: persistence, export, auto-detect', () => {
  it('keeps every edit when the host is killed mid-session', async () => {
    let page = await fx.harness().newPage();
    await openSeriesInMasksTab(page);
    const before = await mainObjects(page);
    const id = before[0]!.id;
    await page.getByTestId(`object-${id}`).locator('.name').click();
    await page.keyboard.press('b');
    await page.getByTestId('brush-size').fill('2');
    await stroke(page, [2.5, 35.5], [12.5, 35.5]);
    await expect.poll(async () => at(await mainFrame(page, id, 3), 7, 35)).toBe(1);
    const expected = await mainFrame(page, id, 3);
    await page.close();

    await fx.harness().restartHost(); // SIGKILL: no checkpoint, only the journal
    page = await fx.harness().newPage();
    await openSeriesInMasksTab(page);
    await page.getByTestId(`object-${id}`).waitFor();
    expect(await mainFrame(page, id, 3)).toEqual(expected);
    expect((await mainObjects(page)).map((o) => o.id)).toEqual(before.map((o) => o.id));

    // The Series tab says what was recovered; keeping it saves it.
    await page.keyboard.press('1');
    await expect.poll(() => page.getByTestId('project-recovery').textContent(), { timeout: 10_000 }).toMatch(/not closed properly.*\d+ changes? made after the last save/s);
    await screenshot(page, '24-recovery');
    await page.getByTestId('project-recovery-keep').click();
    await page.getByTestId('project-recovery').waitFor({ state: 'detached' });
    // The undo history came back with the project: Ctrl+Z takes the stroke made before the kill away.
    await page.keyboard.press('2');
    await page.getByTestId('masks-tab').waitFor();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Control+z');
    await expect.poll(async () => at(await mainFrame(page, id, 3), 7, 35)).toBe(0);
    await page.close();
  });

  it('saves the project as a new folder and lists it among the recent projects, which reopen it', async () => {
    let page = await fx.harness().newPage();
    await openSeriesInMasksTab(page);
    const objects = await mainObjects(page);
    await page.keyboard.press('1');
    await expect.poll(() => page.getByTestId('project-dir').textContent()).toMatch(/\.tracked$/);
    // No native dialog in the test host: the folder is typed (inside a folder the host grants).
    await page.getByTestId('project-save-as').click();
    const target = join(fx.dir(), 'copy of series.tracked');
    await page.getByTestId('project-save-as-dir').fill(target);
    await page.getByTestId('project-save-as-go').click();
    await expect.poll(() => page.getByTestId('project-dir').textContent()).toBe(target);
    expect(existsSync(join(target, 'project.json')) && existsSync(join(target, 'masks.h5'))).toBe(true);
    await page.close();

    page = await fx.harness().newPage();
    await page.getByTestId('recent-projects').waitFor();
    const first = page.getByTestId('recent-project').first();
    await expect.poll(() => first.getAttribute('title')).toBe(target);
    await screenshot(page, '25-recent-projects');
    await first.click();
    await page.getByTestId('project-bar').waitFor();
    await expect.poll(() => page.getByTestId('project-dir').textContent()).toBe(target);
    expect((await mainObjects(page)).map((o) => o.id)).toEqual(objects.map((o) => o.id));
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('extracts and exports from the Export tab, shows purity and the extracted patterns', async () => {
    const page = await fx.harness().newPage();
    await openSeriesInMasksTab(page);
    await page.keyboard.press('6');
    await page.getByTestId('export-tab').waitFor();
    const out = join(fx.dir(), 'exported');
    await page.getByTestId('export-dir').fill(out);
    await extractIncludingFlagged(page, 'extract-export');
    await expect(page.getByTestId('export-result').textContent()).resolves.toMatch(/\.pts2/);
    await page.getByTestId('purity-chart').waitFor();
    expect(existsSync(join(out, 'extracted.h5'))).toBe(true);
    const written = readdirSync(out, { recursive: true }).map(String);
    expect(written.some((f) => /frames[\\/]\d{4}\.tif$/.test(f))).toBe(true);
    expect(written.some((f) => f.endsWith('.pts2'))).toBe(true);
    expect(written.some((f) => /smv[\\/].*\.img$/.test(f))).toBe(true);
    await screenshot(page, '30-export');
    await page.keyboard.press('3');
    await page.getByTestId('patterns-tab').waitFor();
    await page.getByTestId('extracted-pattern').locator('canvas').first().waitFor();
    await expect(page.getByTestId('pattern-info').textContent()).resolves.toMatch(/[1-9]\d* probes/);
    await screenshot(page, '31-patterns');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('auto-detects particle candidates and tracks the one clicked through every tilt', async () => {
    const page = await fx.harness().newPage();
    await openSeriesInMasksTab(page);
    const created = await trackFirstCandidate(page);
    const o = (await mainObjects(page)).find((x) => x.id === created.id)!;
    expect(o.prompts.map((p) => p.tilt)).toEqual([3]);
    await screenshot(page, '22-auto-detect-tracked');
    await page.close();
  });

  it('lists the auto-detected neighbours dimmed; enables, merges and deletes them; shows purity as numbers', async () => {
    const page = await fx.harness().newPage();
    await openSeriesInMasksTab(page);
    const created = await trackFirstCandidate(page);
    const list = page.getByTestId('neighbours').locator('li');
    await expect.poll(() => list.count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
    const mainNeighbours = (): Promise<number[]> =>
      page.evaluate(async () => {
        const [s] = await window.api.invoke('series.list', {});
        return (await window.api.invoke('neighbours.list', { seriesId: s!.seriesId })).map((n) => n.label);
      });
    const labels = await mainNeighbours();
    expect(await list.count()).toBe(labels.length);
    await screenshot(page, '23-neighbours');

    // Enable: a new object; merge: into the tracked object (its frames become edits); delete: gone.
    const objectsBefore = await mainObjects(page);
    const target = objectsBefore.find((o) => o.id === created.id)!;
    const areaBefore = target.areaPx.reduce((a, b) => a + b, 0);
    await page.getByTestId(`neighbour-enable-${labels[0]}`).click();
    await expect.poll(async () => (await mainObjects(page)).length).toBe(objectsBefore.length + 1);
    await page.getByTestId(`neighbour-merge-${labels[1]}`).selectOption(String(target.id));
    await expect.poll(async () => (await mainObjects(page)).find((o) => o.id === target.id)!.areaPx.reduce((a, b) => a + b, 0)).toBeGreaterThan(areaBefore);
    expect((await mainObjects(page)).find((o) => o.id === target.id)!.frameState).toContain('edited');
    await page.getByTestId(`neighbour-delete-${labels[2]}`).click();
    await expect.poll(() => mainNeighbours()).toEqual(labels.slice(3));
    await expect.poll(() => list.count()).toBe(labels.length - 3);

    // The merged object now holds another particle: the Export tab says so in numbers.
    await page.keyboard.press('6');
    await extractIncludingFlagged(page, 'extract-only');
    const numbers = page.getByTestId(`purity-numbers-${target.id}`);
    await numbers.waitFor({ timeout: 60_000 });
    await expect(numbers.textContent()).resolves.toMatch(/worst \d+\.\d %/);
    await screenshot(page, '32-purity');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });
});

describe('mask curation: candidates on the image', () => {
  it('draws the auto-detected candidates as outlines on the image; clicking one tracks it', async () => {
    const page = await fx.harness().newPage();
    await openSeriesInMasksTab(page);
    const before = (await mainObjects(page)).length;
    await page.getByTestId('auto-detect').click();
    await page.getByTestId('candidates').waitFor();
    const listed = await page.getByTestId('candidates').locator('li').count();
    const outlines = page.getByTestId('candidate-outline');
    await expect.poll(() => outlines.count()).toBe(listed);
    await screenshot(page, '22b-candidate-outlines');
    // Another tilt: the outlines belong to the tilt they were found on.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => outlines.count()).toBe(0);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => outlines.count()).toBe(listed);
    await outlines.first().click();
    await expect.poll(async () => (await mainObjects(page)).length).toBe(before + 1);
    await expect.poll(() => outlines.count()).toBe(0);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });
});
