// File paths reach main's handlers only from trusted origins: every channel that takes a path (PATH_FIELDS) is sent
// relative, absolute, `..`, NUL, link and read-only-write paths through a registry with the policy on; each must be
// refused with a SecurityError before its handler runs, and a granted path must reach it.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { jobs, requests, type WireResult } from '../../../src-shared/contract';
import { SecurityError } from '../../../src-shared/errors';
import { createAppState, createJobHandlers, createRequestHandlers } from '../bindings';
import { PATH_FIELDS, PathGrants, printablePath, type PathMode, type PathRule } from '../path-grants';
import { IpcRegistry, type JobHandlers, type RequestHandlers } from '../registry';

/** Valid arguments for each channel in PATH_FIELDS, less the path field (a new channel must add a line here). */
const BASE_ARGS: Record<string, Record<string, unknown>> = {
  'file.info': {},
  'series.open': {},
  'file.hash': {},
  'track.run': { seriesId: 's', objectIds: [1] },
  'extract.run': { seriesId: 's' },
  'process.exportReflections': { seriesId: 's', objectId: 1, name: 'x' },
  'project.saveAs': { seriesId: 's' },
  'project.chooseLocation': { seriesId: 's' },
};

let root = '';
let granted = '';
let readonly = '';
let outside = '';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tracked-grants-'));
  granted = join(root, 'granted');
  readonly = join(root, 'readonly');
  outside = join(root, 'outside');
  for (const d of [granted, readonly, outside, `${granted}-evil`]) mkdirSync(d);
  writeFileSync(join(granted, 'data.bin'), 'x');
  writeFileSync(join(outside, 'secret.txt'), 'x');
  symlinkSync('/etc', join(granted, 'etc-link'));
  symlinkSync(join(outside, 'secret.txt'), join(granted, 'secret-link'));
  symlinkSync(join(outside, 'not-yet'), join(granted, 'dangling'));
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A registry with the policy on whose path channels only record their arguments. */
function recordingRegistry(paths: PathGrants | undefined, dialogPicks: string[] = []) {
  const calls: Array<{ channel: string; args: Record<string, unknown> }> = [];
  const record = (channel: string) => (args: Record<string, unknown>) => {
    calls.push({ channel, args });
    return channel === 'series.open' ? { source: args['path'] } : {};
  };
  const state = createAppState();
  const requestHandlers: Record<string, unknown> = {
    ...createRequestHandlers({ host: 'test-host', openDialog: () => ({ canceled: false, paths: dialogPicks }) }, state),
  };
  const jobHandlers: Record<string, unknown> = { ...createJobHandlers(state) };
  for (const channel of Object.keys(PATH_FIELDS)) {
    if (channel in requests) requestHandlers[channel] = record(channel);
    else jobHandlers[channel] = async (args: Record<string, unknown>) => record(channel)(args);
  }
  const registry = new IpcRegistry(requestHandlers as RequestHandlers, jobHandlers as JobHandlers, { emit: () => undefined }, { progressIntervalMs: 0, ...(paths ? { paths } : {}) });
  return { registry, calls, requestHandlers };
}

function send(registry: IpcRegistry, channel: string, args: Record<string, unknown>): Promise<WireResult> {
  return channel in requests ? registry.handle(channel, args) : registry.handle('job.start', { kind: channel, args });
}

function policy(): PathGrants {
  const paths = new PathGrants();
  paths.grant(granted, { mode: 'write', scope: 'tree', origin: 'cli' });
  paths.grant(readonly, { mode: 'read', scope: 'tree', origin: 'manifest' });
  return paths;
}

/** The hostile values every path field gets, with the rule each must be refused by. */
function attacks(mode: PathMode): Array<[string, PathRule]> {
  const list: Array<[string, PathRule]> = [
    ['../../etc/passwd', 'relative'],
    ['etc/passwd', 'relative'],
    ['', 'relative'],
    ['/etc/passwd', 'not-granted'],
    ['/root/.ssh/id_rsa', 'not-granted'],
    [join(outside, 'secret.txt'), 'not-granted'],
    [join(`${granted}-evil`, 'x'), 'not-granted'],
    [`${granted}/../../etc/passwd`, 'dotdot'],
    [`${granted}/../granted/data.bin`, 'dotdot'],
    [join(granted, 'etc-link'), 'link-escape'],
    [join(granted, 'etc-link', 'passwd'), 'link-escape'],
    [join(granted, 'secret-link'), 'link-escape'],
    [join(granted, 'dangling'), 'unresolvable'],
    [join(granted, 'dangling', 'deeper'), 'unresolvable'],
    [`${granted}/data\0.bin`, 'nul'],
    [`${granted}\0/../../etc/passwd`, 'nul'],
  ];
  if (mode === 'write') list.push([join(readonly, 'out'), 'read-only'], [readonly, 'read-only']);
  return list;
}

const cases = Object.entries(PATH_FIELDS).flatMap(([channel, fields]) =>
  ((fields ?? []) as ReadonlyArray<{ field: string; mode: PathMode }>).map(({ field, mode }) => ({ channel, field, mode })),
);

describe('path grants on every channel that takes a path', () => {
  it('covers every channel of PATH_FIELDS with valid base arguments', () => {
    expect(Object.keys(BASE_ARGS).sort()).toEqual(Object.keys(PATH_FIELDS).sort());
  });

  it.each(cases)('$channel: $field ($mode): refuses paths the user never chose, before the handler', async ({ channel, field, mode }) => {
    const { registry, calls } = recordingRegistry(policy());
    for (const [value, rule] of attacks(mode)) {
      const reply = await send(registry, channel, { ...BASE_ARGS[channel], [field]: value });
      expect(reply.ok, `${channel} ${field}=${printablePath(value)}`).toBe(false);
      if (reply.ok) continue;
      // '' fails the schema (min length) on the fields that have one, and the policy on the others.
      if (value === '' && reply.error.name === 'ValidationError') continue;
      expect(reply.error.name, printablePath(value)).toBe('SecurityError');
      expect(reply.error.detail).toMatchObject({ channel, field, rule, path: printablePath(value) });
      expect(reply.error.message).toContain(`${channel}: ${field} '${printablePath(value)}'`);
      expect(reply.error.message).not.toContain('\0');
    }
    await new Promise((r) => setTimeout(r, 5));
    expect(calls).toEqual([]);
  });

  it.each(cases)('$channel: $field ($mode): a granted path reaches the handler, normalised', async ({ channel, field, mode }) => {
    const { registry, calls } = recordingRegistry(policy());
    const inside = [`${granted}//sub/./data.bin`, join(granted, 'new', 'folder')];
    if (mode === 'read') inside.push(join(readonly, 'tilt.h5'));
    for (const value of inside) {
      const reply = await send(registry, channel, { ...BASE_ARGS[channel], [field]: value });
      expect(reply, value).toMatchObject({ ok: true });
    }
    await vi.waitFor(() => expect(calls).toHaveLength(inside.length));
    expect(calls.map((c) => c.args[field]).sort()).toEqual([join(granted, 'sub', 'data.bin'), ...inside.slice(1)].sort());
  });

  it('leaves a registry without a policy unchanged', async () => {
    const { registry, calls } = recordingRegistry(undefined);
    await expect(registry.handle('file.info', { path: '/etc/passwd' })).resolves.toMatchObject({ ok: true });
    expect(calls).toEqual([{ channel: 'file.info', args: { path: '/etc/passwd' } }]);
  });

  it('accepts a file once the host dialog returned it, and a folder for writing', async () => {
    const secret = join(outside, 'secret.txt');
    const paths = new PathGrants();
    const { registry, calls } = recordingRegistry(paths, [secret, outside]);
    await expect(registry.handle('file.info', { path: secret })).resolves.toMatchObject({ ok: false, error: { name: 'SecurityError' } });
    await expect(registry.handle('dialog.open', {})).resolves.toMatchObject({ ok: true, value: { paths: [secret, outside] } });
    await expect(registry.handle('file.info', { path: secret })).resolves.toMatchObject({ ok: true });
    await expect(send(registry, 'extract.run', { seriesId: 's', outDir: join(outside, 'out') })).resolves.toMatchObject({ ok: true });
    await vi.waitFor(() => expect(calls.map((c) => c.channel)).toEqual(['file.info', 'extract.run']));
    expect(paths.list().map((g) => [g.origin, g.mode, g.scope])).toEqual([
      ['dialog', 'read', 'file'],
      ['dialog', 'write', 'tree'],
    ]);
  });

  it('grants read on an opened series origin and its folder, not write', async () => {
    const manifest = join(outside, 'secret.txt');
    const paths = new PathGrants();
    const { registry } = recordingRegistry(paths, [manifest]);
    await registry.handle('dialog.open', {});
    await expect(registry.handle('file.info', { path: join(outside, 'tilt-1.h5') })).resolves.toMatchObject({ ok: false, error: { detail: { rule: 'not-granted' } } });
    await expect(registry.handle('series.open', { path: manifest })).resolves.toMatchObject({ ok: true });
    await expect(registry.handle('file.info', { path: join(outside, 'tilt-1.h5') })).resolves.toMatchObject({ ok: true });
    const write = await registry.handle('process.exportReflections', { seriesId: 's', objectId: 1, name: 'x', folder: join(outside, 'refl') });
    expect(write).toMatchObject({ ok: false, error: { name: 'SecurityError', detail: { rule: 'read-only' } } });
    expect(paths.list().map((g) => [g.origin, g.path, g.scope, g.mode])).toEqual([
      ['dialog', manifest, 'file', 'read'],
      ['manifest', outside, 'tree', 'read'],
    ]);
  });

  it('grants read on the series of each recent project that is still there', async () => {
    const paths = new PathGrants();
    const { registry, requestHandlers } = recordingRegistry(paths);
    const manifest = join(outside, 'secret.txt');
    const recent = (series: string, missing: boolean) => ({ dir: join(root, 'p'), series, name: 'p', openedAt: '', missing, uncleanExit: false });
    requestHandlers['project.recent'] = () => [recent(manifest, false), recent('/etc/passwd', true)];
    await expect(registry.handle('project.recent', {})).resolves.toMatchObject({ ok: true });
    await expect(registry.handle('series.open', { path: manifest })).resolves.toMatchObject({ ok: true });
    await expect(registry.handle('file.info', { path: '/etc/passwd' })).resolves.toMatchObject({ ok: false, error: { name: 'SecurityError' } });
    expect(paths.list().map((g) => [g.origin, g.path])).toEqual([
      ['project', manifest],
      ['project', outside],
    ]);
  });

  it('explains the refusal in the user’s words, with control characters escaped', () => {
    const paths = policy();
    expect(() => paths.check('series.open', 'path', '../../etc/passwd', 'read')).toThrow(
      "series.open: path '../../etc/passwd' is relative; choose the file with Open… (paths typed in the app are accepted only inside folders opened before)",
    );
    expect(() => paths.check('series.open', 'path', '/etc/passwd', 'read')).toThrow(SecurityError);
    expect(() => paths.check('extract.run', 'outDir', '/tmp/a\nb\u001b[31m', 'write')).toThrow("extract.run: outDir '/tmp/a\\nb\\u{1b}[31m' is outside");
    expect(printablePath('x'.repeat(5000)).length).toBeLessThanOrEqual(300);
  });

  it('grants existing command-line files and folders, skipping flags and missing paths', () => {
    const paths = new PathGrants();
    paths.grantCommandLine(['--no-sandbox', 'granted', join(outside, 'secret.txt'), 'missing', ''], root);
    expect(paths.list().map((g) => [g.path, g.mode, g.scope, g.origin])).toEqual([
      [granted, 'write', 'tree', 'cli'],
      [join(outside, 'secret.txt'), 'read', 'file', 'cli'],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Every argument that looks like a path is in PATH_FIELDS
// ---------------------------------------------------------------------------------------------

/** `path`, `files`, `outDir`, `modelPath`, `report_folder`…, but not `profile`. */
const PATH_LIKE = /(?:^(?:path|dir|directory|folder|file|filename)|(?:Path|Dir|Directory|Folder|File|Filename|FileName)|_(?:path|dir|directory|folder|file|filename))s?$/;

interface ZodDefLike {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  items?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  valueType?: z.ZodType;
}
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: ZodDefLike } })._zod.def;

/** Does the schema accept strings (a string, a string array, an optional or union of them)? */
function takesStrings(s: z.ZodType): boolean {
  const d = defOf(s);
  if (d.type === 'string') return true;
  const inner = d.innerType ?? d.in ?? d.element;
  if (inner) return takesStrings(inner);
  return (d.options ?? []).some(takesStrings);
}

/** Dotted names of every string-valued field whose name looks like a path, at any depth. */
function pathLikeFields(s: z.ZodType, prefix = '', seen = new Set<z.ZodType>()): string[] {
  if (seen.has(s)) return [];
  seen.add(s);
  const d = defOf(s);
  const found: string[] = [];
  for (const [name, child] of Object.entries(d.shape ?? {})) {
    const dotted = prefix ? `${prefix}.${name}` : name;
    if (PATH_LIKE.test(name) && takesStrings(child)) found.push(dotted);
    found.push(...pathLikeFields(child, dotted, seen));
  }
  const children = [d.innerType, d.in, d.out, d.element, d.left, d.right, d.valueType, ...(d.options ?? []), ...(d.items ?? [])];
  for (const child of children) if (child) found.push(...pathLikeFields(child, prefix, seen));
  return found;
}

function missingFromPolicy(defs: Record<string, { args: z.ZodType }>): string[] {
  const table = PATH_FIELDS as Record<string, ReadonlyArray<{ field: string }> | undefined>;
  return Object.entries(defs).flatMap(([channel, def]) =>
    [...new Set(pathLikeFields(def.args))].filter((f) => !(table[channel] ?? []).some((e) => e.field === f)).map((f) => `${channel}: ${f}`),
  );
}

describe('PATH_FIELDS', () => {
  it('lists every argument of every request and job whose name looks like a path', () => {
    expect(missingFromPolicy({ ...requests, ...jobs })).toEqual([]);
  });

  it('the walk finds path fields, nested or optional, so the check above is not vacuous', async () => {
    const { z: zod } = await import('zod');
    const found = pathLikeFields(
      zod
        .object({ exportDir: zod.string().optional(), files: zod.array(zod.string()), inner: zod.object({ modelPath: zod.string().default('') }), profile: zod.string(), count: zod.number() })
        .refine(() => true),
    );
    expect(found.sort()).toEqual(['exportDir', 'files', 'inner.modelPath']);
    expect(pathLikeFields(requests['file.info'].args)).toEqual(['path']);
    expect(pathLikeFields(jobs['track.run'].args)).toEqual(['modelDir']);
  });

  it('names only fields and modes that exist in the contract', () => {
    for (const { channel, field } of cases) {
      const def = (requests as Record<string, { args: z.ZodType }>)[channel] ?? (jobs as Record<string, { args: z.ZodType }>)[channel];
      expect(def, channel).toBeDefined();
      expect(pathLikeFields(def!.args), channel).toContain(field);
    }
  });
});
