// The one IPC contract: every channel between the renderer and main is declared here once, with the
// schema main validates its arguments against at runtime and the type of its result. Both the Electron
// preload and the e2e WebSocket host build on this map, so the renderer cannot tell them apart.
import { z } from 'zod';

/** Carries a result type without a runtime value (the schema side is only for arguments). */
export interface Returns<R> {
  readonly __result?: R;
}
function returns<R>(): Returns<R> {
  return {};
}

interface RequestDef<A extends z.ZodType, R> {
  args: A;
  result: Returns<R>;
}
function request<A extends z.ZodType, R>(args: A, result: Returns<R>): RequestDef<A, R> {
  return { args, result };
}

// ---------------------------------------------------------------------------------------------
// Shared result shapes
// ---------------------------------------------------------------------------------------------

export interface AppInfo {
  name: string;
  version: string;
  /** 'electron' in the desktop app, 'test-host' in the e2e harness. */
  host: 'electron' | 'test-host';
  platform: string;
  versions: Record<string, string>;
  cpus: number;
}

export interface Hdf5DatasetInfo {
  path: string;
  shape: number[];
  dtype: string;
  layout?: string;
  filters?: string[];
}

/** What `tracked info PATH` prints (DESIGN §6), and what the File ▸ Inspect dialog shows. */
export interface FileInfo {
  path: string;
  format: string;
  sizeBytes: number;
  dataset?: string;
  scanShape?: [number, number];
  detectorShape?: [number, number];
  dtype?: string;
  calibration?: Record<string, number | null | undefined>;
  datasets?: Hdf5DatasetInfo[];
  [key: string]: unknown;
}

export interface FileHashResult {
  path: string;
  algorithm: 'sha256';
  hex: string;
  bytes: number;
}

/** Commands that both keyboard shortcuts and the native menu trigger. */
export const APP_COMMANDS = [
  'file.open',
  'file.inspect',
  'edit.undo',
  'edit.redo',
  'view.tab.series',
  'view.tab.masks',
  'view.tab.patterns',
  'view.tab.reciprocal',
  'view.tab.export',
  'view.toggleLog',
  'help.shortcuts',
  'help.about',
] as const;
export type AppCommand = (typeof APP_COMMANDS)[number];

// ---------------------------------------------------------------------------------------------
// Request channels: invoke(channel, args) → result
// ---------------------------------------------------------------------------------------------

const filePath = z.string().min(1, 'path must not be empty').max(4096);

export const requests = {
  /** Name, version and host of the running app. */
  'app.info': request(z.object({}).strict(), returns<AppInfo>()),
  /** Round trip of a message and an optional binary payload: proves the bridge and its binary frames. */
  'app.echo': request(
    z
      .object({
        message: z.string().max(10_000),
        payload: z.instanceof(ArrayBuffer).optional(),
      })
      .strict(),
    returns<{ message: string; receivedAt: number; payloadBytes: number; payloadSum: number; payload?: ArrayBuffer }>(),
  ),
  /** Inspect a file: format, datasets, shapes, dtypes, calibration. */
  'file.info': request(z.object({ path: filePath }).strict(), returns<FileInfo>()),
  /** Ask the user for a file or folder (native dialog in the app; unavailable in the test host). */
  'dialog.open': request(
    z
      .object({
        title: z.string().max(200).optional(),
        directory: z.boolean().optional(),
        filters: z.array(z.object({ name: z.string(), extensions: z.array(z.string()) })).optional(),
      })
      .strict(),
    returns<{ canceled: boolean; paths: string[] }>(),
  ),
} as const;

// ---------------------------------------------------------------------------------------------
// Job kinds: startJob(kind, args) → jobId; then job:progress / job:done / job:error events
// ---------------------------------------------------------------------------------------------

export const jobs = {
  /** SHA-256 of a raw data file, streamed: lets a user check a copy from the microscope PC. */
  'file.hash': request(
    z.object({ path: filePath, chunkBytes: z.number().int().min(4096).max(256 * 1024 * 1024).optional() }).strict(),
    returns<FileHashResult>(),
  ),
} as const;

// ---------------------------------------------------------------------------------------------
// Events: main → renderer
// ---------------------------------------------------------------------------------------------

export interface JobProgress {
  jobId: string;
  kind: string;
  done: number;
  total: number;
  stage: string;
  /** Estimated seconds left, when the job can tell. */
  etaS?: number;
}
export interface JobDone {
  jobId: string;
  kind: string;
  result: unknown;
  seconds: number;
}
export interface JobFailed {
  jobId: string;
  kind: string;
  error: WireError;
}
export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  time: number;
  source?: string;
}

export interface EventMap {
  'job:progress': JobProgress;
  'job:done': JobDone;
  'job:error': JobFailed;
  'app:command': { command: AppCommand };
  'log:entry': LogEntry;
}
export type EventName = keyof EventMap;
export const EVENT_NAMES: readonly EventName[] = ['job:progress', 'job:done', 'job:error', 'app:command', 'log:entry'];

// ---------------------------------------------------------------------------------------------
// Control channels used by createApi and the registry (not services)
// ---------------------------------------------------------------------------------------------

export const CONTROL = {
  startJob: 'job.start',
  cancelJob: 'job.cancel',
} as const;

export const controlSchemas = {
  [CONTROL.startJob]: z.object({ kind: z.string().min(1), args: z.unknown() }).strict(),
  [CONTROL.cancelJob]: z.object({ jobId: z.string().min(1) }).strict(),
};

// ---------------------------------------------------------------------------------------------
// Types derived from the map
// ---------------------------------------------------------------------------------------------

export type Requests = typeof requests;
export type Jobs = typeof jobs;
export type RequestChannel = keyof Requests;
export type JobKind = keyof Jobs;
export type RequestArgs<C extends RequestChannel> = z.input<Requests[C]['args']>;
export type RequestResult<C extends RequestChannel> = NonNullable<Requests[C]['result']['__result']>;
export type JobArgs<K extends JobKind> = z.input<Jobs[K]['args']>;
export type JobResult<K extends JobKind> = NonNullable<Jobs[K]['result']['__result']>;

/** An error as it crosses the bridge. */
export interface WireError {
  name: string;
  message: string;
  detail?: Record<string, unknown>;
}

/** Every invoke answers with an envelope, so typed errors survive Electron's IPC (which drops fields). */
export type WireResult = { ok: true; value: unknown } | { ok: false; error: WireError };

export const REQUEST_CHANNELS = Object.keys(requests) as RequestChannel[];
export const JOB_KINDS = Object.keys(jobs) as JobKind[];
