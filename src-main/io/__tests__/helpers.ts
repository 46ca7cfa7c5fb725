// Shared test helpers: where the real sample files are, scratch folders, and small writers that make
// HDF5 (through h5wasm) and Merlin .mib files with known content.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { h5lib } from '../h5.js';
import { REPO_ROOT, SHARED_DATA } from '../../../tests/helpers/paths';

export { REPO_ROOT, SHARED_DATA };

/** Repository root (src-main/io/__tests__ → ../../..). */
/** ../shared/data beside the repository (the CI clone has shared/ next to it). */
export const RSC = join(SHARED_DATA, 'rosettasciio');
export const QD = join(RSC, 'quantumdetector/unzipped');

if (!existsSync(RSC)) throw new Error(`sample data not found at ${RSC} (expected ../shared/data beside the repository)`);

export function scratchDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `tracked-io-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface H5DatasetSpec {
  name: string;
  data: Uint8Array | Uint16Array | Uint32Array | Int32Array | Float32Array | Float64Array;
  shape: number[];
  dtype: string;
  chunks?: number[] | null;
  compression?: 'gzip';
}

/** Writes datasets into a new HDF5 file with h5wasm (groups created on the way). */
export async function writeH5(path: string, specs: H5DatasetSpec[], opts: { libver?: 'earliest' | 'latest'; groups?: string[]; attrs?: Record<string, string | number> } = {}): Promise<void> {
  const h5 = await h5lib();
  const libver = opts.libver === 'latest' ? 'latest' : (['earliest', 'latest'] as ['earliest', 'latest']);
  const f = new h5.File(path, 'w', { libver });
  try {
    for (const [k, v] of Object.entries(opts.attrs ?? {})) f.create_attribute(k, v);
    for (const g of opts.groups ?? []) f.create_group(g);
    for (const s of specs) {
      const parts = s.name.split('/').filter(Boolean);
      for (let i = 1; i < parts.length; i++) {
        const g = parts.slice(0, i).join('/');
        if (!f.get(g)) f.create_group(g);
      }
      f.create_dataset({
        name: s.name,
        data: s.data,
        shape: s.shape,
        dtype: s.dtype,
        ...(s.chunks ? { chunks: s.chunks } : {}),
        ...(s.compression ? { compression: s.compression, compression_opts: 4 } : {}),
      });
    }
  } finally {
    f.close();
  }
}

/** A deterministic test pattern: value of element i (fits uint16, varies in every byte). */
export function pattern(n: number, seed = 1): Uint16Array {
  const a = new Uint16Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    a[i] = x >>> 16;
  }
  return a;
}

/** A Merlin frame header (single chip, 384 bytes unless given) in the real files' format. */
export function mibHeader(o: { seq: number; width: number; height: number; type: 'U08' | 'U16' | 'U32' | 'R64'; depth: number; headerBytes?: number; sizeField?: number; nsOffset?: number }): Uint8Array {
  const hb = o.headerBytes ?? 384;
  const dacs = '011,511,000,000,000,000,000,000,175,010,200,125,100,100,093,100,099,030,128,004,255,140,128,191,179,511,511';
  const ns = 1_000_000 * o.seq + (o.nsOffset ?? 0);
  const s = `${(ns % 1_000_000_000).toString().padStart(9, '0')}`;
  const text =
    `MQ1,${String(o.seq).padStart(6, '0')},${String(o.sizeField ?? hb).padStart(5, '0')},01,${String(o.width).padStart(4, '0')},${String(o.height).padStart(4, '0')},${o.type},   1x1,01,` +
    `2021-04-15 14:43:47.000000,0.001000,0,0,0,2.000000E+0,5.110000E+2,0.000000E+0,0.000000E+0,0.000000E+0,0.000000E+0,0.000000E+0,0.000000E+0,3RX,${dacs},` +
    `MQ1A,2021-04-15T13:43:${String(47 + Math.floor(ns / 1e9)).padStart(2, '0')}.${s}Z,1000000ns,${o.depth},`;
  const b = new Uint8Array(hb);
  b.set(Buffer.from(text, 'latin1').subarray(0, hb));
  return b;
}

/** Big-endian bytes of a processed frame. */
export function beBytes(px: Uint8Array | Uint16Array | Uint32Array): Uint8Array {
  const w = px.BYTES_PER_ELEMENT;
  const out = new Uint8Array(px.length * w);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < px.length; i++) {
    if (w === 1) out[i] = px[i]!;
    else if (w === 2) dv.setUint16(2 * i, px[i]!, false);
    else dv.setUint32(4 * i, px[i]!, false);
  }
  return out;
}

export function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}
