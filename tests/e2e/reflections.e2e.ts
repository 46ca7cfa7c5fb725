// The Export tab's Reflections section against the test host on a synthetic single particle with fine steps (81 ×
// 0.5°): track, extract, peaks and lattice from the Processing tab's buttons, then integrate, read the merging
// statistics and the symmetry ranking as main computed them, type a composition, preview the files and write them;
// the written files are the previewed ones, the .hkl ends with its 0 0 0 record, and a folder that is an input file of
// the series is refused in the log. Saves docs/images/export-reflections.png.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { syntheticSeriesFixture } from './fixture';
import { extractAndIndex, firstProcessingSummary, openSeriesInMasksTab, trackFirstCandidate } from './flows';
import { pageErrors, screenshot } from './harness';

const SCAN = 32;
const fx = syntheticSeriesFixture('reflections', 11, SCAN, {
  preset: 'single-isolated',
  size: { scanShape: [SCAN, SCAN], detectorShape: [96, 96], nTilts: 81, tiltStepDeg: 0.5 },
});

const logText = (page: Page): Promise<string> => page.getByTestId('log').innerText();

describe('Export tab: reflections', () => {
  it('integrates, shows statistics and the symmetry ranking, previews and writes the SHELX/Jana files', async () => {
    const page = await fx.harness().newPage();
    await openSeriesInMasksTab(page, fx.manifest(), SCAN);
    await trackFirstCandidate(page);
    await extractAndIndex(page);

    await page.keyboard.press('6');
    await page.getByTestId('export-section-reflections').click();
    await page.getByTestId('reflections').waitFor();
    await expect.poll(() => page.getByTestId('integrate').isEnabled()).toBe(true);
    await page.getByTestId('integrate').click();
    await page.getByTestId('integration-summary').waitFor({ timeout: 120_000 });

    // What the section shows is what main computed: every shell, every Laue class and space group, the group written.
    const r = (await firstProcessingSummary(page))!.integration!;
    expect(r.status).toBe('integrated');
    expect(await page.getByTestId('shell-table').locator('tbody tr').count()).toBe(r.shells.length);
    await expect(page.getByTestId('shell-overall').innerText()).resolves.toContain(String(r.nUnique));
    await page.getByTestId('shell-chart').waitFor();
    expect(await page.getByTestId('laue-table').locator('tbody tr').count()).toBe(r.laue.candidates.length);
    expect(await page.getByTestId('space-group-table').locator('tbody tr').count()).toBe(r.spaceGroup.candidates.length);
    const hm = r.spaceGroup.hm.replace(/ :.*$/, '');
    await expect(page.getByTestId('space-group-table').locator('tr.chosen').innerText()).resolves.toContain(hm);
    await expect(page.getByTestId('integration-summary').innerText()).resolves.toContain(r.spaceGroup.hm);

    // Composition, name and folder; the preview shows each file's first lines.
    const out = join(fx.dir(), 'reflections');
    await page.getByTestId('composition').fill('Ti8 O16');
    await page.getByTestId('reflections-name').fill('brookite');
    await page.getByTestId('reflections-folder').fill(out);
    await page.getByTestId('preview-reflections').click();
    await page.getByTestId('preview-hkl').waitFor();
    await page.getByTestId('preview-tab-ins').click();
    await expect(page.getByTestId('preview-ins').innerText()).resolves.toMatch(new RegExp(`^TITL brookite in ${hm}`));
    expect(existsSync(out)).toBe(false);

    await page.getByTestId('write-reflections').click();
    await page.getByTestId('reflections-written').waitFor();
    expect(readdirSync(out).sort()).toEqual(['brookite.cif', 'brookite.cif_pets', 'brookite.hkl', 'brookite.ins']);
    const ins = readFileSync(join(out, 'brookite.ins'), 'utf8');
    expect(ins.split('\n').slice(0, 5).join('\n')).toBe((await page.getByTestId('preview-ins').innerText()).split('\n').slice(0, 5).join('\n'));
    expect(ins).toMatch(/^UNIT 8 16$/m);
    const hkl = readFileSync(join(out, 'brookite.hkl'), 'utf8').trimEnd().split('\n');
    expect(hkl.at(-1)!.slice(0, 12)).toBe('   0   0   0');
    await expect.poll(() => logText(page)).toMatch(/Wrote brookite\.hkl, brookite\.ins, brookite\.cif, brookite\.cif_pets/);

    await page.getByTestId('preview-tab-hkl').click();
    await page.setViewportSize({ width: 1440, height: 1500 });
    await page.getByTestId('reflections').evaluate((e) => e.scrollIntoView());
    await page.screenshot({ path: 'docs/images/export-reflections.png' });
    await screenshot(page, '60-export-reflections');
    await page.setViewportSize({ width: 1440, height: 900 });

    // The series' own files are never written to: a folder that is one of them is refused, in the log.
    await page.getByTestId('reflections-folder').fill(fx.manifest());
    await page.getByTestId('write-reflections').click();
    await expect.poll(() => logText(page)).toMatch(/is an input file of this series/);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  }, 400_000);
});
