// Writes virtual-image stacks as HDF5 for Python users: one float32 dataset [nTilts, ny, nx] per output
// under /virtual, the tilt angles, and the detector geometry as attributes. Atomic (temp + rename).
import { AtomicFile } from './atomic';
import { h5lib } from './h5';

export interface VirtualStackFile {
  /** output name → Float32Array of nTilts * ny * nx. */
  stacks: Record<string, Float32Array>;
  nTilts: number;
  ny: number;
  nx: number;
  anglesDeg: number[];
  /** Free-form description of each output's detector, stored as a string attribute. */
  detectors: Record<string, string>;
  attrs?: Record<string, number | string>;
}

export async function writeVirtualStackH5(path: string, data: VirtualStackFile): Promise<void> {
  const h5 = await h5lib();
  const out = new AtomicFile(path);
  try {
    const f = new h5.File(out.tmpPath, 'w');
    try {
      f.create_attribute('creator', 'trackED');
      for (const [k, v] of Object.entries(data.attrs ?? {})) f.create_attribute(k, v);
      f.create_dataset({ name: 'angleDeg', data: Float64Array.from(data.anglesDeg), shape: [data.nTilts], dtype: '<d' });
      f.create_group('virtual');
      for (const [name, stack] of Object.entries(data.stacks)) {
        const ds = f.create_dataset({ name: `virtual/${name}`, data: stack, shape: [data.nTilts, data.ny, data.nx], dtype: '<f' });
        ds.create_attribute('detector', data.detectors[name] ?? name);
        ds.create_attribute('axes', 'tilt, scan row (ry), scan column (rx)');
      }
    } finally {
      f.close();
    }
    out.commit();
  } catch (e) {
    out.abort();
    throw e;
  }
}
