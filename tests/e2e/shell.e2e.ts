// The workstation shell in Chromium against the test host: layout, the bridge, jobs, errors, shortcuts.
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageErrors, screenshot, startHarness, type Harness } from './harness';

let h: Harness;
let dir: string;

beforeAll(async () => {
  h = await startHarness();
  dir = mkdtempSync(join(tmpdir(), 'tracked-e2e-'));
});
afterAll(async () => {
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('workstation shell', () => {
  it('renders the real layout with its panels and tabs', async () => {
    const page = await h.newPage();
    for (const id of ['left-panel', 'properties', 'jobbar', 'log', 'tab-series', 'tab-masks', 'tab-patterns', 'tab-reciprocal', 'tab-export']) {
      await expect(page.getByTestId(id).isVisible()).resolves.toBe(true);
    }
    // app.info crossed the bridge and came back from the test host.
    await expect(page.getByTestId('app-info').textContent()).resolves.toContain('test-host');
    await screenshot(page, '01-shell');
    expect(pageErrors(page)).toEqual([]);
    await page.close();
  });

  it('sends a request with a binary payload across the bridge and gets it back', async () => {
    const page = await h.newPage();
    const reply = await page.evaluate(async () => {
      const bytes = new Uint8Array(1000).map((_, i) => i % 251);
      const r = await window.api.invoke('app.echo', { message: 'tilt -40.0°', payload: bytes.buffer });
      const back = new Uint8Array(r.payload!);
      return { message: r.message, payloadBytes: r.payloadBytes, payloadSum: r.payloadSum, isBuffer: r.payload instanceof ArrayBuffer, last: back[999] };
    });
    let expectedSum = 0;
    for (let i = 0; i < 1000; i++) expectedSum += i % 251;
    expect(reply).toEqual({ message: 'tilt -40.0°', payloadBytes: 1000, payloadSum: expectedSum, isBuffer: true, last: 999 % 251 });
    await page.close();
  });

  it('rejects an argument of the wrong type in main, naming the field', async () => {
    const page = await h.newPage();
    const error = await page.evaluate(async () => {
      try {
        // Deliberately wrong: the type system forbids it, so go through an untyped reference.
        await (window.api.invoke as (c: string, a: unknown) => Promise<unknown>)('file.info', { path: 42 });
        return null;
      } catch (e) {
        const err = e as Error & { detail?: { field?: string } };
        return { name: err.name, message: err.message, field: err.detail?.field };
      }
    });
    expect(error).not.toBeNull();
    expect(error!.name).toBe('ValidationError');
    expect(error!.field).toBe('path');
    expect(error!.message).toMatch(/path/);
    await page.close();
  });

  it('runs a job to completion with the right result', async () => {
    const file = join(dir, 'small.bin');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    writeFileSync(file, data);
    const page = await h.newPage();
    const result = await page.evaluate(async (path) => {
      const stages: number[] = [];
      const r = await window.api.runJob('file.hash', { path, chunkBytes: 1 << 20 }, { onProgress: (p) => stages.push(p.done) });
      return { hex: r.hex, bytes: r.bytes, progressEvents: stages.length, lastDone: stages[stages.length - 1] };
    }, file);
    expect(result.hex).toBe(createHash('sha256').update(data).digest('hex'));
    expect(result.bytes).toBe(data.length);
    expect(result.progressEvents).toBeGreaterThan(0);
    expect(result.lastDone).toBe(data.length);
    await page.close();
  });

  it('shows a job in the job bar with progress, and cancels it', async () => {
    // A sparse 8 GiB file: hashing it takes seconds, storing it takes nothing.
    const file = join(dir, 'big-sparse.bin');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, 8 * 1024 ** 3);
    closeSync(fd);
    const page = await h.newPage();
    await page.getByTestId('inspect-path').fill(file);
    await page.getByTestId('checksum-button').click();
    const job = page.getByTestId('job');
    await job.waitFor();
    // Progress must move past 0% before we cancel.
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-testid="job-percent"]');
      return el !== null && parseFloat(el.textContent ?? '0') > 0;
    });
    await screenshot(page, '02-job-progress');
    await page.getByTestId('job-cancel').click();
    await job.waitFor({ state: 'detached', timeout: 10_000 });
    await expect(page.locator('[data-testid="log"] .line.warn').last().textContent()).resolves.toContain('cancelled');
    await expect(page.getByTestId('jobbar').textContent()).resolves.toContain('No jobs running');
    await page.close();
  });

  it('puts a main-side error into the log console, in the error colour, with its message', async () => {
    const page = await h.newPage();
    const missing = join(dir, 'no-such-tilt.h5');
    await page.getByTestId('inspect-path').fill(missing);
    await page.getByTestId('inspect-button').click();
    const line = page.locator('[data-testid="log"] .line.error').last();
    await line.waitFor();
    const text = await line.textContent();
    expect(text).toContain(missing);
    expect(text).toMatch(/not found|does not exist|no such file/i);
    const colour = await line.locator('.message').evaluate((el) => getComputedStyle(el).color);
    expect(colour).toBe('rgb(229, 98, 92)');
    await screenshot(page, '03-error-in-log');
    await page.close();
  });

  it('inspects a real HDF5 file and shows its datasets', async () => {
    const page = await h.newPage();
    const file = join(process.cwd(), '..', 'shared', 'data', 'rosettasciio', 'emd', 'py4DSTEM_size2x3x4x5.h5');
    await page.getByTestId('inspect-path').fill(file);
    await page.getByTestId('inspect-button').click();
    await page.getByTestId('datasets').waitFor();
    await expect(page.getByTestId('datasets').textContent()).resolves.toContain('2×3×4×5');
    await screenshot(page, '04-inspect-hdf5');
    await page.close();
  });

  it('has one shortcut registry: keys switch tabs and ? shows the help overlay', async () => {
    const page = await h.newPage();
    await page.keyboard.press('3');
    await expect(page.getByTestId('tab-patterns').getAttribute('aria-selected')).resolves.toBe('true');
    await page.keyboard.press('Shift+?');
    await page.getByTestId('shortcuts').waitFor();
    await expect(page.getByTestId('shortcuts').textContent()).resolves.toContain('Undo');
    await screenshot(page, '05-shortcuts');
    await page.keyboard.press('Control+l');
    await page.getByTestId('log').waitFor({ state: 'detached' });
    await page.close();
  });
});
