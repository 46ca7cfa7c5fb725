// One beam geometry for a whole series: the direct-beam centre of every extracted frame, anchored on a reference
// that does not depend on the particle. A pure kernel over finished frames.
//
// In a particle-only sum a strong reflection can be as bright as the direct beam (thick crystals, near two-beam
// conditions), and a fit on the frame alone then lands on the reflection. So, per frame:
//  1. the reference: the centre fitted on the tilt's mean pattern over all probe positions (the unscattered beam
//     dominates it), or, without one, the median of the frames' own fits;
//  2. the frame's own fit, made only inside a window around the reference (what lies outside cannot win), and kept
//     only if it moved at most maxShiftPx from the reference;
//  3. the Friedel check: Bragg reflections come in pairs symmetric about the direct beam, so the brightest pixels
//     away from the beam should have partners at 2c − p. A fit that makes the pattern less centrosymmetric than the
//     reference does is rejected, and the frame takes the reference.
import { fitBeamCentre, BeamCentreScratch } from './beam-centre';

export interface SeriesCentreOptions {
  /** Per frame, the reference centre [cx, cy] (the tilt's mean pattern), or null where there is none. */
  reference?: ReadonlyArray<readonly [number, number] | null>;
  /** How far (px) a frame's own fit may move from its reference (default 3). */
  maxShiftPx?: number;
  /** Half-width (px) of the window the frame's own fit is made in, beyond maxShiftPx (default 6: the direct-beam disk). */
  windowPx?: number;
}

export interface SeriesCentres {
  /** [cx, cy] per frame (NaN for frames not given). */
  centres: Float64Array;
  /** Per frame: where its centre came from. */
  source: Array<'frame' | 'reference' | null>;
  /** Frames whose own fit was rejected (too far from the reference, or worse Friedel symmetry), with why. */
  rejected: Array<{ frame: number; reason: string }>;
  /** The reference per frame actually used ([NaN, NaN] for frames not given). */
  reference: Float64Array;
}

/** Brightest pixels away from the beam that the Friedel score uses. */
const FRIEDEL_PIXELS = 256;
/** A fit may lower the Friedel score by at most this much against the reference. */
const FRIEDEL_TOLERANCE = 0.02;

/** Bilinear value at (x, y); 0 outside. */
function sample(p: Float32Array, nqy: number, nqx: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  let v = 0;
  for (let j = 0; j <= 1; j++) {
    const yy = y0 + j;
    if (yy < 0 || yy >= nqy) continue;
    for (let i = 0; i <= 1; i++) {
      const xx = x0 + i;
      if (xx < 0 || xx >= nqx) continue;
      v += (i ? fx : 1 - fx) * (j ? fy : 1 - fy) * p[yy * nqx + xx];
    }
  }
  return v;
}

/**
 * Centrosymmetry of a pattern about (cx, cy), 0..1: over the brightest pixels farther than `exclude` px from the
 * centre (background-subtracted), the share of their intensity that their mirror image 2c − p also holds.
 */
export function friedelScore(pattern: Float32Array, shape: readonly [number, number], cx: number, cy: number, exclude: number): number {
  const [nqy, nqx] = shape;
  const sorted = Float32Array.from(pattern).sort();
  const bg = sorted[sorted.length >> 1];
  const picks: number[] = [];
  const cutoff = sorted[Math.max(0, sorted.length - 1 - 4 * FRIEDEL_PIXELS)];
  for (let q = 0; q < pattern.length; q++) {
    if (pattern[q] < cutoff) continue;
    const x = q % nqx;
    const y = (q - x) / nqx;
    if (Math.hypot(x - cx, y - cy) > exclude) picks.push(q);
  }
  picks.sort((a, b) => pattern[b] - pattern[a]);
  let total = 0;
  let mirrored = 0;
  for (const q of picks.slice(0, FRIEDEL_PIXELS)) {
    const v = pattern[q] - bg;
    if (v <= 0) continue;
    const x = q % nqx;
    const y = (q - x) / nqx;
    const m = sample(pattern, nqy, nqx, 2 * cx - x, 2 * cy - y) - bg;
    total += v;
    mirrored += Math.max(0, Math.min(v, m));
  }
  return total > 0 ? mirrored / total : 0;
}

/** The frame's own direct-beam fit inside a window around (rx, ry); null when none. */
function windowedFit(pattern: Float32Array, shape: readonly [number, number], rx: number, ry: number, half: number, scratch: BeamCentreScratch): { cx: number; cy: number; radius: number } | null {
  const [nqy, nqx] = shape;
  const x0 = Math.max(0, Math.round(rx) - half);
  const y0 = Math.max(0, Math.round(ry) - half);
  const x1 = Math.min(nqx - 1, Math.round(rx) + half);
  const y1 = Math.min(nqy - 1, Math.round(ry) + half);
  if (x1 < x0 || y1 < y0) return null;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const crop = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) crop[y * w + x] = pattern[(y + y0) * nqx + x + x0];
  const c = fitBeamCentre(crop, [h, w], { method: 'centroid', scratch });
  if (!c) return null;
  const r = fitBeamCentre(crop, [h, w], { method: 'circle', scratch });
  const best = r && Math.hypot(r.cx - c.cx, r.cy - c.cy) <= Math.max(0.5, 0.5 * c.radius) ? r : c;
  return { cx: best.cx + x0, cy: best.cy + y0, radius: c.radius };
}

/**
 * Consistent beam centres for `frames` (nFrames·nqy·nqx; `include[t]` 0 skips frame t). `initial` holds each
 * frame's own unconstrained fit ([cx, cy] per frame, NaN where none), used for the median reference when no
 * per-frame reference is given.
 */
export function seriesBeamCentres(
  frames: Float32Array,
  shape: readonly [number, number],
  include: ArrayLike<number>,
  initial: Float64Array,
  opts: SeriesCentreOptions = {},
): SeriesCentres {
  const [nqy, nqx] = shape;
  const npix = nqy * nqx;
  const n = include.length;
  const maxShift = opts.maxShiftPx ?? 3;
  const half = Math.ceil(maxShift + (opts.windowPx ?? 6));
  const out: SeriesCentres = {
    centres: new Float64Array(2 * n).fill(NaN),
    source: new Array<'frame' | 'reference' | null>(n).fill(null),
    rejected: [],
    reference: new Float64Array(2 * n).fill(NaN),
  };
  // The fallback reference: the median of the frames' own fits.
  const xs: number[] = [];
  const ys: number[] = [];
  for (let t = 0; t < n; t++) {
    if (include[t] && Number.isFinite(initial[2 * t]) && Number.isFinite(initial[2 * t + 1])) {
      xs.push(initial[2 * t]);
      ys.push(initial[2 * t + 1]);
    }
  }
  const med = (a: number[]): number => (a.length ? a.sort((p, q) => p - q)[a.length >> 1] : NaN);
  const fallback: [number, number] = [med(xs), med(ys)];
  const scratch = new BeamCentreScratch();
  for (let t = 0; t < n; t++) {
    if (!include[t]) continue;
    const ref = opts.reference?.[t] ?? (Number.isFinite(fallback[0]) ? fallback : null);
    const pattern = frames.subarray(t * npix, (t + 1) * npix);
    if (!ref) {
      // Nothing to anchor on: the frame's own fit, if any.
      out.centres[2 * t] = initial[2 * t];
      out.centres[2 * t + 1] = initial[2 * t + 1];
      out.source[t] = Number.isFinite(initial[2 * t]) ? 'frame' : null;
      continue;
    }
    out.reference[2 * t] = ref[0];
    out.reference[2 * t + 1] = ref[1];
    const own = windowedFit(pattern, shape, ref[0], ref[1], half, scratch);
    let reason: string | null = null;
    if (!own) reason = 'no direct beam near the reference';
    else {
      const d = Math.hypot(own.cx - ref[0], own.cy - ref[1]);
      if (d > maxShift) reason = `fit ${d.toFixed(1)} px from the reference (at most ${maxShift})`;
      else {
        const exclude = Math.max(3, 2 * own.radius);
        const sOwn = friedelScore(pattern, shape, own.cx, own.cy, exclude);
        const sRef = friedelScore(pattern, shape, ref[0], ref[1], exclude);
        if (sOwn < sRef - FRIEDEL_TOLERANCE) reason = `Friedel symmetry worse than at the reference (${sOwn.toFixed(2)} < ${sRef.toFixed(2)})`;
      }
    }
    if (own && !reason) {
      out.centres[2 * t] = own.cx;
      out.centres[2 * t + 1] = own.cy;
      out.source[t] = 'frame';
    } else {
      out.centres[2 * t] = ref[0];
      out.centres[2 * t + 1] = ref[1];
      out.source[t] = 'reference';
      out.rejected.push({ frame: t, reason: reason as string });
    }
  }
  return out;
}

/** Mean centre, rms and largest distance of the frames' centres from it (px), over frames with a centre. */
export function centreSpread(centres: Float64Array): { mean: [number, number]; rmsPx: number; maxPx: number; frames: number } {
  let sx = 0;
  let sy = 0;
  let k = 0;
  for (let t = 0; 2 * t < centres.length; t++) {
    if (!Number.isFinite(centres[2 * t]) || !Number.isFinite(centres[2 * t + 1])) continue;
    sx += centres[2 * t];
    sy += centres[2 * t + 1];
    k++;
  }
  if (!k) return { mean: [NaN, NaN], rmsPx: NaN, maxPx: NaN, frames: 0 };
  const mean: [number, number] = [sx / k, sy / k];
  let s2 = 0;
  let max = 0;
  for (let t = 0; 2 * t < centres.length; t++) {
    if (!Number.isFinite(centres[2 * t]) || !Number.isFinite(centres[2 * t + 1])) continue;
    const d = Math.hypot(centres[2 * t] - mean[0], centres[2 * t + 1] - mean[1]);
    s2 += d * d;
    max = Math.max(max, d);
  }
  return { mean, rmsPx: Math.sqrt(s2 / k), maxPx: max, frames: k };
}
