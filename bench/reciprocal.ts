// Frame time of turning the reciprocal-space cloud in Chromium (WebGL 2 through SwiftShader here: no GPU), for
// 100 000 and 1 000 000 points: the app's drawing (RGB point scalars, sphere imposters sized by intensity, and the
// CPU projection that picking uses, every frame) against the same points drawn plain (one colour, fixed-size points,
// no picking) in the same page. Reported as ratios, since SwiftShader's absolute times say little about a GPU.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const SIZES = [100_000, 1_000_000];

export default async function bench(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'tracked-bench-reciprocal-'));
  try {
    await build({ entryPoints: ['bench/pages/reciprocal-page.ts'], bundle: true, format: 'iife', platform: 'browser', outfile: join(dir, 'page.js'), logLevel: 'error' });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><body style="margin:0;background:#000"><div id="view" style="width:960px;height:720px"></div><script src="page.js"></script></body>');
    const browser = await chromium.launch({
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-gpu-vsync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 960, height: 720 } });
      await page.goto(pathToFileURL(join(dir, 'index.html')).href);
      const renderer = await page.evaluate(() => {
        const gl = document.createElement('canvas').getContext('webgl2');
        return gl ? String(gl.getParameter(gl.RENDERER)) : 'none';
      });
      const rows = [];
      for (const n of SIZES) {
        const frames = n > 200_000 ? 10 : 30;
        const run = (styled: boolean): Promise<{ medianMs: number; p95Ms: number }> =>
          page.evaluate(([nn, s, f]) => (window as unknown as { runBench(n: number, s: boolean, f: number): Promise<{ medianMs: number; p95Ms: number }> }).runBench(nn, s, f), [n, styled, frames] as [number, boolean, number]);
        const plain = await run(false);
        const ours = await run(true);
        rows.push({ points: n, frames, plain, ours, ratio: +(ours.medianMs / plain.medianMs).toFixed(2), oursFps: +(1000 / ours.medianMs).toFixed(1) });
      }
      return { renderer, viewport: [960, 720], rows };
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
