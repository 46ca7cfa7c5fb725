// The reflection files of one reduced object (ARCHITECTURE §9): NAME.hkl (SHELX HKLF 4, unmerged, scaled), NAME.ins
// (cell, ZERR, LATT/SYMM of the space group, electron SFAC, UNIT), NAME.cif (merged and unmerged `_refln_` loops) and
// NAME.cif_pets (per-frame reflections and orientations for Jana2020's dynamical refinement), as texts.
//
// The PETS frame: beam along −Z, rotation axis along +X. Ours (ARCHITECTURE §4) has the beam along +Z and the axis in
// the XY plane at ω from +X, so x_P = ê (the axis), z_P = −Z, y_P = z_P × x_P; UB_P = T·UB at tilt 0, and each frame is
// the rotation α (its tilt) about x_P, β = 0, with ω the axis angle on the detector.
import { ParameterError } from '../../src-shared/errors';
import { directMetric, type Cell } from '../crystallography/lattice';
import { inverse3, matMul, transpose, type Mat3 } from '../crystallography/math3';
import { goniometerRotation } from '../crystallography/geometry';
import { isSystematicallyAbsent, shelxLattSymm, type SpaceGroup } from '../crystallography/space-groups';
import { elementData } from '../crystallography/elements';
import { formatCifPets, formatHklf4, formatIns, formatReflnCif, zoneAxisOf, type HklfReflection, type InsSfacFit } from '../io/export';
import { OBSERVATION_FLAGS } from './integrate';
import type { ParticleReflections } from './merge-particles';
import type { ReducedObject } from './reduce';
import { cellEsdOf } from './refine';
import { canonicalHkl } from './scale-merge';
import { hklInSetting, millerLaueOps } from './space-group-ranking';

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
  /** Our conventional cell, its esds and (for esds in another setting) the refinement's UB covariance. */
  cell: Cell;
  cellEsd: number[];
  esdBasis?: { ub: Mat3; covariance: number[][]; toConventional: Mat3 };
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
  /** The cell the files are written in (the space group's standard setting) and that setting on our axes. */
  cell: Cell;
  setting: string;
}

/** The files' setting: the space group's standard axes on our cell (reduced.setting), with hkl, cell, esds and UB in it. */
interface FileSetting {
  hkl: (h: number, k: number, l: number) => [number, number, number];
  cell: Cell;
  cellEsd: number[];
  ub: Mat3;
}

function fileSetting(inp: ReflectionFilesInput): FileSetting {
  const p = inp.reduced.setting;
  const g = directMetric(inp.cell);
  const g2 = matMul(matMul(transpose(p), g), p);
  const len = [0, 1, 2].map((i) => Math.sqrt(g2[i][i]));
  const ang = (i: number, j: number): number => Number(((Math.acos(g2[i][j] / (len[i] * len[j])) * 180) / Math.PI).toFixed(6));
  const cell: Cell = { a: len[0], b: len[1], c: len[2], alpha: ang(1, 2), beta: ang(0, 2), gamma: ang(0, 1) };
  const cellEsd = inp.esdBasis ? cellEsdOf(inp.esdBasis.ub, inp.esdBasis.covariance, matMul(inp.esdBasis.toConventional, p)) : inp.cellEsd;
  return { hkl: (h, k, l) => hklInSetting(p, h, k, l), cell, cellEsd, ub: matMul(inp.ub, transpose(inverse3(p))) };
}

/** Rows of the unmerged data that go into the files: used, not absent in the space group. */
function unmergedRows(r: ReducedObject, sg: SpaceGroup, st: FileSetting): number[] {
  const rows: number[] = [];
  const hkl = r.integrated.hkl;
  for (let i = 0; i < r.use.length; i++) {
    if (!r.use[i] || !(r.scaled.sigma[i] > 0) || !Number.isFinite(r.scaled.intensity[i])) continue;
    if (isSystematicallyAbsent(sg, ...st.hkl(hkl[3 * i], hkl[3 * i + 1], hkl[3 * i + 2]))) continue;
    rows.push(i);
  }
  return rows;
}

/** One particle's scaled unmerged reflections in the files' setting, absences left out: what mergeParticles joins. */
export function particleReflections(inp: ReflectionFilesInput): ParticleReflections {
  const st = fileSetting(inp);
  const red = inp.reduced;
  const rows = unmergedRows(red, inp.spaceGroup, st);
  const hkl = new Int32Array(3 * rows.length);
  rows.forEach((i, n) => hkl.set(st.hkl(red.integrated.hkl[3 * i], red.integrated.hkl[3 * i + 1], red.integrated.hkl[3 * i + 2]), 3 * n));
  return {
    name: inp.name,
    cell: st.cell,
    spaceGroupNumber: inp.spaceGroup.number,
    cellEsd: st.cellEsd,
    hkl,
    intensity: Float64Array.from(rows, (i) => red.scaled.intensity[i]),
    sigma: Float64Array.from(rows, (i) => red.scaled.sigma[i]),
  };
}

/** The middle frame of each reflection's curve (1-based), for the batch and the CIF's frame column. */
function middleFrame(r: ReducedObject, i: number): number {
  return Math.round((r.integrated.firstFrame[i] + r.integrated.lastFrame[i]) / 2) + 1;
}

/** The `.cif_pets` input: one zone-axis row per included frame, the frame's core observations as its reflections. */
function cifPetsText(inp: ReflectionFilesInput, st: FileSetting, rows: Set<number>): string {
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
    const [u, v, w] = zoneAxisOf(matMul(goniometerRotation(inp.axisDeg, angle), st.ub), [0, 0, 1]);
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
    const [h, kk, l] = st.hkl(hkl[3 * r], hkl[3 * r + 1], hkl[3 * r + 2]);
    reflections.push({ h, k: kk, l, intensity: obs.intensity[i] / k, sigma: (a * obs.sigma[i]) / k, zoneAxisId: idOf.get(obs.frame[i])! });
  }
  let dMin = Infinity;
  for (const r of rows) dMin = Math.min(dMin, red.integrated.dA[r]);
  return formatCifPets({
    name: inp.name.replace(/[^A-Za-z0-9_.-]/g, '_'),
    wavelengthA: inp.wavelengthA,
    cell: st.cell,
    ub: matMul(t, st.ub),
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
  const st = fileSetting(inp);
  const rows = unmergedRows(red, inp.spaceGroup, st);
  const hkl = red.integrated.hkl;
  const at = (i: number): { h: number; k: number; l: number } => {
    const [h, k, l] = st.hkl(hkl[3 * i], hkl[3 * i + 1], hkl[3 * i + 2]);
    return { h, k, l };
  };
  const hklRows: HklfReflection[] = rows.map((i) => ({
    ...at(i),
    intensity: red.scaled.intensity[i],
    sigma: red.scaled.sigma[i],
    ...(inp.batches ? { batch: Math.min(9999, middleFrame(red, i)) } : {}),
  }));
  const { text: hklText, scale } = formatHklf4(hklRows);
  const safe = inp.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  const merged = red.merged;
  const mergedRows = [];
  const laueOps = millerLaueOps(inp.spaceGroup);
  for (let u = 0; u < merged.intensity.length; u++) {
    const [h, k, l] = canonicalHkl(laueOps, ...st.hkl(merged.hkl[3 * u], merged.hkl[3 * u + 1], merged.hkl[3 * u + 2]));
    if (!Number.isFinite(merged.intensity[u]) || isSystematicallyAbsent(inp.spaceGroup, h, k, l)) continue;
    mergedRows.push({ h, k, l, intensity: merged.intensity[u] * scale, sigma: merged.sigma[u] * scale });
  }
  const [ea, eb, ec, eal, ebe, ega] = st.cellEsd;
  const cif = formatReflnCif({
    name: safe,
    cell: st.cell,
    cellEsd: { a: ea, b: eb, c: ec, alpha: eal, beta: ebe, gamma: ega },
    wavelengthA: inp.wavelengthA,
    spaceGroupHM: inp.spaceGroup.hm,
    unmerged: rows.map((i) => ({ ...at(i), intensity: red.scaled.intensity[i] * scale, sigma: red.scaled.sigma[i] * scale, frame: middleFrame(red, i) })),
    merged: mergedRows,
  });
  let ins: string | null = null;
  let sfacFits: InsSfacFit[] = [];
  if (inp.composition?.length) {
    const { latt, symm } = shelxLattSymm(inp.spaceGroup);
    const out = formatIns({ title: `${inp.name} in ${inp.spaceGroup.hm.replace(/ :.*$/, '')}`, wavelengthA: inp.wavelengthA, cell: st.cell, cellEsd: st.cellEsd, z: formulaUnits(inp.composition), latt, symm, composition: inp.composition });
    ins = out.text;
    sfacFits = out.sfacFits;
  }
  return { hkl: hklText, ins, cif, cifPets: cifPetsText(inp, st, new Set(rows)), cell: st.cell, setting: red.settingLabel, sfacFits, nUnmerged: rows.length, hklScale: scale };
}
