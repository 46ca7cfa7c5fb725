// The auto-detected neighbours of a series: every particle the last tracking run followed besides the user's objects,
// as one label volume (uint16 [nTilts, ny, nx], 0 = none). They keep a touching particle out of an object's mask
// during tracking, and purity is measured against them. Kept in the project folder as particles.h5 (dataset
// `neighbours`, attribute `list`: JSON of NeighbourSummary), written atomically on every change.
import { existsSync } from 'node:fs';
import type { NeighbourSummary } from '../../src-shared/contract';
import { InputError } from '../../src-shared/errors';
import { firstLine, h5lib, openH5 } from '../io/h5';
import { writeStacksH5 } from '../io/write-stacks';

export interface NeighbourSet {
  /** nTilts·ny·nx. */
  labels: Uint16Array;
  list: NeighbourSummary[];
}

/** The per-label summary of a label volume (labels with no pixel left are dropped). */
export function summarise(labels: Uint16Array, nTilts: number, n: number): NeighbourSummary[] {
  const byLabel = new Map<number, NeighbourSummary>();
  const area = new Map<number, number>();
  for (let t = 0; t < nTilts; t++) {
    area.clear();
    for (let i = t * n; i < (t + 1) * n; i++) if (labels[i]) area.set(labels[i], (area.get(labels[i]) ?? 0) + 1);
    for (const [label, a] of area) {
      const s = byLabel.get(label) ?? { label, firstTilt: t, lastTilt: t, tilts: 0, meanAreaPx: 0 };
      s.meanAreaPx = (s.meanAreaPx * s.tilts + a) / (s.tilts + 1);
      s.tilts++;
      s.lastTilt = t;
      byLabel.set(label, s);
    }
  }
  return [...byLabel.values()].sort((a, b) => a.label - b.label);
}

export async function readNeighbours(path: string, nTilts: number, n: number): Promise<NeighbourSet | null> {
  if (!existsSync(path)) return null;
  const h5 = await h5lib();
  const f = await openH5(path);
  try {
    let value: unknown;
    try {
      const ds = f.get('neighbours');
      if (!(ds instanceof h5.Dataset)) throw new InputError(path, 'has no dataset /neighbours');
      value = ds.value as unknown;
    } catch (e) {
      throw e instanceof InputError ? e : new InputError(path, `/neighbours cannot be read (${firstLine(e)})`);
    }
    if (!(value instanceof Uint16Array) || value.length !== nTilts * n) {
      throw new InputError(path, `/neighbours should be uint16 of ${nTilts * n} values`);
    }
    return { labels: value.slice(), list: summarise(value, nTilts, n) };
  } finally {
    f.close();
  }
}

export async function writeNeighbours(path: string, set: NeighbourSet, nTilts: number, scanShape: [number, number], anglesDeg: readonly number[]): Promise<void> {
  await writeStacksH5(path, [
    {
      name: 'neighbours',
      data: set.labels,
      shape: [nTilts, ...scanShape],
      attrs: { list: JSON.stringify(set.list), angleDeg: Float64Array.from(anglesDeg) },
    },
  ]);
}

/** Frame t of one neighbour as a mask (ny·nx). */
export function neighbourFrame(set: NeighbourSet, label: number, t: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (set.labels[t * n + i] === label) out[i] = 1;
  return out;
}

/** Removes a label from the volume (it became an object, was merged into one, or was deleted). */
export function dropLabel(set: NeighbourSet, label: number, nTilts: number, n: number): NeighbourSet {
  const labels = set.labels.slice();
  for (let i = 0; i < labels.length; i++) if (labels[i] === label) labels[i] = 0;
  return { labels, list: summarise(labels, nTilts, n) };
}
