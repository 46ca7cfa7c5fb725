// A plain even–odd polygon fill for tests (independent of the renderer's kernel).
export function fillPolygonForTest(nx: number, ny: number, pts: Array<[number, number]>): Uint8Array {
  const out = new Uint8Array(nx * ny);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      let inside = false;
      for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
        const [xi, yi] = pts[i]!;
        const [xj, yj] = pts[j]!;
        if (yi > py !== yj > py && px < xi + ((py - yi) / (yj - yi)) * (xj - xi)) inside = !inside;
      }
      if (inside) out[x + y * nx] = 1;
    }
  }
  return out;
}
