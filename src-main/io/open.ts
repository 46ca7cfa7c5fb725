// One entry point for every 4D-STEM file: decide the format from the file's content (not its name),
// then hand over to the HDF5 or MIB reader.

import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError } from '../../src-shared/errors.js';
import { openHdf5 } from './hdf5-source.js';
import { openMib } from './mib.js';
import type { FourDSource } from './types.js';

export interface OpenSourceOptions {
  /** HDF5 dataset path; found by layout when absent. */
  dataset?: string;
  /** [ny, nx] probe positions, overriding what the file says (or supplying what it does not). */
  scanShape?: [number, number];
  /** Tilt of a 5D [tilt, ry, rx, qy, qx] dataset (default 0). */
  tiltIndex?: number;
}

export type FileFormat = 'hdf5' | 'mib';

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Checks that `path` is a readable regular file; an InputError with a one-line reason otherwise. */
export async function checkDataFile(path: string): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(path, code === 'ENOENT' ? 'file does not exist' : `cannot be read (${code ?? String(e)})`);
  }
  if (st.isDirectory()) throw new InputError(path, 'is a directory, not a data file');
  if (!st.isFile()) throw new InputError(path, 'is not a regular file');
  if (st.size === 0) throw new InputError(path, 'is empty');
  return st.size;
}

/** Recognises HDF5 (signature at 0, 512, 1024, … for files with a user block) and Merlin MIB/.hdr. */
export async function detectFormat(path: string): Promise<FileFormat> {
  const size = await checkDataFile(path);
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(8, size));
    await fh.read(head, 0, head.length, 0);
    if (head.length === 8 && head.equals(HDF5_SIGNATURE)) return 'hdf5';
    const text = head.toString('latin1');
    if (text.startsWith('MQ1,')) return 'mib';
    if (text.startsWith('HDR,')) return 'mib';
    for (let p = 512; p + 8 <= size && p <= 1 << 24; p *= 2) {
      const b = Buffer.alloc(8);
      await fh.read(b, 0, 8, p);
      if (b.equals(HDF5_SIGNATURE)) return 'hdf5';
    }
    const shown = [...head].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    throw new InputError(path, `is neither an HDF5 file nor a Merlin .mib (it starts with bytes ${shown})`);
  } finally {
    await fh.close();
  }
}

/** Opens one 4D-STEM data file lazily: nothing but headers and layout is read here. */
export async function openSource(path: string, opts: OpenSourceOptions = {}): Promise<FourDSource> {
  const abs = resolve(path);
  const fmt = await detectFormat(abs);
  if (fmt === 'hdf5') return openHdf5(abs, opts);
  if (opts.dataset !== undefined) throw new InputError(abs, `is a Merlin .mib file; it has no dataset "${opts.dataset}"`);
  if (opts.tiltIndex !== undefined && opts.tiltIndex !== 0) throw new InputError(abs, `is a Merlin .mib file (one tilt); it has no tilt ${opts.tiltIndex}`);
  return openMib(abs, opts.scanShape ? { scanShape: opts.scanShape } : {});
}
