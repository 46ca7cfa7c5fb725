// Named arrays (masks, virtual-image stacks, angles) written into one HDF5 file, atomically (temp + rename).
// The one writer behind masks.h5 (ARCHITECTURE §6), virtual.h5 and the synthetic truth files.
import { withAtomicFile } from './atomic';
import { h5lib } from './h5';

export type H5AttrValue = string | number | Float64Array;

export interface H5Stack {
  /** Dataset path; groups on the way ('virtual/adf') are created. */
  name: string;
  data: Uint8Array | Uint16Array | Float32Array | Float64Array;
  shape: number[];
  attrs?: Record<string, H5AttrValue>;
}

const DTYPE = (d: H5Stack['data']): string => (d instanceof Uint8Array ? '<B' : d instanceof Uint16Array ? '<H' : d instanceof Float32Array ? '<f' : '<d');

function setAttr(obj: { create_attribute(name: string, value: unknown, shape?: number[] | null, dtype?: string | null): unknown }, k: string, v: H5AttrValue): void {
  if (typeof v === 'number') obj.create_attribute(k, v, [], '<d');
  else obj.create_attribute(k, v);
}

export async function writeStacksH5(path: string, stacks: readonly H5Stack[], fileAttrs: Record<string, H5AttrValue> = {}): Promise<void> {
  const h5 = await h5lib();
  await withAtomicFile(path, (tmp) => {
    const f = new h5.File(tmp, 'w');
    try {
      for (const [k, v] of Object.entries(fileAttrs)) setAttr(f, k, v);
      const groups = new Set<string>();
      for (const s of stacks) {
        const parts = s.name.split('/').filter(Boolean);
        for (let i = 1; i < parts.length; i++) {
          const g = parts.slice(0, i).join('/');
          if (!groups.has(g)) {
            f.create_group(g);
            groups.add(g);
          }
        }
        const ds = f.create_dataset({ name: s.name, data: s.data, shape: s.shape, dtype: DTYPE(s.data) });
        for (const [k, v] of Object.entries(s.attrs ?? {})) setAttr(ds, k, v);
      }
    } finally {
      f.close();
    }
  });
}
