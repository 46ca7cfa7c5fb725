// Writes virtual-image stacks as HDF5 for Python users: one float32 dataset [nTilts, ny, nx] per output
// under /virtual, the tilt angles, and the detector geometry as attributes. Atomic (temp + rename).
import { writeStacksH5 } from './write-stacks';

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
  await writeStacksH5(
    path,
    [
      { name: 'angleDeg', data: Float64Array.from(data.anglesDeg), shape: [data.nTilts] },
      ...Object.entries(data.stacks).map(([name, stack]) => ({
        name: `virtual/${name}`,
        data: stack,
        shape: [data.nTilts, data.ny, data.nx],
        attrs: { detector: data.detectors[name] ?? name, axes: 'tilt, scan row (ry), scan column (rx)' },
      })),
    ],
    { creator: 'trackED', ...(data.attrs ?? {}) },
  );
}
