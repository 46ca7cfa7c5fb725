// The calibration every processor needs, resolved once from the series' calibration plus explicit overrides, and the
// frame geometry shared by the SMV and XDS writers.

import { ParameterError } from '../../../src-shared/errors';

import type { Calibration, ExtractedSeries } from '../../../src-shared/domain';
import { electronWavelengthA } from '../../crystallography/wavelength';

export interface ExportCalibration {
  wavelengthA: number;
  /** Å⁻¹ per detector pixel (PETS2 `aperpixel`). */
  reciprocalPixelInvA: number;
  /** Rotation axis in the image, degrees from +X (+qx) towards +Y (+qy) (ARCHITECTURE §4); undefined = unknown. */
  rotationAxisDeg?: number;
  /** Exposure per frame in seconds (sum of dwell times), when known. */
  exposureS?: number;
}

/** λ from the calibration (or its voltage), aperpixel, axis; a ParameterError names what is missing. */
export function resolveCalibration(cal: Calibration, overrides: Partial<ExportCalibration> = {}): ExportCalibration {
  const wavelengthA = overrides.wavelengthA ?? cal.wavelengthA ?? (cal.voltageKV ? electronWavelengthA(cal.voltageKV) : undefined);
  const reciprocalPixelInvA = overrides.reciprocalPixelInvA ?? cal.reciprocalPixelInvA;
  if (!(wavelengthA && wavelengthA > 0)) throw new ParameterError('wavelengthA', 'unknown: the data record neither wavelength nor voltage; give one');
  if (!(reciprocalPixelInvA && reciprocalPixelInvA > 0)) {
    throw new ParameterError('reciprocalPixelInvA', 'unknown: the data record no reciprocal pixel size; give one (Å⁻¹ per detector pixel)');
  }
  return {
    wavelengthA,
    reciprocalPixelInvA,
    rotationAxisDeg: overrides.rotationAxisDeg ?? cal.rotationAxisDeg,
    exposureS: overrides.exposureS,
  };
}

/**
 * The detector distance (mm) that makes a detector of `pixelSizeMm` pixels show `reciprocalPixelInvA` per pixel at
 * wavelength λ: one pixel subtends 2θ ≈ p / L, and q = 2 sinθ / λ ≈ 2θ / λ, so s = p / (L λ) → L = p / (λ s).
 * (Small-angle form; the exact Ewald geometry differs by < 0.1% at 1 Å⁻¹ for 200 kV electrons.)
 */
export function equivalentDistanceMm(pixelSizeMm: number, wavelengthA: number, reciprocalPixelInvA: number): number {
  return pixelSizeMm / (wavelengthA * reciprocalPixelInvA);
}

/** Median beam centre over the extracted tilts (fallback for frames without a fit), or the detector centre. */
export function fallbackCentre(s: ExtractedSeries): [number, number] {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let t = 0; t < s.nTilts; t++) {
    if (s.included[t] && Number.isFinite(s.beamCentre[2 * t]) && Number.isFinite(s.beamCentre[2 * t + 1])) {
      xs.push(s.beamCentre[2 * t]);
      ys.push(s.beamCentre[2 * t + 1]);
    }
  }
  if (xs.length === 0) return [(s.detectorShape[1] - 1) / 2, (s.detectorShape[0] - 1) / 2];
  const med = (a: number[]): number => {
    const b = [...a].sort((p, q) => p - q);
    return b.length % 2 ? b[(b.length - 1) / 2] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2;
  };
  return [med(xs), med(ys)];
}

/** Beam centre of tilt t, or the fallback. */
export function centreOf(s: ExtractedSeries, t: number, fallback: readonly [number, number]): [number, number] {
  const cx = s.beamCentre[2 * t];
  const cy = s.beamCentre[2 * t + 1];
  return Number.isFinite(cx) && Number.isFinite(cy) ? [cx, cy] : [fallback[0], fallback[1]];
}

export interface Oscillation {
  /** Signed tilt step between consecutive tilt indices (degrees). */
  stepDeg: number;
  /** True when every angle is within 5% of a step of α0 + t·step. */
  regular: boolean;
  /** Largest deviation from the regular grid (degrees). */
  maxDeviationDeg: number;
}

/** The tilt step of a series, from its first and last angle. */
export function oscillationOf(anglesDeg: Float64Array): Oscillation {
  const n = anglesDeg.length;
  if (n < 2) return { stepDeg: 0, regular: true, maxDeviationDeg: 0 };
  const step = (anglesDeg[n - 1] - anglesDeg[0]) / (n - 1);
  let dev = 0;
  for (let t = 0; t < n; t++) dev = Math.max(dev, Math.abs(anglesDeg[t] - (anglesDeg[0] + t * step)));
  return { stepDeg: step, regular: dev <= 0.05 * Math.abs(step), maxDeviationDeg: dev };
}
