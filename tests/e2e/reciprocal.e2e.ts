// The Reciprocal space tab against the test host on a synthetic brookite particle (81 × 0.5°): after peaks and
// lattice, the 3D view draws the cloud (WebGL 2 through SwiftShader); the a* view looks along a*; hovering a point
// reads the hkl main assigned to it; a double click opens its frame in Patterns with the peak ringed; the hk0 section
// puts its spots on the lattice rows the generator's cell predicts, with the b-glide's absences (h odd) dark; the PNG
// export works; switching tabs, modes and objects 20 times leaves no vtk object or WebGL context behind (counted by the app's
// ledger and, independently, by this test's own count of live WebGL contexts), with a second object overlaid and
// switched to on every round. Saves docs/images/reciprocal-*.png.
import { readFileSync } from 'node:fs';

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { readTruth } from '../helpers/cell-error';
import { syntheticSeriesFixture } from './fixture';
import { extractAndIndex, openSeriesInMasksTab, trackFirstCandidate } from './flows';
import { pageErrors, screenshot } from './harness';

const SCAN = 32;
const fx = syntheticSeriesFixture('reciprocal', 11, SCAN, {
  preset: 'single-isolated',
  size: { scanShape: [SCAN, SCAN], detectorShape: [96, 96], nTilts: 81, tiltStepDeg: 0.5 },
});

type V3 = [number, number, number];
const dot = (a: V3, b: V3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

/** Main's cloud of the first object, as plain arrays. */
async function cloudOf(page: Page) {
  return page.evaluate(async () => {
    const [s] = await window.api.invoke('series.list', {});
    const [o] = await window.api.invoke('objects.list', { seriesId: s!.seriesId });
    const c = await window.api.invoke('process.reciprocal', { seriesId: s!.seriesId, objectId: o!.id });
    return { q: Array.from(c.q), hkl: Array.from(c.hkl), label: Array.from(c.label), frame: Array.from(c.frame), intensity: Array.from(c.intensity), ub: c.ub!, cell: c.cell! };
  });
}

/** Live WebGL contexts on every canvas that ever got one (this test's own count, independent of the app's ledger). */
function liveContexts(page: Page): Promise<number> {
  return page.evaluate(() => (window.__glCanvases ?? []).filter((c) => !(c.getContext('webgl2') as WebGL2RenderingContext | null)?.isContextLost()).length);
}

/** A second object with the first one's masks (the series has one particle), to switch objects and overlay one. */
function createTwinObject(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const [s] = await window.api.invoke('series.list', {});
    const seriesId = s!.seriesId;
    const [o] = await window.api.invoke('objects.list', { seriesId });
    const twin = await window.api.invoke('objects.create', { seriesId, name: 'Twin' });
    const st = await window.api.invoke('masks.stack', { seriesId, objectId: o!.id });
    const n = st.ny * st.nx;
    for (let t = 0; t < st.nTilts; t++) {
      const m = st.masks.subarray(t * n, (t + 1) * n);
      const runs: number[] = [];
      for (let i = 0; i < n; ) {
        if (!m[i]) {
          i++;
          continue;
        }
        const a = i;
        while (i < n && m[i]) i++;
        runs.push(a, i - a);
      }
      if (runs.length) await window.api.invoke('masks.edit', { seriesId, objectId: twin.id, tilt: t, set: Uint32Array.from(runs), clear: new Uint32Array(0), state: 'tracked' });
    }
    return twin.id;
  });
}

/** Tabs (Patterns and back), modes (section and back) and objects (the twin and back), 20 rounds. */
async function switchBackAndForth(page: Page, firstId: number, twinId: number): Promise<void> {
  const view = page.getByTestId('reciprocal-3d');
  for (let i = 0; i < 20; i++) {
    // The tab shortcuts do not reach a focused form field (the object select, the overlay box).
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('3');
    await page.getByTestId('patterns-tab').waitFor();
    await page.keyboard.press('5');
    await view.waitFor();
    await page.getByTestId('mode-section').click();
    // (The twin has peaks but no lattice: its section says so instead of drawing.)
    await page.getByTestId('reciprocal-section').waitFor();
    await page.getByTestId('mode-3d').click();
    await view.waitFor();
    await page.getByTestId('reciprocal-object').selectOption(String(i % 2 ? firstId : twinId));
    await expect.poll(async () => (await page.getByTestId('reciprocal-summary').innerText()).length).toBeGreaterThan(0);
  }
}

describe('Reciprocal space tab', () => {
  it('draws the cloud in 3D and as sections, picks points, jumps to frames, exports PNGs and leaks nothing', async () => {
    const page = await fx.harness().newPage();
    await openSeriesInMasksTab(page, fx.manifest(), SCAN);
    await trackFirstCandidate(page);
    const twinId = await createTwinObject(page);
    await extractAndIndex(page);
    await page.evaluate(async (objectId) => {
      const [s] = await window.api.invoke('series.list', {});
      await window.api.runJob('process.peaks', { seriesId: s!.seriesId, objectId, params: {} });
    }, twinId);
    await page.evaluate(() => {
      const orig = HTMLCanvasElement.prototype.getContext;
      window.__glCanvases = [];
      HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement, type: string, ...rest: unknown[]) {
        const ctx = (orig as (this: HTMLCanvasElement, t: string, ...r: unknown[]) => RenderingContext | null).call(this, type, ...rest);
        if (ctx && type.startsWith('webgl') && !window.__glCanvases!.includes(this)) window.__glCanvases!.push(this);
        return ctx;
      } as typeof HTMLCanvasElement.prototype.getContext;
    });

    await page.keyboard.press('5');
    const view = page.getByTestId('reciprocal-3d');
    await view.waitFor({ timeout: 60_000 });
    const cloud = await cloudOf(page);
    const n = cloud.frame.length;
    await expect(page.getByTestId('reciprocal-summary').innerText()).resolves.toContain(`${n} peaks`);
    expect(await liveContexts(page)).toBe(1);

    // Along a*: the camera looks along the first column of UB.
    await page.getByTestId('view-a*').click();
    const aStar: V3 = [cloud.ub[0]!, cloud.ub[3]!, cloud.ub[6]!];
    await expect
      .poll(async () => {
        const cam = JSON.parse((await view.getAttribute('data-camera')) || '{}') as { direction?: V3 };
        return cam.direction ? Math.abs(dot(cam.direction, aStar)) / Math.hypot(...aStar) : 0;
      })
      .toBeGreaterThan(0.9999);
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.getByTestId('view-beam').click();
    await page.waitForTimeout(300);
    await page.screenshot({ path: 'docs/images/reciprocal-3d.png' });
    await page.getByTestId('view-a*').click();
    await page.waitForTimeout(300);
    await screenshot(page, '70-reciprocal-a-star');

    // Hover an isolated, strong, indexed point where the camera puts it: the panel reads main's hkl for it.
    const cam = JSON.parse((await view.getAttribute('data-camera'))!) as { focal: V3; direction: V3; up: V3; parallelScale: number };
    const box = (await page.getByTestId('reciprocal-canvas').boundingBox())!;
    const right = cross(cam.direction, cam.up);
    const screenOf = (i: number): [number, number] => {
      const p: V3 = [cloud.q[3 * i]! - cam.focal[0], cloud.q[3 * i + 1]! - cam.focal[1], cloud.q[3 * i + 2]! - cam.focal[2]];
      const aspect = box.width / box.height;
      return [box.width / 2 + (dot(p, right) / (cam.parallelScale * aspect)) * (box.width / 2), box.height / 2 - (dot(p, cam.up) / cam.parallelScale) * (box.height / 2)];
    };
    const scr = Array.from({ length: n }, (_, i) => screenOf(i));
    const isolated = (i: number): boolean => scr.every((s, j) => j === i || Math.hypot(s[0] - scr[i]![0], s[1] - scr[i]![1]) > 12);
    const inside = (i: number): boolean => scr[i]![0] > 20 && scr[i]![0] < box.width - 20 && scr[i]![1] > 20 && scr[i]![1] < box.height - 20;
    const order = [...Array(n).keys()].filter((i) => cloud.label[i] === 1 && inside(i)).sort((a, b) => cloud.intensity[b]! - cloud.intensity[a]!);
    const target = order.find(isolated);
    expect(target, 'an isolated indexed point on screen').toBeDefined();
    const [tx, ty] = scr[target!]!;
    await page.mouse.move(box.x + tx, box.y + ty);
    const hkl = `${cloud.hkl[3 * target!]} ${cloud.hkl[3 * target! + 1]} ${cloud.hkl[3 * target! + 2]}`;
    await expect.poll(() => page.getByTestId('point-info').locator('[data-field="hkl"]').innerText().catch(() => '')).toBe(hkl);
    await page.mouse.click(box.x + tx, box.y + ty);
    await page.getByText('1 selected').waitFor();
    // A double click opens the frame in Patterns, the peak ringed.
    await page.mouse.dblclick(box.x + tx, box.y + ty);
    await page.getByTestId('pattern-highlight').waitFor();
    await expect(page.getByTestId('pattern-info').innerText()).resolves.toContain(`tilt ${cloud.frame[target!]! + 1}/`);

    // The hk0 section, nodes off: every drawn spot sits on a node of the generator's cell, and h odd stays dark.
    await page.keyboard.press('5');
    await page.getByTestId('mode-section').click();
    await page.getByTestId('show-nodes').uncheck();
    const canvas = page.getByTestId('section-canvas');
    await expect.poll(async () => Number(await canvas.getAttribute('data-points'))).toBeGreaterThan(5);
    const [ox, oy] = (await canvas.getAttribute('data-origin'))!.split(',').map(Number) as [number, number];
    const s = Number(await canvas.getAttribute('data-px-per-inv-a'));
    const truth = readTruth(fx.dir()).particles[0]!.cell;
    const lengths = [truth.a, truth.b, truth.c];
    const closest = (x: number): number => lengths.reduce((b, l) => (Math.abs(l - x) < Math.abs(b - x) ? l : b));
    const [aT, bT] = [closest(cloud.cell.a), closest(cloud.cell.b)];
    const lit = await page.evaluate(() => {
      const c = document.querySelector('[data-testid="section-canvas"]') as HTMLCanvasElement;
      const g = c.getContext('2d')!;
      const dpr = c.width / c.getBoundingClientRect().width;
      const img = g.getImageData(0, 0, c.width, c.height);
      const out: Array<[number, number]> = [];
      for (let y = 0; y < c.height; y += 1) {
        for (let x = 0; x < c.width; x += 1) {
          const k = 4 * (y * c.width + x);
          if (img.data[k]! + img.data[k + 1]! + img.data[k + 2]! > 200) out.push([x / dpr, y / dpr]);
        }
      }
      return out;
    });
    expect(lit.length).toBeGreaterThan(20);
    // Each lit pixel's nearest node (h, k) of the true cell: within the spot's radius (5 px) of it.
    const nearest = lit.map(([x, y]) => {
      const h = Math.round(((x - ox) * aT) / s);
      const k = Math.round((Math.abs(y - oy) * bT) / s);
      return { h, k, dist: Math.hypot(x - (ox + (h * s) / aT), Math.abs(y - oy) - (k * s) / bT) };
    });
    const onNodes = nearest.filter((p) => p.dist <= 5).length / nearest.length;
    expect(onNodes).toBeGreaterThan(0.9);
    const nodes = new Set(nearest.filter((p) => p.dist <= 5).map((p) => `${p.h},${p.k}`));
    expect(nodes.size).toBeGreaterThan(5);
    // P b c a: hk0 present only with h even (the b-glide perpendicular to c).
    const oddH = [...nodes].filter((key) => Math.abs(Number(key.split(',')[0])) % 2 === 1).length;
    expect(oddH).toBeLessThanOrEqual(Math.floor(0.1 * nodes.size));
    await page.getByTestId('show-nodes').check();
    await page.waitForTimeout(200);
    await page.screenshot({ path: 'docs/images/reciprocal-section.png' });

    // PNG export of the section.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('reciprocal-save').click()]);
    const png = readFileSync((await download.path())!);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(download.suggestedFilename()).toMatch(/hk0\.png$/);

    // The twin overlaid in its own colour, then tabs, modes and objects back and forth 20 times: nothing left behind.
    await page.getByTestId('mode-3d').click();
    await view.waitFor();
    await page.getByTestId(`overlay-${twinId}`).check();
    await page.getByTestId(`overlay-${twinId}`).uncheck();
    const firstId = Number(await page.getByTestId('reciprocal-object').inputValue());
    const base = await page.evaluate(() => ({ ...window.__trackedVtk! }));
    await switchBackAndForth(page, firstId, twinId);
    await page.getByTestId('reciprocal-object').selectOption(String(firstId));
    const after = await page.evaluate(() => ({ ...window.__trackedVtk! }));
    expect(after.created - after.deleted).toBe(base.created - base.deleted);
    expect(after.contextsCreated - after.contextsLost).toBe(1);
    expect(after.contextsCreated - base.contextsCreated).toBe(40);
    expect(after.created - base.created).toBeGreaterThan(40 * 10);
    expect(await liveContexts(page)).toBe(1);
    expect(await page.locator('canvas').evaluateAll((cs) => cs.filter((c) => !!c.closest('[data-testid="reciprocal-3d"]')).length)).toBe(1);
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  }, 400_000);
});

