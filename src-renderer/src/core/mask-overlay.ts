// All objects' masks of one tilt as an RGBA overlay: each object's colour, overlaps (positions two
// objects claim — the purity problem) in white, outlines opaque.

export interface OverlayObject {
  colour: string;
  /** ny*nx, 1 inside. */
  mask: Uint8Array;
}

export function maskOverlayRgba(objects: readonly OverlayObject[], nx: number, ny: number, alpha = 0.45): Uint8ClampedArray {
  const n = nx * ny;
  const out = new Uint8ClampedArray(n * 4);
  const count = new Uint8Array(n);
  for (const o of objects) for (let i = 0; i < n; i++) if (o.mask[i]) count[i]!++;
  const a = Math.round(alpha * 255);
  for (const o of objects) {
    const r = parseInt(o.colour.slice(1, 3), 16);
    const g = parseInt(o.colour.slice(3, 5), 16);
    const b = parseInt(o.colour.slice(5, 7), 16);
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const i = x + y * nx;
        if (!o.mask[i]) continue;
        const k = 4 * i;
        const edge = x === 0 || y === 0 || x === nx - 1 || y === ny - 1 || !o.mask[i - 1] || !o.mask[i + 1] || !o.mask[i - nx] || !o.mask[i + nx];
        if (count[i]! > 1) {
          out[k] = 255;
          out[k + 1] = 255;
          out[k + 2] = 255;
          out[k + 3] = 230;
        } else {
          out[k] = r;
          out[k + 1] = g;
          out[k + 2] = b;
          out[k + 3] = edge ? 255 : a;
        }
      }
    }
  }
  return out;
}
