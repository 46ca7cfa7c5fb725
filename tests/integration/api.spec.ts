// createApi over an in-process transport wired to the real registry: the same path as the preload and
// the e2e bridge, minus the wire.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inProcessApi } from '../helpers/in-process-api';

const inProcess = (): ReturnType<typeof inProcessApi>['api'] => inProcessApi().api;

const dir = mkdtempSync(join(tmpdir(), 'tracked-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createApi', () => {
  const api = inProcess();

  it('invokes a request and returns its typed result', async () => {
    const info = await api.invoke('app.info', {});
    expect(info.name).toBe('trackED');
    expect(info.host).toBe('test-host');
  });

  it('rebuilds main-side errors as Error objects with name, message and detail', async () => {
    const err = await api.invoke('file.info', { path: join(dir, 'missing.h5') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('InputError');
    expect((err as Error & { detail: { file: string } }).detail.file).toBe(join(dir, 'missing.h5'));
  });

  it('refuses channels that are not in the contract', async () => {
    await expect((api.invoke as (c: string, a: unknown) => Promise<unknown>)('shell.exec', {})).rejects.toThrow(/Unknown channel/);
  });

  it('runs a job with progress to the right result', async () => {
    const data = Buffer.alloc(5 * 65536 + 3, 1);
    const file = join(dir, 'a.bin');
    writeFileSync(file, data);
    const seen: number[] = [];
    const result = await api.runJob('file.hash', { path: file, chunkBytes: 65536 }, { onProgress: (p) => seen.push(p.done) });
    expect(result.hex).toBe(createHash('sha256').update(data).digest('hex'));
    expect(seen.at(-1)).toBe(data.length);
  });

  it('cancels a job through an AbortSignal', async () => {
    const file = join(dir, 'b.bin');
    writeFileSync(file, Buffer.alloc(64 * 1024 * 1024));
    const controller = new AbortController();
    const run = api.runJob('file.hash', { path: file, chunkBytes: 4096 }, { onProgress: () => controller.abort() , signal: controller.signal });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
  });
});
