// Where a series' project folder goes by default (kept apart from project.ts so that opening a series — `tracked
// virtual`, `tracked info` — does not load the project code and its schemas): beside the series when that folder is
// this account's own, on a local disk, and writable; else in the user's home. A microscope PC's raw-data share is
// often writable by the acquisition account: trackED's files must not land in it (Save As puts a project anywhere).
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, statfsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { writeFileAtomicSync } from '../io/atomic';

/** statfs magic numbers of network file systems (Linux): NFS, SMB/CIFS, SMB2, AFS, Ceph, Lustre, 9p. */
const NETWORK_FS = new Set([0x6969, 0xff534d42, 0xfe534d42, 0x5346414f, 0x00c36400, 0x0bd00bd0, 0x01021997]);

/** Why `folder` is not a place for our files (another account's, a network share, not writable), or null. */
export function notOursToWrite(folder: string, uid = process.getuid?.()): string | null {
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    return 'not writable';
  }
  try {
    if (uid !== undefined && statSync(folder).uid !== uid) return "another account's folder";
    if (NETWORK_FS.has(Number(statfsSync(folder).type))) return 'a network share';
  } catch {
    return 'cannot be examined';
  }
  return null;
}

/** The project folder: beside the series when that folder is ours and local, else in the user's home. */
export function projectDirFor(origin: string, uid = process.getuid?.()): string {
  return projectPlace(origin, null, uid).dir;
}

/** Where a series' project goes, and why there (shown beside the folder in the app). */
export interface ProjectPlace {
  dir: string;
  reason: string;
}

const nameOf = (origin: string): string => basename(origin, extname(origin)) || 'series';
const shortHash = (origin: string, n: number): string => createHash('sha1').update(origin).digest('hex').slice(0, n);

/**
 * The project folder of `origin`: in `projectsFolder` when the user chose one (NAME-HASH.tracked: two series of one
 * name never share a project), else beside the series when that folder is ours and local, else in the user's home.
 */
export function projectPlace(origin: string, projectsFolder: string | null, uid = process.getuid?.()): ProjectPlace {
  const name = nameOf(origin);
  if (projectsFolder) return { dir: join(projectsFolder, `${name}-${shortHash(origin, 8)}.tracked`), reason: 'in the folder chosen for projects' };
  const parent = dirname(origin);
  const why = notOursToWrite(parent, uid);
  if (why === null) return { dir: join(parent, `${name}.tracked`), reason: 'beside the series' };
  return { dir: join(homedir(), '.tracked', 'projects', `${name}-${shortHash(origin, 16)}`), reason: `in your home folder: the series' folder is ${why}` };
}

/**
 * The user's choice of where projects go, remembered in the settings folder: a folder, or null for "beside the
 * series where possible"; undefined until chosen (the app asks after a project's first save).
 */
export class ProjectLocationSetting {
  constructor(readonly file: string | null) {}

  get(): string | null | undefined {
    if (!this.file) return undefined;
    try {
      const v = (JSON.parse(readFileSync(this.file, 'utf8')) as { projectsFolder?: unknown }).projectsFolder;
      return typeof v === 'string' || v === null ? v : undefined;
    } catch {
      return undefined;
    }
  }

  set(folder: string | null): void {
    if (!this.file) return;
    let settings: Record<string, unknown> = {};
    try {
      settings = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, unknown>;
    } catch {
      // No settings yet, or a damaged file: it holds preferences only.
    }
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileAtomicSync(this.file, JSON.stringify({ ...settings, projectsFolder: folder }, null, 1));
  }
}
