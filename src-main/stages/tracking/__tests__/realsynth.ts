// Loads a series written by the project's synthetic generator (src-main/synth) for the tracker tests, the way the
// app gets its tracking images: the virtual annular dark field and bright field computed from the raw per-tilt HDF5
// counts by the virtual-imaging service (computeVirtualImages), with the detectors chosen from the data — the ADF
// from a few direct-beam disk radii (the service's own beam-centre fit) to the detector edge, the BF the disk and a
// quarter — never from the generator's truth. Also the ground-truth masks (truth/masks.h5).
import { join } from 'node:path';
import { openH5 } from '../../../io/h5';
import { openSeries, openTilt } from '../../../io/series';
import { computeVirtualImages, imageStack } from '../../virtual/service';

/** Inner ADF radius in direct-beam disk radii: outside the disk and its blur, inside most Bragg disks. */
export const ADF_INNER_DISK_RADII = 3.5;
/** BF radius in disk radii: the disk and its rim (as the app's suggested detectors). */
export const BF_DISK_RADII = 1.25;

export interface LoadedSeries {
  nTilts: number;
  ny: number;
  nx: number;
  /** Virtual ADF from the raw counts, nTilts·ny·nx. */
  virtual: Float32Array;
  /** Virtual BF (particles dark) from the raw counts, nTilts·ny·nx. */
  bf: Float32Array;
  /** The annulus used, detector pixels. */
  adf: { rIn: number; rOut: number };
  /** Ground-truth masks per particle id, nTilts·ny·nx each. */
  masks: Map<number, Uint8Array>;
}

export async function loadSeries(dir: string, manifest = 'series.json'): Promise<LoadedSeries> {
  const series = await openSeries(join(dir, manifest));
  const sources = await Promise.all(series.tilts.map((_, i) => openTilt(series, i)));
  try {
    // Pass 1: the direct beam (a small disk) only to get the service's beam-centre fit and its disk radius.
    const probe = await computeVirtualImages(sources, [{ kind: 'disk', radius: 2, name: 'bf' }], { maxPattern: false });
    const radii = probe.beamCentreFit.filter((f) => f !== null).map((f) => f.radius);
    if (!radii.length) throw new Error(`no direct beam found in ${dir}`);
    const disk = radii.sort((a, b) => a - b)[radii.length >> 1];
    const [nqy, nqx] = sources[0].detectorShape;
    const adf = { rIn: ADF_INNER_DISK_RADII * disk, rOut: Math.min(nqy, nqx) / 2 };
    const v = await computeVirtualImages(
      sources,
      [
        { kind: 'annulus', rIn: adf.rIn, rOut: adf.rOut, name: 'adf' },
        { kind: 'disk', radius: BF_DISK_RADII * disk, name: 'bf' },
      ],
      { maxPattern: false },
    );
    const [ny, nx] = sources[0].scanShape;
    const virtual = imageStack(v, 'adf');
    const bf = imageStack(v, 'bf');
    const truthFile = await openH5(join(dir, 'truth', 'masks.h5'));
    const masks = new Map<number, Uint8Array>();
    for (const key of truthFile.keys()) {
      const m = /^object_(\d+)$/.exec(key);
      if (!m) continue;
      masks.set(Number(m[1]), Uint8Array.from((truthFile.get(key) as unknown as { value: Uint8Array }).value));
    }
    truthFile.close();
    return { nTilts: sources.length, ny, nx, virtual, bf, adf, masks };
  } finally {
    for (const s of sources) s.close();
  }
}
