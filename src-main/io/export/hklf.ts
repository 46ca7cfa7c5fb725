// SHELX HKLF 4 reflection files (FORMATS-ED §2a): one reflection per line, FORMAT(3I4,2F8.2,I4) — h k l, Fo², σ(Fo²)
// and an optional batch number — unmerged, absences kept, terminated by the record with h = k = l = 0. F8.2 holds
// −9999.99 … 99999.99 with two decimals: intensities are scaled by one factor so that the strongest uses the field
// (SHELX refines a scale; the factor is returned and written beside the file by the caller) and none overflows.
import { ParameterError } from '../../../src-shared/errors';

export interface HklfReflection {
  h: number;
  k: number;
  l: number;
  intensity: number;
  sigma: number;
  /** Batch number (frame or frame range), 1…9999; absent: no batch column. */
  batch?: number;
}

export interface HklfOptions {
  /** The largest |Fo²| after scaling (default 9999: room for its σ and for negatives). */
  maxValue?: number;
}

/** Highest value F8.2 holds, and the most negative. */
const F82_MAX = 99999.99;
const F82_MIN = -9999.99;

/** The scale that maps the intensities into F8.2 with the strongest at `maxValue`, and its σ. */
export function hklfScale(reflections: readonly HklfReflection[], maxValue = 9999): number {
  let top = 0;
  let bottom = 0;
  let sigTop = 0;
  for (const r of reflections) {
    top = Math.max(top, r.intensity);
    bottom = Math.min(bottom, r.intensity);
    sigTop = Math.max(sigTop, r.sigma);
  }
  if (!(top > 0)) return 1;
  let k = maxValue / top;
  // Negatives and σ must fit too (a weak data set can have a large σ or a deep negative).
  if (bottom * k < F82_MIN) k = F82_MIN / bottom;
  if (sigTop * k > F82_MAX) k = F82_MAX / sigTop;
  return k;
}

const i4 = (v: number): string => {
  const s = String(v);
  if (s.length > 4) throw new ParameterError('hkl', `index ${v} does not fit the I4 field of HKLF 4`);
  return s.padStart(4);
};
const f82 = (v: number): string => v.toFixed(2).padStart(8);

/** The file's text and the scale applied to Fo² and σ. */
export function formatHklf4(reflections: readonly HklfReflection[], o: HklfOptions = {}): { text: string; scale: number } {
  const withBatch = reflections.some((r) => r.batch !== undefined);
  reflections.forEach((r, n) => {
    if (![r.h, r.k, r.l].every(Number.isInteger)) throw new ParameterError('hkl', `reflection ${n + 1}: indices must be integers`);
    if (!r.h && !r.k && !r.l) throw new ParameterError('hkl', `reflection ${n + 1}: 0 0 0 is the end-of-data record`);
    if (!Number.isFinite(r.intensity) || !(r.sigma > 0)) throw new ParameterError('intensity', `reflection ${r.h} ${r.k} ${r.l}: intensity ${r.intensity} ± ${r.sigma} is not a measurement`);
    if (withBatch && !(Number.isInteger(r.batch) && r.batch! >= 1 && r.batch! <= 9999)) throw new ParameterError('batch', `reflection ${r.h} ${r.k} ${r.l}: batch ${r.batch} must be 1…9999 when batches are written`);
  });
  const scale = hklfScale(reflections, o.maxValue ?? 9999);
  const lines = reflections.map((r) => `${i4(r.h)}${i4(r.k)}${i4(r.l)}${f82(r.intensity * scale)}${f82(r.sigma * scale)}${withBatch ? i4(r.batch!) : ''}`);
  lines.push(`${i4(0)}${i4(0)}${i4(0)}${f82(0)}${f82(0)}${withBatch ? i4(0) : ''}`);
  return { text: `${lines.join('\n')}\n`, scale };
}
