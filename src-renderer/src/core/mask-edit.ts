// Mask-editing kernels for the curation tools. Masks are Uint8Array (0/1), flat index x + y*nx.
// Functions ending in InPlace edit the given mask (the tool's working copy); the others return a new one.

/** Paints a filled disk of `diameter` pixels centred on (cx, cy) (pixel centres at +0.5). 1 = one pixel. */
export function stampDiskInPlace(mask: Uint8Array, nx: number, ny: number, cx: number, cy: number, diameter: number, value: 0 | 1): void {
  const d = Math.max(1, Math.round(diameter));
  if (d === 1) {
    const x = Math.floor(cx);
    const y = Math.floor(cy);
    if (x >= 0 && y >= 0 && x < nx && y < ny) mask[x + y * nx] = value;
    return;
  }
  // Pixel (x, y) is inside when its centre is within d/2 of the brush centre; for even sizes the brush
  // centre snaps to a pixel corner, for odd sizes to a pixel centre, so sizes grow one pixel at a time.
  const r = d / 2;
  const ox = d % 2 === 0 ? Math.round(cx) : Math.floor(cx) + 0.5;
  const oy = d % 2 === 0 ? Math.round(cy) : Math.floor(cy) + 0.5;
  const x0 = Math.max(0, Math.floor(ox - r));
  const x1 = Math.min(nx - 1, Math.ceil(ox + r));
  const y0 = Math.max(0, Math.floor(oy - r));
  const y1 = Math.min(ny - 1, Math.ceil(oy + r));
  const r2 = r * r;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - oy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - ox;
      if (dx * dx + dy * dy <= r2) mask[x + y * nx] = value;
    }
  }
}

/** Paints a brush stroke segment: stamps every half pixel from (x0, y0) to (x1, y1), so fast strokes have no gaps. */
export function strokeSegmentInPlace(
  mask: Uint8Array,
  nx: number,
  ny: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  diameter: number,
  value: 0 | 1,
): void {
  const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    stampDiskInPlace(mask, nx, ny, x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, diameter, value);
  }
}

/** Rasterises a closed polygon (vertices in pixel coordinates): pixels whose centre is inside (even–odd rule). */
export function fillPolygon(nx: number, ny: number, points: ReadonlyArray<readonly [number, number]>): Uint8Array {
  const out = new Uint8Array(nx * ny);
  if (points.length < 3) return out;
  const xs: number[] = [];
  for (let y = 0; y < ny; y++) {
    const yc = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
      const [xi, yi] = points[i]!;
      const [xj, yj] = points[j]!;
      if (yi > yc !== yj > yc) xs.push(xi + ((yc - yi) / (yj - yi)) * (xj - xi));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const from = Math.max(0, Math.ceil(xs[k]! - 0.5));
      const to = Math.min(nx - 1, Math.floor(xs[k + 1]! - 0.5));
      for (let x = from; x <= to; x++) out[x + y * nx] = 1;
    }
  }
  return out;
}

/** Flood fill from (x, y): the 4-connected region with the seed's value becomes `value`. Returns a new mask. */
export function floodFill(mask: Uint8Array, nx: number, ny: number, x: number, y: number, value: 0 | 1): Uint8Array {
  const out = mask.slice();
  const sx = Math.floor(x);
  const sy = Math.floor(y);
  if (sx < 0 || sy < 0 || sx >= nx || sy >= ny) return out;
  const seed = mask[sx + sy * nx]! ? 1 : 0;
  if (seed === value) return out;
  const stack = new Int32Array(nx * ny);
  let top = 0;
  stack[top++] = sx + sy * nx;
  out[sx + sy * nx] = value;
  while (top > 0) {
    const i = stack[--top]!;
    const px = i % nx;
    const py = (i - px) / nx;
    const visit = (j: number): void => {
      if ((out[j]! ? 1 : 0) === seed) {
        out[j] = value;
        stack[top++] = j;
      }
    };
    if (px > 0) visit(i - 1);
    if (px < nx - 1) visit(i + 1);
    if (py > 0) visit(i - nx);
    if (py < ny - 1) visit(i + nx);
  }
  return out;
}

/** Fills holes: background pixels not 4-connected to the frame's border become 1. */
export function fillHoles(mask: Uint8Array, nx: number, ny: number): Uint8Array {
  const outside = new Uint8Array(nx * ny);
  const stack = new Int32Array(nx * ny);
  let top = 0;
  const push = (i: number): void => {
    if (!mask[i] && !outside[i]) {
      outside[i] = 1;
      stack[top++] = i;
    }
  };
  for (let x = 0; x < nx; x++) {
    push(x);
    push(x + (ny - 1) * nx);
  }
  for (let y = 0; y < ny; y++) {
    push(y * nx);
    push(nx - 1 + y * nx);
  }
  while (top > 0) {
    const i = stack[--top]!;
    const px = i % nx;
    const py = (i - px) / nx;
    if (px > 0) push(i - 1);
    if (px < nx - 1) push(i + 1);
    if (py > 0) push(i - nx);
    if (py < ny - 1) push(i + nx);
  }
  const out = new Uint8Array(nx * ny);
  for (let i = 0; i < out.length; i++) out[i] = outside[i] ? 0 : 1;
  return out;
}

/** Grows (dilates) by one pixel with the 4-neighbour cross. */
export function growOne(mask: Uint8Array, nx: number, ny: number): Uint8Array {
  const out = mask.slice();
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const i = x + y * nx;
      if (mask[i]) continue;
      if ((x > 0 && mask[i - 1]) || (x < nx - 1 && mask[i + 1]) || (y > 0 && mask[i - nx]) || (y < ny - 1 && mask[i + nx])) out[i] = 1;
    }
  }
  return out;
}

/** Shrinks (erodes) by one pixel with the 4-neighbour cross; the frame's border counts as outside. */
export function shrinkOne(mask: Uint8Array, nx: number, ny: number): Uint8Array {
  const out = mask.slice();
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const i = x + y * nx;
      if (!mask[i]) continue;
      if (x === 0 || y === 0 || x === nx - 1 || y === ny - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - nx] || !mask[i + nx]) out[i] = 0;
    }
  }
  return out;
}

/** Pixels set in the mask. */
export function maskArea(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  return n;
}

/** The mask's outline: pixels inside with a 4-neighbour outside (for drawing thin contours). */
export function outline(mask: Uint8Array, nx: number, ny: number): Uint8Array {
  const out = new Uint8Array(nx * ny);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const i = x + y * nx;
      if (!mask[i]) continue;
      if (x === 0 || y === 0 || x === nx - 1 || y === ny - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - nx] || !mask[i + nx]) out[i] = 1;
    }
  }
  return out;
}
