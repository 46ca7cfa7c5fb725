// The goniometer axis from the data alone. For the right in-plane axis angle the peaks of all tilts, mapped to
// reciprocal space, form one lattice, and the differences between them point along a few lattice rows; for a wrong
// angle the tilts' pieces do not fit and the directions spread. The score of an angle is the sharpness of the
// distribution of those directions: the sum of squared counts of a histogram over the hemisphere (equal-area
// bins), i.e. its variance up to a constant — the criterion of Gorelik et al.'s cylindrical projection, as
// dials.find_rotation_axis uses it. A coarse scan over 180° and two finer scans around the best angle.
//
// The scan finds the line, not its direction: an axis turned by 180° mirrors the reconstruction (with a flat Ewald
// sphere exactly: z → −z), which is a lattice just as sharp. The curvature of the sphere breaks the tie by a little;
// the refinement (refine.ts) decides it by which direction fits the lattice better.
import { throwIfAborted } from '../../src-shared/errors';
import { crystalVectors } from './reciprocal';

export interface AxisSearchOptions {
  /** Peaks used (evenly spread over the list, default 700): pairs grow as its square. */
  maxPeaks?: number;
  /** Only differences shorter than this count (Å⁻¹, default 0.6): short lattice vectors are the few, sharp ones. */
  maxDifferenceInvA?: number;
  /** Coarse step over [0°, 180°), degrees (default 2). */
  coarseStepDeg?: number;
  signal?: AbortSignal;
}

export interface AxisSearchResult {
  /** The best axis angle in [0°, 180°), degrees (its direction is decided later). */
  axisDeg: number;
  /** Score of the best angle relative to the median score of the coarse scan (> 1: sharper than typical). */
  contrast: number;
  /** The coarse scan, for a plot: angle and score. */
  scan: Array<[number, number]>;
}

const PHI_BINS = 180;
const COS_BINS = 90;

/** Sharpness of the difference-direction distribution of crystal-frame vectors `q` (3 per point). */
export function directionSharpness(q: Float64Array, maxDiff: number): number {
  const n = q.length / 3;
  const hist = new Float64Array(PHI_BINS * COS_BINS);
  const max2 = maxDiff * maxDiff;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const xi = q[3 * i];
    const yi = q[3 * i + 1];
    const zi = q[3 * i + 2];
    for (let j = i + 1; j < n; j++) {
      let dx = xi - q[3 * j];
      let dy = yi - q[3 * j + 1];
      let dz = zi - q[3 * j + 2];
      const d2 = dx * dx + dy * dy + dz * dz;
      if (d2 > max2 || d2 < 1e-12) continue;
      // d and −d are the same row: fold onto the upper hemisphere.
      if (dz < 0) {
        dx = -dx;
        dy = -dy;
        dz = -dz;
      }
      const c = dz / Math.sqrt(d2);
      const phi = Math.atan2(dy, dx);
      const a = Math.min(PHI_BINS - 1, Math.floor(((phi + Math.PI) / (2 * Math.PI)) * PHI_BINS));
      const b = Math.min(COS_BINS - 1, Math.floor(c * COS_BINS));
      hist[b * PHI_BINS + a]++;
      total++;
    }
  }
  if (!total) return 0;
  let s2 = 0;
  for (let k = 0; k < hist.length; k++) s2 += hist[k] * hist[k];
  return s2 / total;
}

/** Scans the in-plane axis angle (see the module header). `lab`: Ewald vectors, 3 per peak; `frame`: their tilts. */
export function findRotationAxis(lab: Float64Array, frame: Int32Array, anglesDeg: ArrayLike<number>, o: AxisSearchOptions = {}): AxisSearchResult {
  const maxPeaks = o.maxPeaks ?? 700;
  const maxDiff = o.maxDifferenceInvA ?? 0.6;
  const step = o.coarseStepDeg ?? 2;
  const n = frame.length;
  const stride = Math.max(1, n / maxPeaks);
  const pick: number[] = [];
  for (let k = 0; k < n; k += stride) pick.push(Math.floor(k));
  const subLab = new Float64Array(3 * pick.length);
  const subFrame = new Int32Array(pick.length);
  pick.forEach((i, k) => {
    subLab.set(lab.subarray(3 * i, 3 * i + 3), 3 * k);
    subFrame[k] = frame[i];
  });
  const score = (deg: number): number => directionSharpness(crystalVectors(subLab, subFrame, anglesDeg, deg), maxDiff);
  const scan: Array<[number, number]> = [];
  for (let a = 0; a < 180; a += step) {
    throwIfAborted(o.signal);
    scan.push([a, score(a)]);
  }
  let best = scan.reduce((m, p) => (p[1] > m[1] ? p : m), scan[0]);
  // Two finer passes around the best angle (the score is smooth near it).
  for (const [half, fine] of [
    [step, step / 5],
    [step / 5, step / 50],
  ] as const) {
    throwIfAborted(o.signal);
    const centre = best[0];
    for (let a = centre - half; a <= centre + half + 1e-9; a += fine) {
      const s = score(a);
      if (s > best[1]) best = [a, s];
    }
  }
  const sorted = scan.map((p) => p[1]).sort((a, b) => a - b);
  const med = sorted[sorted.length >> 1];
  return { axisDeg: ((best[0] % 180) + 180) % 180, contrast: med > 0 ? best[1] / med : 0, scan };
}
