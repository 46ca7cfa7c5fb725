// Diffraction geometry in the lab frame of ARCHITECTURE §4: X along +qx, Y along +qy, Z along the beam towards
// the detector; incident wave vector k0 = (0, 0, K), K = 1/λ (no 2π).
//
// Excitation error (sign convention): s_g = (K² − |k0 + g|²) / (2K). s_g > 0 when the reciprocal-lattice
// point lies inside the Ewald sphere, < 0 outside (Williams & Carter's convention). To first order it is
// the distance from g to the sphere measured along the beam: s_g ≈ −g_z − |g|²/(2K).
//
// Where a reflection lands: in the kinematic (thin crystal) picture the diffracted wave leaves with
// k' = k0 + g + s_g ẑ — the deviation is taken up along the beam direction — so its transverse components
// are exactly (g_x, g_y). The detector coordinates of §4 are linear in those components
// (u = (qx − cx)·s, v = (qy − cy)·s, q = (u, v, sqrt(K² − u² − v²) − K)), so the spot of g sits at
// qx = cx + g_x / s, qy = cy + g_y / s, and the Ewald point it is recorded at is q(u=g_x, v=g_y).
import { ParameterError } from '../../src-shared/errors';
import { matMul, matVec, rotationAboutAxis, type Mat3, type Vec3 } from './math3';

const DEG = Math.PI / 180;

/** Unit vector of the goniometer axis: in the XY plane at rotationAxisDeg from +X towards +Y. */
export function goniometerAxis(rotationAxisDeg: number): Vec3 {
  const r = rotationAxisDeg * DEG;
  return [Math.cos(r), Math.sin(r), 0];
}

/** R(α): rotation of the crystal by angleDeg about the goniometer axis, right-hand rule. */
export function goniometerRotation(rotationAxisDeg: number, angleDeg: number): Mat3 {
  if (!Number.isFinite(rotationAxisDeg)) throw new ParameterError('rotationAxisDeg', `must be a finite angle (got ${rotationAxisDeg})`);
  if (!Number.isFinite(angleDeg)) throw new ParameterError('angleDeg', `must be a finite angle (got ${angleDeg})`);
  return rotationAboutAxis(goniometerAxis(rotationAxisDeg), angleDeg * DEG);
}

/** q_lab = R(α) · UB · h. */
export function labVector(rotation: Readonly<Mat3>, ub: Readonly<Mat3>, hkl: Readonly<Vec3>): Vec3 {
  return matVec(matMul(rotation, ub), hkl);
}

/** s_g = (K² − |k0 + g|²)/(2K) in Å⁻¹ for a lab-frame reciprocal vector g (Å⁻¹). */
export function excitationErrorInvA(gLab: Readonly<Vec3>, wavelengthA: number): number {
  const k = 1 / wavelengthA;
  // |k0+g|² − K² = 2K g_z + |g|²; written this way to avoid cancellation of two large K² terms.
  return -(2 * k * gLab[2] + gLab[0] * gLab[0] + gLab[1] * gLab[1] + gLab[2] * gLab[2]) / (2 * k);
}

export interface DetectorGeometry {
  wavelengthA: number;
  /** Å⁻¹ per detector pixel. */
  reciprocalPixelInvA: number;
  /** Beam centre (qx, qy) in detector pixels. */
  beamCentre: readonly [number, number];
}

/** The Ewald-sphere point recorded at detector pixel (qx, qy): q = (u, v, sqrt(K² − u² − v²) − K). */
export function detectorToLab(geom: DetectorGeometry, qx: number, qy: number): Vec3 {
  const k = 1 / geom.wavelengthA;
  const u = (qx - geom.beamCentre[0]) * geom.reciprocalPixelInvA;
  const v = (qy - geom.beamCentre[1]) * geom.reciprocalPixelInvA;
  const t = k * k - u * u - v * v;
  if (t < 0) throw new ParameterError('detector', `pixel (${qx}, ${qy}) lies beyond the Ewald sphere`);
  return [u, v, Math.sqrt(t) - k];
}

/**
 * Detector pixel (qx, qy) where the reflection g (lab frame, Å⁻¹) is recorded, and the Ewald point q it is
 * recorded at (see the header: the transverse components are conserved).
 */
export function projectToDetector(geom: DetectorGeometry, gLab: Readonly<Vec3>): { qx: number; qy: number; q: Vec3 } {
  const k = 1 / geom.wavelengthA;
  const u = gLab[0];
  const v = gLab[1];
  const t = k * k - u * u - v * v;
  return {
    qx: geom.beamCentre[0] + u / geom.reciprocalPixelInvA,
    qy: geom.beamCentre[1] + v / geom.reciprocalPixelInvA,
    q: [u, v, t >= 0 ? Math.sqrt(t) - k : NaN],
  };
}
