// The build's copy of h5wasm with its WebAssembly binary in a file of its own (scripts/h5wasm-split.mjs): it must
// read files exactly as the package does, and the CLI must use it.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_DATA } from '../helpers/paths';

const split = resolve('out/cli/h5wasm');
const files = [join(SHARED_DATA, 'rosettasciio/emd/py4DSTEM_size2x3x4x5.h5'), join(SHARED_DATA, 'rosettasciio/arina/test_00_master.h5')];

/**
 * Every dataset of `file` (path, shape, dtype and a checksum of its values) as one module reads it, in a child
 * process. `compiled`: the binary is compiled first and registered, as a worker given it by the pool has it; the
 * copy must then instantiate that module and compile nothing of its own.
 */
function readAll(entry: string, file: string, compiled = false): string {
  const script = `
    let registered = null;
    let instantiatedRegistered = false;
    if (${compiled}) {
      const { readFileSync } = await import('node:fs');
      registered = await WebAssembly.compile(readFileSync(${JSON.stringify(join(split, 'hdf5_util.wasm'))}));
      globalThis[Symbol.for('tracked.h5wasm.module')] = registered;
      const Instance = WebAssembly.Instance;
      WebAssembly.Instance = function (m, imports) { if (m === registered) instantiatedRegistered = true; return new Instance(m, imports); };
      WebAssembly.instantiate = () => { throw new Error('compiled its own'); };
    }
    const h5 = (await import(${JSON.stringify(entry)})).default;
    await h5.ready;
    const f = new h5.File(${JSON.stringify(file)}, 'r');
    const out = [];
    for (const p of f.paths()) {
      const e = f.get(p);
      if (!(e instanceof h5.Dataset) || e.metadata.size * (e.shape ?? []).reduce((a, b) => a * b, 1) > 1e7) continue;
      const v = e.value;
      let sum = 0;
      if (ArrayBuffer.isView(v)) for (let i = 0; i < v.length; i++) sum += Number(v[i]);
      out.push([p, e.shape, e.dtype, sum, typeof v === 'string' ? v : null]);
    }
    f.close();
    if (${compiled} && !instantiatedRegistered) throw new Error('the registered module was not used');
    process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe('h5wasm with its binary split out (out/cli/h5wasm)', () => {
  it('is built beside the CLI: a WebAssembly binary, and no embedded copy of it in the JavaScript', () => {
    expect(existsSync(join(split, 'hdf5_hl.mjs'))).toBe(true);
    // The WebAssembly magic and version 1 (the reads below show it is the binary the package embeds).
    expect([...readFileSync(join(split, 'hdf5_util.wasm')).subarray(0, 8)]).toEqual([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    expect(readFileSync(join(split, 'hdf5_util.mjs'), 'utf8')).not.toContain("binaryDecode('");
  });

  it.each(files)('reads every dataset of %s as the package does', (file) => {
    const fromPackage = readAll('h5wasm/node', file);
    expect(JSON.parse(fromPackage).length).toBeGreaterThan(0);
    expect(readAll(join(split, 'hdf5_hl.mjs'), file)).toBe(fromPackage);
  });

  it.each(files)('reads %s the same from a binary compiled elsewhere (a worker given the module), instantiating that module', (file) => {
    expect(readAll(join(split, 'hdf5_hl.mjs'), file, true)).toBe(readAll('h5wasm/node', file));
  });

  it('the pool hands its workers the binary this thread compiled, and they check HDF5 files with it', async () => {
    const { prepareH5wasmModule } = await import('../../src-main/io/h5wasm-module');
    const { WorkerPool } = await import('../../src-main/workers/pool');
    (await import('../../src-main/stages/hdf5-guard')).installHdf5Guard();
    const before = new WorkerPool({ size: 1 });
    before.prestart();
    expect(await prepareH5wasmModule(join(split, 'hdf5_util.wasm'))).not.toBeNull();
    const after = new WorkerPool({ size: 1 });
    try {
      expect(await after.run('diagnostics', { op: 'workerData' })).toEqual(['h5wasmModule']);
      expect(await before.run('diagnostics', { op: 'workerData' })).toEqual([]);
      // Both read the file's structure, the one with the module given and the one that compiled its own.
      for (const pool of [after, before]) await expect(pool.run('walkHdf5', { path: files[0]! })).resolves.toMatchObject({ objects: expect.any(Number) });
    } finally {
      await before.close();
      await after.close();
    }
  });

  it('`tracked info` gives the same description with the copy and with the package (TRACKED_H5WASM=package)', () => {
    const info = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['bin/tracked.mjs', 'info', files[0]], { encoding: 'utf8', env: { ...process.env, ...env } });
    const a = info({});
    const b = info({ TRACKED_H5WASM: 'package' });
    expect(a.status).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    // The copy was the one loaded (a copy that fails to load says so and falls back to the package).
    expect(a.stderr).not.toMatch(/h5wasm copy/);
  });
});
