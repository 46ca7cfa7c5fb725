// Which file paths main accepts from the renderer. The renderer may name a path only inside something the user chose
// outside it: a file or folder picked in a dialog, given on the command line, a series' manifest and its folder, or a
// project. It can never build a path outside those from strings: relative paths, `..`, NUL bytes and links that lead
// out are refused, and writing needs a write grant. PATH_FIELDS says which argument of which channel is a path;
// RESULT_GRANTS says which results are trusted paths. Adding a channel that takes a path is one line in PATH_FIELDS.
import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { z } from 'zod';
import type { JobKind, Jobs, RequestChannel, RequestResult, Requests } from '../../src-shared/contract';
import { SecurityError } from '../../src-shared/errors';

export type PathMode = 'read' | 'write';
/** 'file': that path only; 'tree': the folder and everything below it. */
export type PathScope = 'file' | 'tree';
export type PathOrigin = 'dialog' | 'cli' | 'manifest' | 'project';
export interface PathGrantOptions {
  mode: PathMode;
  scope: PathScope;
  origin: PathOrigin;
}
export interface PathGrant extends PathGrantOptions {
  /** The path as granted (absolute, normalised). */
  path: string;
  /** The same with every link resolved: what containment is tested against. */
  real: string;
}

type Channel = RequestChannel | JobKind;
type ArgsOf<C extends Channel> = C extends RequestChannel
  ? z.output<Requests[C]['args']>
  : C extends JobKind
    ? z.output<Jobs[C]['args']>
    : never;
export interface PathField<C extends Channel = Channel> {
  field: keyof ArgsOf<C> & string;
  mode: PathMode;
}

/** Every argument that names a file or folder, per channel or job kind (a test fails when one is missing). */
export const PATH_FIELDS: { readonly [C in Channel]?: ReadonlyArray<PathField<C>> } = {
  'file.info': [{ field: 'path', mode: 'read' }],
  'series.open': [{ field: 'path', mode: 'read' }],
  'process.exportReflections': [{ field: 'folder', mode: 'write' }],
  'file.hash': [{ field: 'path', mode: 'read' }],
  'track.run': [{ field: 'modelDir', mode: 'read' }],
  'extract.run': [{ field: 'outDir', mode: 'write' }],
  'project.saveAs': [{ field: 'dir', mode: 'write' }],
  'project.chooseLocation': [{ field: 'folder', mode: 'write' }],
};

/** Results that are trusted paths, and what they grant. */
const RESULT_GRANTS: {
  readonly [C in RequestChannel]?: (grants: PathGrants, result: RequestResult<C>) => void;
} = {
  // The user picked these in a native dialog: a folder may be read and written, a file read.
  'dialog.open': (grants, r) => {
    if (!r.canceled) for (const p of r.paths) grants.grantChosen(p, 'dialog');
  },
  // A series that opened: its manifest (or file, or folder) and the folder it is in may be read.
  'series.open': (grants, r) => grants.grantOpened(r.source, 'manifest'),
  // Projects main recorded as opened: each may be opened again from the list (its folder, and its series).
  'project.recent': (grants, r) => {
    for (const p of r) {
      if (p.missing) continue;
      grants.grantOpened(p.dir, 'project');
      grants.grantOpened(p.series, 'project');
    }
  },
};

export type PathRule = 'nul' | 'relative' | 'dotdot' | 'unresolvable' | 'link-escape' | 'not-granted' | 'read-only' | 'not-a-path';

const CASE_INSENSITIVE = process.platform === 'win32';

function key(p: string): string {
  return CASE_INSENSITIVE ? p.toLowerCase() : p;
}

function covers(root: string, scope: PathScope, p: string): boolean {
  const r = key(root);
  const k = key(p);
  if (k === r) return true;
  return scope === 'tree' && k.startsWith(r.endsWith(sep) ? r : r + sep);
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path with every link resolved: its realpath, or for a path that does not exist yet (an output) its nearest
 * existing ancestor's realpath plus the rest. Null when an existing entry cannot be resolved (a link to nothing, a
 * loop): writing through it could land anywhere.
 */
export function realPath(path: string): string | null {
  const tail: string[] = [];
  let cur = path;
  for (;;) {
    try {
      return join(realpathSync.native(cur), ...tail);
    } catch {
      // missing (or not reachable): resolve the parent and keep the name
    }
    if (exists(cur)) return null;
    const parent = dirname(cur);
    if (parent === cur) return null;
    tail.unshift(basename(cur));
    cur = parent;
  }
}

/** A path as it can be shown in a message: control characters escaped, very long ones shortened. */
export function printablePath(p: string, max = 300): string {
  let out = '';
  for (const ch of p) {
    const c = ch.codePointAt(0)!;
    if (c === 0) out += '\\0';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return out.length > max ? `${out.slice(0, max - 60)}…${out.slice(-59)}` : out;
}

export class PathGrants {
  private readonly grants: PathGrant[] = [];

  /** Trusts a path the user chose outside the renderer (caller's job: only dialogs, CLI, manifests, projects). */
  grant(path: string, options: PathGrantOptions): void {
    if (path.includes('\0')) return;
    const abs = resolve(path);
    const real = realPath(abs) ?? abs;
    const stronger = (g: PathGrant) => g.real === real && g.scope === options.scope && (g.mode === 'write' || options.mode === 'read');
    if (this.grants.some(stronger)) return;
    this.grants.push({ ...options, path: abs, real });
  }

  /** A path picked in a dialog or given on the command line: a folder may be read and written, a file read. */
  grantChosen(path: string, origin: PathOrigin): void {
    const st = statOrNull(path);
    if (!st) return;
    if (st.isDirectory()) this.grant(path, { mode: 'write', scope: 'tree', origin });
    else this.grant(path, { mode: 'read', scope: 'file', origin });
  }

  /** Where a series (or project) was opened from: the file and its folder (or the folder) may be read. */
  grantOpened(path: string, origin: PathOrigin): void {
    const st = statOrNull(path);
    if (!st) return;
    if (st.isDirectory()) {
      this.grant(path, { mode: 'read', scope: 'tree', origin });
      return;
    }
    this.grant(path, { mode: 'read', scope: 'file', origin });
    this.grant(dirname(path), { mode: 'read', scope: 'tree', origin });
  }

  /** Every existing file or folder among the app's command-line arguments (flags skipped), relative to cwd. */
  grantCommandLine(args: readonly string[], cwd: string): void {
    for (const a of args) if (a && !a.startsWith('-') && !a.includes('\0')) this.grantChosen(resolve(cwd, a), 'cli');
  }

  list(): readonly PathGrant[] {
    return this.grants;
  }

  /** The normalised absolute path when `value` may be used for `mode`; otherwise a SecurityError naming the rule. */
  check(channel: string, field: string, value: string, mode: PathMode): string {
    const what = /dir|folder/i.test(field) || mode === 'write' ? 'folder' : 'file';
    const choose = `choose the ${what} with Open… (paths typed in the app are accepted only inside folders opened before)`;
    const refuse = (rule: PathRule, problem: string): never => {
      throw new SecurityError(`${channel}: ${field} '${printablePath(value)}' ${problem}`, { channel, field, path: printablePath(value), rule });
    };
    if (value.includes('\0')) refuse('nul', 'contains a NUL byte');
    if (!isAbsolute(value)) refuse('relative', `is relative; ${choose}`);
    if (value.split(/[\\/]/).includes('..')) refuse('dotdot', `climbs up with '..'; ${choose}`);
    const wanted = resolve(value);
    const real = realPath(wanted);
    if (real === null) return refuse('unresolvable', 'cannot be resolved (a link to nothing, or a loop of links)');
    const covering = this.grants.filter((g) => covers(g.real, g.scope, real));
    if (covering.length === 0) {
      if (this.grants.some((g) => covers(g.path, g.scope, wanted))) {
        refuse('link-escape', `leads through a link to '${printablePath(real)}', outside the files and folders opened; ${choose}`);
      }
      refuse('not-granted', `is outside the files and folders opened in this session; ${choose}`);
    }
    if (mode === 'write' && !covering.some((g) => g.mode === 'write')) {
      refuse('read-only', `was opened for reading only; choose an output folder with Open… to write there`);
    }
    return wanted;
  }

  /** The arguments of a channel with each path field checked and normalised (other channels: unchanged). */
  checkArgs<A>(channel: string, args: A): A {
    const fields = (PATH_FIELDS as Record<string, ReadonlyArray<{ field: string; mode: PathMode }> | undefined>)[channel];
    if (!fields) return args;
    const out = { ...(args as Record<string, unknown>) };
    for (const { field, mode } of fields) {
      const v = out[field];
      if (v === undefined || v === null) continue;
      if (typeof v === 'string') out[field] = this.check(channel, field, v, mode);
      else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[field] = v.map((x: string) => this.check(channel, field, x, mode));
      else throw new SecurityError(`${channel}: ${field} is not a path`, { channel, field, rule: 'not-a-path' });
    }
    return out as A;
  }

  /** Grants what a channel's result makes trusted (a dialog's picks, an opened series' origin); never throws. */
  recordResult(channel: string, result: unknown): void {
    const record = (RESULT_GRANTS as Record<string, ((g: PathGrants, r: unknown) => void) | undefined>)[channel];
    try {
      record?.(this, result);
    } catch {
      // a grant is best effort: without it the path is refused later, with a message that says why
    }
  }
}
