// report.json's `integration` section (ARCHITECTURE §6) from a reduced object: counts, merging statistics overall and
// per shell, the error model, frame scales, the Laue class and space-group ranking, and plain statements.
import type { IntegrationReport, ShellStatisticsReport, Statement } from '../../src-shared/processing';
import { REFLECTION_FLAGS } from './integrate';
import type { ShellStatistics } from './merge';
import type { ReducedObject } from './reduce';
import type { InsSfacFit } from '../io/export';

const r = (v: number | null, d: number): number | null => (v === null || !Number.isFinite(v) ? null : Number(v.toFixed(d)));
const rn = (v: number, d: number): number => Number(v.toFixed(d));

export function shellOut(s: ShellStatistics): ShellStatisticsReport {
  return {
    dMaxA: rn(s.dMaxA, 3),
    dMinA: rn(s.dMinA, 3),
    nObserved: s.nObserved,
    nUnique: s.nUnique,
    nPossible: s.nPossible,
    completeness: rn(s.completeness, 4),
    multiplicity: rn(s.multiplicity, 3),
    rInt: r(s.rInt, 4),
    rMeas: r(s.rMeas, 4),
    ccHalf: r(s.ccHalf, 4),
    meanIOverSigma: rn(s.meanIOverSigma, 2),
  };
}

/** What a crystallographer should know about these data, in words. */
function statementsOf(red: ReducedObject, singleFrameFraction: number, stepDeg: number): Statement[] {
  const out: Statement[] = [];
  if (singleFrameFraction > 0.5) {
    out.push({
      severity: 'warning',
      code: 'coarse-tilt-steps',
      message: `${Math.round(singleFrameFraction * 100)} % of the reflections were sampled on one frame only: the tilt step (${stepDeg.toFixed(2)}°) is coarse against their rocking curves, so their intensities are partial — finer steps (0.1–0.5°) give integrated intensities`,
    });
  }
  const sg = red.symmetry.spaceGroups;
  if (sg.length > 1 && sg[0].logLikelihood - sg[1].logLikelihood < 2 && !red.spaceGroupGiven) {
    const ties = sg.filter((c) => sg[0].logLikelihood - c.logLikelihood < 2).map((c) => c.hm.replace(/ :.*$/, ''));
    out.push({ severity: 'info', code: 'space-group-ambiguous', message: `the absences do not tell ${ties.join(', ')} apart; ${ties[0]} is written as the most common of them (the structure solution decides)` });
  }
  const chosen = red.symmetry.spaceGroups.find((c) => c.number === red.spaceGroup.number);
  if (red.spaceGroupGiven && chosen && chosen.nViolations > 0) {
    out.push({ severity: 'warning', code: 'absences-violated', message: `${chosen.nViolations} reflections that ${red.spaceGroup.hm} makes absent are measured above 3σ (left out of the files)` });
  }
  if (red.merged.intensity.length < 20) out.push({ severity: 'warning', code: 'few-reflections', message: `only ${red.merged.intensity.length} unique reflections: not enough for a structure` });
  return out;
}

export function integrationReport(red: ReducedObject, sfac: InsSfacFit[], rockingWidthInvA: number, anglesDeg: ArrayLike<number>): IntegrationReport {
  const f = red.integrated.flags;
  const count = (bit: number): number => f.reduce((a, v) => a + (v & bit ? 1 : 0), 0);
  let used = 0;
  let single = 0;
  let clean = 0;
  const bad = REFLECTION_FLAGS.partial | REFLECTION_FLAGS.overlap | REFLECTION_FLAGS.nearAxis | REFLECTION_FLAGS.edge | REFLECTION_FLAGS.masked;
  for (let i = 0; i < red.use.length; i++) {
    if (red.use[i]) used++;
    if (f[i] & bad) continue;
    clean++;
    if (red.integrated.nFrames[i] < 2) single++;
  }
  const o = red.statistics.overall;
  const scales = Array.from(red.scaled.frameScale).filter((v, t) => Number.isFinite(v) && v > 0 && t < anglesDeg.length);
  const step = anglesDeg.length > 1 ? Math.abs(anglesDeg[anglesDeg.length - 1] - anglesDeg[0]) / (anglesDeg.length - 1) : 0;
  const singleFrameFraction = clean ? single / clean : 0;
  const laueChosen = red.symmetry.laue.find((c) => c.chosen);
  return {
    status: 'integrated',
    statements: statementsOf(red, singleFrameFraction, step),
    nPredicted: f.length,
    nReflections: used,
    nUnique: red.merged.intensity.length,
    nProfileFitted: red.integrated.nProfileFitted,
    flagged: { partial: count(REFLECTION_FLAGS.partial), overlap: count(REFLECTION_FLAGS.overlap), nearAxis: count(REFLECTION_FLAGS.nearAxis), edge: count(REFLECTION_FLAGS.edge), masked: count(REFLECTION_FLAGS.masked) },
    singleFrameFraction: rn(singleFrameFraction, 3),
    completeness: rn(o.completeness, 4),
    multiplicity: rn(o.multiplicity, 3),
    rInt: r(o.rInt, 4),
    rMeas: r(o.rMeas, 4),
    ccHalf: r(o.ccHalf, 4),
    meanIOverSigma: rn(o.meanIOverSigma, 2),
    dMinA: rn(o.dMinA, 3),
    dMaxA: rn(o.dMaxA, 3),
    shells: red.statistics.shells.map(shellOut),
    radiusPx: rn(red.integrated.radiusPx, 3),
    rockingWidthInvA: r(rockingWidthInvA, 6),
    lorentz: red.integrated.observations.lorentz.some((v) => v !== 1),
    errorModel: { a: rn(red.scaled.errorModel.a, 3), b: rn(red.scaled.errorModel.b, 3) },
    frameScale: { min: rn(Math.min(...scales), 4), max: rn(Math.max(...scales), 4), refined: scales.some((v) => v !== 1) },
    laue: {
      chosen: laueChosen?.laue ?? red.spaceGroup.laue,
      friedelCc: r(red.symmetry.friedel.cc, 3),
      candidates: red.symmetry.laue.map((c) => ({ laue: c.laue, worstRelativeCc: r(c.worstRelativeCc, 3), verdict: c.verdict, chosen: c.chosen })),
      operators: red.symmetry.operators.map((s) => ({ operator: s.operator, nPairs: s.nPairs, cc: r(s.cc, 3) })),
    },
    spaceGroup: {
      number: red.spaceGroup.number,
      hm: red.spaceGroup.hm,
      given: red.spaceGroupGiven,
      candidates: red.symmetry.spaceGroups.map((c) => ({ ...c, meanIOverSigmaAbsent: r(c.meanIOverSigmaAbsent, 2), logLikelihood: rn(c.logLikelihood, 2) })),
    },
    sfac: sfac.map((s) => ({ element: s.element, maxRelativeError: rn(s.maxRelativeError, 5), rmsRelativeError: rn(s.rmsRelativeError, 5) })),
  };
}
