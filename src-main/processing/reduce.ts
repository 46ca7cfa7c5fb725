// From an indexed lattice to reflection data (ARCHITECTURE §9): the integration model taken from the lattice outcome,
// integration of every reflection, then scaling and merging. Shared by `tracked run` and the app's processing service.
import { centringAllows } from '../crystallography/bravais';
import { spaceGroup, type SpaceGroup } from '../crystallography/space-groups';
import { millerLaueOps, rankLaueClasses, rankSpaceGroups, type LaueCandidate, type SymmetryRanking } from './space-group-ranking';
import type { Mat3 } from '../crystallography/math3';
import { INTEGRAL_UNIT, integrateReflections, REFLECTION_FLAGS, rockingWidthOf, type IntegratedReflections, type IntegrationModel, type IntegrationParameters } from './integrate';
import { mergeReflections, mergingStatistics, type MergedReflections, type MergingStatistics } from './merge';
import { groupEquivalents, scaleReflections, type ScaledReflections, type ScalingInput } from './scale-merge';
import { estimateSpotRadiusPx, type LatticeOutcome, type PeakTable, type ProcessingFrames } from './pipeline';

/** The refined model of a lattice outcome, or null when it holds none. */
export function integrationModelOf(input: ProcessingFrames, table: PeakTable, lattice: LatticeOutcome): IntegrationModel | null {
  if (lattice.status !== 'indexed' || !lattice.ub || !lattice.axis || !lattice.hkl || !lattice.indexed) return null;
  const beamCentres = lattice.beamCentres ?? Float64Array.from(input.beamCentres);
  const tiltOffsetsDeg = new Float64Array(input.anglesDeg.length);
  for (const r of lattice.perFrame ?? []) tiltOffsetsDeg[r.frame] = r.tiltOffsetDeg;
  const base = { ub: lattice.ub, axisDeg: lattice.axis.refinedDeg, beamCentres, tiltOffsetsDeg };
  return { ...base, rockingWidthInvA: rockingWidthOf(table, lattice.hkl, lattice.indexed, input, base) };
}

/** Per frame, the positions (x, y pairs) of the peaks the lattice does not index: kept out of the backgrounds. */
export function unindexedPositions(table: PeakTable, lattice: LatticeOutcome, nFrames: number): number[][] {
  const out: number[][] = Array.from({ length: nFrames }, () => []);
  for (let i = 0; i < table.frame.length; i++) if (!lattice.indexed?.[i]) out[table.frame[i]].push(table.x[i], table.y[i]);
  return out;
}

/** Integrate one object's reflections with its lattice. */
export function integrateObject(input: ProcessingFrames, table: PeakTable, lattice: LatticeOutcome, params: IntegrationParameters = {}, signal?: AbortSignal): IntegratedReflections | null {
  const model = integrationModelOf(input, table, lattice);
  if (!model) return null;
  const radiusPx = params.radiusPx ?? (table.radiusPx > 0 ? table.radiusPx : estimateSpotRadiusPx(input));
  return integrateReflections(input, model, { ...params, radiusPx }, unindexedPositions(table, lattice, input.anglesDeg.length), signal);
}

export interface ReductionOptions {
  integration?: IntegrationParameters;
  /** The space group (its Laue class merges, its absences are not judged); default: ranked from the data. */
  spaceGroup?: SpaceGroup;
  /**
   * Fit per-frame scales (dose fading, a changing illuminated volume). Off by default: on the synthetic series without
   * fading, scales that cross-validate on the equivalents still moved the intensities away from the true |F|²
   * (partial rocking curves bias some equivalents by tilt), so they are applied when the user knows the beam faded.
   */
  frameScales?: boolean;
  bFactor?: boolean;
  /** Keep partial, overlapped and near-axis reflections (default: left out of scaling and merging). */
  keepFlagged?: boolean;
  signal?: AbortSignal;
}

export interface ReducedObject {
  integrated: IntegratedReflections;
  scaled: ScaledReflections;
  /** Per reflection, 1 where it went into scaling and merging. */
  use: Uint8Array;
  merged: MergedReflections;
  statistics: MergingStatistics;
  /** Laue class and space group: the data's ranking, and the group used (given, or the best ranked). */
  symmetry: SymmetryRanking;
  spaceGroup: SpaceGroup;
  spaceGroupGiven: boolean;
  /** The space group's standard setting on our conventional cell: its axes = ours · setting (columns). */
  setting: Mat3;
  settingLabel: string;
}

const IDENTITY: Mat3 = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

function scalingInput(integrated: IntegratedReflections, use: Uint8Array, input: ProcessingFrames): ScalingInput {
  const obs = integrated.observations;
  return {
    hkl: integrated.hkl,
    dA: integrated.dA,
    use,
    obsReflection: obs.reflection,
    obsFrame: obs.frame,
    obsContribution: obs.intensity.map((v, i) => v * obs.lorentz[i] * INTEGRAL_UNIT),
    obsSigma: obs.sigma.map((v, i) => v * obs.lorentz[i] * INTEGRAL_UNIT),
    nFrames: input.anglesDeg.length,
    anglesDeg: input.anglesDeg,
  };
}

/**
 * Integrate, scale and merge one object's reflections; null without an indexed lattice. Scaling first in the lattice's
 * holohedry's subgroup −1 (Friedel mates only) to judge the Laue class, then again in the chosen Laue class.
 */
export function reduceObject(input: ProcessingFrames, table: PeakTable, lattice: LatticeOutcome, o: ReductionOptions = {}): ReducedObject | null {
  const integrated = integrateObject(input, table, lattice, o.integration ?? {}, o.signal);
  if (!integrated || !lattice.bravais || !lattice.ub) return null;
  const bravais = lattice.bravais;
  const bad = REFLECTION_FLAGS.partial | REFLECTION_FLAGS.overlap | REFLECTION_FLAGS.nearAxis | REFLECTION_FLAGS.edge | REFLECTION_FLAGS.masked;
  const use = integrated.flags.map((f, r) => (Number.isFinite(integrated.intensity[r]) && (o.keepFlagged || !(f & bad)) && centringAllows(bravais, integrated.hkl[3 * r], integrated.hkl[3 * r + 1], integrated.hkl[3 * r + 2]) ? 1 : 0));
  // Where most rocking curves were sampled on two or more frames (fine steps), a curve caught on one frame only is a
  // partial measurement: left out. With coarse steps every curve is, and they are all kept (a statement says so).
  let multi = 0;
  let used = 0;
  for (let r = 0; r < use.length; r++) {
    if (!use[r]) continue;
    used++;
    if (integrated.nFrames[r] >= 2) multi++;
  }
  if (!o.keepFlagged && multi >= 0.5 * used) for (let r = 0; r < use.length; r++) if (integrated.nFrames[r] < 2) use[r] = 0;
  const sin = scalingInput(integrated, use, input);
  const friedelOps = millerLaueOps(spaceGroup(2));
  const first = scaleReflections(sin, { laueOps: friedelOps, frameScales: o.frameScales, bFactor: o.bFactor, signal: o.signal });
  const laueRank = rankLaueClasses(integrated.hkl, integrated.dA, first.intensity, use, bravais);
  const chosenLaue = o.spaceGroup ? lauecandidateOf(o.spaceGroup, laueRank.laue) : laueRank.laue.find((c) => c.chosen)!;
  const scaled = scaleReflections(sin, { laueOps: chosenLaue.ops, frameScales: o.frameScales, bFactor: o.bFactor, signal: o.signal });
  const { unique, keys } = groupEquivalents(integrated.hkl, use, chosenLaue.ops);
  const merged = mergeReflections(integrated.dA, scaled.intensity, scaled.sigma, unique, keys);
  const statistics = mergingStatistics({ dA: integrated.dA, intensity: scaled.intensity, sigma: scaled.sigma, unique, merged }, lattice.ub, chosenLaue.ops, (h, k, l) => centringAllows(bravais, h, k, l));
  const cell = lattice.cell ?? { beta: 90 };
  const spaceGroups = rankSpaceGroups(merged, chosenLaue, bravais, cell);
  // A given group: its best setting on our cell (or our cell as it is, when none fits its centring).
  const givenRow = o.spaceGroup ? rankSpaceGroups(merged, chosenLaue, bravais, cell, o.spaceGroup.number)[0] : undefined;
  const symmetry: SymmetryRanking = { ...laueRank, spaceGroups };
  const top = givenRow ?? spaceGroups[0];
  const sg = o.spaceGroup ?? (top ? spaceGroup(top.number) : spaceGroup(chosenLaue.referenceNumber));
  const setting = top?.p ?? IDENTITY;
  return { integrated, scaled, use, merged, statistics, symmetry, spaceGroup: sg, spaceGroupGiven: !!o.spaceGroup, setting, settingLabel: top?.setting ?? 'a,b,c' };
}

/** The Laue candidate of a given space group (its own operators when the ranking did not list its class). */
function lauecandidateOf(sg: SpaceGroup, ranked: LaueCandidate[]): LaueCandidate {
  const ops = millerLaueOps(sg);
  const keyOf = (m: Mat3[]): string => m.map((w) => w.flat().join(',')).sort().join('|');
  const k = keyOf(ops);
  return ranked.find((c) => keyOf(c.ops) === k) ?? { laue: sg.laue, referenceNumber: sg.number, ops, worstRelativeCc: null, verdict: 'accepted', chosen: true };
}

