// The synthetic experiments trackED ships and their sizes. Numbers are chosen to look like a
// real 4D-STEM tomography session: 200–300 kV, a 0.6–1.2 mrad probe (so reflections are small disks), a
// counting detector, particles of 20–100 nm on an amorphous carbon film, a few degrees per tilt.
import type { BundledStructure } from '../crystallography/structures';
import type { Vec3 } from '../crystallography/math3';
import type { ShapeKind } from './shapes';

export const PRESET_NAMES = [
  'brookite-agglomerate',
  'cspbbr3-sensitive',
  'single-isolated',
  'monoclinic-pair',
  'monoclinic-hard',
  'monoclinic-hard-thick-film',
  'pseudo-orthorhombic',
] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const SIZE_NAMES = ['small', 'medium', 'large', 'fine'] as const;
export type SizeName = (typeof SIZE_NAMES)[number];

/** Shape of the data set. The named sizes are below; tests may pass their own (tiny) one. */
export interface SizeSpec {
  /** [ny, nx] probe positions. */
  scanShape: [number, number];
  /** [nqy, nqx] detector pixels. */
  detectorShape: [number, number];
  nTilts: number;
  /** Tilts run symmetric about 0°: angle_i = (i − (nTilts − 1)/2) · tiltStepDeg. */
  tiltStepDeg: number;
}

/**
 * small: quick demo and CI (≈0.9 GB, seconds to generate); medium: a realistic session (≈1.9 GB);
 * large: a full-size series (≈33 GB) that only ever exists on disk, streamed a few scan rows at a time; fine: the
 * small scan and detector with the fine tilt steps of 4D-STEM tomography (81 × 0.5°, ≈3.4 GB), whose rocking curves
 * are sampled on several frames, so that integrated intensities mean |F|² (the demo's size).
 *
 * Scan sampling: a 4D-STEM tomography scan samples each particle with many probe positions; the presets'
 * 130–170 nm fields of view at 48 (small, ≈3.5 nm step) and 64 (medium, ≈2.7 nm step) probes per row put
 * 4–6 (small) and 5–8 (medium) probe positions across a 14–20 nm wide rod. (At 32 probes, 5.3 nm, a rod was
 * 3–4 positions wide: too coarse to follow a particle through its tilt-dependent diffraction contrast.) The
 * detectors stay fine enough that the probe's disk (0.8 mrad) is ≈1.2 (small) and ≈1.0 (medium) pixels in
 * radius and the patterns reach 1.25 Å⁻¹.
 */
export const SIZES: Record<SizeName, SizeSpec> = {
  small: { scanShape: [48, 48], detectorShape: [96, 96], nTilts: 21, tiltStepDeg: 4 },
  medium: { scanShape: [64, 64], detectorShape: [80, 80], nTilts: 37, tiltStepDeg: 3 },
  large: { scanShape: [64, 64], detectorShape: [256, 256], nTilts: 61, tiltStepDeg: 2 },
  fine: { scanShape: [48, 48], detectorShape: [96, 96], nTilts: 81, tiltStepDeg: 0.5 },
};

export interface ParticleSpec {
  structure: BundledStructure;
  shape: ShapeKind;
  /** Ranges [min, max] for each semi-axis / half-extent (nm); the seed picks within them. */
  semiAxesNm: [[number, number], [number, number], [number, number]];
  /**
   * Direct-lattice direction [uvw] along the body z axis (the rod's long axis, the cube's face normal).
   * Absent: the crystal orientation is uniformly random with respect to the shape.
   */
  growthUvw?: Vec3;
  /** How it lies on the film: 'long-axis-in-plane' (rods), 'face-down' (cubes, plates), 'random'. */
  pose: 'long-axis-in-plane' | 'face-down' | 'random';
}

export interface PresetSpec {
  name: PresetName;
  description: string;
  voltageKV: number;
  /** Probe convergence semi-angle, mrad. */
  convergenceMrad: number;
  /** Field of view (nm) across the scan; the probe step is fovNm / nx. */
  fovNm: number;
  /** Reciprocal distance (Å⁻¹) at the detector edge; the pixel is edge / (nq/2). */
  detectorEdgeInvA: number;
  rotationAxisDeg: number;
  /** Electrons per probe position (dose per frame). */
  electronsPerProbe: number;
  /** Dwell time per probe position, s (metadata and MIB headers). */
  dwellS: number;
  /**
   * Beam damage: fraction of the Bragg intensity left at the last tilt (1 = no fading). The critical dose
   * follows from the series' accumulated dose, so every size fades alike.
   */
  fadeRemainingAtEnd: number;
  /** Elastic scattering of the amorphous carbon support into its rings, fraction of the beam. */
  filmFraction: number;
  /** Diffuse (thermal-diffuse, inelastic, amorphous surface) scattering per nm of particle, fraction. */
  diffusePerNm: number;
  /** Mean free path for scattering out of the detector, nm (attenuates the direct beam). */
  absorptionLengthNm: number;
  /** 'agglomerate': every particle touches another; 'pair': two touching; 'mixed': first two touch, rest apart; 'isolated'. */
  arrangement: 'agglomerate' | 'pair' | 'mixed' | 'isolated';
  particles: ParticleSpec[];
  /** Standard deviation of the stage-drift random walk per tilt, nm. */
  driftStepNm: number;
  /** Where touching particles meet: in a random in-plane direction (default), or along the tilt axis. */
  contact?: 'random' | 'along-tilt-axis';
  /** This preset's own named sizes, where they differ from SIZES (e.g. a fine-step series). */
  sizes?: Partial<Record<SizeName, SizeSpec>>;
}

const BROOKITE_ROD: ParticleSpec = {
  structure: 'brookite_TiO2.cif',
  shape: 'rod',
  semiAxesNm: [
    [7, 10],
    [7, 10],
    [20, 34],
  ],
  // Brookite nanorods grow along c.
  growthUvw: [0, 0, 1],
  pose: 'long-axis-in-plane',
};

const CSPBBR3_CUBE: ParticleSpec = {
  structure: 'CsPbBr3_cubic.cif',
  shape: 'cuboid',
  semiAxesNm: [
    [13, 16],
    [13, 16],
    [13, 16],
  ],
  growthUvw: [0, 0, 1],
  pose: 'face-down',
};

const GA2O3_ROD: ParticleSpec = {
  structure: 'beta_Ga2O3.cif',
  shape: 'cuboid',
  semiAxesNm: [
    [10, 13],
    [8, 10],
    [24, 32],
  ],
  // β-Ga2O3 nanorods and belts grow along b.
  growthUvw: [0, 1, 0],
  pose: 'long-axis-in-plane',
};

// A thick β-Ga2O3 crystal: 22–28 nm along the beam, so its strongest reflections carry about as many electrons as
// the direct beam in a particle-only sum.
const GA2O3_THICK: ParticleSpec = {
  structure: 'beta_Ga2O3.cif',
  shape: 'cuboid',
  semiAxesNm: [
    [11, 14],
    [11, 14],
    [18, 24],
  ],
  growthUvw: [0, 1, 0],
  pose: 'long-axis-in-plane',
};

/**
 * The hard case: a fine-step series (121 tilts of 0.5°) of a monoclinic, pseudo-orthorhombic crystal (β-Ga2O3:
 * a cos β ≈ −c/2, so (c, b, 2a + c) is nearly an orthorhombic C cell) touching a neighbour, on a coarse scan.
 */
const HARD_SIZES: Partial<Record<SizeName, SizeSpec>> = {
  small: { scanShape: [32, 32], detectorShape: [96, 96], nTilts: 121, tiltStepDeg: 0.5 },
  medium: { scanShape: [48, 48], detectorShape: [96, 96], nTilts: 121, tiltStepDeg: 0.5 },
  large: { scanShape: [64, 64], detectorShape: [256, 256], nTilts: 241, tiltStepDeg: 0.25 },
};

const HARD_BASE = {
  voltageKV: 300,
  convergenceMrad: 0.6,
  fovNm: 120,
  detectorEdgeInvA: 1.1,
  rotationAxisDeg: -21,
  electronsPerProbe: 5000,
  dwellS: 0.001,
  fadeRemainingAtEnd: 1,
  diffusePerNm: 0.001,
  absorptionLengthNm: 220,
  arrangement: 'pair' as const,
  contact: 'along-tilt-axis' as const,
  particles: [GA2O3_THICK, GA2O3_THICK],
  driftStepNm: 0.4,
  sizes: HARD_SIZES,
};

export const PRESETS: Record<PresetName, PresetSpec> = {
  'brookite-agglomerate': {
    name: 'brookite-agglomerate',
    description: 'Five touching TiO2 brookite nanorods (Pbca) on carbon, 200 kV',
    voltageKV: 200,
    convergenceMrad: 0.8,
    fovNm: 170,
    detectorEdgeInvA: 1.25,
    rotationAxisDeg: 12.5,
    electronsPerProbe: 6000,
    dwellS: 0.001,
    fadeRemainingAtEnd: 1,
    filmFraction: 0.05,
    diffusePerNm: 0.0012,
    absorptionLengthNm: 160,
    arrangement: 'agglomerate',
    particles: [BROOKITE_ROD, BROOKITE_ROD, BROOKITE_ROD, BROOKITE_ROD, BROOKITE_ROD],
    driftStepNm: 1.2,
  },
  'cspbbr3-sensitive': {
    name: 'cspbbr3-sensitive',
    description: 'Four ~30 nm CsPbBr3 cubes (Pm-3m), low dose, intensities fading with accumulated dose, 200 kV',
    voltageKV: 200,
    convergenceMrad: 1.0,
    fovNm: 150,
    detectorEdgeInvA: 1.25,
    rotationAxisDeg: -33,
    electronsPerProbe: 700,
    dwellS: 0.0005,
    fadeRemainingAtEnd: 0.3,
    filmFraction: 0.05,
    diffusePerNm: 0.0015,
    absorptionLengthNm: 120,
    arrangement: 'mixed',
    particles: [CSPBBR3_CUBE, CSPBBR3_CUBE, CSPBBR3_CUBE, CSPBBR3_CUBE],
    driftStepNm: 1.5,
  },
  'single-isolated': {
    name: 'single-isolated',
    description: 'One brookite TiO2 ellipsoid, the easy case, 200 kV',
    voltageKV: 200,
    convergenceMrad: 0.8,
    fovNm: 130,
    detectorEdgeInvA: 1.25,
    rotationAxisDeg: 27,
    electronsPerProbe: 6000,
    dwellS: 0.001,
    fadeRemainingAtEnd: 1,
    filmFraction: 0.05,
    diffusePerNm: 0.0012,
    absorptionLengthNm: 160,
    arrangement: 'isolated',
    particles: [
      {
        structure: 'brookite_TiO2.cif',
        shape: 'ellipsoid',
        semiAxesNm: [
          [30, 36],
          [22, 26],
          [16, 20],
        ],
        pose: 'face-down',
      },
    ],
    driftStepNm: 1.0,
  },
  'monoclinic-pair': {
    name: 'monoclinic-pair',
    description: 'Two touching β-Ga2O3 rods (C2/m, β = 103.8°), 300 kV',
    voltageKV: 300,
    convergenceMrad: 0.6,
    fovNm: 150,
    detectorEdgeInvA: 1.1,
    rotationAxisDeg: 64,
    electronsPerProbe: 5000,
    dwellS: 0.001,
    fadeRemainingAtEnd: 1,
    filmFraction: 0.04,
    diffusePerNm: 0.001,
    absorptionLengthNm: 200,
    arrangement: 'pair',
    particles: [GA2O3_ROD, GA2O3_ROD],
    driftStepNm: 1.2,
  },
  'monoclinic-hard': {
    name: 'monoclinic-hard',
    description: 'A thick β-Ga2O3 crystal (C2/m, pseudo-orthorhombic) touching a neighbour, 121 tilts of 0.5°, 300 kV',
    filmFraction: 0.1,
    ...HARD_BASE,
  },
  'monoclinic-hard-thick-film': {
    name: 'monoclinic-hard-thick-film',
    description: 'monoclinic-hard on a thick support film whose rings carry most of the counts (little contrast in virtual images)',
    filmFraction: 0.7,
    ...HARD_BASE,
  },
  'pseudo-orthorhombic': {
    name: 'pseudo-orthorhombic',
    description: 'One monoclinic P21/c crystal whose cell is within 0.2° of orthorhombic (β = 90.18°, atoms in general positions), 1° steps, 200 kV',
    voltageKV: 200,
    convergenceMrad: 0.7,
    fovNm: 120,
    detectorEdgeInvA: 1.2,
    rotationAxisDeg: -48,
    electronsPerProbe: 6000,
    dwellS: 0.001,
    fadeRemainingAtEnd: 1,
    filmFraction: 0.05,
    diffusePerNm: 0.001,
    absorptionLengthNm: 180,
    arrangement: 'isolated',
    particles: [
      {
        structure: 'pseudo_ortho_ZnMoO4.cif',
        shape: 'cuboid',
        semiAxesNm: [
          [16, 20],
          [14, 18],
          [12, 15],
        ],
        pose: 'random',
      },
    ],
    driftStepNm: 0.8,
    // Judging symmetry from intensities needs whole rocking curves: fine steps over a 60° range.
    sizes: {
      small: { scanShape: [32, 32], detectorShape: [128, 128], nTilts: 61, tiltStepDeg: 1 },
      medium: { scanShape: [48, 48], detectorShape: [128, 128], nTilts: 121, tiltStepDeg: 0.5 },
      large: { scanShape: [64, 64], detectorShape: [256, 256], nTilts: 241, tiltStepDeg: 0.25 },
    },
  },
};

/** Tilt angles of a size, degrees. */
export function tiltAnglesDeg(size: SizeSpec): number[] {
  return Array.from({ length: size.nTilts }, (_, i) => Math.round((i - (size.nTilts - 1) / 2) * size.tiltStepDeg * 1e6) / 1e6);
}

/** Bytes of pixel data a preset writes at a size (uint16). */
export function dataBytes(size: SizeSpec): number {
  return size.scanShape[0] * size.scanShape[1] * size.detectorShape[0] * size.detectorShape[1] * 2 * size.nTilts;
}
