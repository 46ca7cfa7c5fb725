// Operations on binary masks (nonzero = inside, flat index x + y*nx) that both sides need: main's tracker and
// extraction, and the renderer's mask editor and overlays. Pure; no allocation beyond the returned mask.

/** Pixels set in the mask. */
export function maskArea(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  return n;
}

/** True when pixel i = x + y·nx is inside and has a 4-neighbour outside, or lies on the frame's border. */
export function isEdgePixel(mask: Uint8Array, i: number, x: number, y: number, nx: number, ny: number): boolean {
  return mask[i] !== 0 && (x === 0 || y === 0 || x === nx - 1 || y === ny - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - nx] || !mask[i + nx]);
}

/** The mask's outline: its edge pixels (for thin contours). */
export function outline(mask: Uint8Array, nx: number, ny: number): Uint8Array {
  const out = new Uint8Array(nx * ny);
  for (let y = 0, i = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) if (isEdgePixel(mask, i, x, y, nx, ny)) out[i] = 1;
  return out;
}

/** Shrinks (erodes) by one pixel with the 4-neighbour cross; the frame's border counts as outside. */
export function shrinkOne(mask: Uint8Array, nx: number, ny: number): Uint8Array {
  const out = mask.slice();
  for (let y = 0, i = 0; y < ny; y++) for (let x = 0; x < nx; x++, i++) if (isEdgePixel(mask, i, x, y, nx, ny)) out[i] = 0;
  return out;
}

/** Grows (dilates) by one pixel with the 4-neighbour cross. */
export function growOne(mask: Uint8Array, nx: number, ny: number): Uint8Array {
  const out = mask.slice();
  for (let y = 0, i = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++, i++) {
      if (!mask[i] && ((x > 0 && mask[i - 1]) || (x < nx - 1 && mask[i + 1]) || (y > 0 && mask[i - nx]) || (y < ny - 1 && mask[i + nx]))) out[i] = 1;
    }
  }
  return out;
}

/**
 * 4-connected flood from the `seeds`: `take(i)` decides whether pixel i joins (and marks it so it is not taken
 * twice); the neighbours of every pixel taken are offered in turn.
 */
export function flood4(nx: number, ny: number, seeds: Iterable<number>, take: (i: number) => boolean): void {
  const stack = new Int32Array(nx * ny);
  let top = 0;
  const offer = (i: number): void => {
    if (take(i)) stack[top++] = i;
  };
  for (const s of seeds) offer(s);
  while (top > 0) {
    const i = stack[--top]!;
    const px = i % nx;
    const py = (i - px) / nx;
    if (px > 0) offer(i - 1);
    if (px < nx - 1) offer(i + 1);
    if (py > 0) offer(i - nx);
    if (py < ny - 1) offer(i + nx);
  }
}
