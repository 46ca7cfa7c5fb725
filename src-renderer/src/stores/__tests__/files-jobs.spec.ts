// The files and jobs stores against main's real services: inspecting a real file, and a checksum job through the job
// store (progress in the job bar, removed when done, logged).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useFilesStore } from '../files';
import { useJobsStore } from '../jobs';
import { useLogStore } from '../log';
import { useSelectionStore } from '../selection';
import { storeFixture } from './fixture';

const fx = storeFixture();

describe('files store', () => {
  it('inspects a file, keeps its info by path, selects it and logs it', async () => {
    const files = useFilesStore();
    const path = join(fx.dir(), 'series', 'tilt_000.h5');
    const info = await files.inspect(path);
    expect(info?.format).toBe('py4DSTEM');
    expect(files.infoByPath[path]?.scanShape).toEqual([24, 24]);
    expect(useSelectionStore().current).toEqual({ kind: 'file', path });
    expect(useLogStore().lines.at(-1)!.message).toMatch(/py4DSTEM, scan 24×24, detector 32×32/);
  });

  it('logs what is wrong with a missing file and keeps nothing', async () => {
    const files = useFilesStore();
    const path = join(fx.dir(), 'nope.h5');
    expect(await files.inspect(path)).toBeUndefined();
    expect(files.infoByPath[path]).toBeUndefined();
    expect(useLogStore().lines.at(-1)).toMatchObject({ level: 'error', message: expect.stringMatching(/InputError: .*nope\.h5/) });
  });

  it('checksums a file as a job', async () => {
    const files = useFilesStore();
    const path = join(fx.dir(), 'blob.bin');
    writeFileSync(path, Buffer.alloc(300_000, 7));
    await files.checksum(path);
    expect(files.hashByPath[path]?.hex).toBe(createHash('sha256').update(readFileSync(path)).digest('hex'));
  });
});

describe('jobs store', () => {
  it('shows a running job, removes it when done and returns its result', async () => {
    const jobs = useJobsStore();
    const path = join(fx.dir(), 'big.bin');
    writeFileSync(path, Buffer.alloc(2_000_000, 1));
    const seen: number[] = [];
    const running = jobs.run('file.hash', { path, chunkBytes: 65536 }, 'hash');
    await new Promise((r) => setTimeout(r, 0));
    seen.push(jobs.list.length);
    const result = await running;
    expect(result.bytes).toBe(2_000_000);
    expect(seen[0]).toBe(1);
    expect(jobs.list).toHaveLength(0);
    expect(useLogStore().lines.map((l) => l.message)).toEqual(expect.arrayContaining(['hash: started', 'hash: done']));
  });

  it('a failing job rejects, is logged as an error and leaves the job bar', async () => {
    const jobs = useJobsStore();
    await expect(jobs.run('file.hash', { path: join(fx.dir(), 'missing.bin') }, 'hash')).rejects.toThrow();
    expect(jobs.list).toHaveLength(0);
    expect(useLogStore().lines.at(-1)!.level).toBe('error');
  });
});
