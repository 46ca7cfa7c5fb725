// Starts the test host as its own Node process and drives Debian's Chromium with playwright-core.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const SCREENSHOT_DIR = resolve('test-results/e2e');

export interface Harness {
  url: string;
  browser: Browser;
  host: ChildProcess;
  newPage(): Promise<Page>;
  /** Kills the host with SIGKILL (no shutdown code runs) and starts a fresh one; pages must be reopened. */
  restartHost(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where the e2e specs keep their data, granted by the host (which refuses every other path, as the app does): the
 * OS temp folder (specs make theirs with mkdtemp there) and the shared sample files.
 */
export function defaultGrantRoots(): string[] {
  return [tmpdir(), resolve('..', 'shared', 'data')];
}

export interface HarnessOptions {
  /** Folders the host grants for reading and writing (default: defaultGrantRoots()). */
  grantRoots?: string[];
}

async function spawnHost(grantRoots: string[], settingsDir: string): Promise<{ host: ChildProcess; url: string }> {
  const grants = grantRoots.flatMap((dir) => ['--grant', dir]);
  const host = spawn(process.execPath, ['out/e2e/host.mjs', '--renderer', 'out/renderer', '--bridge', 'out/e2e/bridge.js', '--settings', settingsDir, ...grants], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((ok, fail) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error('test host did not start within 20 s')), 20_000);
    host.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const m = /TRACKED_HOST (\S+)/.exec(buffered);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    });
    host.on('exit', (code) => fail(new Error(`test host exited with ${code}`)));
  });
  return { host, url };
}

export function chromiumPath(): string {
  return process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const grantRoots = options.grantRoots ?? defaultGrantRoots();
  // The user's settings folder (recent projects): one per harness, kept across host restarts like a real one.
  const settingsDir = mkdtempSync(join(tmpdir(), 'tracked-e2e-settings-'));
  let { host, url } = await spawnHost(grantRoots, settingsDir);
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      // WebGL 2 for vtk.js through SwiftShader (no GPU here).
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
  const h: Harness = {
    url,
    browser,
    host,
    async restartHost() {
      const exited = new Promise((ok) => host.once('exit', ok));
      host.kill('SIGKILL');
      await exited;
      ({ host, url } = await spawnHost(grantRoots, settingsDir));
      h.host = host;
      h.url = url;
    },
    async newPage() {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      errorsByPage.set(page, errors);
      await page.goto(h.url);
      await page.getByTestId('workstation').waitFor();
      return page;
    },
    async close() {
      await browser.close();
      h.host.kill('SIGTERM');
    },
  };
  return h;
}

const errorsByPage = new WeakMap<Page, string[]>();

/** Uncaught errors and console errors the page produced since it opened. */
export function pageErrors(page: Page): string[] {
  return errorsByPage.get(page) ?? [];
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
