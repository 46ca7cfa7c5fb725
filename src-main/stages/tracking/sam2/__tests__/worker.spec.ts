// The SAM2 worker end to end: sam2.worker.ts bundled by esbuild (as the app bundles it) and run as a real
// worker_thread, driven through Sam2WorkerClient: load, setImages, encode, segment, propagate with progress,
// cancel, and typed errors across the thread boundary.
import { build } from 'esbuild';
import { NODE_ESM_BUNDLE } from '../../../../../scripts/esbuild-node.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError, ParameterError } from '../../../../../src-shared/errors';
import { blobStack, frameIou } from '../../../../../tests/fixtures/onnx/blob-stack';
import { writeStandinFolder } from '../../../../../tests/fixtures/onnx/sam2-standins';
import { Sam2WorkerClient } from '../client';

const root = mkdtempSync(join(tmpdir(), 'sam2-worker-'));
// Inside the repository, so the bundle's external imports (onnxruntime-node) resolve from node_modules.
const outfile = resolve('node_modules/.cache/sam2-worker-spec/sam2.worker.mjs');
let client: Sam2WorkerClient;
const logs: string[] = [];

beforeAll(async () => {
  await build({
    entryPoints: [resolve('src-main/stages/tracking/sam2/sam2.worker.ts')],
    outfile,
    ...NODE_ESM_BUNDLE,
  });
  client = Sam2WorkerClient.start(outfile, (l) => logs.push(l));
});
afterAll(async () => {
  await client?.terminate();
  rmSync(root, { recursive: true, force: true });
});

const drift = { nTilts: 9, nx: 64, ny: 64, radius: 4, x: 14, y: 22, vx: 1.5, vy: 0.8 };

describe('SAM2 worker', () => {
  it('reports a bad model folder as an InputError, and refuses work before a model is loaded', async () => {
    await expect(client.request('encode', { frame: 0 })).rejects.toBeInstanceOf(ParameterError);
    const err = await client.request('load', { folder: join(root, 'missing'), providers: ['cpu'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).detail.file).toBe(join(root, 'missing'));
  });

  it('loads, encodes, segments and propagates with progress', async () => {
    const dir = writeStandinFolder(join(root, 'model'), 'samexporter');
    const loaded = await client.request('load', { folder: dir, providers: ['cpu'] });
    expect(loaded).toMatchObject({ layout: 'samexporter', provider: 'cpu' });
    const { stack, truth } = blobStack(drift);
    expect(await client.request('setImages', { images: stack })).toEqual({ nTilts: 9, ny: 64, nx: 64 });
    expect((await client.request('encode', { frame: 4 })).cached).toBe(false);
    expect((await client.request('encode', { frame: 4 })).cached).toBe(true);
    const seg = await client.request('segment', { frame: 4, prompt: { points: [{ x: 20, y: 25.2, label: 1 }] } });
    expect(frameIou(seg.mask, truth.subarray(4 * 4096, 5 * 4096), 0, 4096)).toBeGreaterThan(0.8);
    const progress: number[] = [];
    const res = await client.request(
      'propagate',
      { objects: [{ id: 'a', prompts: { 4: { points: [{ x: 20, y: 25.2, label: 1 }] } } }] },
      { onProgress: (p) => progress.push(p.done) },
    );
    expect(res.objects[0].masks).toBeInstanceOf(Uint8Array);
    expect(res.objects[0].frameState.every((s) => s === 'tracked')).toBe(true);
    for (let t = 0; t < drift.nTilts; t++) expect(frameIou(res.objects[0].masks, truth, t, 4096)).toBeGreaterThan(0.6);
    expect(progress.length).toBeGreaterThanOrEqual(drift.nTilts);
    expect(progress[progress.length - 1]).toBe(drift.nTilts);
    expect(res.timings.frames).toBe(drift.nTilts);
  });

  it('cancels a running propagation', async () => {
    let call: { id: number; result: Promise<unknown> } | null = null;
    let cancelled: Promise<{ cancelled: boolean }> | null = null;
    call = client.call(
      'propagate',
      { objects: [{ id: 'a', prompts: { 4: { points: [{ x: 20, y: 25.2, label: 1 }] } } }], options: { crop: { margin: 4 } } },
      {
        onProgress: (p) => {
          if (p.done >= 2 && !cancelled && call) cancelled = client.cancel(call.id);
        },
      },
    );
    const err = await call.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(await cancelled).toEqual({ cancelled: true });
    // The worker is still usable afterwards.
    expect((await client.request('encode', { frame: 0 })).cached).toBe(false);
    expect(await client.request('dispose', {})).toEqual({});
    expect(logs.every((l) => l.startsWith('[sam2]'))).toBe(true);
  });
});
