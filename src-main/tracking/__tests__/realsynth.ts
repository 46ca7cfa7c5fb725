// Loads a series written by the project's synthetic generator (src-main/synth) for the tracker tests: the
// annular-dark-field (or bright-field) virtual image computed from the raw per-tilt HDF5 files, the noise-free
// truth virtual images, and the ground-truth masks (truth/masks.h5).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openH5 } from '../../io/h5';

export interface LoadedSeries {
  nTilts: number;
  ny: number;
  nx: number;
  /** Virtual ADF (or BF) from the raw counts, nTilts·ny·nx. */
  virtual: Float32Array;
  truthVirtual: Float32Array;
  /** Ground-truth masks per particle id. */
  masks: Map<number, Uint8Array>;
}

export async function loadSeries(dir: string, detector: 'adf' | 'bf'): Promise<LoadedSeries> {
  const manifest = JSON.parse(readFileSync(join(dir, 'series.json'), 'utf8')) as { tilts: { file: string; dataset: string }[] };
  const scene = JSON.parse(readFileSync(join(dir, 'truth', 'scene.json'), 'utf8')) as {
    beamCentre: [number, number];
    virtualDetectors: { bfRadiusPx: number; adfInnerPx: number; adfOuterPx: number };
  };
  const truthFile = await openH5(join(dir, 'truth', 'masks.h5'));
  const masks = new Map<number, Uint8Array>();
  let shape: number[] = [];
  for (const key of truthFile.keys()) {
    const ds = truthFile.get(key) as unknown as { value: Uint8Array; shape: number[] };
    const m = /^object_(\d+)$/.exec(key);
    if (!m) continue;
    masks.set(Number(m[1]), Uint8Array.from(ds.value));
    shape = ds.shape;
  }
  truthFile.close();
  const [nTilts, ny, nx] = shape;
  const vFile = await openH5(join(dir, 'truth', 'virtual.h5'));
  const truthVirtual = Float32Array.from((vFile.get(detector) as unknown as { value: Float32Array }).value);
  vFile.close();
  const [cx, cy] = scene.beamCentre;
  const vd = scene.virtualDetectors;
  const virtual = new Float32Array(nTilts * ny * nx);
  let detMask: Uint8Array | null = null;
  for (let t = 0; t < nTilts; t++) {
    const f = await openH5(join(dir, manifest.tilts[t].file));
    const ds = f.get(manifest.tilts[t].dataset) as unknown as { value: Uint16Array; shape: number[] };
    const data = ds.value;
    const [, , nqy, nqx] = ds.shape;
    if (!detMask) {
      detMask = new Uint8Array(nqy * nqx);
      for (let qy = 0; qy < nqy; qy++)
        for (let qx = 0; qx < nqx; qx++) {
          const r = Math.hypot(qx - cx, qy - cy);
          detMask[qy * nqx + qx] = detector === 'bf' ? (r <= vd.bfRadiusPx ? 1 : 0) : r >= vd.adfInnerPx && r <= vd.adfOuterPx ? 1 : 0;
        }
    }
    const nq = nqy * nqx;
    for (let p = 0; p < ny * nx; p++) {
      let s = 0;
      const o = p * nq;
      for (let q = 0; q < nq; q++) if (detMask[q]) s += data[o + q];
      virtual[t * ny * nx + p] = s;
    }
    f.close();
  }
  return { nTilts, ny, nx, virtual, truthVirtual, masks };
}
