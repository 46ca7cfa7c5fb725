// One object's peaks as points in reciprocal space (the Reciprocal space tab): each peak's Ewald-sphere vector turned
// back to the crystal at tilt 0 with the refined geometry when there is a lattice (axis, per-frame beam centres and
// tilt offsets, so indexed peaks sit on their nodes), else with the axis known from the user or the metadata.
import type { Mat3 } from '../crystallography/math3';
import { PEAK_LABEL } from '../../src-shared/reciprocal';
import type { LatticeOutcome, PeakTable, ProcessingFrames } from './pipeline';
import { crystalVectors, labVectors } from './reciprocal';
import { integrationModelOf } from './reduce';

export interface PeakCloud {
  q: Float32Array;
  label: Uint8Array;
  hkl: Int32Array;
  iOverSigma: Float32Array;
  ub: Mat3 | null;
  axisDeg: number;
  qMaxInvA: number;
}

/**
 * The cloud of a peak table. `lattice`: a current, indexed lattice (its geometry and indices are used) or null;
 * `axisDeg`: the axis to use without one.
 */
export function peakCloud(input: ProcessingFrames, table: PeakTable, lattice: LatticeOutcome | null, axisDeg: number): PeakCloud {
  const model = lattice ? integrationModelOf(input, table, lattice) : null;
  const geometry = { wavelengthA: input.wavelengthA, reciprocalPixelInvA: input.reciprocalPixelInvA, anglesDeg: input.anglesDeg, beamCentres: model?.beamCentres ?? input.beamCentres };
  const lab = labVectors(table, geometry);
  const angles = model?.tiltOffsetsDeg ? Float64Array.from(input.anglesDeg, (a, t) => a + (model.tiltOffsetsDeg![t] ?? 0)) : input.anglesDeg;
  const axis = model?.axisDeg ?? axisDeg;
  const crystal = crystalVectors(lab, table.frame, angles, axis);
  const n = table.frame.length;
  let qMax = 0;
  for (let i = 0; i < n; i++) qMax = Math.max(qMax, Math.hypot(crystal[3 * i], crystal[3 * i + 1], crystal[3 * i + 2]));
  const indexed = model ? lattice!.indexed! : null;
  return {
    q: Float32Array.from(crystal),
    label: Uint8Array.from({ length: n }, (_, i) => (indexed?.[i] ? PEAK_LABEL.indexed : PEAK_LABEL.unindexed)),
    hkl: model && lattice!.hkl ? Int32Array.from(lattice!.hkl, (v, k) => (indexed![Math.floor(k / 3)] ? v : 0)) : new Int32Array(3 * n),
    iOverSigma: Float32Array.from(table.intensity, (v, i) => (table.sigma[i] > 0 ? v / table.sigma[i] : 0)),
    ub: model?.ub ?? null,
    axisDeg: axis,
    qMaxInvA: qMax,
  };
}
