import { describe, expect, it } from 'vitest';
import { applyMaskRunsInPlace, diffMask, invertRuns } from '../../../../src-shared/mask-runs';
import { fillHoles, fillPolygon, floodFill, growOne, maskArea, shrinkOne, stampDiskInPlace, strokeSegmentInPlace } from '../mask-edit';

/** Builds a mask from rows of '#' and '.'. */
function grid(rows: string[]): { mask: Uint8Array; nx: number; ny: number } {
  const ny = rows.length;
  const nx = rows[0]!.length;
  const mask = new Uint8Array(nx * ny);
  rows.forEach((r, y) => [...r].forEach((c, x) => (mask[x + y * nx] = c === '#' ? 1 : 0)));
  return { mask, nx, ny };
}
function show(mask: Uint8Array, nx: number): string[] {
  const rows: string[] = [];
  for (let y = 0; y < mask.length / nx; y++) rows.push([...mask.subarray(y * nx, (y + 1) * nx)].map((v) => (v ? '#' : '.')).join(''));
  return rows;
}

describe('mask editing kernels', () => {
  it('a brush of size 1 paints exactly one pixel; sizes grow one pixel at a time', () => {
    const m = new Uint8Array(49);
    stampDiskInPlace(m, 7, 7, 3.7, 2.2, 1, 1);
    expect(maskArea(m)).toBe(1);
    expect(m[3 + 2 * 7]).toBe(1);
    const areas = [1, 2, 3, 4, 5].map((d) => {
      const k = new Uint8Array(400);
      stampDiskInPlace(k, 20, 20, 10.5, 10.5, d, 1);
      return maskArea(k);
    });
    for (let i = 1; i < areas.length; i++) expect(areas[i]).toBeGreaterThan(areas[i - 1]!);
    expect(areas[2]).toBe(9); // a 3-pixel brush is the 3×3 block minus nothing (corners at distance 1.41 ≤ 1.5)
  });

  it('a stroke leaves no gaps between distant points, and the eraser clears', () => {
    const m = new Uint8Array(20 * 5);
    strokeSegmentInPlace(m, 20, 5, 0.5, 2.5, 19.5, 2.5, 1, 1);
    expect(show(m, 20)[2]).toBe('#'.repeat(20));
    strokeSegmentInPlace(m, 20, 5, 5.5, 2.5, 9.5, 2.5, 1, 0);
    expect(show(m, 20)[2]).toBe('#####.....##########');
  });

  it('fills a polygon by pixel centres', () => {
    const m = fillPolygon(6, 6, [
      [1, 1],
      [5, 1],
      [5, 4],
      [1, 4],
    ]);
    expect(show(m, 6)).toEqual(['......', '.####.', '.####.', '.####.', '......', '......']);
  });

  it('flood fill stays inside its region; fill holes fills only enclosed background', () => {
    const { mask, nx, ny } = grid(['#####.', '#...#.', '#.#.#.', '#...#.', '#####.', '......']);
    expect(show(floodFill(mask, nx, ny, 1, 1, 1), nx)).toEqual(['#####.', '#####.', '#####.', '#####.', '#####.', '......']);
    expect(show(fillHoles(mask, nx, ny), nx)).toEqual(['#####.', '#####.', '#####.', '#####.', '#####.', '......']);
    expect(show(mask, nx)[1]).toBe('#...#.'); // inputs untouched
  });

  it('grow and shrink by one pixel', () => {
    const { mask, nx, ny } = grid(['.....', '.....', '..#..', '.....', '.....']);
    const g = growOne(mask, nx, ny);
    expect(show(g, nx)).toEqual(['.....', '..#..', '.###.', '..#..', '.....']);
    expect(show(shrinkOne(g, nx, ny), nx)).toEqual(show(mask, nx));
  });

  it('run-length diffs round-trip and invert for undo', () => {
    const a = grid(['#..##', '.....', '###..']).mask;
    const b = grid(['###.#', '#....', '.##..']).mask;
    const runs = diffMask(a, b);
    const m = a.slice();
    applyMaskRunsInPlace(m, runs);
    expect(Array.from(m)).toEqual(Array.from(b));
    applyMaskRunsInPlace(m, invertRuns(runs));
    expect(Array.from(m)).toEqual(Array.from(a));
    expect(() => applyMaskRunsInPlace(new Uint8Array(3), { set: Uint32Array.of(2, 5), clear: new Uint32Array(0) })).toThrow(/outside/);
  });
});
