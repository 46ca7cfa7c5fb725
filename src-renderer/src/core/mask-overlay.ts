// The one mask-overlay renderer: objects' masks of one tilt as RGBA over the virtual image. Each layer is filled in
// its colour at its own opacity, optionally with its edge (a mask pixel with a 4-neighbour outside) opaque; where
// two or more layers claim a position (the purity problem) it can be drawn white instead. Pixels no layer claims
// stay transparent. Can repaint a rectangle only, so a brush segment costs a few hundred pixels, not the frame.

import { isEdgePixel } from '../../../src-shared/mask-ops';

export interface OverlayLayer {
  /** ny*nx, non-zero inside. */
  mask: Uint8Array;
  /** '#rrggbb'. */
  colour: string;
  /** Fill opacity inside the mask, 0–255. */
  fillAlpha: number;
  /** Draw the mask's edge opaque. */
  outline: boolean;
}

export interface OverlayOptions {
  /** Inclusive pixel bounds [x0, y0, x1, y1] to repaint (clipped to the frame); default the whole frame. */
  region?: readonly [number, number, number, number];
  /** Positions two or more layers claim are drawn white at this opacity (0–255); default: the last layer wins. */
  overlapAlpha?: number;
}

/** '#rrggbb' → [r, g, b]. */
export function parseHexColour(c: string): [number, number, number] {
  return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
}

/**
 * Paints the layers into `out` (nx*ny*4, row-major) over the region, clearing it first. Returns the clipped region
 * painted, or null when it lies outside the frame.
 */
export function paintMaskOverlay(
  out: Uint8ClampedArray,
  layers: readonly OverlayLayer[],
  nx: number,
  ny: number,
  opts: OverlayOptions = {},
): [number, number, number, number] | null {
  const [rx0, ry0, rx1, ry1] = opts.region ?? [0, 0, nx - 1, ny - 1];
  const ax = Math.max(0, Math.floor(rx0));
  const ay = Math.max(0, Math.floor(ry0));
  const bx = Math.min(nx - 1, Math.ceil(rx1));
  const by = Math.min(ny - 1, Math.ceil(ry1));
  if (bx < ax || by < ay) return null;
  for (let y = ay; y <= by; y++) out.fill(0, 4 * (y * nx + ax), 4 * (y * nx + bx + 1));
  const colours = layers.map((l) => parseHexColour(l.colour));
  for (let y = ay; y <= by; y++) {
    for (let x = ax; x <= bx; x++) {
      const i = x + y * nx;
      let claims = 0;
      let top = -1;
      let topEdge = false;
      for (let k = 0; k < layers.length; k++) {
        const m = layers[k].mask;
        if (!m[i]) continue;
        claims++;
        top = k;
        topEdge = layers[k].outline && isEdgePixel(m, i, x, y, nx, ny);
      }
      if (top < 0) continue;
      const o = 4 * i;
      if (claims > 1 && opts.overlapAlpha !== undefined) {
        out[o] = 255;
        out[o + 1] = 255;
        out[o + 2] = 255;
        out[o + 3] = opts.overlapAlpha;
        continue;
      }
      const [r, g, b] = colours[top];
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = topEdge ? 255 : layers[top].fillAlpha;
    }
  }
  return [ax, ay, bx, by];
}
