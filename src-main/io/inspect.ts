// `tracked info PATH` — first version: HDF5 listing through h5wasm (read-only). The readers' owner
// extends this with layout detection (py4DSTEM, HyperSpy, NeXus, MIB, series manifests).
import { open, stat } from 'node:fs/promises';
import h5wasm from 'h5wasm/node';
import type { FileInfo, Hdf5DatasetInfo } from '../../src-preload/contract';
import { InputError } from '../errors';

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

export async function inspect(path: string): Promise<FileInfo> {
  const s = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new InputError(path, e.code === 'ENOENT' ? 'file not found' : `cannot read (${e.code ?? e.message})`);
  });
  if (!s.isFile()) throw new InputError(path, 'not a file');
  const head = Buffer.alloc(8);
  const fh = await open(path, 'r');
  try {
    await fh.read(head, 0, 8, 0);
  } finally {
    await fh.close();
  }
  if (!head.equals(HDF5_SIGNATURE)) throw new InputError(path, 'not an HDF5 or MIB file (no HDF5 signature)');
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'r');
  try {
    const datasets: Hdf5DatasetInfo[] = [];
    for (const name of file.keys()) walk(file, `/${name}`, datasets);
    return { path, format: 'HDF5', sizeBytes: s.size, datasets };
  } finally {
    file.close();
  }
}

function walk(file: InstanceType<typeof h5wasm.File>, p: string, out: Hdf5DatasetInfo[]): void {
  const entity = file.get(p);
  if (entity instanceof h5wasm.Group) {
    for (const k of entity.keys()) walk(file, `${p}/${k}`, out);
  } else if (entity instanceof h5wasm.Dataset) {
    const m = entity.metadata;
    const dtype = m.type === 0 ? (m.signed ? `int${m.size * 8}` : `uint${m.size * 8}`) : m.type === 1 ? `float${m.size * 8}` : String(entity.dtype);
    out.push({ path: p, shape: entity.shape ?? [], dtype });
  }
}
