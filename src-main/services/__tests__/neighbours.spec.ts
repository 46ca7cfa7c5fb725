// The project's auto-detected neighbours: kept in particles.h5 across reopening, and the user's three decisions —
// enable (an object of its own), merge (part of an object, as edits), delete (not a particle).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Project } from '../project';
import { summarise } from '../neighbours';

const nTilts = 3;
const ny = 4;
const nx = 5;
const n = ny * nx;
let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Three neighbours: label 1 on every tilt at pixel 0, label 2 on tilts 0–1 at pixel 6, label 3 on tilt 2 at 19. */
function volume(): Uint16Array {
  const v = new Uint16Array(nTilts * n);
  for (let t = 0; t < nTilts; t++) v[t * n] = 1;
  v[6] = 2;
  v[n + 6] = 2;
  v[2 * n + 19] = 3;
  return v;
}

async function project(): Promise<Project> {
  dir = mkdtempSync(join(tmpdir(), 'tracked-neighbours-'));
  const p = new Project(dir, join(dir, 'series.json'), nTilts, [ny, nx], [0, 1, 2], -1);
  await p.load();
  return p;
}

describe('auto-detected neighbours in the project', () => {
  it('summarises a label volume per label', () => {
    expect(summarise(volume(), nTilts, n)).toEqual([
      { label: 1, firstTilt: 0, lastTilt: 2, tilts: 3, meanAreaPx: 1 },
      { label: 2, firstTilt: 0, lastTilt: 1, tilts: 2, meanAreaPx: 1 },
      { label: 3, firstTilt: 2, lastTilt: 2, tilts: 1, meanAreaPx: 1 },
    ]);
  });

  it('keeps them across reopening; enable, merge and delete each remove exactly that neighbour', async () => {
    const p = await project();
    await p.setNeighbours(volume());
    const reopened = new Project(dir, join(dir, 'series.json'), nTilts, [ny, nx], [0, 1, 2], -1);
    await reopened.load();
    expect(reopened.neighbours!.list.map((s) => s.label)).toEqual([1, 2, 3]);

    const target = p.create('target');
    const enabled = await p.enableNeighbour(1);
    expect(enabled.masks.reduce((a, b) => a + b, 0)).toBe(3);
    expect(enabled.frameState).toEqual(['tracked', 'tracked', 'tracked']);
    expect(p.neighbours!.list.map((s) => s.label)).toEqual([2, 3]);

    await p.mergeNeighbour(2, target.id);
    expect(p.get(target.id).masks[6]).toBe(1);
    expect(p.get(target.id).masks[n + 6]).toBe(1);
    expect(p.get(target.id).frameState).toEqual(['edited', 'edited', 'empty']);
    expect(p.neighbours!.list.map((s) => s.label)).toEqual([3]);

    await p.deleteNeighbour(3);
    expect(p.neighbours!.list).toEqual([]);
    await expect(p.deleteNeighbour(3)).rejects.toThrow(/No auto-detected neighbour 3/);
    await expect(p.mergeNeighbour(9, target.id)).rejects.toThrow(/No auto-detected neighbour 9/);
    await p.close();
  });
});
