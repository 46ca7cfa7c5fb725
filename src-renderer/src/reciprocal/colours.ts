// Point colours and sizes of the reciprocal-space cloud, pure: RGB (3 bytes per point) by tilt, by intensity, by
// indexed / not indexed, or by object; radii (Å⁻¹) by intensity. Several objects are drawn as one point set, so each
// function takes the concatenated columns.
import type { ReciprocalCloud } from '../../../src-shared/reciprocal';
import { PEAK_LABEL } from '../../../src-shared/reciprocal';
import { colormapLut } from '../core/colormaps';
import { parseHexColour } from '../core/mask-overlay';

export const COLOUR_BY = ['tilt', 'intensity', 'indexed', 'object'] as const;
export type ColourBy = (typeof COLOUR_BY)[number];

/** Indexed green, not indexed amber (the Processing tab's peak colours). */
export const LABEL_RGB: Record<number, [number, number, number]> = { [PEAK_LABEL.indexed]: [76, 200, 110], [PEAK_LABEL.unindexed]: [240, 160, 48] };
export const SELECTED_RGB: [number, number, number] = [255, 255, 255];

/** log(1 + I) mapped to 0…1 between its 2nd and 99.5th percentile. */
export function intensityRank(intensity: ArrayLike<number>): Float32Array {
  const n = intensity.length;
  const l = Float32Array.from({ length: n }, (_, i) => Math.log1p(Math.max(0, intensity[i] || 0)));
  const sorted = Float32Array.from(l).sort();
  const lo = sorted[Math.floor(0.02 * (n - 1))] ?? 0;
  const hi = sorted[Math.floor(0.995 * (n - 1))] ?? 1;
  const span = hi > lo ? hi - lo : 1;
  return l.map((v) => Math.min(1, Math.max(0, (v - lo) / span)));
}

/** Colours of the clouds' points, in order (object colours by cloud). */
export function pointColours(clouds: readonly ReciprocalCloud[], by: ColourBy, objectRgb: ReadonlyArray<string>, selected: ReadonlySet<number> = new Set()): Uint8Array {
  const n = clouds.reduce((a, c) => a + c.frame.length, 0);
  const out = new Uint8Array(3 * n);
  const viridis = colormapLut('viridis');
  const magma = colormapLut('magma');
  const ranks = by === 'intensity' ? intensityRank(concat(clouds.map((c) => c.intensity))) : null;
  let k = 0;
  clouds.forEach((c, ci) => {
    const rgb = parseHexColour(objectRgb[ci] ?? '#ffffff');
    const a0 = Math.min(...c.anglesDeg);
    const span = Math.max(...c.anglesDeg) - a0 || 1;
    for (let i = 0; i < c.frame.length; i++, k++) {
      let col: readonly number[];
      if (selected.has(k)) col = SELECTED_RGB;
      else if (by === 'object') col = rgb;
      else if (by === 'indexed') col = LABEL_RGB[c.label[i]] ?? LABEL_RGB[PEAK_LABEL.unindexed]!;
      else {
        const t = by === 'tilt' ? (c.anglesDeg[c.frame[i]] - a0) / span : ranks![k];
        const lut = by === 'tilt' ? viridis : magma;
        const j = Math.round(Math.min(1, Math.max(0, by === 'intensity' ? 0.25 + 0.75 * t : t)) * 255);
        col = [lut[3 * j], lut[3 * j + 1], lut[3 * j + 2]];
      }
      out[3 * k] = col[0];
      out[3 * k + 1] = col[1];
      out[3 * k + 2] = col[2];
    }
  });
  return out;
}

/** Sphere radii, Å⁻¹: 0.5 to 1.5 × `base` with the point's intensity rank. */
export function pointRadii(clouds: readonly ReciprocalCloud[], base: number): Float32Array {
  const ranks = intensityRank(concat(clouds.map((c) => c.intensity)));
  return ranks.map((t) => base * (0.5 + t));
}

export function concat(parts: ReadonlyArray<ArrayLike<number>>): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
