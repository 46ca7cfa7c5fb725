// Test helpers: deterministic random numbers and tiny mask builders.

export { rng } from '../../../../tests/helpers/rng';

/** Standard normal deviate from a uniform generator (Box–Muller). */
export function gauss(rand: () => number): number {
  const u = Math.max(1e-12, rand());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Mask from rows of '#'/'.' characters. */
export function maskFrom(rows: string[]): { mask: Uint8Array; nx: number; ny: number } {
  const ny = rows.length;
  const nx = rows[0].length;
  const mask = new Uint8Array(nx * ny);
  rows.forEach((r, y) => [...r].forEach((c, x) => (mask[y * nx + x] = c === '#' ? 1 : 0)));
  return { mask, nx, ny };
}

/** Rows of '#'/'.' from a mask (for readable failure messages). */
export function rowsOf(mask: ArrayLike<number>, nx: number, ny: number): string[] {
  const rows: string[] = [];
  for (let y = 0; y < ny; y++) {
    let s = '';
    for (let x = 0; x < nx; x++) s += mask[y * nx + x] ? '#' : '.';
    rows.push(s);
  }
  return rows;
}

/** Filled disk mask of radius r centred at (cx, cy). */
export function disk(nx: number, ny: number, cx: number, cy: number, r: number): Uint8Array {
  const m = new Uint8Array(nx * ny);
  for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m[y * nx + x] = 1;
  return m;
}
