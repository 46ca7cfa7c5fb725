// Ground-truth files beside a synthetic series (ARCHITECTURE §7): truth.json, masks.h5 (the masks.h5 layout of
// ARCHITECTURE §6), F2_<id>.json, virtual.h5 (noise-free virtual images and projected thickness), signal.h5 (per
// particle object_<id>: float32 [nTilts, ny, nx], the noise-free expected Bragg counts that particle puts on the
// detector at each probe position; see index.ts) and scene.json (everything else a test may want: shapes, drift,
// dose, fading, and a description of each truth file). All written atomically.
import { join } from 'node:path';
import { writeFileAtomicSync } from '../io/atomic';
import type { Cell } from '../crystallography/lattice';
import type { Mat3 } from '../crystallography/math3';

export interface TruthParticle {
  id: number;
  /** CIF file name of the structure (as bundled in resources/structures). */
  structure: string;
  cell: Cell;
  /** UB at tilt 0 in the lab frame of ARCHITECTURE §4, Å⁻¹. */
  UB: Mat3;
  spaceGroup: string | null;
}

/** truth.json, exactly the fields of ARCHITECTURE §7. */
export interface TruthJson {
  version: 1;
  wavelengthA: number;
  reciprocalPixelInvA: number;
  rotationAxisDeg: number;
  /** One pair [cx, cy] (the beam centre does not move in these series). */
  beamCentre: [number, number];
  particles: TruthParticle[];
}

export function writeJsonAtomic(path: string, value: unknown, pretty = true): number {
  const text = JSON.stringify(value, null, pretty ? 2 : undefined) + '\n';
  writeFileAtomicSync(path, text);
  return Buffer.byteLength(text);
}

/** F2_<id>.json: [[h, k, l, F2, dA], …], compact (one reflection per line). */
export function writeF2Json(path: string, hkl: Int32Array, f2: Float64Array, dInvA: Float64Array): number {
  const rows: string[] = [];
  for (let i = 0; i < f2.length; i++) {
    rows.push(`[${hkl[3 * i]},${hkl[3 * i + 1]},${hkl[3 * i + 2]},${Number(f2[i]!.toPrecision(7))},${Number((1 / dInvA[i]!).toFixed(5))}]`);
  }
  const text = `[\n${rows.join(',\n')}\n]\n`;
  writeFileAtomicSync(path, text);
  return Buffer.byteLength(text);
}

export { writeStacksH5, type H5Stack } from '../io/write-stacks';

export function truthPath(outDir: string, name: string): string {
  return join(outDir, 'truth', name);
}
