import { describe, expect, it } from 'vitest';
import { draggedRadii, handlePositions, pickHandle } from '../detector-handles';

const radii = { bfRadius: 5, adfInner: 8, adfOuter: 30 };
const centre: [number, number] = [64.5, 60.25];

describe('detector handles', () => {
  it('sit on their rings and at the centre', () => {
    const h = handlePositions(radii, centre);
    expect(h.centre).toEqual(centre);
    for (const k of ['bfRadius', 'adfInner', 'adfOuter'] as const) expect(Math.hypot(h[k][0] - centre[0], h[k][1] - centre[1])).toBeCloseTo(radii[k], 12);
  });

  it('a pointer on a handle grabs it (the nearest when two are close); anywhere else, nothing', () => {
    const h = handlePositions(radii, centre);
    expect(pickHandle(radii, centre, h.adfOuter[0] + 0.5, h.adfOuter[1] - 0.5, 2)).toBe('adfOuter');
    expect(pickHandle(radii, centre, centre[0] + 0.3, centre[1], 2)).toBe('centre');
    expect(pickHandle(radii, centre, h.bfRadius[0] - 0.4, h.bfRadius[1], 2)).toBe('bfRadius');
    // On a ring but away from its handle, on the pattern far from everything: no handle, so no change.
    expect(pickHandle(radii, centre, centre[0], centre[1] + radii.adfOuter, 2)).toBeNull();
    expect(pickHandle(radii, centre, 1, 1, 2)).toBeNull();
    // BF's handle (5 px east) and the centre both within 6 px of a point 2 px east: the nearer wins.
    expect(pickHandle(radii, centre, centre[0] + 2, centre[1], 6)).toBe('centre');
    expect(pickHandle(radii, centre, centre[0] + 3.5, centre[1], 6)).toBe('bfRadius');
  });

  it('dragging a ring handle sets its radius in half pixels and keeps ADF inner below outer', () => {
    expect(draggedRadii(radii, 'bfRadius', centre, centre[0] + 7.3, centre[1])).toEqual({ ...radii, bfRadius: 7.5 });
    expect(draggedRadii(radii, 'adfInner', centre, centre[0], centre[1] + 40)).toEqual({ ...radii, adfInner: 29.5 });
    expect(draggedRadii(radii, 'adfOuter', centre, centre[0] + 1, centre[1])).toEqual({ ...radii, adfOuter: 8.5 });
    expect(draggedRadii(radii, 'bfRadius', centre, centre[0], centre[1])).toEqual({ ...radii, bfRadius: 0.5 });
  });
});
