// Ground truth of a synthetic series (src-main/synth) for the extraction tests: the true masks (truth/masks.h5),
// the per-particle expected Bragg counts (truth/signal.h5) and scene.json, plus the signal-purity score of a mask.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from 'h5wasm';
import { h5lib } from '../../../io/h5';

export interface SynthTruth {
  ids: number[];
  nTilts: number;
  ny: number;
  nx: number;
  /** object_<id> of truth/masks.h5, nTilts·ny·nx. */
  masks: Map<number, Uint8Array>;
  /** object_<id> of truth/signal.h5: expected Bragg counts of that particle per tilt and probe position. */
  signal: Map<number, Float32Array>;
  scene: {
    beamCentre: [number, number];
    virtualDetectors: { bfRadiusPx: number; adfInnerPx: number; adfOuterPx: number };
    particles: { id: number }[];
  };
}

/** All datasets of a small HDF5 file (name → value, shape, attrs), read with h5wasm (not the app's readers). */
export async function readH5(path: string): Promise<Map<string, { value: ArrayLike<number>; shape: number[]; attrs: Record<string, unknown> }>> {
  const h5 = await h5lib();
  const f = new h5.File(path, 'r');
  try {
    const out = new Map<string, { value: ArrayLike<number>; shape: number[]; attrs: Record<string, unknown> }>();
    for (const k of f.keys()) {
      const ds = f.get(k) as Dataset;
      const attrs: Record<string, unknown> = {};
      for (const [a, v] of Object.entries(ds.attrs)) attrs[a] = v.value;
      out.set(k, { value: ds.value as ArrayLike<number>, shape: ds.shape ?? [], attrs });
    }
    return out;
  } finally {
    f.close();
  }
}

/** One dataset's values, read with h5wasm. */
export async function readDataset(path: string, name: string): Promise<ArrayLike<number>> {
  const h5 = await h5lib();
  const f = new h5.File(path, 'r');
  try {
    return (f.get(name) as Dataset).value as ArrayLike<number>;
  } finally {
    f.close();
  }
}

export async function loadSynthTruth(dir: string): Promise<SynthTruth> {
  const scene = JSON.parse(readFileSync(join(dir, 'truth', 'scene.json'), 'utf8')) as SynthTruth['scene'];
  const ids = scene.particles.map((p) => p.id);
  const m = await readH5(join(dir, 'truth', 'masks.h5'));
  const s = await readH5(join(dir, 'truth', 'signal.h5'));
  const masks = new Map<number, Uint8Array>();
  const signal = new Map<number, Float32Array>();
  let shape: number[] = [];
  for (const id of ids) {
    const mk = m.get(`object_${id}`);
    const sg = s.get(`object_${id}`);
    if (!mk || !sg) throw new Error(`truth of particle ${id} missing`);
    masks.set(id, Uint8Array.from(mk.value));
    signal.set(id, Float32Array.from(sg.value));
    shape = mk.shape;
  }
  const [nTilts, ny, nx] = shape as [number, number, number];
  return { ids, nTilts, ny, nx, masks, signal, scene };
}

export interface SignalScore {
  /**
   * Retained: Σ over the mask's positions (all tilts) of the particle's own expected Bragg counts, divided by
   * Σ of them over every position of every tilt.
   */
  kept: number;
  /**
   * Neighbour share: Σ over the mask's positions of the other particles' expected Bragg counts, divided by Σ over
   * the mask's positions of all particles' expected Bragg counts (what the extracted Bragg signal holds).
   */
  neighbour: number;
  /** The same two numbers per tilt (NaN where the tilt has no signal or an empty mask). */
  keptPerTilt: number[];
  neighbourPerTilt: number[];
}

/** Scores `mask` (nTilts·ny·nx, nonzero = summed) as an extraction mask for particle `id`. */
export function signalScore(truth: SynthTruth, id: number, mask: Uint8Array): SignalScore {
  const n = truth.ny * truth.nx;
  const own = truth.signal.get(id)!;
  const others = truth.ids.filter((j) => j !== id).map((j) => truth.signal.get(j)!);
  let ownAll = 0;
  let ownIn = 0;
  let otherIn = 0;
  const keptPerTilt: number[] = [];
  const neighbourPerTilt: number[] = [];
  for (let t = 0; t < truth.nTilts; t++) {
    let a = 0;
    let k = 0;
    let o = 0;
    for (let i = t * n; i < (t + 1) * n; i++) {
      a += own[i];
      if (!mask[i]) continue;
      k += own[i];
      for (const s of others) o += s[i];
    }
    keptPerTilt.push(k / a);
    neighbourPerTilt.push(o / (k + o));
    ownAll += a;
    ownIn += k;
    otherIn += o;
  }
  return { kept: ownIn / ownAll, neighbour: otherIn / (ownIn + otherIn), keptPerTilt, neighbourPerTilt };
}

/** Positions (over all tilts) where at least two particles' true masks overlap, per pair "a-b". */
export function projectedOverlaps(truth: SynthTruth): Map<string, number> {
  const out = new Map<string, number>();
  const len = truth.nTilts * truth.ny * truth.nx;
  for (let a = 0; a < truth.ids.length; a++)
    for (let b = a + 1; b < truth.ids.length; b++) {
      const ma = truth.masks.get(truth.ids[a])!;
      const mb = truth.masks.get(truth.ids[b])!;
      let c = 0;
      for (let i = 0; i < len; i++) if (ma[i] && mb[i]) c++;
      if (c) out.set(`${truth.ids[a]}-${truth.ids[b]}`, c);
    }
  return out;
}

/** The probe position of particle `id`'s true mask nearest its centroid on tilt t (a one-click prompt there). */
export function centroidClick(truth: SynthTruth, id: number, t: number): { x: number; y: number } {
  const n = truth.ny * truth.nx;
  const m = truth.masks.get(id)!.subarray(t * n, (t + 1) * n);
  let sx = 0;
  let sy = 0;
  let c = 0;
  for (let i = 0; i < n; i++) if (m[i]) [sx, sy, c] = [sx + (i % truth.nx), sy + Math.floor(i / truth.nx), c + 1];
  let best = -1;
  let bd = Infinity;
  for (let i = 0; i < n; i++) {
    const d = ((i % truth.nx) - sx / c) ** 2 + (Math.floor(i / truth.nx) - sy / c) ** 2;
    if (m[i] && d < bd) [best, bd] = [i, d];
  }
  return { x: best % truth.nx, y: Math.floor(best / truth.nx) };
}

/** The particle whose true mask holds (x, y) on tilt t with the most own signal there (0 when none). */
export function particleAt(truth: SynthTruth, x: number, y: number, t: number): number {
  const i = t * truth.ny * truth.nx + y * truth.nx + x;
  let best = 0;
  let bv = 0;
  for (const id of truth.ids) {
    const v = truth.signal.get(id)![i];
    if (truth.masks.get(id)![i] && (best === 0 || v > bv)) [best, bv] = [id, v];
  }
  return best;
}
