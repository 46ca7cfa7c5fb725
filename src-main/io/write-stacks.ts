// Named arrays (masks, virtual-image stacks, angles) written into one HDF5 file, atomically (temp + rename).
// The one writer behind masks.h5 (ARCHITECTURE §6), virtual.h5 and the synthetic truth files. The file is encoded
// by ./h5-encode.ts (no HDF5 library to load) and written chunk by chunk: the arrays are never copied.
import { closeSync, openSync, writeSync } from 'node:fs';
import { withAtomicFile } from './atomic';
import { encodeH5, type H5Array, type H5AttrValue } from './h5-encode';

export type { H5AttrValue } from './h5-encode';
export type H5Stack = H5Array;

export async function writeStacksH5(path: string, stacks: readonly H5Stack[], fileAttrs: Record<string, H5AttrValue> = {}): Promise<void> {
  const chunks = encodeH5(stacks, fileAttrs);
  await withAtomicFile(path, (tmp) => {
    const fd = openSync(tmp, 'w');
    try {
      for (const c of chunks) {
        for (let off = 0; off < c.byteLength; ) off += writeSync(fd, c, off, c.byteLength - off);
      }
    } finally {
      closeSync(fd);
    }
  });
}
