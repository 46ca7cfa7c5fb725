// Where a series' project folder goes by default (kept apart from project.ts so that opening a series — `tracked
// virtual`, `tracked info` — does not load the project code and its schemas).
import { createHash } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';

/** The project folder: beside the series when that folder is writable, else in the user's home. */
export function projectDirFor(origin: string): string {
  const parent = dirname(origin);
  const name = basename(origin, extname(origin)) || 'series';
  try {
    accessSync(parent, constants.W_OK);
    return join(parent, `${name}.tracked`);
  } catch {
    const hash = createHash('sha1').update(origin).digest('hex').slice(0, 16);
    return join(homedir(), '.tracked', 'projects', `${name}-${hash}`);
  }
}
