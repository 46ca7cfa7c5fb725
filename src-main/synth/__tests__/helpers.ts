// Test helpers: open the generated files with h5wasm the way a reader would.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadH5wasm } from '../../io/write-emd';

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `tracked-${tag}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export interface H5Read {
  shape: number[];
  dtype: string;
  chunks: number[] | null;
  filters: unknown[];
  attrs: Record<string, unknown>;
  slice(ranges: ([number, number] | [])[]): ArrayLike<number>;
  value(): unknown;
}

/** Opens a file read-only and hands `fn` a dataset getter; closes afterwards. */
export async function withH5<T>(path: string, fn: (get: (p: string) => H5Read, keys: () => string[], fileAttrs: Record<string, unknown>) => T): Promise<T> {
  const { lib } = await loadH5wasm();
  const f = new lib.File(path, 'r');
  try {
    const get = (p: string): H5Read => {
      const d = f.get(p);
      if (!(d instanceof lib.Dataset)) throw new Error(`${path}: no dataset ${p}`);
      const attrs: Record<string, unknown> = {};
      for (const [k, a] of Object.entries(d.attrs)) attrs[k] = a.json_value;
      return {
        shape: d.shape ?? [],
        dtype: String(d.dtype),
        chunks: d.metadata.chunks ?? null,
        filters: d.filters,
        attrs,
        slice: (r) => d.slice(r) as unknown as ArrayLike<number>,
        value: () => d.json_value,
      };
    };
    const fileAttrs: Record<string, unknown> = {};
    for (const [k, a] of Object.entries(f.attrs)) fileAttrs[k] = a.json_value;
    return fn(get, () => f.keys(), fileAttrs);
  } finally {
    f.close();
  }
}
