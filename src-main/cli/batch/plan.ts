// A batch plan: which series, which particles in each (targets), how to process them, and which particles' data are
// merged into one reflection file. Read from JSON or CSV, checked against one schema (every error names the file, the
// entry and the field), then resolved into tasks — one per series and target — with absolute paths and a hash of
// everything that decides a task's output, so a rerun skips exactly the tasks that are done and unchanged.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { InputError } from '../../../src-shared/errors';
import { quotedLine } from '../../io/util';

export const PLAN_VERSION = 1;

const target = z
  .string()
  .trim()
  .regex(/^(auto|all|\d+(\.\d+)?,\d+(\.\d+)?@\d+)$/, "a target is 'auto' (the largest isolated crystal), 'all' (every particle found on the middle tilt) or X,Y@TILT");

/** What decides how one task runs (each series entry may override the plan's defaults). */
const taskOptionsShape = {
  tracker: z.enum(['classical', 'sam2']).optional(),
  /** SAM2: folder with the encoder and decoder ONNX exports. */
  model: z.string().min(1).optional(),
  /** A project folder with curated masks: its enabled objects are extracted instead of tracking targets. */
  project: z.string().min(1).optional(),
  cell: z.tuple([z.number().positive(), z.number().positive(), z.number().positive(), z.number().gt(0).lt(180), z.number().gt(0).lt(180), z.number().gt(0).lt(180)]).optional(),
  axisDeg: z.number().finite().optional(),
  spaceGroup: z.union([z.string().trim().min(1).max(40), z.number().int().min(1).max(230)]).optional(),
  composition: z.string().trim().min(1).max(200).optional(),
  dMinA: z.number().positive().optional(),
  voltageKV: z.number().positive().max(3000).optional(),
  qPixelInvA: z.number().positive().max(1).optional(),
  scan: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
  startDeg: z.number().finite().min(-90).max(90).optional(),
  stepDeg: z.number().finite().min(-10).max(10).optional(),
  angleDeg: z.number().finite().min(-90).max(90).optional(),
  background: z.boolean().optional(),
  /** Stop after extraction (no peaks, lattice or reflections). */
  process: z.boolean().optional(),
  /** Particles whose cells agree are merged into one reflection file per group. */
  mergeGroup: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a merge group is a name of letters, digits, _ . -')
    .optional(),
};
const taskOptions = z.object(taskOptionsShape).strict();
export type TaskOptions = z.infer<typeof taskOptions>;

const seriesEntry = z
  .object({ path: z.string().min(1), targets: z.array(target).min(1).max(1000).default(['auto']), ...taskOptionsShape })
  .strict();

const planSchema = z
  .object({
    version: z.literal(PLAN_VERSION),
    defaults: taskOptions.default({}),
    series: z.array(seriesEntry).min(1).max(10_000),
  })
  .strict();
export type Plan = z.infer<typeof planSchema>;

export interface BatchTask {
  index: number;
  /** Folder name under OUT/tasks/: the series' name and the target. */
  id: string;
  series: string;
  target: string;
  options: TaskOptions;
  mergeGroup: string | null;
  /** OUT/tasks/<id> */
  out: string;
  /** SHA-256 of what decides the output (series path, target, options): a changed task is run again. */
  hash: string;
}

export interface ResolvedPlan {
  version: typeof PLAN_VERSION;
  plan: string;
  out: string;
  tasks: BatchTask[];
  /** Merge group → indices of its tasks. */
  merges: Record<string, number[]>;
}

const CSV_COLUMNS: Record<string, keyof TaskOptions | 'series' | 'target'> = {
  series: 'series',
  target: 'target',
  tracker: 'tracker',
  model: 'model',
  project: 'project',
  cell: 'cell',
  axis_deg: 'axisDeg',
  space_group: 'spaceGroup',
  composition: 'composition',
  d_min_a: 'dMinA',
  voltage_kv: 'voltageKV',
  q_pixel_inv_a: 'qPixelInvA',
  scan: 'scan',
  start_deg: 'startDeg',
  step_deg: 'stepDeg',
  angle_deg: 'angleDeg',
  background: 'background',
  process: 'process',
  merge_group: 'mergeGroup',
};
const NUMERIC = new Set(['axisDeg', 'dMinA', 'voltageKV', 'qPixelInvA', 'startDeg', 'stepDeg', 'angleDeg']);

/** One CSV cell as the JSON value the schema expects (numbers, booleans, lists). */
function csvValue(key: string, raw: string): unknown {
  if (key === 'cell') return raw.split(/[,\s]+/).filter(Boolean).map(Number);
  if (key === 'scan') return raw.split(/[x×,]/i).map(Number);
  if (key === 'background' || key === 'process') return /^(1|true|yes)$/i.test(raw) ? true : /^(0|false|no)$/i.test(raw) ? false : raw;
  if (key === 'spaceGroup') return /^\d+$/.test(raw) ? Number(raw) : raw;
  if (NUMERIC.has(key)) return raw === '' ? undefined : Number(raw);
  return raw;
}

/** A CSV plan (one row per series and target; `series` and `target` columns, the others optional) as a JSON plan. */
function planFromCsv(text: string, file: string): unknown {
  let rows: Array<Record<string, string>>;
  try {
    rows = parseCsv(text, { columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true, comment: '#' });
  } catch (e) {
    throw new InputError(file, `is not a readable CSV plan (${quotedLine((e as Error).message)})`);
  }
  if (!rows.length) throw new InputError(file, 'has no rows (a header "series,target,…" and one row per series and target)');
  const unknown = Object.keys(rows[0]!).filter((c) => !(c in CSV_COLUMNS));
  if (unknown.length) throw new InputError(file, `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `"${quotedLine(c)}"`).join(', ')} (known: ${Object.keys(CSV_COLUMNS).join(', ')})`);
  const series = rows.map((row, r) => {
    const entry: Record<string, unknown> = {};
    for (const [column, raw] of Object.entries(row)) {
      const key = CSV_COLUMNS[column]!;
      if (raw === '') continue;
      if (key === 'series') entry['path'] = raw;
      else if (key === 'target') entry['targets'] = [raw];
      else entry[key] = csvValue(key, raw);
    }
    if (!entry['path']) throw new InputError(file, `row ${r + 2}: the series column is empty`);
    return entry;
  });
  return { version: PLAN_VERSION, series };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  return `${path || 'the plan'}: ${issue.message}`;
}

/** The plan in `file` (JSON or CSV), checked; an InputError naming the file, the entry and the field otherwise. */
export function loadPlan(file: string): Plan {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new InputError(abs, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`);
  }
  let raw: unknown;
  if (extname(abs).toLowerCase() === '.csv') raw = planFromCsv(text, abs);
  else {
    try {
      raw = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (e) {
      throw new InputError(abs, `is not valid JSON (${quotedLine((e as Error).message)})`);
    }
  }
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) throw new InputError(abs, `is not a valid batch plan: ${parsed.error.issues.slice(0, 3).map(describeIssue).join('; ')}`);
  return parsed.data;
}

/** JSON with every object's keys sorted: the same options in any order give the same hash. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

const slug = (s: string): string => s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'x';

/** A series' name for its task folders: a manifest's folder, else the file or folder name. */
function seriesName(path: string): string {
  const base = basename(path);
  if (/^(series(-\w+)?\.json|tilts\.csv)$/i.test(base)) return basename(dirname(path));
  return basename(path, extname(path));
}

/** The plan's tasks, one per series and target, with absolute paths, folders under `out`, and merge groups. */
export function resolvePlan(plan: Plan, planFile: string, out: string): ResolvedPlan {
  const base = dirname(resolve(planFile));
  const abs = (p: string): string => resolve(base, p);
  const tasks: BatchTask[] = [];
  const used = new Set<string>();
  for (const [k, entry] of plan.series.entries()) {
    const { path, targets, ...own } = entry;
    const series = abs(path);
    if (!existsSync(series)) throw new InputError(resolve(planFile), `series[${k}].path: ${series} does not exist`);
    const options: TaskOptions = { ...plan.defaults, ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)) };
    for (const key of ['project', 'model'] as const) if (options[key]) options[key] = abs(options[key]!);
    if (options.project && !statSync(options.project, { throwIfNoEntry: false })?.isDirectory()) {
      throw new InputError(resolve(planFile), `series[${k}].project: ${options.project} is not a folder`);
    }
    // A project's curated objects are the targets: one task, named after the project.
    for (const t of options.project ? ['project'] : targets) {
      let id = `${slug(seriesName(series))}-${slug(t.replace('@', '_at_'))}`;
      for (let n = 2; used.has(id); n++) id = `${slug(seriesName(series))}-${slug(t)}-${n}`;
      used.add(id);
      const { mergeGroup, ...decides } = options;
      const hash = createHash('sha256').update(canonical({ series, target: t, options: decides })).digest('hex');
      tasks.push({ index: tasks.length, id, series, target: t, options, mergeGroup: mergeGroup ?? null, out: join(resolve(out), 'tasks', id), hash });
    }
  }
  const merges: Record<string, number[]> = {};
  for (const t of tasks) if (t.mergeGroup) (merges[t.mergeGroup] ??= []).push(t.index);
  return { version: PLAN_VERSION, plan: resolve(planFile), out: resolve(out), tasks, merges };
}
