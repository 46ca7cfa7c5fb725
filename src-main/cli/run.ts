// `tracked run SERIES --out DIR`: the whole pipeline, headless — virtual images, the target particle (auto or
// X,Y@TILT) and its tracking or a project's curated masks (--project), extraction, the frame exports, processing
// and the reflection files — with report.json.
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError, ParameterError } from '../../src-shared/errors';
import type { SeriesSummary } from '../../src-shared/contract';
import type { Project } from '../services/project';
import type { SeriesOptions } from '../io/series';
import { encodeTiffPages } from '../io/export';
import { writeFileAtomic } from '../io/atomic';
import { writeVirtualStackH5 } from '../io/write-virtual';
import { extractObjects, writeSeriesMasks } from '../services/extraction-job';
import { SeriesSessions } from '../services/series-session';
import { runTracking } from '../services/tracking-job';
import { computeVirtual, suggestDetectors, virtualStack } from '../services/virtual-job';
import { writeExports } from '../stages/export';
import type { WrittenSmv } from '../io/export';
import { centreSpread } from '../kernels/beam-centre-series';
import type { ExtractedSeries } from '../../src-shared/domain';
import { parseTargetSpec, pickAllTargets, pickAutoTarget, targetFromProbe } from '../stages/tracking';
import { createProgress } from './progress';
import { findLattice, searchPeaks, type LatticeOutcome, type LatticeParameters, type PeakParameters, type PeakTable, type ProcessingFrames, type Statement } from '../processing/pipeline';
import { axisStatements, DEFAULT_MAX_MISFIT_DEG, processingFramesOf } from '../processing/object';
import { latticeReport, peaksJson, type LatticeReport } from '../processing/report';
import type { Cell } from '../crystallography/lattice';
import { integrationModelOf, reduceObject } from '../processing/reduce';
import { parseComposition, reflectionFiles } from '../processing/reflection-export';
import { integrationReport } from '../processing/integration-report';
import { spaceGroup } from '../crystallography/space-groups';
import type { IntegrationReport } from '../../src-shared/processing';

/** Below this purity a tilt is listed in report.json (impureTilts). */
export const PURITY_THRESHOLD = 0.9;

export interface RunOptions {
  out: string;
  target?: string;
  tracker?: 'classical' | 'sam2';
  model?: string;
  /** Detector radii (detector pixels) for the virtual images; defaults suit the synthetic presets. */
  bf?: number;
  adf?: [number, number];
  background?: boolean;
  /** How to read the series (a folder's angles, a single 4D file's angle, a scan shape). */
  series?: SeriesOptions;
  /** Leave the tilts the tracker flagged out of extraction (report.json excludedTilts lists them). */
  excludeFlagged?: boolean;
  /** A project folder (NAME.tracked) whose enabled objects' curated masks are extracted (no target search, no tracking). */
  project?: string;
  /** Processing (peaks → lattice); on unless false. */
  process?: boolean;
  /** A known cell (only the orientation is found) and a known rotation axis (degrees; not searched). */
  cell?: Cell;
  axisDeg?: number;
  peaks?: PeakParameters;
  lattice?: Omit<LatticeParameters, 'knownCell' | 'axisDeg'>;
  /** Integration and the reflection files: space group (symbol or number), unit-cell contents ("Ti8 O16"). */
  reflections?: { integrate?: boolean; spaceGroup?: string; composition?: string; bFactor?: boolean; frameScales?: boolean; batches?: boolean; lorentz?: boolean };
}

export interface RunReport {
  version: 1;
  series: { nTilts: number; scanShape: [number, number]; detectorShape: [number, number]; tiltRangeDeg: [number, number]; source: string };
  target: { spec: string; tilt: number; x: number; y: number; note: string };
  objects: Array<{
    id: number;
    name: string;
    framesTracked: number;
    framesFlagged: number;
    meanAreaPx: number;
    stopped?: string;
    probesExtracted: number;
    /** Mean and worst purity over the extracted tilts (README "Purity"). */
    meanPurity: number;
    minPurity: number;
    purityThreshold: number;
    /** 0-based tilt indices whose purity is below purityThreshold. */
    impureTilts: number[];
    /** Tilts the tracker flagged (0-based), with why. */
    flaggedTilts: Array<{ tilt: number; reason: string }>;
    /** Tilts left out of extraction (0-based): excluded in the project, or flagged with --exclude-flagged. */
    excludedTilts: number[];
    beamCentre: BeamCentreReport;
    /** This object's lattice and reflection files (the top-level lattice and integration are the first object's). */
    lattice?: { status: string; bravais: string | null; cell: Cell | null; indexedFraction: number | null } | null;
    reflections?: {
      files: Record<string, string>;
      cell: Cell | null;
      spaceGroup: { number: number; hm: string };
      nReflections: number;
      nUnique: number;
      completeness: number;
      rInt: number | null;
      ccHalf: number | null;
    } | null;
  }>;
  /** The auto-detected neighbours the tracker followed besides the target. */
  neighbours: number;
  /**
   * rotationAxisDeg: the axis found from the data and refined with the lattice (or the one given with --axis);
   * manifestRotationAxisDeg: what the series' metadata said, for comparison.
   */
  geometry: { rotationAxisDeg: number | null; rotationAxisEsdDeg: number | null; manifestRotationAxisDeg: number | null; wavelengthA: number | null; reciprocalPixelInvA: number | null };
  lattice: LatticeReport | null;
  integration: IntegrationReport | null;
  files: Record<string, string | string[]>;
  warnings: string[];
  timingsS: Record<string, number>;
}

/** How the direct-beam centres of an object's frames were found and how much they spread (README "Beam centre"). */
export interface BeamCentreReport {
  /** What each frame's centre was anchored on. */
  reference: string;
  /** Per extracted tilt: [tilt, cx, cy] (detector pixels, pixel centres at integers). */
  perTilt: Array<[number, number, number]>;
  meanPx: [number, number];
  /** RMS and largest distance of the frames' centres from their mean. */
  rmsPx: number;
  maxDeviationPx: number;
  /** Frames whose own fit was rejected (they take the reference), with why. */
  rejected: Array<{ tilt: number; reason: string }>;
  /** The one centre every SMV header holds, and the largest whole-pixel move made to put a frame's beam there. */
  smvCentrePx: [number, number] | null;
  smvMaxShiftPx: number | null;
}

function beamCentreReport(s: ExtractedSeries, smv: WrittenSmv | null): BeamCentreReport {
  const spread = centreSpread(Float64Array.from(s.beamCentre, (v, i) => (s.included[i >> 1] ? v : NaN)));
  const perTilt: Array<[number, number, number]> = [];
  for (let t = 0; t < s.nTilts; t++) {
    if (s.included[t] && Number.isFinite(s.beamCentre[2 * t])) perTilt.push([t, round3(s.beamCentre[2 * t]!), round3(s.beamCentre[2 * t + 1]!)]);
  }
  return {
    reference: s.beamCentreCheck?.referenceKind ?? 'none',
    perTilt,
    meanPx: [round3(spread.mean[0]), round3(spread.mean[1])],
    rmsPx: round3(spread.rmsPx),
    maxDeviationPx: round3(spread.maxPx),
    rejected: s.beamCentreCheck?.rejected ?? [],
    smvCentrePx: smv ? [round3(smv.commonCentre[0]), round3(smv.commonCentre[1])] : null,
    smvMaxShiftPx: smv ? smv.shifts.reduce((m, [dx, dy]) => Math.max(m, Math.abs(dx), Math.abs(dy)), 0) : null,
  };
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

const roundCell = (c: Cell): Cell => ({ a: +c.a.toFixed(5), b: +c.b.toFixed(5), c: +c.c.toFixed(5), alpha: +c.alpha.toFixed(4), beta: +c.beta.toFixed(4), gamma: +c.gamma.toFixed(4) });

/** Integration, scaling, merging and the reflection files of one object (NAME.hkl, .ins, .cif, .cif_pets). */
async function reflectionsOf(
  input: ProcessingFrames,
  table: PeakTable,
  lattice: LatticeOutcome,
  name: string,
  o: RunOptions,
  out: string,
): Promise<{ report: IntegrationReport; files: Record<string, string> } | null> {
  if (lattice.status !== 'indexed' || !lattice.cell || !lattice.ub || !lattice.axis) return null;
  const given = o.reflections?.spaceGroup ? spaceGroup(o.reflections.spaceGroup) : undefined;
  const rf = o.reflections ?? {};
  const integration = { ...(o.peaks?.dMinA ? { dMinA: o.peaks.dMinA } : {}), ...(o.peaks?.mask ? { mask: o.peaks.mask } : {}), ...(rf.lorentz === false ? { lorentz: false } : {}) };
  const red = reduceObject(input, table, lattice, { integration, ...(given ? { spaceGroup: given } : {}), frameScales: !!(rf.frameScales || rf.bFactor), bFactor: !!rf.bFactor });
  const model = integrationModelOf(input, table, lattice);
  if (!red || !model) return null;
  const stem = name.replace(/[^A-Za-z0-9_.-]/g, '_') || 'object';
  const texts = reflectionFiles({
    name: stem,
    wavelengthA: input.wavelengthA,
    cell: lattice.cell,
    cellEsd: lattice.cellEsd ?? [0, 0, 0, 0, 0, 0],
    ...(lattice.esdBasis ? { esdBasis: lattice.esdBasis } : {}),
    ub: lattice.ub,
    axisDeg: lattice.axis.refinedDeg,
    anglesDeg: input.anglesDeg,
    tiltOffsetsDeg: model.tiltOffsetsDeg,
    reduced: red,
    spaceGroup: red.spaceGroup,
    ...(o.reflections?.composition ? { composition: parseComposition(o.reflections.composition) } : {}),
    ...(o.reflections?.batches ? { batches: true } : {}),
    rockingWidthInvA: model.rockingWidthInvA,
  });
  const files: Record<string, string> = { hkl: `${stem}.hkl`, cif: `${stem}.cif`, cifPets: `${stem}.cif_pets` };
  await writeFileAtomic(join(out, files.hkl), texts.hkl);
  await writeFileAtomic(join(out, files.cif), texts.cif);
  await writeFileAtomic(join(out, files.cifPets), texts.cifPets);
  if (texts.ins) {
    files.ins = `${stem}.ins`;
    await writeFileAtomic(join(out, files.ins), texts.ins);
  }
  return { report: { ...integrationReport(red, texts.sfacFits, model.rockingWidthInvA, input.anglesDeg), cell: roundCell(texts.cell), setting: { axes: texts.setting, p: red.setting.map((row) => [...row]) } }, files };
}

/** Bad options fail before any work. */
function checkOptions(o: RunOptions): { tracker: 'classical' | 'sam2'; spec: ReturnType<typeof parseTargetSpec> } {
  const tracker = o.tracker ?? 'classical';
  if (tracker === 'sam2' && !o.model) throw new ParameterError('--model', 'the SAM2 tracker needs --model DIR (encoder + decoder ONNX)');
  const spec = parseTargetSpec(o.target ?? 'auto');
  checkReflections(o);
  return { tracker, spec };
}

function checkReflections(o: RunOptions): void {
  if (o.reflections?.spaceGroup) spaceGroup(o.reflections.spaceGroup);
  if (o.reflections?.composition) parseComposition(o.reflections.composition);
}

/** Peaks and lattice of one extracted object; writes peaks.json. */
async function processObject(
  s: ExtractedSeries,
  c: { wavelengthA?: number; reciprocalPixelInvA?: number; rotationAxisDeg?: number | null },
  o: RunOptions,
  out: string,
): Promise<{ report: LatticeReport; integration: Awaited<ReturnType<typeof reflectionsOf>>; statements: Statement[]; axisDeg: number | null; axisEsdDeg: number | null }> {
  const maxMisfitDeg = o.lattice?.maxMisfitDeg ?? DEFAULT_MAX_MISFIT_DEG;
  const input = processingFramesOf(s, c);
  if (!('frames' in input)) {
    return { report: latticeReport({ status: 'failed', statements: [input], nPeaks: 0 }, s.anglesDeg, maxMisfitDeg), integration: null, statements: [input], axisDeg: null, axisEsdDeg: null };
  }
  const table = searchPeaks(input, o.peaks ?? {});
  const lattice = findLattice(table, input, { ...o.lattice, maxMisfitDeg, ...(o.cell ? { knownCell: o.cell } : {}), ...(o.axisDeg !== undefined ? { axisDeg: o.axisDeg } : {}) });
  lattice.statements = [...lattice.statements, ...axisStatements(lattice, c.rotationAxisDeg, o.axisDeg)];
  await writeFileAtomic(join(out, 'peaks.json'), `${JSON.stringify(peaksJson(input, table, lattice))}\n`);
  const integration = o.reflections?.integrate === false ? null : await reflectionsOf(input, table, lattice, s.name, o, out);
  return {
    report: latticeReport(lattice, s.anglesDeg, maxMisfitDeg),
    integration,
    statements: [...lattice.statements, ...(integration?.report.statements ?? [])],
    axisDeg: lattice.axis ? Math.round(lattice.axis.refinedDeg * 1e4) / 1e4 : null,
    axisEsdDeg: lattice.axis ? Math.round(lattice.axis.esdDeg * 1e5) / 1e5 : null,
  };
}

function geometryReport(
  c: { wavelengthA?: number; reciprocalPixelInvA?: number; rotationAxisDeg?: number | null },
  processed: { axisDeg: number | null; axisEsdDeg: number | null } | null,
  givenAxisDeg: number | undefined,
): RunReport['geometry'] {
  return {
    rotationAxisDeg: processed?.axisDeg ?? givenAxisDeg ?? null,
    rotationAxisEsdDeg: processed?.axisEsdDeg ?? null,
    manifestRotationAxisDeg: c.rotationAxisDeg ?? null,
    wavelengthA: c.wavelengthA ?? null,
    reciprocalPixelInvA: c.reciprocalPixelInvA ?? null,
  };
}

/** The objects the run extracts: the target found and tracked here, or the curated objects of a project (--project). */
interface RunObjects {
  ids: number[];
  target: RunReport['target'];
  tracking: Map<number, { framesTracked: number; framesFlagged: number; stopped?: string }>;
}

/**
 * --project DIR: the project's files are copied into the run's own project folder (the user's project is only
 * read), so the curated masks, states and prompts are used as they are: no target search, no tracking.
 */
function copyProject(from: string, to: string): void {
  const dir = resolve(from);
  if (!existsSync(join(dir, 'project.json')) && !existsSync(join(dir, 'journal.jsonl'))) {
    throw new InputError(dir, 'is not a trackED project folder (no project.json): give the NAME.tracked folder the app saved');
  }
  mkdirSync(to, { recursive: true });
  // Not the results (recomputed here) nor the lock (this is a copy, not the user's session).
  for (const f of ['project.json', 'masks.h5', 'particles.h5', 'journal.jsonl']) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(to, f));
}

function projectObjects(project: Project, dir: string): RunObjects {
  const n = project.frameSize;
  const objects = [...project.objects.values()].filter((obj) => obj.enabled && obj.masks.some((v) => v));
  if (!objects.length) throw new InputError(resolve(dir), 'has no enabled object with a mask: curate one in the app first');
  const tracking = new Map<number, { framesTracked: number; framesFlagged: number }>();
  for (const obj of objects) {
    tracking.set(obj.id, {
      framesTracked: obj.frameState.filter((st) => st === 'tracked' || st === 'edited' || st === 'locked').length,
      framesFlagged: obj.quality.filter((q) => q?.flagged).length,
    });
  }
  // The report's target: the first object's prompted tilt (or its largest frame), at its mask's centroid.
  const first = objects[0]!;
  const areas = Array.from({ length: project.nTilts }, (_, t) => first.masks.subarray(t * n, (t + 1) * n).reduce((a, v) => a + (v ? 1 : 0), 0));
  const tilt = first.prompts[0]?.tilt ?? areas.indexOf(Math.max(...areas));
  const [, nx] = project.scanShape;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) if (first.masks[tilt * n + i]) [sx, sy] = [sx + (i % nx), sy + Math.floor(i / nx)];
  const area = Math.max(1, areas[tilt]!);
  return {
    ids: objects.map((obj) => obj.id),
    target: { spec: `project ${resolve(dir)}`, tilt, x: Math.round(sx / area), y: Math.round(sy / area), note: `${objects.length} curated object(s) from the project: ${objects.map((obj) => obj.name).join(', ')}` },
    tracking,
  };
}

async function trackTarget(
  sessions: SeriesSessions,
  seriesId: string,
  summary: SeriesSummary,
  o: RunOptions,
  step: <T>(name: string, fn: () => Promise<T>) => Promise<T>,
  progress: ReturnType<typeof createProgress>,
): Promise<RunObjects> {
  const { tracker, spec } = checkOptions(o);
  const [ny, nx] = summary.scanShape;
  const adfStack = virtualStack(sessions, seriesId, 'adf').stack;
  const channels = [
    { stack: adfStack, invert: false, name: 'adf' },
    { stack: virtualStack(sessions, seriesId, 'bf').stack, invert: true, name: 'bf' },
  ];
  const ref = { stack: adfStack, channels, nTilts: summary.nTilts, ny, nx };
  const choices = spec.kind === 'all' ? pickAllTargets(ref) : [spec.kind === 'auto' ? pickAutoTarget(ref) : targetFromProbe(ref, spec.x, spec.y, spec.tilt)];
  const project = await sessions.project(seriesId);
  const objects = choices.map((choice, k) => {
    const object = project.create(choices.length > 1 ? `particle ${k + 1}` : 'target');
    project.setPrompt(object.id, { tilt: choice.tilt, points: choice.prompt.points });
    return object;
  });
  const first = choices[0]!;
  const tracked = await step('tracking', () =>
    runTracking(
      sessions,
      { seriesId, objectIds: objects.map((o) => o.id), fromTilt: first.tilt, direction: 'both', tracker, ...(o.model ? { modelDir: o.model } : {}) },
      { progress: (d, t, st) => progress.update(d, t, st) },
    ),
  );
  const tracking: RunObjects['tracking'] = new Map();
  for (const t of tracked.objects) tracking.set(t.id, { framesTracked: t.framesTracked, framesFlagged: t.framesFlagged, ...(t.stopped ? { stopped: t.stopped } : {}) });
  return {
    ids: objects.map((ob) => ob.id),
    target: { spec: o.target ?? 'auto', tilt: first.tilt, x: first.candidate.innerX, y: first.candidate.innerY, note: choices.length > 1 ? `${choices.length} particles on tilt ${first.tilt}: ${choices.map((c) => c.note).join('; ')}` : first.note },
    tracking,
  };
}

/** An object's lattice and reflection files for its report.json entry (files relative to the run's folder). */
function processedSummary(p: Awaited<ReturnType<typeof processObject>> | undefined, prefix: string): Pick<RunReport['objects'][number], 'lattice' | 'reflections'> {
  if (!p) return {};
  const l = p.report;
  const i = p.integration;
  return {
    lattice: { status: l.status, bravais: l.bravais ?? null, cell: l.cell ?? null, indexedFraction: l.indexedFraction ?? null },
    reflections:
      i && i.report.status === 'integrated'
        ? {
            files: Object.fromEntries(Object.entries(i.files).map(([k, f]) => [k, `${prefix}${f}`])),
            cell: i.report.cell ?? null,
            spaceGroup: { number: i.report.spaceGroup.number, hm: i.report.spaceGroup.hm },
            nReflections: i.report.nReflections,
            nUnique: i.report.nUnique,
            completeness: i.report.completeness,
            rInt: i.report.rInt,
            ccHalf: i.report.ccHalf,
          }
        : null,
  };
}

/**
 * --exclude-flagged: tilts the tracker flagged (and left as tracked, not edited or locked by a person) are excluded
 * from extraction, so the reflection files hold none of their frames; report.json lists them (excludedTilts).
 */
function excludeFlagged(project: Project, ids: number[]): void {
  for (const id of ids) {
    const o = project.get(id);
    const tilts = o.quality.flatMap((q, t) => (q?.flagged && o.frameState[t] === 'tracked' ? [t] : []));
    if (tilts.length) project.setState(id, tilts, 'excluded');
  }
}

/** report.json's entry for one extracted object. */
function objectReport(project: Project, s: ExtractedSeries, tracking: RunObjects['tracking'], smv: WrittenSmv | null): RunReport['objects'][number] {
  const n = project.frameSize;
  const obj = project.get(s.objectId);
  const areas: number[] = [];
  for (let t = 0; t < project.nTilts; t++) {
    let a = 0;
    for (let i = t * n; i < (t + 1) * n; i++) a += obj.masks[i]!;
    if (a > 0) areas.push(a);
  }
  const perTilt = Array.from(s.purity?.purity ?? [], (v, t) => ({ t, v })).filter((p) => s.included[p.t] && Number.isFinite(p.v));
  const purity = perTilt.map((p) => p.v);
  const tr = tracking.get(s.objectId) ?? { framesTracked: 0, framesFlagged: 0 };
  return {
    id: obj.id,
    name: obj.name,
    framesTracked: tr.framesTracked,
    framesFlagged: tr.framesFlagged,
    meanAreaPx: areas.length ? areas.reduce((a, b) => a + b, 0) / areas.length : 0,
    ...('stopped' in tr && tr.stopped ? { stopped: tr.stopped } : {}),
    probesExtracted: Array.from(s.probeCount).reduce((a, b) => a + b, 0),
    meanPurity: purity.length ? purity.reduce((a, b) => a + b, 0) / purity.length : 0,
    minPurity: purity.length ? Math.min(...purity) : 0,
    purityThreshold: PURITY_THRESHOLD,
    impureTilts: perTilt.filter((p) => p.v < PURITY_THRESHOLD).map((p) => p.t),
    flaggedTilts: obj.quality.flatMap((q, t) => (q?.flagged ? [{ tilt: t, reason: q.reason ?? 'flagged' }] : [])),
    excludedTilts: obj.frameState.flatMap((st, t) => (st === 'excluded' ? [t] : [])),
    beamCentre: beamCentreReport(s, smv),
  };
}

export async function runPipeline(seriesPath: string, o: RunOptions): Promise<RunReport> {
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  checkOptions(o);
  // The run's project (objects, masks, journal) lives in the output folder, never beside the raw data;
  // a rerun into the same folder starts from scratch (or from a fresh copy of --project).
  rmSync(join(out, 'project'), { recursive: true, force: true });
  if (o.project) copyProject(o.project, join(out, 'project'));
  const sessions = new SeriesSessions({ projectDir: () => join(out, 'project'), checkpointDelayMs: -1 });
  const timings: Record<string, number> = {};
  const warnings: string[] = [];
  const progress = createProgress('run');
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      timings[name] = (performance.now() - t0) / 1000;
    }
  };
  try {
    const summary = await sessions.openSeries(seriesPath, o.series ?? {});
    const { seriesId } = summary;
    warnings.push(...summary.warnings);
    // Detector radii from the data unless given: the fitted direct-beam disk sets BF and the ADF's inner edge.
    const suggested = await suggestDetectors(sessions, seriesId);
    const bf = o.bf ?? suggested.bfRadius;
    const adf = o.adf ?? [suggested.adfInner, suggested.adfOuter];

    // 1. Virtual images.
    const v = await step('virtual', () =>
      computeVirtual(
        sessions,
        seriesId,
        [
          { kind: 'disk', radius: bf, name: 'bf' },
          { kind: 'annulus', rIn: adf[0], rOut: adf[1], name: 'adf' },
          { kind: 'com', name: 'com' },
          { kind: 'variance', name: 'variance' },
        ],
        { progress: (d, t, s) => progress.update(d, t, s) },
      ),
    );
    warnings.push(...v.warnings);
    const [ny, nx] = summary.scanShape;
    const adfStack = virtualStack(sessions, seriesId, 'adf').stack;
    const pages = summary.anglesDeg.map((a, t) => ({ data: adfStack.subarray(t * ny * nx, (t + 1) * ny * nx), width: nx, height: ny, description: `ADF ${adf[0]}-${adf[1]} px, tilt ${t + 1}, ${a} deg` }));
    await writeFileAtomic(join(out, 'virtual.tiff'), encodeTiffPages(pages, 'trackED'));
    const stacks: Record<string, Float32Array> = {};
    for (const out of v.outputs) stacks[out.name] = virtualStack(sessions, seriesId, out.name).stack;
    await writeVirtualStackH5(join(out, 'virtual.h5'), { stacks, nTilts: summary.nTilts, ny, nx, anglesDeg: summary.anglesDeg, detectors: { bf: `disk r=${bf}`, adf: `annulus ${adf[0]}-${adf[1]}` } });

    // 2. The objects: the target and its tracking, in bright field and dark field together (ARCHITECTURE §4), or a
    // project's curated masks.
    const project = await sessions.project(seriesId);
    if (o.project) warnings.push(...project.recovery.warnings);
    const chosen = o.project ? projectObjects(project, o.project) : await trackTarget(sessions, seriesId, summary, o, step, progress);
    if (o.excludeFlagged) excludeFlagged(project, chosen.ids);
    await writeSeriesMasks(sessions, seriesId, out);

    // 3. Extraction and exports.
    const extracted = await step('extraction', () =>
      extractObjects(sessions, seriesId, chosen.ids, { background: o.background ? { ringWidth: 2 } : false }, { progress: (d, t, s) => progress.update(d, t, s) }),
    );
    warnings.push(...extracted.warnings);
    const exports = await step('export', () => writeExports(extracted, out));
    for (const e of exports.objects) warnings.push(...e.warnings);

    // 4. Processing: peaks, axis, lattice (ARCHITECTURE §9), each object in its export folder.
    const processedAll =
      o.process === false
        ? []
        : await step('processing', async () => {
            const all = [];
            for (const [k, s] of extracted.series.entries()) all.push(await processObject(s, summary.calibration, o, exports.objects[k]!.dir));
            return all;
          });
    extracted.series.forEach((s, k) => warnings.push(...(processedAll[k]?.statements ?? []).filter((st) => st.severity !== 'info').map((st) => `${s.name}: ${st.message}`)));
    progress.stop();
    const processed = processedAll[0] ?? null;
    const prefix = (k: number): string => (exports.objects[k]!.dir === out ? '' : `${exports.objects[k]!.dir.slice(out.length + 1)}/`);

    const report: RunReport = {
      version: 1,
      series: {
        nTilts: summary.nTilts,
        scanShape: summary.scanShape,
        detectorShape: summary.detectorShape,
        tiltRangeDeg: [Math.min(...summary.anglesDeg), Math.max(...summary.anglesDeg)],
        source: summary.source,
      },
      target: chosen.target,
      objects: extracted.series.map((s, k) => ({ ...objectReport(project, s, chosen.tracking, exports.objects[k]?.smv ?? null), ...processedSummary(processedAll[k], prefix(k)) })),
      neighbours: project.neighbours?.list.length ?? 0,
      geometry: geometryReport(summary.calibration, processed, o.axisDeg),
      lattice: processed?.report ?? null,
      integration: processed?.integration?.report ?? null,
      files: {
        virtual: 'virtual.tiff',
        virtualAll: 'virtual.h5',
        masks: 'masks/masks.h5',
        frames: exports.objects.map((e, k) => (e.frames.files.length ? `${prefix(k)}frames/` : '')).filter(Boolean),
        pts2: exports.objects.flatMap((e) => (e.pts2 ? [e.pts2.slice(out.length + 1)] : [])),
        smv: exports.objects.flatMap((e, k) => (e.smv ? [`${prefix(k)}smv/`] : [])),
        extracted: 'extracted.h5',
        ...(processed ? { peaks: `${prefix(0)}peaks.json` } : {}),
        ...Object.fromEntries(Object.entries(processed?.integration?.files ?? {}).map(([k, f]) => [k, `${prefix(0)}${f}`])),
      },
      warnings,
      timingsS: timings,
    };
    await writeFileAtomic(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    progress.stop();
    await sessions.closeAll();
  }
}
