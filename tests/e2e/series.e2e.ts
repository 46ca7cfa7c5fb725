// The series view on a real synthetic tilt series (made by trackED's generator, read by its readers):
// open → virtual images → scrub tilts → click a probe position → drag a detector handle → recompute → undo, redo.
import { describe, expect, it } from 'vitest';
import { syntheticSeriesFixture } from './fixture';
import { pageErrors, screenshot } from './harness';

const fx = syntheticSeriesFixture('series', 3);

async function canvasInk(page: import('playwright-core').Page, testid: string): Promise<number> {
  // Standard deviation of the drawn pixels: 0 for a blank canvas.
  return page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"] canvas`) as HTMLCanvasElement | null;
    if (!c || !c.width) return 0;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let s = 0;
    let s2 = 0;
    const n = d.length / 4;
    for (let i = 0; i < d.length; i += 4) {
      s += d[i]!;
      s2 += d[i]! * d[i]!;
    }
    return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
  }, testid);
}

/** A digest of what a canvas shows (its pixels), to compare two moments. */
async function canvasHash(page: import('playwright-core').Page, testid: string): Promise<string> {
  return page.evaluate(async (id) => {
    const c = document.querySelector(`[data-testid="${id}"] canvas`) as HTMLCanvasElement | null;
    if (!c || !c.width) return '';
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const digest = await crypto.subtle.digest('SHA-256', d);
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, testid);
}

describe('series view', () => {
  it('opens a series, shows its virtual images, scrubs tilts, shows a probe pattern, and recomputes on a detector drag', async () => {
    const page = await fx.harness().newPage();
    await page.getByTestId('inspect-path').fill(fx.manifest());
    await page.getByTestId('open-button').click();
    await page.getByTestId('series-view').waitFor();
    // The virtual-imaging job runs, then the image is drawn.
    await page.waitForFunction(() => {
      const c = document.querySelector('[data-testid="virtual-image"] canvas') as HTMLCanvasElement | null;
      return !!c && c.width === 40;
    }, undefined, { timeout: 60_000 });
    expect(await canvasInk(page, 'virtual-image')).toBeGreaterThan(5);
    await expect(page.getByTestId('tilt-readout').textContent()).resolves.toContain('0.00°');
    await expect(page.getByTestId('series-list').textContent()).resolves.toContain('7 tilts');
    await expect(page.getByTestId('scalebar').isVisible()).resolves.toBe(true);
    // The opened series is selected: the Properties panel shows its tilts, range and calibration with units.
    await expect(page.getByTestId('prop-tilts').textContent()).resolves.toBe('7');
    await expect(page.getByTestId('prop-range').textContent()).resolves.toBe('-18° … 18° in steps of 6°');
    await expect(page.getByTestId('prop-wavelength').textContent()).resolves.toBe('0.025079 Å');

    await page.keyboard.press('ArrowRight');
    await expect(page.getByTestId('tilt-readout').textContent()).resolves.toContain('6.00°');
    await page.keyboard.press('End');
    await expect(page.getByTestId('tilt-readout').textContent()).resolves.toContain('18.00°');
    await page.keyboard.press('Home');
    await expect(page.getByTestId('tilt-readout').textContent()).resolves.toContain('-18.00°');

    // Click the middle of the virtual image: the pattern of that probe position appears.
    const box = (await page.locator('[data-testid="virtual-image"] canvas').first().boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.getByTestId('probe-pattern-image').waitFor();
    await expect(page.getByTestId('probe-pattern').textContent()).resolves.toContain('(20, 20)');
    expect(await canvasInk(page, 'probe-pattern-image')).toBeGreaterThan(1);

    // The mean pattern with the detector rings. A click on a ring away from its handle changes nothing.
    await page.getByTestId('mean-pattern').locator('canvas').first().waitFor();
    const before = await page.getByTestId('detector-radii').textContent();
    const imageBefore = await canvasHash(page, 'virtual-image');
    const mp = (await page.locator('[data-testid="mean-pattern"] canvas').first().boundingBox())!;
    const pxPerDetector = mp.width / 96;
    const outer = Number(/ADF \d+(?:\.\d+)?–(\d+(?:\.\d+)?)/.exec(before ?? '')![1]);
    const centreBox = (await page.getByTestId('handle-centre').boundingBox())!;
    const [cx, cy] = [centreBox.x + centreBox.width / 2, centreBox.y + centreBox.height / 2];
    await page.mouse.move(cx, cy + outer * pxPerDetector);
    await page.mouse.down();
    await page.mouse.move(cx, cy + 30 * pxPerDetector, { steps: 5 });
    await page.mouse.up();
    await page.waitForTimeout(200);
    await expect(page.getByTestId('detector-radii').textContent()).resolves.toBe(before);
    await expect(page.getByTestId('detector-undo').isDisabled()).resolves.toBe(true);
    // Its handle moves it: drag the outer ADF handle inwards.
    const h = (await page.getByTestId('handle-adfOuter').boundingBox())!;
    await page.mouse.move(h.x + h.width / 2, h.y + h.height / 2);
    await page.mouse.down();
    await page.mouse.move(cx + (30 * pxPerDetector) / Math.SQRT2, cy - (30 * pxPerDetector) / Math.SQRT2, { steps: 5 });
    await page.mouse.up();
    await expect(page.getByTestId('detector-radii').textContent()).resolves.not.toBe(before);
    // A second virtual-imaging job ran and finished, and the image changed.
    const passes = (n: number) =>
      page.waitForFunction((k) => [...document.querySelectorAll('[data-testid="log"] .line')].filter((l) => /Virtual images.*done/.test(l.textContent ?? '')).length >= k, n, { timeout: 60_000 });
    await passes(2);
    await page.waitForFunction((b) => document.querySelector('[data-testid="detector-radii"]')?.textContent !== b, before);
    await page.waitForTimeout(200);
    const imageAfter = await canvasHash(page, 'virtual-image');
    expect(imageAfter).not.toBe(imageBefore);
    // Ctrl+Z on the Series tab undoes the detector change: the radii and the virtual images are the previous ones.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Control+z');
    await passes(3);
    await page.waitForFunction((b) => document.querySelector('[data-testid="detector-radii"]')?.textContent === b, before, { timeout: 30_000 });
    // The images arrive after the radii: poll until drawn (or the deadline), then compare.
    for (let i = 0; i < 100 && (await canvasHash(page, 'virtual-image')) !== imageBefore; i++) await page.waitForTimeout(100);
    expect(await canvasHash(page, 'virtual-image')).toBe(imageBefore);
    await expect(page.getByTestId('detector-redo').isEnabled()).resolves.toBe(true);
    await page.keyboard.press('Control+Shift+z');
    await passes(4);
    await page.waitForFunction((b) => document.querySelector('[data-testid="detector-radii"]')?.textContent !== b, before, { timeout: 30_000 });
    // The centre handle moves the rings: one centre for every tilt, undone back to each tilt's fitted centre.
    await expect(page.getByTestId('detector-centre').textContent()).resolves.toBe('fitted centres');
    const c = (await page.getByTestId('handle-centre').boundingBox())!;
    await page.mouse.move(c.x + c.width / 2, c.y + c.height / 2);
    await page.mouse.down();
    await page.mouse.move(c.x + c.width / 2 + 6 * pxPerDetector, c.y + c.height / 2 + 3 * pxPerDetector, { steps: 4 });
    await page.mouse.up();
    await expect.poll(() => page.getByTestId('detector-centre').textContent()).toMatch(/^centre \([\d.]+, [\d.]+\)$/);
    await passes(5);
    await page.keyboard.press('Control+z');
    await expect.poll(() => page.getByTestId('detector-centre').textContent()).toBe('fitted centres');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.waitForTimeout(300);
    await screenshot(page, '10-series-view');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('keeps the typed path when switching tabs (Inspect stays usable)', async () => {
    const page = await fx.harness().newPage();
    await page.getByTestId('inspect-path').fill(fx.manifest());
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('2');
    await page.keyboard.press('1');
    await expect(page.getByTestId('inspect-path').inputValue()).resolves.toBe(fx.manifest());
    await expect(page.getByTestId('inspect-button').isEnabled()).resolves.toBe(true);
    await page.close();
  });
});
