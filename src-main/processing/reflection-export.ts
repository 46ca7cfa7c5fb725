// The reflection files of one reduced object (ARCHITECTURE §9): NAME.hkl (SHELX HKLF 4, unmerged, scaled), NAME.ins
// (cell, ZERR, LATT/SYMM of the space group, electron SFAC, UNIT), NAME.cif (merged and unmerged `_refln_` loops) and
// NAME.cif_pets (per-frame reflections and orientations for Jana2020's dynamical refinement), as texts.
//
// The PETS frame: beam along −Z, rotation axis along +X. Ours (ARCHITECTURE §4) has the beam along +Z and the axis in
// the XY plane at ω from +X, so x_P = ê (the axis), z_P = −Z, y_P = z_P × x_P; UB_P = T·UB at tilt 0, and each frame is
// the rotation α (its tilt) about x_P, β = 0, with ω the axis angle on the detector.
import { ParameterError } from '../../src-shared/errors';
import type { Cell } from '../crystallography/lattice';
import { matMul, type Mat3 } from '../crystallography/math3';
import { goniometerRotation } from '../crystallography/geometry';
import { isSystematicallyAbsent, shelxLattSymm, type SpaceGroup } from '../crystallography/space-groups';
import { elementData } from '../crystallography/elements';
import { formatCifPets, formatHklf4, formatIns, formatReflnCif, zoneAxisOf, type HklfReflection, type InsSfacFit } from '../io/export';
import { OBSERVATION_FLAGS } from './integrate';
import type { ReducedObject } from './reduce';

export interface CompositionEntry {
  element: string;
  count: number;
}

/** "Ti8 O16", "Zr4O8", "C12 H10 N2": atoms per unit cell. */
export function parseComposition(text: string): CompositionEntry[] {
  const t = text.trim();
  if (!t) throw new ParameterError('composition', 'is empty: give the unit-cell contents, e.g. "Ti8 O16"');
  const out: CompositionEntry[] = [];
  const re = /([A-Z][a-z]?)\s*(\d+(?:\.\d+)?)?/gy;
  let pos = 0;
  while (pos < t.length) {
    if (/\s/.test(t[pos])) {
      pos++;
      continue;
    }
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) throw new ParameterError('composition', `cannot read "${t.slice(pos, pos + 12)}" in "${t}": write element symbols with counts, e.g. "Ti8 O16"`);
    if (!elementData(m[1])) throw new ParameterError('composition', `"${m[1]}" is not an element symbol`);
    const count = m[2] === undefined ? 1 : Number(m[2]);
    if (!(count > 0)) throw new ParameterError('composition', `the count of ${m[1]} must be positive`);
    if (out.some((e) => e.element === m[1])) throw new ParameterError('composition', `${m[1]} is listed twice`);
    out.push({ element: m[1], count });
    pos = re.lastIndex;
  }
  return out;
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/** Formula units per cell: the greatest common divisor of the (integer) counts, 1 otherwise. */
export function formulaUnits(composition: readonly CompositionEntry[]): number {
  if (!composition.every((e) => Number.isInteger(e.count))) return 1;
  return composition.reduce((g, e) => gcd(g, e.count), 0) || 1;
}

export interface ReflectionFilesInput {
  name: string;
  wavelengthA: number;
  cell: Cell;
  cellEsd: number[];
  /** UB of the conventional cell at tilt 0 (q = R(φ)·UB·h). */
  ub: Mat3;
  axisDeg: number;
  anglesDeg: ArrayLike<number>;
  tiltOffsetsDeg?: ArrayLike<number>;
  reduced: ReducedObject;
  spaceGroup: SpaceGroup;
  composition?: CompositionEntry[];
  /** Frame numbers as HKLF batches (default false). */
  batches?: boolean;
  rockingWidthInvA: number;
}

export interface ReflectionFiles {
  hkl: string;
  ins: string | null;
  cif: string;
  cifPets: string;
  sfacFits: InsSfacFit[];
  nUnmerged: number;
  hklScale: number;
}

/** Rows of the unmerged data that go into the files: used, not absent in the space group. */
function unmergedRows(r: ReducedObject, sg: SpaceGroup): number[] {
  const rows: number[] = [];
  const hkl = r.integrated.hkl;
  for (let i = 0; i < r.use.length; i++) {
    if (!r.use[i] || !(r.scaled.sigma[i] > 0) || !Number.isFinite(r.scaled.intensity[i])) continue;
    if (isSystematicallyAbsent(sg, hkl[3 * i], hkl[3 * i + 1], hkl[3 * i + 2])) continue;
    rows.push(i);
  }
  return rows;
}

/** The middle frame of each reflection's curve (1-based), for the batch and the CIF's frame column. */
function middleFrame(r: ReducedObject, i: number): number {
  return Math.round((r.integrated.firstFrame[i] + r.integrated.lastFrame[i]) / 2) + 1;
}

/** The `.cif_pets` input: one zone-axis row per included frame, the frame's core observations as its reflections. */
function cifPetsText(inp: ReflectionFilesInput, rows: Set<number>): string {
  const axis = [Math.cos((inp.axisDeg * Math.PI) / 180), Math.sin((inp.axisDeg * Math.PI) / 180), 0];
  // T: rows x_P = ê, y_P = (−Z) × ê, z_P = −Z.
  const t: Mat3 = [
    [axis[0], axis[1], 0],
    [axis[1], -axis[0], 0],
    [0, 0, -1],
  ];
  const red = inp.reduced;
  const obs = red.integrated.observations;
  const frames = [...new Set(Array.from(obs.frame))].sort((a, b) => a - b);
  const zoneAxes = frames.map((f, k) => {
    const angle = inp.anglesDeg[f] + (inp.tiltOffsetsDeg?.[f] ?? 0);
    const [u, v, w] = zoneAxisOf(matMul(goniometerRotation(inp.axisDeg, angle), inp.ub), [0, 0, 1]);
    return { id: k + 1, u, v, w, precessionAngleDeg: 0, alphaDeg: angle, betaDeg: 0, omegaDeg: inp.axisDeg, scale: red.scaled.frameScale[f] };
  });
  const idOf = new Map(frames.map((f, k) => [f, k + 1]));
  const hkl = red.integrated.hkl;
  const reflections = [];
  const a = red.scaled.errorModel.a;
  for (let i = 0; i < obs.reflection.length; i++) {
    const r = obs.reflection[i];
    if (!rows.has(r) || obs.flags[i] & OBSERVATION_FLAGS.overlap || Math.abs(obs.s[i]) > 2 * inp.rockingWidthInvA) continue;
    const k = red.scaled.frameScale[obs.frame[i]];
    reflections.push({ h: hkl[3 * r], k: hkl[3 * r + 1], l: hkl[3 * r + 2], intensity: obs.intensity[i] / k, sigma: (a * obs.sigma[i]) / k, zoneAxisId: idOf.get(obs.frame[i])! });
  }
  let dMin = Infinity;
  for (const r of rows) dMin = Math.min(dMin, red.integrated.dA[r]);
  return formatCifPets({
    name: inp.name.replace(/[^A-Za-z0-9_.-]/g, '_'),
    wavelengthA: inp.wavelengthA,
    cell: inp.cell,
    ub: matMul(t, inp.ub),
    omegaDeg: inp.axisDeg,
    dStarMaxInvA: Number.isFinite(dMin) ? 1 / dMin : 1,
    rcWidthInvA: Number.isFinite(inp.rockingWidthInvA) ? inp.rockingWidthInvA : 0,
    mosaicityDeg: 0,
    reflectionSizePx: 2 * red.integrated.radiusPx,
    geometry: 'stepwise',
    virtualFrames: { nMerged: 1, step: 1 },
    zoneAxes,
    reflections,
  });
}

/** All four files' texts. */
export function reflectionFiles(inp: ReflectionFilesInput): ReflectionFiles {
  const red = inp.reduced;
  const rows = unmergedRows(red, inp.spaceGroup);
  const hkl = red.integrated.hkl;
  const hklRows: HklfReflection[] = rows.map((i) => ({
    h: hkl[3 * i],
    k: hkl[3 * i + 1],
    l: hkl[3 * i + 2],
    intensity: red.scaled.intensity[i],
    sigma: red.scaled.sigma[i],
    ...(inp.batches ? { batch: Math.min(9999, middleFrame(red, i)) } : {}),
  }));
  const { text: hklText, scale } = formatHklf4(hklRows);
  const safe = inp.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  const merged = red.merged;
  const mergedRows = [];
  for (let u = 0; u < merged.intensity.length; u++) {
    if (!Number.isFinite(merged.intensity[u]) || isSystematicallyAbsent(inp.spaceGroup, merged.hkl[3 * u], merged.hkl[3 * u + 1], merged.hkl[3 * u + 2])) continue;
    mergedRows.push({ h: merged.hkl[3 * u], k: merged.hkl[3 * u + 1], l: merged.hkl[3 * u + 2], intensity: merged.intensity[u] * scale, sigma: merged.sigma[u] * scale });
  }
  const [ea, eb, ec, eal, ebe, ega] = inp.cellEsd;
  const cif = formatReflnCif({
    name: safe,
    cell: inp.cell,
    cellEsd: { a: ea, b: eb, c: ec, alpha: eal, beta: ebe, gamma: ega },
    wavelengthA: inp.wavelengthA,
    spaceGroupHM: inp.spaceGroup.hm,
    unmerged: rows.map((i) => ({ h: hkl[3 * i], k: hkl[3 * i + 1], l: hkl[3 * i + 2], intensity: red.scaled.intensity[i] * scale, sigma: red.scaled.sigma[i] * scale, frame: middleFrame(red, i) })),
    merged: mergedRows,
  });
  let ins: string | null = null;
  let sfacFits: InsSfacFit[] = [];
  if (inp.composition?.length) {
    const { latt, symm } = shelxLattSymm(inp.spaceGroup);
    const out = formatIns({ title: `${inp.name} in ${inp.spaceGroup.hm.replace(/ :.*$/, '')}`, wavelengthA: inp.wavelengthA, cell: inp.cell, cellEsd: inp.cellEsd, z: formulaUnits(inp.composition), latt, symm, composition: inp.composition });
    ins = out.text;
    sfacFits = out.sfacFits;
  }
  return { hkl: hklText, ins, cif, cifPets: cifPetsText(inp, new Set(rows)), sfacFits, nUnmerged: rows.length, hklScale: scale };
}
