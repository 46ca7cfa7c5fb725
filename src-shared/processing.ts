// What processing (peaks → rotation axis → lattice, ARCHITECTURE §9) shows outside main: report.json's `lattice`
// section, the Processing tab's results, and the parameters a person may set, with the schemas main validates them
// against. Shared by the pipeline (which fills them), the IPC contract and the renderer.
import { z } from 'zod';
import type { UnitCell } from './domain';

export type { UnitCell };

/** The 14 Bravais lattices by their Pearson-style symbols (crystal family letter + centring). */
export type BravaisSymbol = 'aP' | 'mP' | 'mC' | 'oP' | 'oC' | 'oI' | 'oF' | 'tP' | 'tI' | 'hP' | 'hR' | 'cP' | 'cI' | 'cF';

export type Severity = 'info' | 'warning' | 'error';
/** A plain sentence about what processing found or could not do, with a stable code for tests and tools. */
export interface Statement {
  severity: Severity;
  /** too-few-peaks, no-lattice, second-lattice, cell-mismatch, pseudo-symmetry, symmetry-from-metric, … */
  code: string;
  message: string;
}

/** report.json `lattice` (ARCHITECTURE §6). */
export interface LatticeReport {
  status: 'indexed' | 'failed';
  cell: UnitCell | null;
  cellEsd: UnitCell | null;
  bravais: BravaisSymbol | null;
  /** q = R(φ)·UB·h at tilt 0 (Å⁻¹, the lab frame of ARCHITECTURE §4), conventional setting; rows of three. */
  ub: number[][] | null;
  /** The refined rotation axis, degrees from +x towards +y (direction included). */
  rotationAxisDeg: number | null;
  reducedCell: UnitCell | null;
  indexedFraction: number | null;
  nPeaks: number;
  rmsdPx: number | null;
  rmsdPhiDeg: number | null;
  /** The Bravais candidates with their metric misfit and the intensity evidence, highest symmetry first. */
  candidates: Array<{ bravais: BravaisSymbol; cell: UnitCell; misfitDeg: number; cc: number | null; nPairs: number; verdict: string; chosen: boolean }>;
  friedel: { cc: number | null; nPairs: number } | null;
  /** Tolerances the search used. */
  tolerances: { maxMisfitDeg: number };
  perFrameRefined: { beamCentre: boolean; tilt: boolean } | null;
  /** Per frame: [frame, tiltDeg, nIndexed, rmsdPx, phiResidualDeg, outlier]. */
  perFrame: Array<[number, number, number, number | null, number | null, boolean]>;
  otherLattices: Array<{ cell: UnitCell; nPeaks: number }>;
  statements: Statement[];
}

const finite = z.number().finite();

/** Peak-search parameters a person may set (absent: the default the pipeline derives from the data). */
export const peakParametersSchema = z
  .object({
    /** Integration disk radius, px (default 1.8 × the direct beam's half width). */
    radiusPx: finite.min(0.5).max(50).optional(),
    minIOverSigma: finite.min(0.5).max(1000).optional(),
    minSeparationPx: finite.min(0).max(200).optional(),
    /** Around the direct beam, px: nothing is searched inside. */
    excludeRadiusPx: finite.min(0).max(500).optional(),
    /** Resolution limits, Å (dMaxA: the low-resolution end). */
    dMinA: finite.min(0.05).max(100).optional(),
    dMaxA: finite.min(0.1).max(1000).optional(),
    /** Counts per pixel unit. */
    gain: finite.positive().max(1e6).optional(),
    maxPeaksPerFrame: z.number().int().min(1).max(100_000).optional(),
  })
  .strict()
  .refine((p) => !(p.dMinA && p.dMaxA) || p.dMinA < p.dMaxA, { message: 'dMinA must be below dMaxA' });
export type PeakParametersInput = z.input<typeof peakParametersSchema>;

export const unitCellSchema = z
  .object({
    a: finite.min(1).max(1000),
    b: finite.min(1).max(1000),
    c: finite.min(1).max(1000),
    alpha: finite.min(10).max(170),
    beta: finite.min(10).max(170),
    gamma: finite.min(10).max(170),
  })
  .strict();

export const PER_FRAME_CORRECTIONS = ['auto', 'none', 'beam-centre', 'tilt', 'both'] as const;

/** Lattice parameters a person may set. */
export const latticeParametersSchema = z
  .object({
    /** In-plane rotation axis, degrees from +qx towards +qy: set, the search is skipped (still refined unless fixAxis). */
    axisDeg: finite.min(-360).max(360).optional(),
    fixAxis: z.boolean().optional(),
    /** A known cell: only the orientation is found and refined. */
    knownCell: unitCellSchema.optional(),
    minCellA: finite.min(1).max(500).optional(),
    maxCellA: finite.min(2).max(1000).optional(),
    /** Highest metric misfit (degrees) a Bravais candidate may have. */
    maxMisfitDeg: finite.min(0).max(10).optional(),
    perFrame: z.enum(PER_FRAME_CORRECTIONS).optional(),
    /** Fit the rocking-curve centres as well as the positions. */
    rockingCentres: z.boolean().optional(),
  })
  .strict()
  .refine((p) => !(p.minCellA && p.maxCellA) || p.minCellA < p.maxCellA, { message: 'minCellA must be below maxCellA' });
export type LatticeParametersInput = z.input<typeof latticeParametersSchema>;

/** One object's processing state as the Processing tab shows it. */
export interface ProcessingSummary {
  seriesId: string;
  objectId: number;
  nFrames: number;
  peaks: {
    params: PeakParametersInput;
    /** The disk radius used (the given one or the default from the direct beam). */
    radiusPx: number;
    nPeaks: number;
    /** Peaks per frame. */
    perFrame: number[];
    added: number;
    removed: number;
  } | null;
  lattice: (LatticeReport & {
    params: LatticeParametersInput;
    axis: { foundDeg: number | null; refinedDeg: number; esdDeg: number } | null;
  }) | null;
  /** The peaks changed after the lattice was found: its indices no longer match them. */
  latticeStale: boolean;
  /** Integrated, scaled and merged reflections of the current lattice; dropped when the peaks or the lattice change. */
  integration: (IntegrationReport & { params: IntegrationParametersInput }) | null;
}

/** One frame's peaks, columns as typed arrays (detector px; hkl 3 per peak, valid where indexed = 1). */
export interface FramePeaks {
  frame: number;
  x: Float32Array;
  y: Float32Array;
  intensity: Float32Array;
  sigma: Float32Array;
  manual: Uint8Array;
  indexed: Uint8Array;
  hkl: Int32Array;
  radiusPx: number;
  /** The beam centre used on this frame (refined where the lattice is), [cx, cy]; null where unknown. */
  beamCentre: [number, number] | null;
}

/** Merging statistics of one resolution shell (or of all data). */
export interface ShellStatisticsReport {
  dMaxA: number;
  dMinA: number;
  nObserved: number;
  nUnique: number;
  nPossible: number;
  completeness: number;
  multiplicity: number;
  rInt: number | null;
  rMeas: number | null;
  ccHalf: number | null;
  meanIOverSigma: number;
}

/** report.json `integration`: what integration, scaling and merging gave, and the symmetry the data support. */
export interface IntegrationReport {
  status: 'integrated' | 'failed';
  statements: Statement[];
  /** Reflections predicted and integrated, and those that went into scaling and merging. */
  nPredicted: number;
  nReflections: number;
  nUnique: number;
  nProfileFitted: number;
  flagged: { partial: number; overlap: number; nearAxis: number; edge: number; masked: number };
  /** Fraction of the merged reflections whose rocking curve was sampled on fewer than two frames. */
  singleFrameFraction: number;
  completeness: number;
  multiplicity: number;
  rInt: number | null;
  rMeas: number | null;
  ccHalf: number | null;
  meanIOverSigma: number;
  dMinA: number;
  dMaxA: number;
  shells: ShellStatisticsReport[];
  radiusPx: number;
  rockingWidthInvA: number | null;
  lorentz: boolean;
  errorModel: { a: number; b: number };
  frameScale: { min: number; max: number; refined: boolean };
  laue: { chosen: string; friedelCc: number | null; candidates: Array<{ laue: string; worstRelativeCc: number | null; verdict: string; chosen: boolean }>; operators: Array<{ operator: string; nPairs: number; cc: number | null }> };
  spaceGroup: { number: number; hm: string; given: boolean; candidates: Array<{ number: number; hm: string; setting?: string; nAbsentTested: number; nViolations: number; meanIOverSigmaAbsent: number | null; logLikelihood: number; chosen: boolean }> };
  /**
   * The cell of the reflection files (the space group's standard setting) and that setting on the lattice's axes:
   * new basis = lattice basis · p (columns), as text ('c,a,b'); Miller indices in the files are pᵀ·h.
   */
  cell?: UnitCell;
  setting?: { axes: string; p: number[][] };
  /** SFAC fits written into NAME.ins (per element: largest and rms relative error against Peng, 0 ≤ s ≤ 2 Å⁻¹). */
  sfac: Array<{ element: string; maxRelativeError: number; rmsRelativeError: number }>;
}

/**
 * Integration parameters a person may set (absent: the data decide). The space group is a Hermann–Mauguin symbol or
 * a number; main checks it against the 230 groups.
 */
export const integrationParametersSchema = z
  .object({
    /** Given: its Laue class merges and its absences are not judged; absent: ranked from the data. */
    spaceGroup: z.union([z.string().trim().min(1).max(40), z.number().int()]).optional(),
    /** Fit a smooth scale per frame (dose fading, a changing illuminated volume). */
    frameScales: z.boolean().optional(),
    /** Frame scales and a B that changes with the tilt. */
    bFactor: z.boolean().optional(),
    /** High-resolution limit, Å (default: the peak search's, else the detector's corner). */
    dMinA: finite.positive().max(100).optional(),
    /** Only these tilts (1-based, as the timeline numbers them, inclusive); absent: every extracted tilt. */
    tilts: z
      .object({ first: z.number().int().min(1), last: z.number().int().min(1) })
      .strict()
      .refine((t) => t.first < t.last, { message: 'the first tilt must come before the last', path: ['first'] })
      .optional(),
  })
  .strict();
export type IntegrationParametersInput = z.input<typeof integrationParametersSchema>;

/** A file stem: letters, digits, '_', '.', '-' (no folders). */
export const REFLECTION_FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** What the reflection files hold: the fields the preview and the writing of NAME.hkl/.ins/.cif/.cif_pets share. */
export const reflectionFilesShape = {
  name: z.string().max(80).regex(REFLECTION_FILE_NAME, 'use letters, digits, "_", "." and "-" only (no folders)'),
  /** Unit-cell contents ("Ti8 O16"): NAME.ins is written only with it. */
  composition: z.string().trim().min(1).max(200).optional(),
  /** The group the data were merged in, to make sure the files are written in it (another one: integrate again). */
  spaceGroup: z.union([z.string().trim().min(1).max(40), z.number().int()]).optional(),
  /** NAME.hkl: each reflection's frame as its batch number. */
  batches: z.boolean().optional(),
  /** NAME.hkl: the merged unique reflections instead of the scaled unmerged ones. */
  merged: z.boolean().optional(),
  /**
   * Other integrated objects of the series to merge with this one into one data set (their cells must agree): NAME.hkl
   * then has one batch per particle, and there is no NAME.cif_pets (its frames belong to one particle).
   */
  mergeWith: z.array(z.number().int().min(0)).max(64).optional(),
};
/** Batches number unmerged records: both together are refused. */
export const batchesOrMerged: [(p: { batches?: boolean | undefined; merged?: boolean | undefined }) => boolean, { message: string; path: string[] }] = [
  (p) => !(p.batches && p.merged),
  { message: 'batches number unmerged reflections: choose batches or merged, not both', path: ['batches'] },
];
export const reflectionFilesSchema = z.object(reflectionFilesShape).strict().refine(...batchesOrMerged);
export type ReflectionFilesInput = z.input<typeof reflectionFilesSchema>;

export type ReflectionFileKind = 'hkl' | 'ins' | 'cif' | 'cifPets';

/** One particle of a merged group: joined or why not, and how it compares with the reference particle. */
export interface ParticleMergeReport {
  objectId: number;
  name: string;
  reference: boolean;
  accepted: boolean;
  /** Why it was left out ('' when accepted). */
  reason: string;
  /** Multiplier onto the reference's scale. */
  scale: number | null;
  /** Reindexing onto the reference's indices ('h,k,l' when none). */
  reindex: string;
  nCommon: number;
  cc: number | null;
  r: number | null;
  cellDiff: { lengthPct: number; angleDeg: number };
}

/** Several particles merged into one data set: each particle's outcome and the group's merging statistics. */
export interface ReflectionGroupReport {
  spaceGroup: string;
  cell: UnitCell;
  particles: ParticleMergeReport[];
  overall: ShellStatisticsReport;
  shells: ShellStatisticsReport[];
}

/** The first lines of each file as it would be written. */
export interface ReflectionPreview {
  /** The group the files are written in and its setting on the lattice's axes. */
  spaceGroup: string;
  setting: string;
  /** Reflections in NAME.hkl (unmerged or merged). */
  nHkl: number;
  files: Array<{ kind: ReflectionFileKind; fileName: string; head: string[]; totalLines: number; bytes: number }>;
  statements: Statement[];
  /** Present when other particles were merged in. */
  group: ReflectionGroupReport | null;
}

/** What writing the reflection files did. */
export interface ReflectionExportResult {
  folder: string;
  files: Array<{ kind: ReflectionFileKind; path: string; bytes: number }>;
  statements: Statement[];
  group: ReflectionGroupReport | null;
}
