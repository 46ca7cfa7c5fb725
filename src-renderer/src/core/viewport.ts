// Zoom and pan of an image view: a scale (screen px per image px) and an offset (screen px of the
// image's top-left corner). Pure, so zoom-to-cursor maths is tested without a browser.

export interface Viewport {
  scale: number;
  offsetX: number;
  offsetY: number;
}

/** The viewport that fits an nx × ny image centred in a w × h box. */
export function fitViewport(nx: number, ny: number, w: number, h: number, margin = 0.96): Viewport {
  const scale = Math.max(1e-3, Math.min(w / nx, h / ny) * margin);
  return { scale, offsetX: (w - nx * scale) / 2, offsetY: (h - ny * scale) / 2 };
}

/** Zooms by `factor` keeping the image point under the cursor (cx, cy in box pixels) fixed. */
export function zoomAt(v: Viewport, factor: number, cx: number, cy: number, minScale = 0.05, maxScale = 200): Viewport {
  const scale = Math.min(maxScale, Math.max(minScale, v.scale * factor));
  const f = scale / v.scale;
  return { scale, offsetX: cx - (cx - v.offsetX) * f, offsetY: cy - (cy - v.offsetY) * f };
}

/** Box pixels → image pixels (continuous; pixel (i, j) covers [i, i+1) × [j, j+1)). */
export function toImage(v: Viewport, bx: number, by: number): [number, number] {
  return [(bx - v.offsetX) / v.scale, (by - v.offsetY) / v.scale];
}
