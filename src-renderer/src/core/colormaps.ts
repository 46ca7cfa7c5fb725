// Colour lookup tables (256 × RGB) for images. Perceptually uniform maps come from d3-scale-chromatic
// (the matplotlib viridis/magma/inferno/cividis definitions) rather than hand-typed tables.
import { interpolateCividis, interpolateInferno, interpolateMagma, interpolateViridis } from 'd3-scale-chromatic';

export const COLORMAPS = ['grey', 'viridis', 'magma', 'inferno', 'cividis'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

const cache = new Map<ColormapName, Uint8Array>();

function parseRgb(css: string): [number, number, number] {
  // d3 returns '#rrggbb' or 'rgb(r, g, b)'.
  if (css.startsWith('#')) return [parseInt(css.slice(1, 3), 16), parseInt(css.slice(3, 5), 16), parseInt(css.slice(5, 7), 16)];
  const m = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(css);
  if (!m) throw new Error(`unexpected colour ${css}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** 256 RGB triplets, index 0 = lowest value. */
export function colormapLut(name: ColormapName): Uint8Array {
  const hit = cache.get(name);
  if (hit) return hit;
  const lut = new Uint8Array(256 * 3);
  const interpolate =
    name === 'viridis' ? interpolateViridis : name === 'magma' ? interpolateMagma : name === 'inferno' ? interpolateInferno : name === 'cividis' ? interpolateCividis : null;
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = interpolate ? parseRgb(interpolate(i / 255)) : [i, i, i];
    lut[3 * i] = r;
    lut[3 * i + 1] = g;
    lut[3 * i + 2] = b;
  }
  cache.set(name, lut);
  return lut;
}
