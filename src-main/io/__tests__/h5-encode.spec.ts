// The HDF5 encoder against the real HDF5 library: files it writes are read back by h5wasm (libhdf5 1.14 in
// WebAssembly) and by h5py (Debian's libhdf5), value for value; its checksum against lookup3's published vectors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeH5, lookup3, type H5Array, type H5AttrValue } from '../h5-encode';
import { writeStacksH5 } from '../write-stacks';

const dir = mkdtempSync(join(tmpdir(), 'tracked-h5enc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeEncoded(name: string, arrays: H5Array[], attrs: Record<string, H5AttrValue> = {}): string {
  const chunks = encodeH5(arrays, attrs);
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  const p = join(dir, name);
  writeFileSync(p, out);
  return p;
}

const ARRAYS: H5Array[] = [
  { name: 'angleDeg', data: Float64Array.of(-30.5, 0, 29.75), shape: [3] },
  {
    name: 'virtual/adf',
    data: Float32Array.from({ length: 3 * 4 * 5 }, (_, i) => i * 0.25 - 3),
    shape: [3, 4, 5],
    attrs: { detector: 'annulus 20–60 px, ü', axes: 'tilt, scan row (ry), scan column (rx)', scale: 2.5, radii: Float64Array.of(20, 60) },
  },
  { name: 'virtual/bf', data: Float32Array.of(1, 2, 3, 4), shape: [1, 2, 2] },
  { name: 'masks/deep/object_1', data: Uint8Array.of(0, 1, 1, 0, 1, 1), shape: [1, 2, 3], attrs: { name: 'particle A' } },
  { name: 'labels', data: Uint16Array.of(0, 65535, 7), shape: [3] },
  { name: 'empty', data: new Float32Array(0), shape: [0, 4] },
  // More links in one group than HDF5's own compact-storage default (8): readers take any number.
  ...Array.from({ length: 20 }, (_, i) => ({ name: `many/d${i}`, data: Float64Array.of(i), shape: [1] })),
];
const FILE_ATTRS = { creator: 'trackED', series: '/data/séries/series.json', count: 3 };

describe('lookup3 (the checksum of every version-2 HDF5 structure)', () => {
  it("gives Bob Jenkins' published hashlittle values", () => {
    const t = (s: string): number => lookup3(new TextEncoder().encode(s));
    expect(t('')).toBe(0xdeadbeef);
    expect(t('Four score and seven years ago')).toBe(0x17770551);
  });
});

describe('encodeH5', () => {
  it('h5wasm reads every dataset, shape, dtype, attribute and group back exactly', async () => {
    const h5 = await import('h5wasm/node');
    await h5.ready;
    const f = new h5.File(writeEncoded('a.h5', ARRAYS, FILE_ATTRS), 'r');
    try {
      expect(f.attrs['creator']!.value).toBe('trackED');
      expect(f.attrs['series']!.value).toBe('/data/séries/series.json');
      expect(f.attrs['count']!.value).toBe(3);
      for (const a of ARRAYS) {
        const ds = f.get(a.name) as InstanceType<typeof h5.Dataset>;
        expect(ds, a.name).toBeInstanceOf(h5.Dataset);
        expect(ds.shape).toEqual(a.shape);
        expect(Array.from(ds.value as ArrayLike<number>)).toEqual(Array.from(a.data));
        expect((ds.value as object).constructor).toBe(a.data.constructor);
        for (const [k, v] of Object.entries(a.attrs ?? {})) {
          const got = ds.attrs[k]!.value;
          if (v instanceof Float64Array) expect(Array.from(got as Float64Array)).toEqual(Array.from(v));
          else expect(got).toBe(v);
        }
      }
      expect((f.get('many') as InstanceType<typeof h5.Group>).keys().length).toBe(20);
    } finally {
      f.close();
    }
  });

  it("h5py (Debian's libhdf5) reads the same values, strings as str", () => {
    const p = writeEncoded('b.h5', ARRAYS, FILE_ATTRS);
    const script = `
import json, sys, h5py
out = {'attrs': {k: (v if isinstance(v, str) else float(v)) for k, v in h5py.File(sys.argv[1], 'r').attrs.items()}, 'sets': {}}
with h5py.File(sys.argv[1], 'r') as f:
    def visit(name, o):
        if isinstance(o, h5py.Dataset):
            out['sets'][name] = {'shape': list(o.shape), 'dtype': o.dtype.str, 'values': o[()].ravel().tolist(),
                                 'attrs': {k: (v if isinstance(v, str) else v.tolist() if hasattr(v, 'tolist') else v) for k, v in o.attrs.items()}}
    f.visititems(visit)
print(json.dumps(out))`;
    const r = spawnSync('/usr/bin/python3', ['-c', script, p], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { attrs: Record<string, unknown>; sets: Record<string, { shape: number[]; dtype: string; values: number[]; attrs: Record<string, unknown> }> };
    expect(got.attrs).toEqual({ creator: 'trackED', series: '/data/séries/series.json', count: 3 });
    const dtypes = new Map<unknown, string>([[Float64Array, '<f8'], [Float32Array, '<f4'], [Uint8Array, '|u1'], [Uint16Array, '<u2']]);
    expect(Object.keys(got.sets).sort()).toEqual(ARRAYS.map((a) => a.name).sort());
    for (const a of ARRAYS) {
      const s = got.sets[a.name]!;
      expect(s.shape).toEqual(a.shape);
      expect(s.dtype).toBe(dtypes.get(a.data.constructor));
      expect(s.values).toEqual(Array.from(a.data));
      expect(s.attrs).toEqual(Object.fromEntries(Object.entries(a.attrs ?? {}).map(([k, v]) => [k, v instanceof Float64Array ? Array.from(v) : v])));
    }
  });

  it('writeStacksH5 writes the same file atomically, and refuses bad input by name', async () => {
    const p = join(dir, 'c.h5');
    await writeStacksH5(p, ARRAYS.slice(0, 3), FILE_ATTRS);
    const h5 = await import('h5wasm/node');
    await h5.ready;
    const f = new h5.File(p, 'r');
    expect(Array.from((f.get('virtual/bf') as InstanceType<typeof h5.Dataset>).value as Float32Array)).toEqual([1, 2, 3, 4]);
    f.close();
    const one = (name: string, shape: number[]): H5Array => ({ name, data: new Float32Array(4), shape });
    expect(() => encodeH5([one('a', [2, 2]), one('a', [2, 2])])).toThrow(/a is given twice/);
    expect(() => encodeH5([one('a', [3, 2])])).toThrow(/shape \[3, 2\] does not hold its 4 values/);
    expect(() => encodeH5([one('a', [2, 2]), one('a/b', [2, 2])])).toThrow(/'a' is a dataset, not a group/);
    expect(() => encodeH5([one('//', [2, 2])])).toThrow(/empty/);
  });
});
