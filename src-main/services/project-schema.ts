// The project's files as schemas: project.json in every version trackED ever wrote, the migrations that bring
// each up to the current one, and the journal's lines. Loading validates, so a hand-edited or damaged file is an
// InputError that names the file and the field, never a half-loaded project.
import { z } from 'zod';
import { FRAME_STATES } from '../../src-shared/domain';
import { InputError } from '../../src-shared/errors';
import { quotedLine } from '../io/util';
import { HISTORY_ACTIONS } from '../../src-shared/project';

export const PROJECT_SCHEMA_VERSION = 2;
export const PROJECT_FORMAT = 'trackED project';

const frameState = z.enum(FRAME_STATES);
const point = z.object({ x: z.number().finite(), y: z.number().finite(), positive: z.boolean() });
const prompt = z.object({
  tilt: z.number().int().min(0),
  points: z.array(point),
  box: z.tuple([z.number().finite(), z.number().finite(), z.number().finite(), z.number().finite()]).optional(),
});
// JSON writes NaN as null: read null as absent.
const maybeNumber = z.preprocess((v) => (v === null ? undefined : v), z.number().optional());
const quality = z
  .object({
    iouWithPrediction: maybeNumber,
    areaChange: maybeNumber,
    contrast: maybeNumber,
    flagged: z.boolean(),
    reason: z.string().max(1000).optional(),
  })
  .nullable();
const scanShape = z.tuple([z.number().int().positive(), z.number().int().positive()]);

const objectV1 = z.object({
  id: z.number().int().positive(),
  name: z.string().max(1000),
  colour: z.string().max(64),
  visible: z.boolean(),
  enabled: z.boolean(),
  frameState: z.array(frameState),
  quality: z.array(quality),
  prompts: z.array(prompt),
});

const projectV1 = z.object({
  version: z.literal(1),
  series: z.string(),
  nTilts: z.number().int().positive(),
  scanShape,
  nextObjectId: z.number().int().positive(),
  objects: z.array(objectV1),
});

const runs = z.object({ set: z.array(z.number().int().min(0)), clear: z.array(z.number().int().min(0)) });
/** One undoable change as the renderer's history holds it (mask runs as plain arrays). */
export const historyEntrySchema = z.object({
  objectId: z.number().int().positive(),
  label: z.string().max(200),
  changes: z.array(z.object({ tilt: z.number().int().min(0), runs, stateBefore: frameState, stateAfter: frameState })).max(100_000),
  prompt: z.object({ tilt: z.number().int().min(0), before: prompt.nullable(), after: prompt.nullable() }).optional(),
});
export type HistoryEntryRecord = z.infer<typeof historyEntrySchema>;
export const HISTORY_LIMIT = 200;

const resultsRef = z.object({ file: z.string().regex(/^[\w.-]+\.trk$/), id: z.string().max(100) }).nullable();

const projectV2 = projectV1.extend({
  version: z.literal(2),
  format: z.literal(PROJECT_FORMAT),
  savedAt: z.string().max(64),
  savedBy: z.string().max(200),
  anglesDeg: z.array(z.number().finite()),
  objects: z.array(objectV1),
  /** The undo and redo stacks, so undo works across restarts. */
  history: z.object({
    undo: z.array(historyEntrySchema).max(HISTORY_LIMIT),
    redo: z.array(historyEntrySchema).max(HISTORY_LIMIT),
    /** The last history step folded in: a journal step at or below it is not applied again (undo is not idempotent). */
    seq: z.number().int().min(0).default(0),
  }),
  /** Results files beside project.json; `id` ties processing to the extraction it was computed from. */
  results: z.object({ extraction: resultsRef, processing: resultsRef }),
});
export type ProjectMeta = z.infer<typeof projectV2>;
export type ProjectObjectMeta = z.infer<typeof objectV1>;

/** Each entry takes a project.json of version k to version k + 1. */
const MIGRATIONS: Record<number, (old: Record<string, unknown>, context: { anglesDeg: number[] }) => Record<string, unknown>> = {
  // Version 1 had masks, objects and prompts; version 2 adds the file's identity, the tilt angles, the undo history
  // and references to saved results.
  1: (old, { anglesDeg }) => ({
    ...old,
    version: 2,
    format: PROJECT_FORMAT,
    savedAt: '',
    savedBy: 'trackED (project version 1)',
    anglesDeg,
    history: { undo: [], redo: [], seq: 0 },
    results: { extraction: null, processing: null },
  }),
};

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.join('.') : 'the file';
  return `${where}: ${issue.message}`;
}

/**
 * A project.json's text as the current version: parsed, checked against the schema of the version it declares,
 * migrated step by step, and checked again. `anglesDeg` fills what older versions did not record.
 */
export function migrateProject(text: string, file: string, context: { anglesDeg: number[] }): { meta: ProjectMeta; fromVersion: number } {
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new InputError(file, `unreadable project file (${quotedLine((e as Error).message)})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(file, 'is not a trackED project (not a JSON object)');
  const declared = (raw as Record<string, unknown>)['version'];
  if (!Number.isInteger(declared) || (declared as number) < 1) throw new InputError(file, `has no valid project version (${JSON.stringify(declared) ?? 'none'})`);
  const fromVersion = declared as number;
  if (fromVersion > PROJECT_SCHEMA_VERSION) {
    throw new InputError(file, `was written by a newer trackED (project version ${fromVersion}; this one reads up to ${PROJECT_SCHEMA_VERSION}): update trackED to open it`);
  }
  if (fromVersion === 1) {
    const v1 = projectV1.safeParse(raw);
    if (!v1.success) throw new InputError(file, `damaged project file (${describeIssue(v1.error.issues[0]!)})`);
  }
  let current = raw as Record<string, unknown>;
  for (let v = fromVersion; v < PROJECT_SCHEMA_VERSION; v++) current = MIGRATIONS[v]!(current, context);
  const parsed = projectV2.safeParse(current);
  if (!parsed.success) throw new InputError(file, `damaged project file (${describeIssue(parsed.error.issues[0]!)})`);
  const meta = parsed.data;
  for (const o of meta.objects) {
    if (o.frameState.length !== meta.nTilts || o.quality.length !== meta.nTilts) {
      throw new InputError(file, `damaged project file (object ${o.id} has ${o.frameState.length} frame states for ${meta.nTilts} tilts)`);
    }
    if (o.prompts.some((p) => p.tilt >= meta.nTilts)) throw new InputError(file, `damaged project file (object ${o.id} has a prompt beyond tilt ${meta.nTilts})`);
    if (o.id >= meta.nextObjectId) throw new InputError(file, `damaged project file (object ${o.id} is not below nextObjectId ${meta.nextObjectId})`);
  }
  if (new Set(meta.objects.map((o) => o.id)).size !== meta.objects.length) throw new InputError(file, 'damaged project file (two objects share an id)');
  return { meta, fromVersion };
}

const id = z.number().int().positive();
const tilt = z.number().int().min(0);
/** The journal's lines. */
export const journalEntrySchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('create'), id, name: z.string().max(1000), colour: z.string().max(64) }),
  z.object({ op: z.literal('update'), id, name: z.string().max(1000).optional(), colour: z.string().max(64).optional(), visible: z.boolean().optional(), enabled: z.boolean().optional() }),
  z.object({ op: z.literal('delete'), id }),
  z.object({ op: z.literal('edit'), id, tilt, set: runs.shape.set, clear: runs.shape.clear, state: frameState }),
  z.object({ op: z.literal('state'), id, tilts: z.array(tilt), state: frameState }),
  z.object({ op: z.literal('prompt'), id, prompt }),
  z.object({ op: z.literal('frames'), id, tilts: z.array(tilt), runs: z.array(runs), states: z.array(frameState), quality: z.array(quality) }),
  z.object({ op: z.literal('history'), seq: z.number().int().min(0).default(0), action: z.enum(HISTORY_ACTIONS), entry: historyEntrySchema.optional() }),
]);
export type JournalEntry = z.infer<typeof journalEntrySchema>;
