// The one IPC contract: every channel between the renderer and main is declared here once, with the
// schema main validates its arguments against at runtime and the type of its result. Both the Electron
// preload and the e2e WebSocket host build on this map, so the renderer cannot tell them apart.
import { z } from 'zod';
import {
  batchesOrMerged,
  integrationParametersSchema,
  latticeParametersSchema,
  peakParametersSchema,
  reflectionFilesShape,
  type FramePeaks,
  type ProcessingSummary,
  type ReflectionExportResult,
  type ReflectionPreview,
} from './processing';
import type { ReciprocalCloud } from './reciprocal';
import { HISTORY_ACTIONS, type HistoryEntryWire, type ProjectInfo, type RecentProject } from './project';
import { FRAME_STATES, type Calibration, type FrameQuality, type FrameState, type NeighbourSummary, type TrackPrompt } from './domain';

export { FRAME_STATES };
export type { Calibration, FrameQuality, FrameState, NeighbourSummary, TrackPrompt };
export type { FramePeaks, ProcessingSummary, ReciprocalCloud, ReflectionExportResult, ReflectionPreview };

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
  /** null for scalar/null dataspaces. */
  shape: number[] | null;
  dtype: string;
  /** 'contiguous', 'chunked', 'compact', 'virtual', or 'external link → …'. */
  layout: string;
  chunks?: number[];
  filters: Array<{ id: number; name: string }>;
}

/** What `tracked info PATH` prints (ARCHITECTURE §6), and what the properties panel shows. */
export interface FileInfo {
  path: string;
  /** 'py4DSTEM', 'HyperSpy', 'NeXus', 'MIB', 'HDF5', … or 'series'. */
  format: string;
  sizeBytes?: number;
  dataset?: string;
  scanShape?: [number, number];
  scanShapeFrom?: string;
  detectorShape?: [number, number];
  dtype?: string;
  calibration?: Calibration;
  /** How frames are read: 'fs contiguous', 'fs chunked', 'fs mib', or 'h5wasm' (with the reason). */
  reader?: string;
  nTilts?: number;
  warnings: string[];
  datasets?: Hdf5DatasetInfo[];
  metadata?: Record<string, unknown>;
  /** Why an HDF5 file with a listing holds no readable 4D-STEM dataset. */
  problem?: string;
  series?: {
    nTilts: number;
    tiltRangeDeg: [number, number];
    tilts: Array<{ index: number; angleDeg: number; source: string; dataset?: string; tiltIndex?: number }>;
  };
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
  'file.openProject',
  'file.saveProjectAs',
  'file.inspect',
  'series.prevTilt',
  'series.nextTilt',
  'series.firstTilt',
  'series.lastTilt',
  'series.play',
  'masks.toolBrush',
  'masks.toolEraser',
  'masks.toolPolygon',
  'masks.toolFill',
  'masks.toolPointPositive',
  'masks.toolPointNegative',
  'masks.toolBox',
  'masks.brushSmaller',
  'masks.brushLarger',
  'masks.fillHoles',
  'masks.grow',
  'masks.shrink',
  'masks.clear',
  'masks.copyPrevious',
  'masks.copyNext',
  'masks.toggleLock',
  'masks.nextToCheck',
  'masks.toggleExclude',
  'masks.retrackForward',
  'masks.retrackBackward',
  'masks.zoomFit',
  'edit.undo',
  'edit.redo',
  'view.tab.series',
  'view.tab.masks',
  'view.tab.patterns',
  'view.tab.processing',
  'view.tab.reciprocal',
  'view.tab.export',
  'view.toggleLog',
  'help.shortcuts',
  'help.about',
] as const;
export type AppCommand = (typeof APP_COMMANDS)[number];

/** A tilt series as the renderer sees it (ARCHITECTURE §3 TiltSeries, without file handles). */
export interface SeriesSummary {
  seriesId: string;
  name: string;
  /** Where it came from: a manifest, a csv, a folder or a single file. */
  source: string;
  format: string;
  nTilts: number;
  anglesDeg: number[];
  /** File name of each tilt (base names only). */
  files: string[];
  scanShape: [number, number];
  detectorShape: [number, number];
  dtype: string;
  calibration: {
    voltageKV?: number;
    wavelengthA?: number;
    realPixelNm?: number;
    reciprocalPixelInvA?: number;
    rotationAxisDeg?: number | null;
  };
  totalBytes: number;
  warnings: string[];
}

export interface DetectorSuggestion {
  /** Fitted direct-beam centre [cx, cy] and disk radius, detector pixels (null when no beam was found). */
  beamCentre: [number, number] | null;
  diskRadius: number | null;
  bfRadius: number;
  adfInner: number;
  adfOuter: number;
}

/** Virtual detectors as the UI asks for them; centre null = the fitted direct beam of each tilt. */
const centre = z.tuple([z.number().finite(), z.number().finite()]).nullable().optional();
export const detectorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('disk'), radius: z.number().positive().max(1e5), centre, name: z.string().max(40).optional() }).strict(),
  z
    .object({ kind: z.literal('annulus'), rIn: z.number().min(0).max(1e5), rOut: z.number().positive().max(1e5), centre, name: z.string().max(40).optional() })
    .strict()
    .refine((d) => d.rOut > d.rIn, { message: 'rOut must be larger than rIn', path: ['rOut'] }),
  z.object({ kind: z.literal('com'), centre, name: z.string().max(40).optional() }).strict(),
  z.object({ kind: z.literal('variance'), name: z.string().max(40).optional() }).strict(),
  z.object({ kind: z.literal('sum'), name: z.string().max(40).optional() }).strict(),
  z.object({ kind: z.literal('mask'), mask: z.instanceof(Float32Array), name: z.string().max(40).optional() }).strict(),
]);
export type DetectorRequest = z.input<typeof detectorSchema>;

/** Result of a virtual-imaging pass, kept in main; images are fetched per output. */
export interface VirtualSummary {
  seriesId: string;
  /** Output names in order, e.g. ['bf', 'adf', 'comX', 'comY', 'variance']. */
  outputs: Array<{ name: string; kind: string; unit: string }>;
  /** Per tilt, the centre the detectors without one of their own used (fitted on sampled frames); else the full fit. */
  beamCentre: Array<[number, number] | null>;
  /** Per tilt, the direct beam fitted on the tilt's full mean pattern (null where none was found). */
  beamCentreFit: Array<[number, number] | null>;
  warnings: string[];
  bytesRead: number;
  seconds: number;
}

/** A prompt for the trackers on one tilt (domain TrackPrompt): points (+/−) and/or a box, in probe positions. */
export const promptSchema = z
  .object({
    tilt: z.number().int().min(0),
    points: z.array(z.object({ x: z.number().finite(), y: z.number().finite(), positive: z.boolean() }).strict()).max(64).default([]),
    box: z.tuple([z.number().finite(), z.number().finite(), z.number().finite(), z.number().finite()]).optional(),
  })
  .strict();
// The schema's output is the domain type: a change to one that the other does not follow fails to compile.
const promptMatchesDomain: (p: z.output<typeof promptSchema>) => TrackPrompt = (p) => p;
void promptMatchesDomain;

/** Run-length mask changes (src-shared/mask-runs.ts). */
const runs = z.instanceof(Uint32Array);
const historyEntrySchema = z
  .object({
    objectId: z.number().int().positive(),
    label: z.string().max(200),
    changes: z
      .array(z.object({ tilt: z.number().int().min(0), runs: z.object({ set: runs, clear: runs }).strict(), stateBefore: z.enum(FRAME_STATES), stateAfter: z.enum(FRAME_STATES) }).strict())
      .max(100_000),
    prompt: z.object({ tilt: z.number().int().min(0), before: promptSchema.nullable(), after: promptSchema.nullable() }).strict().optional(),
  })
  .strict();

/** A tracked particle as the renderer sees it (its masks are fetched separately). */
export interface ObjectSummary {
  seriesId: string;
  id: number;
  name: string;
  colour: string;
  visible: boolean;
  /** Enabled for extraction. */
  enabled: boolean;
  frameState: FrameState[];
  /** Mask area per tilt, probe positions. */
  areaPx: number[];
  quality: Array<FrameQuality | null>;
  prompts: TrackPrompt[];
  /** Increments with every change, so views know when to refetch. */
  version: number;
}

export interface TrackRunResult {
  objects: Array<{ id: number; framesTracked: number; framesFlagged: number; stopped?: string }>;
  seconds: number;
}
/** One object's extraction as the UI shows it (the frames stay in main; fetch them per tilt). */
export interface ExtractedObjectSummary {
  id: number;
  name: string;
  probeCount: number[];
  /** 1 where the tilt was extracted. */
  included: number[];
  /** Per tilt: fraction of the mask's signal from probe positions other objects also claim. */
  sharedSignalFraction: number[];
  /**
   * Per tilt: purity against every segmented particle (other objects and auto-detected neighbours) — the worse of
   * the probe-position share and the scattered-signal share in no other particle; null where not measured.
   */
  purity: Array<number | null>;
  probePurity: Array<number | null>;
  signalPurity: Array<number | null>;
  /** [cx, cy] per tilt (NaN where no beam was found). */
  beamCentre: Array<[number, number]>;
  /** Where its files went, when exported. */
  dir?: string;
  pts2?: string;
  framesWritten?: number;
}
export interface ExtractSummary {
  seriesId: string;
  objects: ExtractedObjectSummary[];
  warnings: string[];
  bytesRead: number;
  seconds: number;
  outDir?: string;
}

export interface CandidateSummary {
  /** Centroid in probe positions. */
  x: number;
  y: number;
  areaPx: number;
  bbox: [number, number, number, number];
  /** True when it touches no other candidate. */
  isolated: boolean;
  score: number;
}

const ids = { seriesId: z.string().min(1), objectId: z.number().int().positive() };

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
  /** Opens a series (series.json, tilts.csv, a folder of tilts, or one HDF5/MIB file) lazily. */
  'series.open': request(
    z
      .object({
        path: filePath,
        dataset: z.string().max(1024).optional(),
        scanShape: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
        startDeg: z.number().finite().min(-90).max(90).optional(),
        stepDeg: z.number().finite().min(-10).max(10).optional(),
      })
      .strict(),
    returns<SeriesSummary>(),
  ),
  /** Detector radii that suit the data: from a direct-beam fit on sampled frames of the middle tilt. */
  'series.suggestDetectors': request(z.object({ seriesId: z.string().min(1) }).strict(), returns<DetectorSuggestion>()),
  'series.list': request(z.object({}).strict(), returns<SeriesSummary[]>()),
  'series.close': request(z.object({ seriesId: z.string().min(1) }).strict(), returns<{ closed: boolean }>()),
  /** The diffraction pattern at one probe position (column rx, row ry) of one tilt. */
  'series.pattern': request(
    z.object({ seriesId: z.string().min(1), tilt: z.number().int().min(0), rx: z.number().int().min(0), ry: z.number().int().min(0) }).strict(),
    returns<{ pattern: Float32Array; nqy: number; nqx: number }>(),
  ),
  /** The last virtual-imaging result's summary for a series (null before the first pass). */
  'virtual.summary': request(z.object({ seriesId: z.string().min(1) }).strict(), returns<VirtualSummary | null>()),
  /** One output of the last pass as a stack: Float32Array of nTilts * ny * nx. */
  'virtual.stack': request(
    z.object({ seriesId: z.string().min(1), output: z.string().min(1).max(64) }).strict(),
    returns<{ stack: Float32Array; nTilts: number; ny: number; nx: number }>(),
  ),
  /** The mean diffraction pattern of one tilt from the last pass. */
  'virtual.meanPattern': request(
    z.object({ seriesId: z.string().min(1), tilt: z.number().int().min(0) }).strict(),
    returns<{ pattern: Float32Array; nqy: number; nqx: number; beamCentre: [number, number] | null }>(),
  ),
  'objects.list': request(z.object({ seriesId: z.string().min(1) }).strict(), returns<ObjectSummary[]>()),
  'objects.create': request(
    z.object({ seriesId: z.string().min(1), name: z.string().min(1).max(80).optional(), colour: z.string().regex(/^#[0-9a-f]{6}$/i).optional() }).strict(),
    returns<ObjectSummary>(),
  ),
  'objects.update': request(
    z
      .object({
        ...ids,
        name: z.string().min(1).max(80).optional(),
        colour: z.string().regex(/^#[0-9a-f]{6}$/i).optional(),
        visible: z.boolean().optional(),
        enabled: z.boolean().optional(),
      })
      .strict(),
    returns<ObjectSummary>(),
  ),
  'objects.delete': request(z.object(ids).strict(), returns<{ deleted: boolean }>()),
  /** One object's masks for every tilt: Uint8Array nTilts * ny * nx. */
  'masks.stack': request(z.object(ids).strict(), returns<{ masks: Uint8Array; nTilts: number; ny: number; nx: number; version: number }>()),
  /** A compact edit of one tilt's mask (run-length set/clear); marks the frame 'edited' unless told otherwise. */
  'masks.edit': request(
    z
      .object({ ...ids, tilt: z.number().int().min(0), set: runs, clear: runs, state: z.enum(FRAME_STATES).optional() })
      .strict(),
    returns<{ areaPx: number; state: FrameState; version: number }>(),
  ),
  'masks.setState': request(
    z.object({ ...ids, tilts: z.array(z.number().int().min(0)).min(1).max(100_000), state: z.enum(FRAME_STATES) }).strict(),
    returns<ObjectSummary>(),
  ),
  /** Sets or clears the prompts of one tilt (points and box). */
  'masks.setPrompt': request(z.object({ ...ids, prompt: promptSchema }).strict(), returns<ObjectSummary>()),
  /** Sum of the diffraction patterns inside a mask of one tilt (the object's, or a preview mask). */
  'masks.livePattern': request(
    z.object({ ...ids, tilt: z.number().int().min(0), preview: z.instanceof(Uint8Array).optional() }).strict(),
    returns<{ pattern: Float32Array; nqy: number; nqx: number; probeCount: number }>(),
  ),
  /** The auto-detected neighbours of the last tracking run (every other particle it followed). */
  'neighbours.list': request(z.object({ seriesId: z.string().min(1) }).strict(), returns<NeighbourSummary[]>()),
  /** Their label volume: Uint16Array nTilts * ny * nx (0 = none), or null before a tracking run. */
  'neighbours.stack': request(
    z.object({ seriesId: z.string().min(1) }).strict(),
    returns<{ labels: Uint16Array; nTilts: number; ny: number; nx: number } | null>(),
  ),
  /** Enable: the neighbour becomes one of the user's objects. */
  'neighbours.enable': request(z.object({ seriesId: z.string().min(1), label: z.number().int().positive() }).strict(), returns<ObjectSummary>()),
  /** Merge: the neighbour is part of an object (its frames are added to the object's, as edits). */
  'neighbours.merge': request(
    z.object({ seriesId: z.string().min(1), label: z.number().int().positive(), into: z.number().int().positive() }).strict(),
    returns<ObjectSummary>(),
  ),
  /** Delete: the neighbour is not a particle (noise, film); purity no longer counts it. */
  'neighbours.delete': request(z.object({ seriesId: z.string().min(1), label: z.number().int().positive() }).strict(), returns<{ deleted: boolean }>()),
  /** Auto-detect: particle candidates on one tilt's virtual image. */
  'track.candidates': request(
    z.object({ seriesId: z.string().min(1), tilt: z.number().int().min(0), image: z.string().max(64).optional() }).strict(),
    returns<CandidateSummary[]>(),
  ),
  /** The last extraction of a series (null before one ran). */
  'extract.summary': request(z.object({ seriesId: z.string().min(1) }).strict(), returns<ExtractSummary | null>()),
  /** One extracted frame (the summed pattern of one object at one tilt). */
  'extract.frame': request(
    z.object({ seriesId: z.string().min(1), objectId: z.number().int().positive(), tilt: z.number().int().min(0) }).strict(),
    returns<{ pattern: Float32Array; nqy: number; nqx: number; probeCount: number; beamCentre: [number, number] | null }>(),
  ),
  /** One extracted object's processing state: peaks, lattice, whether the lattice still matches the peaks. */
  'process.summary': request(z.object(ids).strict(), returns<ProcessingSummary | null>()),
  /** One frame's peaks (with Miller indices where indexed) and the beam centre used there. */
  'process.framePeaks': request(z.object({ ...ids, frame: z.number().int().min(0) }).strict(), returns<FramePeaks>()),
  /** Adds a peak at (x, y) or removes the one nearest it, on one frame (detector px); the frame is searched again. */
  'process.editPeak': request(
    z.object({ ...ids, frame: z.number().int().min(0), x: z.number().finite(), y: z.number().finite(), action: z.enum(['add', 'remove']) }).strict(),
    returns<{ summary: ProcessingSummary; peaks: FramePeaks }>(),
  ),
  /** One object's peaks in reciprocal space (crystal frame of tilt 0) with their frames, intensities and indices. */
  'process.reciprocal': request(z.object(ids).strict(), returns<ReciprocalCloud>()),
  /** The first lines of NAME.hkl, .ins (with a composition), .cif and .cif_pets of the integrated object; writes nothing. */
  'process.previewReflections': request(z.object({ ...ids, ...reflectionFilesShape }).strict().refine(...batchesOrMerged), returns<ReflectionPreview>()),
  /** Writes those files into a folder (made if missing), each atomically; a path that is an input file of the series is refused. */
  'process.exportReflections': request(
    z.object({ ...ids, folder: filePath, ...reflectionFilesShape }).strict().refine(...batchesOrMerged),
    returns<ReflectionExportResult>(),
  ),
  /** Where the series' project (masks.h5, project.json, journal) is kept, whether it is saved, what opening it recovered. */
  'project.info': request(z.object({ seriesId: z.string().min(1) }).strict(), returns<ProjectInfo>()),
  /** The undo and redo stacks kept with the project (undo works across restarts). */
  'project.history': request(z.object({ seriesId: z.string().min(1) }).strict(), returns<{ undo: HistoryEntryWire[]; redo: HistoryEntryWire[] }>()),
  /** Follows the renderer's history: a new entry, dropping the newest (its change never reached main), undo, redo, clear. */
  'project.recordHistory': request(
    z
      .object({ seriesId: z.string().min(1), action: z.enum(HISTORY_ACTIONS), entry: historyEntrySchema.optional() })
      .strict()
      .refine((a) => (a.action === 'push') === (a.entry !== undefined), { message: 'a push needs its entry (and only a push has one)', path: ['entry'] }),
    returns<{ undo: number; redo: number }>(),
  ),
  /** Copies the project into a new or empty folder and continues there. */
  'project.saveAs': request(z.object({ seriesId: z.string().min(1), dir: filePath }).strict(), returns<{ dir: string }>()),
  /**
   * Where projects go, remembered: a folder (this series' project moves there, or is copied there once saved), or
   * null for beside the series where possible.
   */
  'project.chooseLocation': request(z.object({ seriesId: z.string().min(1), folder: filePath.nullable() }).strict(), returns<{ dir: string }>()),
  /** After an unclean exit: keep the recovered changes (saved now) or go back to the last save (the journal is set aside). */
  'project.resolveRecovery': request(z.object({ seriesId: z.string().min(1), action: z.enum(['keep', 'discard']) }).strict(), returns<{ keptAs: string | null }>()),
  /** Projects opened lately, newest first, each checked: missing, or left by a session that did not close. */
  'project.recent': request(z.object({}).strict(), returns<RecentProject[]>()),
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
  /** Tracks objects through the tilts from their prompted/edited frames; never overwrites edited or locked frames. */
  'track.run': request(
    z
      .object({
        seriesId: z.string().min(1),
        objectIds: z.array(z.number().int().positive()).min(1).max(64),
        fromTilt: z.number().int().min(0).optional(),
        direction: z.enum(['forward', 'backward', 'both']).default('both'),
        maxFrames: z.number().int().positive().max(100_000).optional(),
        image: z.string().max(64).optional(),
        tracker: z.enum(['classical', 'sam2']).default('classical'),
        modelDir: z.string().max(4096).optional(),
        /** Other objects' masks are barriers the tracked objects never take (default true). */
        barriers: z.boolean().default(true),
      })
      .strict(),
    returns<TrackRunResult>(),
  ),
  /** Sums every enabled object's patterns per tilt in one pass; with outDir also writes TIFF + .pts2, SMV and HDF5. */
  'extract.run': request(
    z
      .object({
        seriesId: z.string().min(1),
        objectIds: z.array(z.number().int().positive()).max(64).optional(),
        background: z.boolean().default(false),
        ringWidth: z.number().int().min(1).max(20).default(2),
        outDir: z.string().min(1).max(4096).optional(),
      })
      .strict(),
    returns<ExtractSummary>(),
  ),
  /** Peak search on every frame of one extracted object, with a person's edits applied. */
  'process.peaks': request(z.object({ ...ids, params: peakParametersSchema.default({}) }).strict(), returns<ProcessingSummary>()),
  /** Rotation axis, cell, Bravais lattice and orientation refinement of one object's peaks. */
  'process.lattice': request(z.object({ ...ids, params: latticeParametersSchema.default({}) }).strict(), returns<ProcessingSummary>()),
  /** Integration over the rocking curves, scaling, merging and the symmetry ranking of one object with its lattice. */
  'process.integrate': request(z.object({ ...ids, params: integrationParametersSchema.default({}) }).strict(), returns<ProcessingSummary>()),
  /** Every detector for every tilt in one pass over the bytes. */
  'virtual.compute': request(
    z.object({ seriesId: z.string().min(1), detectors: z.array(detectorSchema).min(1).max(16) }).strict(),
    returns<VirtualSummary>(),
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
export type RequestResult<C extends RequestChannel> = Exclude<Requests[C]['result']['__result'], undefined>;
export type JobArgs<K extends JobKind> = z.input<Jobs[K]['args']>;
export type JobResult<K extends JobKind> = Exclude<Jobs[K]['result']['__result'], undefined>;

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
