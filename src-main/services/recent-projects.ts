// The projects a person opened lately, newest first, kept in the user's settings folder (never beside the data).
// Listing checks each folder again: gone, or left by a session that did not close (its lock is still there).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from '../io/atomic';

export interface RecentProject {
  dir: string;
  /** The series the project belongs to (its series.json, tilts.csv, folder or file). */
  series: string;
  name: string;
  openedAt: string;
}

export interface RecentProjectStatus extends RecentProject {
  /** The project folder is gone (moved, deleted, an unmounted share). */
  missing: boolean;
  /** The last session did not close it: its changes wait in the journal, and opening it recovers them. */
  uncleanExit: boolean;
}

const LIMIT = 12;

export class RecentProjects {
  constructor(readonly file: string) {}

  private read(): RecentProject[] {
    try {
      const list = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      if (!Array.isArray(list)) return [];
      return list.filter(
        (r): r is RecentProject =>
          r !== null && typeof r === 'object' && ['dir', 'series', 'name', 'openedAt'].every((k) => typeof (r as Record<string, unknown>)[k] === 'string'),
      );
    } catch {
      // No list yet, or a damaged one: start a new one (it only holds pointers to projects).
      return [];
    }
  }

  /** Puts a project at the top of the list. */
  touch(entry: Omit<RecentProject, 'openedAt'>): void {
    const list = [{ ...entry, openedAt: new Date().toISOString() }, ...this.read().filter((r) => r.dir !== entry.dir)].slice(0, LIMIT);
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileAtomicSync(this.file, JSON.stringify(list, null, 1));
    } catch {
      // The list is a convenience: a read-only settings folder must not stop the work.
    }
  }

  list(): RecentProjectStatus[] {
    return this.read().map((r) => ({
      ...r,
      missing: !existsSync(join(r.dir, 'project.json')) && !existsSync(join(r.dir, 'journal.jsonl')),
      uncleanExit: existsSync(join(r.dir, 'session.lock')),
    }));
  }
}
