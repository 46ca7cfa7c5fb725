// The fuzz cases: each (kind, seed, index) names one mutated input, made the same way every time from the base
// inputs (a small synthetic series as HDF5 and MIB, its manifests, and a project saved by the Project class), and
// the way the app reads it. Shared by the child that runs cases (./child.ts) and the spec that drives it, so a
// case that failed can be rebuilt and kept as a regression fixture.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TrackedError } from '../../src-shared/errors';
import { inspect } from '../../src-main/io/inspect';
import { openSeries, openTilt } from '../../src-main/io/series';
import { Project } from '../../src-main/services/project';
import { rng } from '../helpers/rng';

export const READER_KINDS = ['hdf5-truncated', 'hdf5-metadata-bits', 'hdf5-any-bits', 'mib', 'series.json', 'tilts.csv'] as const;
export const PROJECT_KINDS = ['project.json', 'masks.h5', 'journal', 'results'] as const;
export const KINDS = [...READER_KINDS, ...PROJECT_KINDS] as const;
export type FuzzKind = (typeof KINDS)[number];

/** What every case starts from (read once per process from the base folder). */
export interface FuzzBase {
  dir: string;
  tilt: Buffer;
  mib: Buffer;
  mibHeader: string;
  manifest: string;
  csv: string;
  project: Record<string, Buffer>;
  series: { origin: string; nTilts: number; scanShape: [number, number]; anglesDeg: number[] };
}

export function loadBase(dir: string): FuzzBase {
  const project: Record<string, Buffer> = {};
  for (const f of readdirSync(join(dir, 'project'))) project[f] = readFileSync(join(dir, 'project', f));
  return {
    dir,
    tilt: readFileSync(join(dir, 'tilt_000.h5')),
    mib: readFileSync(join(dir, 'tilt_000.mib')),
    mibHeader: readFileSync(join(dir, 'tilt_000.hdr'), 'latin1'),
    manifest: readFileSync(join(dir, 'series.json'), 'utf8'),
    csv: 'file,angle_deg\ntilt_000.h5,-1\ntilt_001.h5,1\n',
    project,
    series: JSON.parse(readFileSync(join(dir, 'base.json'), 'utf8')) as FuzzBase['series'],
  };
}

function mutateBytes(src: Buffer, r: () => number, mode: 'truncate' | 'front' | 'any'): Buffer {
  const b = Buffer.from(src);
  if (mode === 'truncate') return b.subarray(0, Math.floor(r() * b.length));
  // Metadata lives at the front of a small HDF5 file: flip bits there, or anywhere.
  const span = mode === 'front' ? Math.min(b.length, 4096) : b.length;
  for (let k = 0, n = 1 + Math.floor(r() * 8); k < n; k++) b[Math.floor(r() * span)]! ^= 1 << Math.floor(r() * 8);
  return b;
}

const JUNK = ['', '"', ',', '-', '0x10', '\u001b[31m', 'NaN', '1e999', '-1', '\n', '{', ']', '../', '\uFEFF', ' ', 'null', '[]', '{}', '1e308', '4294967296'];

function mutateText(src: string, r: () => number): string {
  const chars = [...src];
  if (r() < 0.25) return chars.slice(0, Math.floor(r() * chars.length)).join('');
  for (let k = 0, n = 1 + Math.floor(r() * 4); k < n; k++) chars[Math.floor(r() * chars.length)] = JUNK[Math.floor(r() * JUNK.length)]!;
  return chars.join('');
}

/** A JSON document with one value somewhere replaced by an absurd one (header lies, wrong types, NaN-like numbers). */
function mutateJsonValue(src: string, r: () => number): string {
  const doc = JSON.parse(src) as unknown;
  const paths: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const walk = (v: unknown): void => {
    const entries: Array<[string | number, unknown]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : v && typeof v === 'object' ? Object.entries(v) : [];
    for (const [key, x] of entries) {
      paths.push({ parent: v as Record<string, unknown> | unknown[], key });
      walk(x);
    }
  };
  walk(doc);
  const lies: unknown[] = [null, -1, 0, 1e308, -1e308, 2 ** 53, 1.5, '', 'x', [], {}, true, [1, 2, 3], 'NaN', 1e-320, 65536];
  for (let k = 0, n = 1 + Math.floor(r() * 3); k < n && paths.length; k++) {
    const p = paths[Math.floor(r() * paths.length)]!;
    const lie = lies[Math.floor(r() * lies.length)];
    if (r() < 0.15 && !Array.isArray(p.parent)) delete (p.parent as Record<string, unknown>)[p.key as string];
    else (p.parent as Record<string | number, unknown>)[p.key] = lie;
  }
  return JSON.stringify(doc);
}

function mutateJournal(src: string, r: () => number): string {
  const lines = src.split('\n').filter(Boolean);
  const choice = r();
  if (choice < 0.3) return mutateText(src, r);
  if (choice < 0.6 && lines.length) {
    const k = Math.floor(r() * lines.length);
    lines[k] = mutateJsonValue(lines[k]!, r);
    return `${lines.join('\n')}\n`;
  }
  // Lines repeated, reordered or cut, as a crash between appends never makes but a copy or a sync tool might.
  const out: string[] = [];
  for (let k = 0, n = Math.floor(r() * (lines.length * 2 + 2)); k < n; k++) out.push(lines[Math.floor(r() * lines.length)] ?? '{}');
  return `${out.join('\n')}${r() < 0.5 ? '\n' : ''}`;
}

export interface CaseFiles {
  /** Where the case is opened from: a file for the readers, a project folder for the loader. */
  entry: string;
  files: Record<string, Buffer | string>;
}

/** The case's files (relative names) and the path to open. Readers' cases live in the base folder (their manifests name its tilts). */
export function makeCase(base: FuzzBase, kind: FuzzKind, seed: number, index: number): CaseFiles {
  // One stream per case, so any case can be rebuilt alone.
  const r = rng((seed ^ Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(KINDS.indexOf(kind) + 1, 0x85ebca6b)) >>> 0);
  const tag = `fuzz-${kind.replace(/\W/g, '_')}-${index}`;
  switch (kind) {
    case 'hdf5-truncated':
      return { entry: `${tag}.h5`, files: { [`${tag}.h5`]: mutateBytes(base.tilt, r, 'truncate') } };
    case 'hdf5-metadata-bits':
      return { entry: `${tag}.h5`, files: { [`${tag}.h5`]: mutateBytes(base.tilt, r, 'front') } };
    case 'hdf5-any-bits':
      return { entry: `${tag}.h5`, files: { [`${tag}.h5`]: mutateBytes(base.tilt, r, 'any') } };
    case 'mib': {
      // The frame headers are text at the front of each frame; the .hdr is the acquisition header.
      const mib = r() < 0.5 ? mutateBytes(base.mib, r, r() < 0.5 ? 'truncate' : 'front') : base.mib;
      const hdr = mib === base.mib || r() < 0.3 ? mutateText(base.mibHeader, r) : base.mibHeader;
      return { entry: `${tag}.mib`, files: { [`${tag}.mib`]: mib, [`${tag}.hdr`]: hdr } };
    }
    case 'series.json':
      return { entry: `${tag}.json`, files: { [`${tag}.json`]: r() < 0.5 ? mutateText(base.manifest, r) : mutateJsonValue(base.manifest, r) } };
    case 'tilts.csv':
      return { entry: `${tag}.csv`, files: { [`${tag}.csv`]: mutateText(base.csv, r) } };
    default:
      return { entry: tag, files: projectCase(base, kind, r, tag) };
  }
}

function projectCase(base: FuzzBase, kind: FuzzKind, r: () => number, tag: string): Record<string, Buffer | string> {
  const files: Record<string, Buffer | string> = {};
  for (const [f, data] of Object.entries(base.project)) files[`${tag}/${f}`] = data;
  const p = (f: string): string => `${tag}/${f}`;
  if (kind === 'project.json') files[p('project.json')] = r() < 0.5 ? mutateText(base.project['project.json']!.toString('utf8'), r) : mutateJsonValue(base.project['project.json']!.toString('utf8'), r);
  else if (kind === 'masks.h5') files[p('masks.h5')] = mutateBytes(base.project['masks.h5']!, r, r() < 0.3 ? 'truncate' : r() < 0.6 ? 'front' : 'any');
  else if (kind === 'journal') files[p('journal.jsonl')] = mutateJournal(base.project['journal.jsonl']!.toString('utf8'), r);
  else {
    const f = r() < 0.5 ? 'extraction.trk' : 'processing.trk';
    files[p(f)] = mutateBytes(base.project[f]!, r, r() < 0.3 ? 'truncate' : 'any');
  }
  return files;
}

// eslint-disable-next-line no-control-regex
const hasControl = (text: string): boolean => /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(text);

/** 'ok', 'typed', or what went wrong (an untyped error, a broken invariant). */
export function classify(e: unknown): string {
  if (e instanceof TrackedError && !/HDF5-DIAG|\n/.test(e.message) && !hasControl(e.message)) return 'typed';
  return `untyped ${(e as Error)?.name}: ${String((e as Error)?.message).split('\n')[0]!.slice(0, 300)}`;
}

/** Opens a case the way the app does. */
export async function runCase(base: FuzzBase, kind: FuzzKind, entry: string): Promise<string> {
  try {
    if ((READER_KINDS as readonly string[]).includes(kind)) {
      await inspect(entry);
      const series = await openSeries(entry);
      const src = await openTilt(series, 0);
      try {
        await src.readFrames(0, Math.min(64, series.scanShape[0] * series.scanShape[1]));
      } finally {
        src.close();
      }
      return 'ok';
    }
    return await loadProjectCase(base, entry);
  } catch (e) {
    return classify(e);
  }
}

/** The loader must give a project whose every part fits the series, which it can save and load again, or a typed error. */
async function loadProjectCase(base: FuzzBase, dir: string): Promise<string> {
  const { origin, nTilts, scanShape, anglesDeg } = base.series;
  const open = async (): Promise<Project> => {
    const p = new Project(dir, origin, nTilts, scanShape, anglesDeg, -1);
    await p.load();
    return p;
  };
  const p = await open();
  const n = nTilts * scanShape[0] * scanShape[1];
  for (const o of p.objects.values()) {
    if (o.masks.length !== n || o.frameState.length !== nTilts || o.quality.length !== nTilts || o.masks.some((v) => v > 1)) return `broken invariant: object ${o.id} does not fit the series`;
  }
  const before = [...p.objects.values()].map((o) => `${o.id}:${o.name}:${o.frameState.join()}:${Buffer.from(o.masks).toString('base64')}`).join('|');
  await p.close();
  const again = await open();
  const after = [...again.objects.values()].map((o) => `${o.id}:${o.name}:${o.frameState.join()}:${Buffer.from(o.masks).toString('base64')}`).join('|');
  await again.close();
  return before === after ? 'ok' : 'broken invariant: the saved project reloads differently';
}
