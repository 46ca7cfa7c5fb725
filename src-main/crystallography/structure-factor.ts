// Kinematic structure factors for electrons:
//   F(h) = Σ_j occ_j · f_j(s) · exp(−B_j s²) · exp(2πi h·x_j),   s = sinθ/λ = |h|*/2,  B_j = 8π² U_j,
// summed over every atom of the unit cell (symmetry-expanded). F is in Å (the unit of f_e), |F|² in Å²,
// per unit cell — the quantity in shared/ref/sf_*.json. Relativistic scaling (γ) is left to the caller.
import type { Cell } from './lattice';
import { bMatrix, reciprocalMetric } from './lattice';
import { pengCoefficients } from './scattering';
import { unitCellAtoms, type CrystalStructure } from './cif';
import { ParameterError } from '../../src-shared/errors';

/** Flat, typed-array form of the unit cell for fast repeated evaluation. */
export interface StructureFactorModel {
  cell: Cell;
  nAtoms: number;
  /** Fractional coordinates, 3 per atom. */
  fract: Float64Array;
  occupancy: Float64Array;
  /** Debye–Waller B = 8π²U per atom, Å². */
  bIsoA2: Float64Array;
  /** Species index per atom into `species`. */
  speciesIndex: Int32Array;
  species: string[];
  /** Peng coefficients per species: a0..a4, b0..b4. */
  coefficients: Float64Array;
  /** Reciprocal metric G*, row-major 9 numbers. */
  reciprocalMetric: Float64Array;
}

export function prepareStructureFactorModel(structure: CrystalStructure): StructureFactorModel {
  const atoms = unitCellAtoms(structure);
  const species: string[] = [];
  const speciesIndex = new Int32Array(atoms.length);
  const fract = new Float64Array(atoms.length * 3);
  const occupancy = new Float64Array(atoms.length);
  const bIsoA2 = new Float64Array(atoms.length);
  atoms.forEach((atom, j) => {
    let si = species.indexOf(atom.element);
    if (si < 0) {
      si = species.length;
      species.push(atom.element);
    }
    speciesIndex[j] = si;
    fract.set(atom.fract, 3 * j);
    occupancy[j] = atom.occupancy;
    bIsoA2[j] = 8 * Math.PI * Math.PI * atom.uIsoA2;
  });
  const coefficients = new Float64Array(species.length * 10);
  species.forEach((el, si) => {
    const { a, b } = pengCoefficients(el);
    for (let i = 0; i < 5; i++) {
      coefficients[si * 10 + i] = a[i]!;
      coefficients[si * 10 + 5 + i] = b[i]!;
    }
  });
  const gs = reciprocalMetric(structure.cell);
  return {
    cell: structure.cell,
    nAtoms: atoms.length,
    fract,
    occupancy,
    bIsoA2,
    speciesIndex,
    species,
    coefficients,
    reciprocalMetric: Float64Array.from(gs.flat()),
  };
}

export interface StructureFactor {
  re: number;
  im: number;
  /** |F|², Å². */
  f2: number;
  /** 1/d, Å⁻¹. */
  dInvA: number;
}

/** F(hkl) for one reflection. */
export function structureFactor(model: StructureFactorModel, h: number, k: number, l: number): StructureFactor {
  const g = model.reciprocalMetric;
  const q2 = h * (g[0]! * h + g[1]! * k + g[2]! * l) + k * (g[3]! * h + g[4]! * k + g[5]! * l) + l * (g[6]! * h + g[7]! * k + g[8]! * l);
  const s2 = q2 / 4; // s = 1/(2d)
  // f of each species at this s, computed once.
  const nSp = model.species.length;
  const fs = new Float64Array(nSp);
  for (let si = 0; si < nSp; si++) {
    let f = 0;
    for (let i = 0; i < 5; i++) f += model.coefficients[si * 10 + i]! * Math.exp(-model.coefficients[si * 10 + 5 + i]! * s2);
    fs[si] = f;
  }
  let re = 0;
  let im = 0;
  const twoPi = 2 * Math.PI;
  for (let j = 0; j < model.nAtoms; j++) {
    const amp = model.occupancy[j]! * fs[model.speciesIndex[j]!]! * Math.exp(-model.bIsoA2[j]! * s2);
    const phase = twoPi * (h * model.fract[3 * j]! + k * model.fract[3 * j + 1]! + l * model.fract[3 * j + 2]!);
    re += amp * Math.cos(phase);
    im += amp * Math.sin(phase);
  }
  return { re, im, f2: re * re + im * im, dInvA: Math.sqrt(Math.max(q2, 0)) };
}

/** All reflections (h, k, l) ≠ 0 with d ≥ dMinA, i.e. |h|* ≤ 1/dMinA, as a flat list. */
export interface ReflectionList {
  count: number;
  /** h, k, l triples. */
  hkl: Int32Array;
  /** 1/d per reflection, Å⁻¹. */
  dInvA: Float64Array;
}

/**
 * Enumerates every reciprocal-lattice point inside the sphere |h|* ≤ 1/dMinA (full sphere, Friedel mates
 * included: the generator needs all of them). Index bounds follow from |h| ≤ |q|·a (and cyclic), since
 * h = a·q for the direct vector a.
 */
export function enumerateReflections(cell: Cell, dMinA: number): ReflectionList {
  if (!Number.isFinite(dMinA) || dMinA <= 0) throw new ParameterError('dMinA', `must be > 0 Å (got ${dMinA})`);
  const qMax = 1 / dMinA;
  const gs = reciprocalMetric(cell);
  const hMax = Math.floor(qMax * cell.a + 1e-9);
  const kMax = Math.floor(qMax * cell.b + 1e-9);
  const lMax = Math.floor(qMax * cell.c + 1e-9);
  const estimate = (2 * hMax + 1) * (2 * kMax + 1) * (2 * lMax + 1);
  if (estimate > 5e7) throw new ParameterError('dMinA', `resolution ${dMinA} Å gives too many reflections (${estimate})`);
  const hkl: number[] = [];
  const dinv: number[] = [];
  const q2max = qMax * qMax * (1 + 1e-12);
  for (let h = -hMax; h <= hMax; h++) {
    for (let k = -kMax; k <= kMax; k++) {
      for (let l = -lMax; l <= lMax; l++) {
        if (h === 0 && k === 0 && l === 0) continue;
        const q2 =
          gs[0][0] * h * h + gs[1][1] * k * k + gs[2][2] * l * l + 2 * (gs[0][1] * h * k + gs[0][2] * h * l + gs[1][2] * k * l);
        if (q2 <= q2max) {
          hkl.push(h, k, l);
          dinv.push(Math.sqrt(q2));
        }
      }
    }
  }
  return { count: dinv.length, hkl: Int32Array.from(hkl), dInvA: Float64Array.from(dinv) };
}

/** |F|² of every reflection in `list` (Å²), in the same order. */
export function structureFactorsSquared(model: StructureFactorModel, list: ReflectionList): Float64Array {
  const out = new Float64Array(list.count);
  for (let i = 0; i < list.count; i++) {
    out[i] = structureFactor(model, list.hkl[3 * i]!, list.hkl[3 * i + 1]!, list.hkl[3 * i + 2]!).f2;
  }
  return out;
}

/** Cartesian reciprocal vectors B·h in the crystal frame (3 per reflection), Å⁻¹. */
export function crystalFrameVectors(cell: Cell, list: ReflectionList): Float64Array {
  const b = bMatrix(cell);
  const out = new Float64Array(list.count * 3);
  for (let i = 0; i < list.count; i++) {
    const h = list.hkl[3 * i]!;
    const k = list.hkl[3 * i + 1]!;
    const l = list.hkl[3 * i + 2]!;
    out[3 * i] = b[0][0] * h + b[0][1] * k + b[0][2] * l;
    out[3 * i + 1] = b[1][0] * h + b[1][1] * k + b[1][2] * l;
    out[3 * i + 2] = b[2][0] * h + b[2][1] * k + b[2][2] * l;
  }
  return out;
}
