// masks.h5 (ARCHITECTURE §6 contract): one uint8 dataset object_<id> [nTilts, ny, nx], 1 inside, with attributes
// name and angleDeg; and masks/ PNGs (one per tilt and object) for a quick look. Atomic writes.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { writeFileAtomicSync } from './atomic';
import { writeStacksH5 } from './write-stacks';

export interface MaskObject {
  id: number;
  name: string;
  /** nTilts * ny * nx. */
  masks: Uint8Array;
}

export async function writeMasksH5(path: string, objects: readonly MaskObject[], nTilts: number, scanShape: [number, number], anglesDeg: readonly number[], attrs: Record<string, string> = {}): Promise<void> {
  const angleDeg = Float64Array.from(anglesDeg);
  await writeStacksH5(
    path,
    objects.map((o) => ({ name: `object_${o.id}`, data: o.masks, shape: [nTilts, ...scanShape], attrs: { name: o.name, angleDeg } })),
    { creator: 'trackED', ...attrs },
  );
}

/** masks/object_<id>_<tilt 4 digits>.png, 8-bit grey (255 inside), tilt numbers 1-based like frames/. */
export function writeMaskPngs(dir: string, objects: readonly MaskObject[], nTilts: number, scanShape: [number, number]): string[] {
  mkdirSync(dir, { recursive: true });
  const [ny, nx] = scanShape;
  const n = nx * ny;
  const files: string[] = [];
  for (const o of objects) {
    for (let t = 0; t < nTilts; t++) {
      const png = new PNG({ width: nx, height: ny, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
      const frame = o.masks.subarray(t * n, (t + 1) * n);
      const grey = Buffer.alloc(n);
      for (let i = 0; i < n; i++) grey[i] = frame[i] ? 255 : 0;
      png.data = grey;
      const file = `object_${o.id}_${String(t + 1).padStart(4, '0')}.png`;
      writeFileAtomicSync(join(dir, file), PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
      files.push(file);
    }
  }
  return files;
}
