// Peaks to reciprocal space (ARCHITECTURE §4): a detector position on frame t is the Ewald-sphere point
// q = (u, v, √(K² − u² − v²) − K), u, v its offset from the frame's beam centre in Å⁻¹; the crystal at tilt α_t was
// rotated by R(α_t) about the goniometer axis, so its crystal-frame vector is R(α_t)ᵀ q. The axis is the in-plane
// unit vector at `axisDeg` from +X towards +Y; the opposite direction (axisDeg + 180°) is the same line turned the
// other way, which mirrors the reconstruction (see rotation-axis.ts for how the two are told apart).
import { goniometerRotation } from '../crystallography/geometry';
import type { Mat3 } from '../crystallography/math3';

export interface DetectorPeaks {
  /** Per peak: frame (tilt index), detector x, y (pixels). */
  frame: Int32Array;
  x: Float64Array;
  y: Float64Array;
  /** Integrated intensity per peak (optional: the refinement uses it for rocking-curve centres). */
  intensity?: Float64Array;
  /** σ of each intensity, and the centroid's standard uncertainty (px): the refinement's weights. */
  intensitySigma?: Float64Array;
  positionSigmaPx?: Float64Array;
}

export interface ReciprocalGeometry {
  wavelengthA: number;
  reciprocalPixelInvA: number;
  /** Tilt angle of every frame, degrees. */
  anglesDeg: ArrayLike<number>;
  /** [cx, cy] per frame (2 per frame), detector pixels. */
  beamCentres: ArrayLike<number>;
}

/** The Ewald-sphere vectors in the lab frame, 3 per peak (Å⁻¹). */
export function labVectors(p: DetectorPeaks, g: ReciprocalGeometry): Float64Array {
  const k = 1 / g.wavelengthA;
  const s = g.reciprocalPixelInvA;
  const out = new Float64Array(3 * p.frame.length);
  for (let i = 0; i < p.frame.length; i++) {
    const f = p.frame[i];
    const u = (p.x[i] - g.beamCentres[2 * f]) * s;
    const v = (p.y[i] - g.beamCentres[2 * f + 1]) * s;
    out[3 * i] = u;
    out[3 * i + 1] = v;
    out[3 * i + 2] = Math.sqrt(Math.max(0, k * k - u * u - v * v)) - k;
  }
  return out;
}

/** Per frame, R(α_t) about the axis at axisDeg. */
export function frameRotations(anglesDeg: ArrayLike<number>, axisDeg: number): Mat3[] {
  return Array.from({ length: anglesDeg.length }, (_, t) => goniometerRotation(axisDeg, anglesDeg[t]));
}

/** Crystal-frame vectors R(α_t)ᵀ q of lab vectors `lab` (3 per peak) for the axis at axisDeg. */
export function crystalVectors(lab: Float64Array, frame: Int32Array, anglesDeg: ArrayLike<number>, axisDeg: number): Float64Array {
  const rots = frameRotations(anglesDeg, axisDeg);
  const out = new Float64Array(lab.length);
  for (let i = 0; i < frame.length; i++) {
    const r = rots[frame[i]];
    const x = lab[3 * i];
    const y = lab[3 * i + 1];
    const z = lab[3 * i + 2];
    // Rᵀ q
    out[3 * i] = r[0][0] * x + r[1][0] * y + r[2][0] * z;
    out[3 * i + 1] = r[0][1] * x + r[1][1] * y + r[2][1] * z;
    out[3 * i + 2] = r[0][2] * x + r[1][2] * y + r[2][2] * z;
  }
  return out;
}
