// From peaks to a refined lattice: the axis (rotation-axis.ts), the 3D cloud (reciprocal.ts), indexing
// (indexing.ts), refinement and re-indexing in turns (refine.ts), the axis direction from the Ewald sphere.
// A pure function of the peaks and the geometry.
import { ParameterError, throwIfAborted } from '../../src-shared/errors';
import { det3, goniometerRotation, matMul, type Mat3 } from '../crystallography';
import { assignIndices, indexPoints, type IndexingOptions } from './indexing';
import { crystalVectors, labVectors, type DetectorPeaks, type ReciprocalGeometry } from './reciprocal';
import { chooseAxisDirection, refineOrientation, refinementInput, type PerFrameCorrections, type RefinedModel, type RefinementInput } from './refine';
import { findRotationAxis, type AxisSearchResult } from './rotation-axis';

export interface LatticeSearchOptions extends IndexingOptions {
  /** The axis angle when known (degrees, direction included): no search, and it is refined unless `fixAxis`. */
  axisDeg?: number;
  fixAxis?: boolean;
  /** A peak is indexed when its predicted position is within this of it (px; default max(1.5, 3 × RMSD)). */
  maxResidualPx?: number;
  /** Per-frame corrections in the final refinement (default 'auto'; the rounds before it refine none). */
  perFrame?: PerFrameCorrections;
  /** Fit the rocking-curve centres too (refine.ts). */
  rockingCentres?: boolean;
}

export interface LatticeSearchResult {
  axisSearch: AxisSearchResult | null;
  /** Mean s² for the chosen axis direction and its mirror (Å⁻²): how clearly the direction was decided. */
  axisDirection: { meanS2: number; mirroredMeanS2: number };
  model: RefinedModel;
  /** Per peak: Miller indices (3) and indexed flag, from the final model. */
  hkl: Int32Array;
  indexed: Uint8Array;
  indexedFraction: number;
  /** The first (unrefined) indexing's fraction, for the log. */
  initialIndexedFraction: number;
  /** The peaks' lab-frame Ewald-sphere vectors (3 per peak, Å⁻¹), for further indexing with the same geometry. */
  lab: Float64Array;
}

/** Indexes peaks with a model: h = round(UB⁻¹·R(α)ᵀ·q), kept where the predicted position is within maxResidual. */
export function indexWithModel(
  peaks: DetectorPeaks,
  lab: Float64Array,
  geom: ReciprocalGeometry,
  ub: Mat3,
  axisDeg: number,
  maxResidualPx: number,
): { hkl: Int32Array; indexed: Uint8Array; fraction: number } {
  const q = crystalVectors(lab, peaks.frame, geom.anglesDeg, axisDeg);
  const { hkl } = assignIndices(q, ub, 0.5);
  const n = peaks.frame.length;
  const indexed = new Uint8Array(n);
  let k = 0;
  const s = geom.reciprocalPixelInvA;
  for (let i = 0; i < n; i++) {
    const h = [hkl[3 * i], hkl[3 * i + 1], hkl[3 * i + 2]];
    if (!h[0] && !h[1] && !h[2]) continue;
    const f = peaks.frame[i];
    const m = matMul(goniometerRotation(axisDeg, geom.anglesDeg[f]), ub);
    const x = geom.beamCentres[2 * f] + (m[0][0] * h[0] + m[0][1] * h[1] + m[0][2] * h[2]) / s;
    const y = geom.beamCentres[2 * f + 1] + (m[1][0] * h[0] + m[1][1] * h[1] + m[1][2] * h[2]) / s;
    if (Math.hypot(x - peaks.x[i], y - peaks.y[i]) <= maxResidualPx) {
      indexed[i] = 1;
      k++;
    } else hkl.fill(0, 3 * i, 3 * i + 3);
  }
  return { hkl, indexed, fraction: n ? k / n : 0 };
}

/** See the module header. Throws ParameterError (with what the user can do) when there is no lattice. */
export function searchLattice(peaks: DetectorPeaks, geom: ReciprocalGeometry, o: LatticeSearchOptions = {}): LatticeSearchResult {
  const n = peaks.frame.length;
  if (n < 20) throw new ParameterError('peaks', `${n} peaks are too few to find a lattice: lower the I/σ threshold or check the frames (at least 20; a few hundred is usual)`);
  const lab = labVectors(peaks, geom);
  const axisSearch = o.axisDeg === undefined ? findRotationAxis(lab, peaks.frame, geom.anglesDeg, { signal: o.signal }) : null;
  let axis = o.axisDeg ?? axisSearch!.axisDeg;
  throwIfAborted(o.signal);
  const first = indexPoints(crystalVectors(lab, peaks.frame, geom.anglesDeg, axis), o);
  const input = (hkl: Int32Array, use: Uint8Array): RefinementInput => refinementInput(peaks, geom, hkl, use);
  let ub = first.ub;
  let hkl = first.hkl;
  let indexed = first.indexed;
  let model: RefinedModel;
  let direction = { meanS2: NaN, mirroredMeanS2: NaN };
  const refineAxis = !o.fixAxis;
  for (let round = 0; round < 4; round++) {
    throwIfAborted(o.signal);
    model = refineOrientation(input(hkl, indexed), ub, axis, { refineAxis, perFrame: 'none', ...(o.rockingCentres ? { rockingCentres: true } : {}) });
    ub = model.ub;
    axis = model.axisDeg;
    if (round === 1 && o.axisDeg === undefined) {
      // The direction of the axis, once the model is good enough for excitation errors to mean something.
      const d = chooseAxisDirection(input(hkl, model.used), ub, axis);
      direction = { meanS2: d.meanS2, mirroredMeanS2: d.mirroredMeanS2 };
      ub = d.ub;
      axis = d.axisDeg;
    }
    // A right-handed UB (a mirrored one is made so by taking −h for every reflection).
    if (det3(ub) < 0) ub = ub.map((r) => r.map((v) => -v)) as Mat3;
    const maxRes = o.maxResidualPx ?? Math.max(1.5, 3 * model.rmsdPx);
    ({ hkl, indexed } = indexWithModel(peaks, lab, geom, ub, axis, maxRes));
  }
  model = refineOrientation(input(hkl, indexed), ub, axis, { refineAxis, perFrame: o.perFrame ?? 'auto', ...(o.rockingCentres ? { rockingCentres: true } : {}) });
  const final = indexWithModel(peaks, lab, geom, model.ub, model.axisDeg, o.maxResidualPx ?? Math.max(1.5, 3 * model.rmsdPx));
  return {
    axisSearch,
    axisDirection: direction,
    model,
    hkl: final.hkl,
    indexed: final.indexed,
    indexedFraction: final.fraction,
    initialIndexedFraction: first.indexedFraction,
    lab,
  };
}
