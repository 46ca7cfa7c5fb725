// Mask-editing kernels for the curation tools. Masks are Uint8Array (0/1), flat index x + y*nx.
// Functions ending in InPlace edit the given mask (the tool's working copy); the others return a new one.
import { flood4, growOne, maskArea, outline, shrinkOne } from '../../../src-shared/mask-ops';

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
  flood4(nx, ny, [sx + sy * nx], (j) => {
    if ((out[j]! ? 1 : 0) !== seed) return false;
    out[j] = value;
    return true;
  });
  return out;
}

/** Fills holes: background pixels not 4-connected to the frame's border become 1. */
export function fillHoles(mask: Uint8Array, nx: number, ny: number): Uint8Array {
  const outside = new Uint8Array(nx * ny);
  const border: number[] = [];
  for (let x = 0; x < nx; x++) border.push(x, x + (ny - 1) * nx);
  for (let y = 0; y < ny; y++) border.push(y * nx, nx - 1 + y * nx);
  flood4(nx, ny, border, (i) => {
    if (mask[i] || outside[i]) return false;
    outside[i] = 1;
    return true;
  });
  const out = new Uint8Array(nx * ny);
  for (let i = 0; i < out.length; i++) out[i] = outside[i] ? 0 : 1;
  return out;
}

export { growOne, maskArea, outline, shrinkOne };
