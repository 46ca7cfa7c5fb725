// Bilinear upsampling of a coarse grid of block values back to full resolution: used where a smooth field (a
// background, a noise level) is estimated per block of pixels and needed per pixel.

/**
 * Writes into `out` (nx·ny) the bilinear interpolation of `blocks` (mx·my, block j covering pixels j·f … j·f + f − 1,
 * its value taken at its centre (j + 0.5)·f − 0.5); beyond the outermost centres the edge value holds.
 */
export function upsampleBlocks(blocks: ArrayLike<number>, mx: number, my: number, f: number, nx: number, ny: number, out: Float32Array | Float64Array): void {
  for (let y = 0; y < ny; y++) {
    const sy = Math.min(my - 1, Math.max(0, (y + 0.5) / f - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(my - 1, y0 + 1);
    const wy = sy - y0;
    for (let x = 0; x < nx; x++) {
      const sx = Math.min(mx - 1, Math.max(0, (x + 0.5) / f - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(mx - 1, x0 + 1);
      const wx = sx - x0;
      const top = blocks[y0 * mx + x0] * (1 - wx) + blocks[y0 * mx + x1] * wx;
      const bot = blocks[y1 * mx + x0] * (1 - wx) + blocks[y1 * mx + x1] * wx;
      out[y * nx + x] = top * (1 - wy) + bot * wy;
    }
  }
}
