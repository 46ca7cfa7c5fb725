// Stroke-to-paint latency of the mask editor on a 512×512 scan, in Debian's Chromium against the test host
// (the same renderer build and IPC as the app). For every pointer event of a brush stroke: the time from the
// event's timestamp to the overlay's putImageData (the frame that shows it); and per stroke: the time for
// the diff to reach main (masks.edit round trip). Target: p95 < 16 ms (one animation frame).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { EmdCubeWriter } from '../src-main/io/write-emd';

const SCAN = 512;
const DET = 8;

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round((p / 100) * (s.length - 1))))] ?? NaN;
}

async function makeSeries(dir: string): Promise<string> {
  const tilts = [];
  for (let t = 0; t < 3; t++) {
    const file = `tilt_${t}.h5`;
    const w = await EmdCubeWriter.create({ path: join(dir, file), scanShape: [SCAN, SCAN], detectorShape: [DET, DET], dtype: 'uint16', realPixelNm: 1, reciprocalPixelInvA: 0.02 });
    const rows = 64;
    for (let r0 = 0; r0 < SCAN; r0 += rows) {
      const block = new Uint16Array(rows * SCAN * DET * DET);
      for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761 + t) % 97;
      await w.writeRows(block);
    }
    await w.close();
    tilts.push({ file, angleDeg: (t - 1) * 2 });
  }
  const manifest = join(dir, 'series.json');
  writeFileSync(manifest, JSON.stringify({ version: 1, voltageKV: 200, reciprocalPixelInvA: 0.02, realPixelNm: 1, rotationAxisDeg: null, tilts }));
  return manifest;
}

export default async function bench(): Promise<Record<string, unknown>> {
  const root = resolve('.');
  if (!existsSync(join(root, 'out/renderer/index.html'))) execFileSync('npx', ['electron-vite', 'build'], { stdio: 'ignore' });
  execFileSync(process.execPath, ['scripts/build-e2e.mjs'], { stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'tracked-bench-masks-'));
  const host = spawn(process.execPath, ['out/e2e/host.mjs', '--renderer', 'out/renderer', '--bridge', 'out/e2e/bridge.js'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const browser = await chromium.launch({
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
  try {
    const manifest = await makeSeries(dir);
    const url = await new Promise<string>((ok) => {
      let buf = '';
      host.stdout!.on('data', (c: Buffer) => {
        buf += c.toString();
        const m = /TRACKED_HOST (\S+)/.exec(buf);
        if (m) ok(m[1]!);
      });
    });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(url);
    await page.getByTestId('inspect-path').fill(manifest);
    await page.getByTestId('open-button').click();
    await page
      .waitForFunction((n) => (document.querySelector('[data-testid="virtual-image"] canvas') as HTMLCanvasElement | null)?.width === n, SCAN, { timeout: 120_000 })
      .catch(async (e: unknown) => {
        // Say what the app said, not just "timeout".
        throw new Error(`series did not open: ${(await page.getByTestId('log').textContent()) ?? ''} (${String(e)})`);
      });
    await page.keyboard.press('2');
    await page.getByTestId('new-object').click();
    await page.getByTestId('object-1').waitFor();
    await page.keyboard.press('b');
    await page.getByTestId('brush-size').fill('5');
    // Instrument: pointer timestamps in, overlay putImageData out; masks.edit round trips.
    await page.evaluate(() => {
      const w = window as unknown as { __lat: number[]; __edit: number[]; __pending: number[] };
      w.__lat = [];
      w.__edit = [];
      w.__pending = [];
      document.addEventListener('pointermove', (e) => w.__pending.push(e.timeStamp), { capture: true });
      const put = CanvasRenderingContext2D.prototype.putImageData;
      CanvasRenderingContext2D.prototype.putImageData = function (this: CanvasRenderingContext2D, ...args: unknown[]) {
        (put as (...a: unknown[]) => void).apply(this, args);
        if (this.canvas.dataset['testid'] === 'mask-overlay' && w.__pending.length) {
          const now = performance.now();
          for (const t of w.__pending.splice(0)) w.__lat.push(now - t);
        }
      } as typeof put;
      const api = window.api as unknown as { invoke: (c: string, a: unknown) => Promise<unknown> };
      const invoke = api.invoke.bind(api);
      api.invoke = async (c: string, a: unknown) => {
        const t0 = performance.now();
        const r = await invoke(c, a);
        if (c === 'masks.edit') w.__edit.push(performance.now() - t0);
        return r;
      };
    });
    const box = (await page.locator('[data-testid="mask-editor"] .layer').boundingBox())!;
    const strokes = 12;
    for (let k = 0; k < strokes; k++) {
      const y = box.y + box.height * (0.1 + 0.07 * k);
      await page.mouse.move(box.x + box.width * 0.1, y);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.9, y + 20, { steps: 40 });
      await page.mouse.up();
      await page.waitForTimeout(150);
    }
    const { lat, edit } = await page.evaluate(() => {
      const w = window as unknown as { __lat: number[]; __edit: number[] };
      return { lat: w.__lat, edit: w.__edit };
    });
    return {
      scan: `${SCAN}x${SCAN}`,
      brushPx: 5,
      strokes,
      pointerEvents: lat.length,
      strokeToPaintMs: { p50: percentile(lat, 50), p95: percentile(lat, 95), max: Math.max(...lat) },
      editRoundTripMs: { p50: percentile(edit, 50), p95: percentile(edit, 95), n: edit.length },
      targetP95Ms: 16,
      meetsTarget: percentile(lat, 95) < 16,
    };
  } finally {
    await browser.close();
    host.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
