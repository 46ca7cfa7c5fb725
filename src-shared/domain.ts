// The data model every stage and both sides of the app share (docs/ARCHITECTURE.md, "Data model"). Types only:
// the IPC contract validates them at the boundary, the stages produce and consume them.
//
// Conventions: probe position (ry, rx) → ry * nx + rx; detector pixel (qy, qx) → qy * nqx + qx; angles in degrees
// at the edges (`…Deg`), lengths in Å or nm as their names say, reciprocal lengths in Å⁻¹ (`…InvA`).

/** Calibration of a data set, from file metadata, a manifest or the user. */
export interface Calibration {
  voltageKV?: number;
  wavelengthA?: number;
  /** Probe step in real space (nm per probe position). */
  realPixelNm?: number;
  /** Detector pixel size in reciprocal space (Å⁻¹ per detector pixel). */
  reciprocalPixelInvA?: number;
  cameraLengthM?: number;
  /** Goniometer axis in the detector plane, degrees from +qx towards +qy. */
  rotationAxisDeg?: number;
  scanRotationDeg?: number;
  /** Exposure (dwell) time per probe position, seconds. */
  dwellTimeS?: number;
}

/** State of one tracked object on one tilt. */
export const FRAME_STATES = ['empty', 'tracked', 'edited', 'locked', 'excluded'] as const;
export type FrameState = (typeof FRAME_STATES)[number];

/** A click on the virtual image, in probe positions: column x, row y; positive = "this particle", negative = "not this". */
export interface PromptPoint {
  x: number;
  y: number;
  positive: boolean;
}

/** The user's prompt for the trackers on one tilt: points and/or a box [x0, y0, x1, y1] (inclusive, probe positions). */
export interface TrackPrompt {
  tilt: number;
  points: PromptPoint[];
  box?: [number, number, number, number];
}

/** What a tracker says about one tilt of one object, so the UI can flag tilts worth checking. */
export interface FrameQuality {
  /** IoU of the mask with the prediction (previous mask moved by drift and motion). */
  iouWithPrediction?: number;
  /** area / previous area − 1. */
  areaChange?: number;
  /** (mean inside − mean of a ring around) / background noise, on the preprocessed image. */
  contrast?: number;
  flagged: boolean;
  reason?: string;
}

/** One object's extracted 3D ED data set: the summed diffraction pattern inside its mask at every tilt. */
export interface ExtractedSeries {
  objectId: number;
  name: string;
  nTilts: number;
  detectorShape: [number, number];
  anglesDeg: Float64Array;
  /** nTilts * nqy * nqx; tilt t at t * nqy * nqx. Zero where the tilt was not extracted. */
  frames: Float32Array;
  statistic: 'sum' | 'mean';
  /** Probe positions summed per tilt (0: excluded or empty mask). */
  probeCount: Int32Array;
  /** 1 where the tilt was extracted. */
  included: Uint8Array;
  background: {
    method: 'none' | 'ring';
    ringWidth: number;
    /** Probe positions in the ring per tilt. */
    ringProbeCount: Int32Array;
    /** The per-probe mean background pattern subtracted (times probeCount), nTilts * npix; absent with 'none'. */
    pattern?: Float32Array;
  };
  /** [cx, cy] per tilt, detector pixels (pixel centres at integers); NaN where no beam was found. */
  beamCentre: Float64Array;
  /**
   * How the centres were anchored: the reference per tilt ([cx, cy], NaN where none), 1 where the frame's own fit
   * was kept, and the tilts where it was rejected (too far from the reference, or worse Friedel symmetry).
   */
  beamCentreCheck?: {
    reference: Float64Array;
    fromFrame: Uint8Array;
    rejected: Array<{ tilt: number; reason: string }>;
    referenceKind: 'tilt mean pattern' | 'median of the frames';
  };
  /** Dose scale applied per tilt (1 when not normalised). */
  doseScale: Float64Array;
  /** Detector pixels excluded per tilt (bad ∪ saturated). */
  excludedPixels: Int32Array;
  /** Fraction of the mask's total intensity from probe positions other objects also claim. */
  sharedSignalFraction: Float64Array;
  /**
   * Purity against every segmented particle (the user's other objects and the auto-detected neighbours), per tilt:
   * share of probe positions and of scattered signal in no other particle, and the worse of the two. Set by the
   * extraction job, which knows the project.
   */
  purity?: { probes: Float64Array; signal: Float64Array; purity: Float64Array };
  calibration: Calibration;
}

/** A diffraction peak found on one extracted frame, in detector pixels. */
export interface Peak {
  /** Tilt index of the frame. */
  frame: number;
  x: number;
  y: number;
  intensity: number;
  sigma: number;
}

/** A unit cell: lengths in Å, angles in degrees. */
export interface UnitCell {
  a: number;
  b: number;
  c: number;
  alpha: number;
  beta: number;
  gamma: number;
}

/** An indexed lattice: the cell, its orientation UB (row-major 3×3, Å⁻¹; q = UB · h at tilt 0) and how well it fits. */
export interface Lattice {
  cell: UnitCell;
  UB: [number, number, number, number, number, number, number, number, number];
  /** Bravais lattice symbol, e.g. 'oP', 'mC'. */
  bravais: string;
  /** Share of the peaks the lattice indexes. */
  indexedFraction: number;
}

/** One measured (or merged) reflection. */
export interface Reflection {
  h: number;
  k: number;
  l: number;
  intensity: number;
  sigma: number;
  /** Tilt indices the reflection was measured on. */
  frames: number[];
  dInvA?: number;
}

/** An auto-detected neighbour: a particle the tracker followed besides the user's objects (shown dimmed). */
export interface NeighbourSummary {
  /** Its value in the neighbour label volume. */
  label: number;
  firstTilt: number;
  lastTilt: number;
  /** Tilts it was found on. */
  tilts: number;
  meanAreaPx: number;
}
