// Global drift between neighbouring tilts: the scan drifts (and the stage moves) between tilts, so every
// particle shifts by about the same amount; phase correlation of consecutive preprocessed frames measures it to
// sub-pixel precision. Particles also move relative to each other as the sample rotates; the tracker's motion
// model takes that up.
import { phaseCorrelate } from '../../kernels/image';

/** Correlation peaks below this are noise (blank frame, no shared content): the shift is not trusted. */
export const MIN_DRIFT_PEAK = 0.05;
/** Width of the prior on each pair's shift, as a fraction of the smaller image side. */
const PRIOR_FRACTION = 0.15;

export interface DriftEstimate {
  /** dx[t], dy[t]: shift of frame t relative to frame t − 1 (0 at t = 0 and where untrusted). */
  dx: Float64Array;
  dy: Float64Array;
  peak: Float64Array;
}

/**
 * Pairwise drift of a sequence of frames obtained through `frame(t)` (preprocessed, nx·ny). `onPair` is called
 * after each pair so callers can report progress and check for cancellation.
 */
export function estimateDrift(
  nTilts: number,
  nx: number,
  ny: number,
  frame: (t: number) => Float32Array,
  onPair?: (t: number) => void,
): DriftEstimate {
  const dx = new Float64Array(nTilts);
  const dy = new Float64Array(nTilts);
  const peak = new Float64Array(nTilts);
  let prev = nTilts > 0 ? frame(0) : null;
  // Drift is smooth from tilt to tilt: expect this pair's shift near the last one (see PhaseCorrelationOptions.prior).
  const sigmaPx = Math.max(2, PRIOR_FRACTION * Math.min(nx, ny));
  for (let t = 1; t < nTilts; t++) {
    const cur = frame(t);
    const r = phaseCorrelate(prev as Float32Array, cur, nx, ny, { prior: { dx: dx[t - 1], dy: dy[t - 1], sigmaPx } });
    peak[t] = r.peak;
    if (r.peak >= MIN_DRIFT_PEAK) {
      dx[t] = r.dx;
      dy[t] = r.dy;
    }
    prev = cur;
    onPair?.(t);
  }
  return { dx, dy, peak };
}

/** Cumulative position of each frame's content relative to frame 0 (sum of pairwise shifts). */
export function cumulativeDrift(d: DriftEstimate): { x: Float64Array; y: Float64Array } {
  const n = d.dx.length;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let t = 1; t < n; t++) {
    x[t] = x[t - 1] + d.dx[t];
    y[t] = y[t - 1] + d.dy[t];
  }
  return { x, y };
}
