// Where a series' project folder goes by default (kept apart from project.ts so that opening a series — `tracked
// virtual`, `tracked info` — does not load the project code and its schemas): beside the series when that folder is
// this account's own, on a local disk, and writable; else in the user's home. A microscope PC's raw-data share is
// often writable by the acquisition account: trackED's files must not land in it (Save As puts a project anywhere).
import { createHash } from 'node:crypto';
import { accessSync, constants, statfsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';

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
  const parent = dirname(origin);
  const name = basename(origin, extname(origin)) || 'series';
  if (notOursToWrite(parent, uid) === null) return join(parent, `${name}.tracked`);
  const hash = createHash('sha1').update(origin).digest('hex').slice(0, 16);
  return join(homedir(), '.tracked', 'projects', `${name}-${hash}`);
}
