// What the renderer sees of a series' project: where it is, whether it is saved, what the last open recovered, the
// undo history kept with it, and the recently opened projects.
import type { FrameState, TrackPrompt } from './domain';
import type { MaskRuns } from './mask-runs';

export interface ProjectRecovery {
  /** The previous session ended without closing the project (its lock was left behind). */
  uncleanExit: boolean;
  previousSession?: { pid: number; host: string; startedAt: string };
  /** Changes replayed from the journal (made after the last save). */
  journalEntries: number;
  /** Journal lines that could not be replayed (a line cut short by a kill, or damaged): they and all after them are skipped. */
  journalSkipped: number;
  /** The project version the files were written in (brought up to date at the next save); null for a new project. */
  fromVersion: number | null;
  /** When the project was last saved (ISO time), null if never. */
  lastCheckpoint: string | null;
  warnings: string[];
}

export interface ProjectInfo {
  dir: string;
  /** Why the project is where it is ('beside the series', 'in the folder chosen for projects', …). */
  locationReason: string;
  /** The user has said where projects go (else the app asks once the project is written). */
  locationChosen: boolean;
  /** The project has been written to its folder (by this session or an earlier one). */
  written: boolean;
  lastSavedAt: number | null;
  dirty: boolean;
  schemaVersion: number;
  recovery: ProjectRecovery;
}

export interface RecentProject {
  dir: string;
  /** The series the project belongs to (its series.json, tilts.csv, folder or file). */
  series: string;
  name: string;
  openedAt: string;
  /** The project folder is gone (moved, deleted, an unmounted share). */
  missing: boolean;
  /** The last session did not close it: its changes wait in the journal, and opening it recovers them. */
  uncleanExit: boolean;
}

/** One undoable change as the renderer's history holds it, without its series. */
export interface HistoryEntryWire {
  objectId: number;
  label: string;
  changes: Array<{ tilt: number; runs: MaskRuns; stateBefore: FrameState; stateAfter: FrameState }>;
  prompt?: { tilt: number; before: TrackPrompt | null; after: TrackPrompt | null };
}

export const HISTORY_ACTIONS = ['push', 'drop', 'undo', 'redo', 'clear'] as const;
export type HistoryAction = (typeof HISTORY_ACTIONS)[number];
