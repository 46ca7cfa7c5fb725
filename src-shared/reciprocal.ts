// The peak cloud of one extracted object in reciprocal space, as main sends it to the Reciprocal space tab (typed
// arrays, structured-cloned, never reactive). Frame of reference: the crystal at tilt 0 (ARCHITECTURE §4), so a
// peak seen on frame t at the lab vector q_lab is q = R(α_t)ᵀ·q_lab, and the lattice node h is at UB·h.
import type { UnitCell } from './domain';

/** Peak labels: indexed by the object's lattice, not indexed. */
export const PEAK_LABEL = { unindexed: 0, indexed: 1 } as const;

export interface ReciprocalCloud {
  seriesId: string;
  objectId: number;
  name: string;
  /** 3 per peak, Å⁻¹. */
  q: Float32Array;
  /** Per peak: frame (0-based tilt index), detector position (px), intensity, I/σ, label, hkl (3; 0 0 0 unindexed). */
  frame: Int32Array;
  x: Float32Array;
  y: Float32Array;
  intensity: Float32Array;
  iOverSigma: Float32Array;
  label: Uint8Array;
  hkl: Int32Array;
  /** Tilt angle of each frame, degrees. */
  anglesDeg: Float64Array;
  /** The in-plane rotation axis used (degrees from +X towards +Y): the refined one, else the given or metadata one. */
  axisDeg: number;
  axisSource: 'refined' | 'given' | 'metadata';
  /** UB (row-major, 9; columns a*, b*, c* in Å⁻¹) and the conventional cell, when the lattice is indexed and current. */
  ub: number[] | null;
  cell: UnitCell | null;
  /** Resolution of the farthest peak, Å⁻¹. */
  qMaxInvA: number;
}
