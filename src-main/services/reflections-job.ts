// Integrated, scaled and merged reflections of one extracted object and their files for SHELX and Jana2020
// (ARCHITECTURE §9). The job runs reduceObject on the worker pool with the object's peaks and lattice and keeps the
// result beside the lattice (processing-job.ts drops it when the peaks or the lattice change); the preview and the
// writing turn it into NAME.hkl, NAME.ins (with a composition), NAME.cif and NAME.cif_pets with reflection-export.ts,
// as `tracked run` does (cli/run.ts reflectionsOf).
import { mkdir, stat } from 'node:fs/promises';
import { isProtectedInput } from '../io/protected-inputs';
import { isAbsolute, join, resolve } from 'node:path';
import { ParameterError, TrackedError } from '../../src-shared/errors';
import type {
  IntegrationParametersInput,
  ProcessingSummary,
  ReflectionExportResult,
  ReflectionFileKind,
  ReflectionFilesInput,
  ReflectionGroupReport,
  ReflectionPreview,
  Statement,
  UnitCell,
} from '../../src-shared/processing';
import { isSystematicallyAbsent, spaceGroup, type SpaceGroup } from '../crystallography/space-groups';
import { writeFileAtomic } from '../io/atomic';
import { formatHklf4, type HklfReflection } from '../io/export';
import { integrationReport, shellOut } from '../processing/integration-report';
import { mergedGroupFiles, mergeParticles } from '../processing/merge-particles';
import type { ProcessingFrames } from '../processing/pipeline';
import { integrationModelOf, type ReducedObject } from '../processing/reduce';
import { parseComposition, particleReflections, reflectionFiles, type ReflectionFiles, type ReflectionFilesInput as ReflectionFilesInputFull } from '../processing/reflection-export';
import type { MergedReflections } from '../processing/merge';
import { canonicalHkl } from '../processing/scale-merge';
import { hklInSetting, millerLaueOps } from '../processing/space-group-ranking';
import type { StageContext } from '../stages/context';
import { sharedPool } from '../workers/pool';
import { objectProcessing, processingSummary, type ObjectIntegration, type ObjectProcessing } from './processing-job';
import type { SeriesSessions } from './series-session';

/** Lines of each file the preview shows. */
export const PREVIEW_LINES = 25;

const FILE_KINDS: ReadonlyArray<{ kind: ReflectionFileKind; ext: string }> = [
  { kind: 'hkl', ext: 'hkl' },
  { kind: 'ins', ext: 'ins' },
  { kind: 'cif', ext: 'cif' },
  { kind: 'cifPets', ext: 'cif_pets' },
];

const roundCell = (c: UnitCell): UnitCell => ({ a: +c.a.toFixed(5), b: +c.b.toFixed(5), c: +c.c.toFixed(5), alpha: +c.alpha.toFixed(4), beta: +c.beta.toFixed(4), gamma: +c.gamma.toFixed(4) });

/** The object's lattice when it can be integrated; otherwise a sentence saying what to do first. */
function integrableLattice(st: ObjectProcessing): { table: NonNullable<ObjectProcessing['table']>; lattice: NonNullable<ObjectProcessing['lattice']> } {
  const { table, lattice } = st;
  if (!table || !lattice) throw new ParameterError('lattice', 'find the lattice first: integration predicts every reflection from it');
  if (st.latticeStale) throw new ParameterError('lattice', 'the peaks changed since the lattice was found: find the lattice again first');
  if (lattice.status !== 'indexed' || !lattice.cell || !lattice.ub || !lattice.axis) throw new ParameterError('lattice', 'the lattice search failed: there is no lattice to integrate');
  return { table, lattice };
}

/** The frames with only the tilts asked for included (1-based, inclusive); refused when that leaves fewer than two. */
function framesInTilts(input: ProcessingFrames, tilts: IntegrationParametersInput['tilts']): ProcessingFrames {
  if (!tilts) return input;
  const n = input.anglesDeg.length;
  if (tilts.last > n) throw new ParameterError('tilts', `the series has ${n} tilts; tilt ${tilts.last} does not exist`);
  const included = Uint8Array.from(input.included, (v, f) => (f + 1 >= tilts.first && f + 1 <= tilts.last ? v : 0));
  if (included.reduce((a, v) => a + v, 0) < 2) throw new ParameterError('tilts', `tilts ${tilts.first}–${tilts.last} hold fewer than two extracted frames: nothing to integrate`);
  return { ...input, included };
}

/**
 * Integration, scaling and merging of one object's reflections with its current lattice (one worker task; progress
 * at its start and end; cancellable). The result is kept beside the lattice and summarised for the renderer.
 */
export async function runIntegration(
  sessions: SeriesSessions,
  args: { seriesId: string; objectId: number; params: IntegrationParametersInput },
  ctx: StageContext = {},
): Promise<ProcessingSummary> {
  const st = objectProcessing(sessions, args.seriesId, args.objectId);
  const p = args.params;
  // A symbol or number that names no group is refused before any work (ParameterError naming the space group).
  const given = p.spaceGroup !== undefined ? spaceGroup(p.spaceGroup) : undefined;
  const { table, lattice } = integrableLattice(st);
  const model = integrationModelOf(st.input, table, lattice);
  if (!model) throw new ParameterError('lattice', 'the lattice holds no refined model to predict reflections from');
  const dMinA = p.dMinA ?? st.peakParams.dMinA;
  ctx.progress?.(0, 1, 'integration');
  const options = { integration: dMinA ? { dMinA } : {}, ...(given ? { spaceGroup: given } : {}), frameScales: !!(p.frameScales || p.bFactor), bFactor: !!p.bFactor };
  const input = framesInTilts(st.input, p.tilts);
  const reduced = await sharedPool().run('reduceObject', { input, table, lattice, options }, ctx.signal ? { signal: ctx.signal } : {});
  if (!reduced) throw new TrackedError('integration predicted no reflection to integrate on these frames');
  if (objectProcessing(sessions, args.seriesId, args.objectId) !== st || st.table !== table || st.lattice !== lattice) {
    throw new TrackedError('the peaks or the lattice changed while integrating: integrate again');
  }
  // The group crossed the thread boundary as a copy: use the table's own object again.
  const red: ReducedObject = { ...reduced, spaceGroup: spaceGroup(reduced.spaceGroup.number) };
  const tiltOffsetsDeg = model.tiltOffsetsDeg ?? new Float64Array(st.input.anglesDeg.length);
  const integration = { params: p, reduced: red, rockingWidthInvA: model.rockingWidthInvA, tiltOffsetsDeg };
  const texts = filesOf(st, integration, { name: 'preview' });
  const report = {
    ...integrationReport(red, [], model.rockingWidthInvA, st.input.anglesDeg),
    cell: roundCell(texts.cell),
    setting: { axes: texts.setting, p: red.setting.map((row) => [...row]) },
  };
  ctx.progress?.(1, 1, 'integration');
  st.integration = { ...integration, report };
  await sessions.resultsChanged(args.seriesId, 'processing');
  return processingSummary(sessions, args.seriesId, args.objectId)!;
}

/** What reflection-export.ts needs besides the reduced object: the lattice, the geometry and the file options. */
function filesInputOf(st: ObjectProcessing, integ: Omit<ObjectIntegration, 'report'>, o: ReflectionFilesInput): ReflectionFilesInputFull {
  const { lattice } = integrableLattice(st);
  const red = integ.reduced;
  return {
    name: o.name,
    wavelengthA: st.input.wavelengthA,
    cell: lattice.cell!,
    cellEsd: lattice.cellEsd ?? [0, 0, 0, 0, 0, 0],
    ...(lattice.esdBasis ? { esdBasis: lattice.esdBasis } : {}),
    ub: lattice.ub!,
    axisDeg: lattice.axis!.refinedDeg,
    anglesDeg: st.input.anglesDeg,
    tiltOffsetsDeg: integ.tiltOffsetsDeg,
    reduced: red,
    spaceGroup: red.spaceGroup,
    ...(o.composition ? { composition: parseComposition(o.composition) } : {}),
    ...(o.batches ? { batches: true } : {}),
    rockingWidthInvA: integ.rockingWidthInvA,
  };
}

/** The texts of the four files, as reflection-export.ts writes them for `tracked run`. */
function filesOf(st: ObjectProcessing, integ: Omit<ObjectIntegration, 'report'>, o: ReflectionFilesInput): ReflectionFiles {
  return reflectionFiles(filesInputOf(st, integ, o));
}

/** NAME.hkl of merged data: one record per unique reflection in the files' setting, absences left out. */
function mergedHkl(merged: MergedReflections, sg: SpaceGroup, toFile: (h: number, k: number, l: number) => [number, number, number]): { text: string; n: number } {
  const ops = millerLaueOps(sg);
  const rows: HklfReflection[] = [];
  for (let u = 0; u < merged.intensity.length; u++) {
    if (!Number.isFinite(merged.intensity[u]) || !(merged.sigma[u] > 0)) continue;
    const [h, k, l] = canonicalHkl(ops, ...toFile(merged.hkl[3 * u], merged.hkl[3 * u + 1], merged.hkl[3 * u + 2]));
    if (!isSystematicallyAbsent(sg, h, k, l)) rows.push({ h, k, l, intensity: merged.intensity[u], sigma: merged.sigma[u] });
  }
  return { text: formatHklf4(rows).text, n: rows.length };
}

interface FileTexts {
  texts: Array<{ kind: ReflectionFileKind; fileName: string; text: string }>;
  nHkl: number;
  spaceGroup: string;
  setting: string;
  statements: Statement[];
  group: ReflectionGroupReport | null;
}

/** An object's integration, or a sentence saying it has none. */
function integratedObject(sessions: SeriesSessions, seriesId: string, objectId: number): { st: ObjectProcessing; integ: ObjectIntegration } {
  const st = objectProcessing(sessions, seriesId, objectId);
  if (!st.integration) throw new ParameterError('integration', `integrate ${st.source.name} first: it has no reflections (or its peaks or lattice changed since)`);
  return { st, integ: st.integration };
}

/** Refused when a space group is asked for that is not the one the reflections were merged in. */
function checkSpaceGroup(asked: string | number | undefined, merged: SpaceGroup): void {
  if (asked === undefined) return;
  const sg = spaceGroup(asked);
  if (sg.number !== merged.number) throw new ParameterError('spaceGroup', `the reflections were merged in ${merged.hm}; integrate again with ${sg.hm} to write its files`);
}

function sfacStatements(name: string, hasIns: boolean, fits: ReadonlyArray<{ element: string; maxRelativeError: number }>): Statement[] {
  const out: Statement[] = [];
  if (!hasIns) out.push({ severity: 'info', code: 'no-composition', message: `no composition given: ${name}.ins is not written (give the unit-cell contents, e.g. "Ti8 O16")` });
  for (const f of fits) {
    out.push({ severity: f.maxRelativeError > 0.01 ? 'warning' : 'info', code: 'sfac-fit', message: `SFAC ${f.element}: 4 Gaussians + c refitted to Peng, largest error ${(f.maxRelativeError * 100).toFixed(2)} % for s ≤ 2 Å⁻¹` });
  }
  return out;
}

function textsOf(text: Record<ReflectionFileKind, string | null>, name: string): FileTexts['texts'] {
  return FILE_KINDS.flatMap(({ kind, ext }) => (text[kind] === null ? [] : [{ kind, fileName: `${name}.${ext}`, text: text[kind]! }]));
}

/** The files' texts for the options given (refused: no integration, another space group, a bad composition). */
function fileTexts(sessions: SeriesSessions, args: { seriesId: string; objectId: number } & ReflectionFilesInput): FileTexts {
  if (args.mergeWith?.some((id) => id !== args.objectId)) return groupTexts(sessions, args);
  const { st, integ } = integratedObject(sessions, args.seriesId, args.objectId);
  const red = integ.reduced;
  checkSpaceGroup(args.spaceGroup, red.spaceGroup);
  const files = filesOf(st, integ, args);
  const hkl = args.merged ? mergedHkl(red.merged, red.spaceGroup, (h, k, l) => hklInSetting(red.setting, h, k, l)) : { text: files.hkl, n: files.nUnmerged };
  return {
    texts: textsOf({ hkl: hkl.text, ins: files.ins, cif: files.cif, cifPets: files.cifPets }, args.name),
    nHkl: hkl.n,
    spaceGroup: red.spaceGroup.hm,
    setting: red.settingLabel,
    statements: sfacStatements(args.name, files.ins !== null, files.sfacFits),
    group: null,
  };
}

/**
 * The object merged with the others named: each particle's scaled reflections in its group's standard setting, joined
 * by merge-particles.ts onto the particle most others agree with. NAME.hkl has one batch per particle (SHELXL BASF).
 */
function groupTexts(sessions: SeriesSessions, args: { seriesId: string; objectId: number } & ReflectionFilesInput): FileTexts {
  const ids = [...new Set([args.objectId, ...(args.mergeWith ?? [])])];
  const members = ids.map((id) => integratedObject(sessions, args.seriesId, id));
  checkSpaceGroup(args.spaceGroup, members[0].integ.reduced.spaceGroup);
  const particles = members.map(({ st, integ }) => particleReflections(filesInputOf(st, integ, { name: st.source.name })));
  const m = mergeParticles(particles);
  const composition = args.composition ? parseComposition(args.composition) : undefined;
  const ref = particles[m.referenceIndex];
  const files = mergedGroupFiles(m, { name: args.name, wavelengthA: members[0].st.input.wavelengthA, cellEsd: ref.cellEsd ?? [0, 0, 0, 0, 0, 0], ...(composition ? { composition } : {}) });
  const hkl = args.merged ? mergedHkl(m.merged, m.spaceGroup, (h, k, l) => [h, k, l]) : { text: files.hkl, n: m.intensity.length };
  const statements = sfacStatements(args.name, files.ins !== null, files.sfacFits);
  statements.push({ severity: 'info', code: 'group-no-cif-pets', message: `${args.name}.cif_pets is not written for a group: its frames and orientation belong to one particle (write each particle's own)` });
  m.particles.forEach((p, i) => {
    if (!p.accepted) statements.push({ severity: 'warning', code: 'particle-left-out', message: `${p.name} left out of the group: ${p.reason}` });
    else if (i !== m.referenceIndex && p.scale !== null && (p.scale > 5 || p.scale < 0.2)) {
      statements.push({ severity: 'info', code: 'particle-scale', message: `${p.name} is on a scale ${p.scale.toFixed(2)} × the reference's (a thicker or thinner particle, or a different exposure)` });
    }
  });
  const c = m.cell;
  return {
    texts: textsOf({ hkl: hkl.text, ins: files.ins, cif: files.cif, cifPets: null }, args.name),
    nHkl: hkl.n,
    spaceGroup: m.spaceGroup.hm,
    setting: members[m.referenceIndex].integ.reduced.settingLabel,
    statements,
    group: {
      spaceGroup: m.spaceGroup.hm,
      cell: roundCell({ a: c.a, b: c.b, c: c.c, alpha: c.alpha, beta: c.beta, gamma: c.gamma }),
      particles: m.particles.map((p, i) => ({
        objectId: ids[i],
        name: p.name,
        reference: i === m.referenceIndex,
        accepted: p.accepted,
        reason: p.reason,
        scale: p.scale === null ? null : +p.scale.toPrecision(5),
        reindex: p.reindex,
        nCommon: p.nCommon,
        cc: p.cc === null ? null : +p.cc.toFixed(4),
        r: p.r === null ? null : +p.r.toFixed(4),
        cellDiff: { lengthPct: +p.cellDiff.lengthPct.toFixed(3), angleDeg: +p.cellDiff.angleDeg.toFixed(3) },
      })),
      overall: shellOut(m.statistics.overall),
      shells: m.statistics.shells.map(shellOut),
    },
  };
}

/** The first lines of each file as it would be written; nothing is written. */
export function previewReflections(sessions: SeriesSessions, args: { seriesId: string; objectId: number } & ReflectionFilesInput): ReflectionPreview {
  const t = fileTexts(sessions, args);
  return {
    spaceGroup: t.spaceGroup,
    setting: t.setting,
    nHkl: t.nHkl,
    statements: t.statements,
    group: t.group,
    files: t.texts.map(({ kind, fileName, text }) => {
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      return { kind, fileName, head: lines.slice(0, PREVIEW_LINES), totalLines: lines.length, bytes: Buffer.byteLength(text, 'utf8') };
    }),
  };
}

/**
 * The output folder, made if missing; refused when relative, a file, or an input file of an open series (the registry
 * io/protected-inputs.ts keeps, which also guards every atomic write).
 */
async function outputFolder(folder: string): Promise<string> {
  if (!isAbsolute(folder)) throw new ParameterError('folder', `"${folder}" is not an absolute path: give the full path of the folder to write into`);
  const dir = resolve(folder);
  if (isProtectedInput(dir)) throw new ParameterError('folder', `${dir} is an input file of this series: raw data are never written to`);
  const info = await stat(dir).catch(() => null);
  if (info && !info.isDirectory()) throw new ParameterError('folder', `${dir} is a file, not a folder`);
  if (!info) await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Writes NAME.hkl, NAME.ins (with a composition), NAME.cif and NAME.cif_pets into `folder`, each atomically. Every
 * path is checked first: none may be an input file of the series, so nothing is written when one is refused.
 */
export async function exportReflections(
  sessions: SeriesSessions,
  args: { seriesId: string; objectId: number; folder: string } & ReflectionFilesInput,
): Promise<ReflectionExportResult> {
  const t = fileTexts(sessions, args);
  const folder = await outputFolder(args.folder);
  const planned = t.texts.map((f) => ({ ...f, path: join(folder, f.fileName) }));
  for (const f of planned) {
    if (isProtectedInput(f.path)) throw new ParameterError('name', `${f.path} is an input file of this series: choose another name or folder`);
  }
  for (const f of planned) await writeFileAtomic(f.path, f.text);
  return { folder, files: planned.map((f) => ({ kind: f.kind, path: f.path, bytes: Buffer.byteLength(f.text, 'utf8') })), statements: t.statements, group: t.group };
}
