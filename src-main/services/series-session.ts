// Open tilt series, their sources, project and last results (virtual images, extraction), kept in main (the single
// truth). The renderer holds ids and fetches typed arrays on demand. Sources are opened lazily, read-only, once per tilt.
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { SeriesSummary } from '../../src-shared/contract';
import { InputError, ParameterError, TrackedError } from '../../src-shared/errors';
import { assertWritableOutput } from '../io/protected-inputs';
import { quotedLine } from '../io/util';
import { RecentProjects, type RecentProjectStatus } from './recent-projects';

import { asSeriesTilt, openSeries, openTilt, type SeriesOptions, type TiltSeries } from '../io/series';
import type { FourDSource } from '../io/types';
import { type VirtualResult } from '../stages/virtual/service';
import type { Project, ResultsKind } from './project';
import { ProjectLocationSetting, projectPlace, type ProjectPlace } from './project-dir';
import type { ExtractResult } from '../stages/extraction';
import type { ObjectProcessing } from './processing-job';
import { BYTES_PER_PIXEL } from '../../src-shared/pixels';

export interface OpenSeries {
  id: string;
  series: TiltSeries;
  sources: Array<FourDSource | undefined>;
  virtual?: VirtualResult;
  /** The last extraction (frames stay here; the renderer fetches them per tilt). */
  extracted?: ExtractResult;
  /** Identifies the extraction, so processing results kept with the project are joined to the one they came from. */
  extractionId?: string;
  /** Processing per extracted object (peaks, lattice, a person's peak edits). */
  processing?: Map<number, ObjectProcessing>;
  /** What opening found of the project (a damaged project.json), shown with the series' own warnings. */
  warnings: string[];
  /** Created on first use, so reading a series (e.g. `tracked virtual`) never writes a project. */
  project?: Promise<Project>;
}

export interface SessionOptions {
  /** Where projects go; default beside the series (projectDirFor). Tests point it elsewhere. */
  projectDir?: (origin: string) => string;
  /** Delay before an automatic checkpoint after a change (ms; default 3000; negative = only on close). */
  checkpointDelayMs?: number;
  /** The recent-projects list (in the user's settings folder); none in the CLI. */
  recentFile?: string;
  /** The user's settings (where projects go); none in the CLI. */
  settingsFile?: string;
}

/** The project folder `path` names (the folder, or its project.json), or null when it is not a project. */
function projectFolderOf(path: string): string | null {
  try {
    if (statSync(path).isDirectory()) return existsSync(join(path, 'project.json')) ? path : null;
  } catch {
    return null;
  }
  return basename(path) === 'project.json' ? dirname(path) : null;
}


export class SeriesSessions {
  private readonly open = new Map<string, OpenSeries>();
  private counter = 0;
  private readonly projectDirOverride = new Map<string, string>();
  private readonly recent: RecentProjects | null;
  private readonly location: ProjectLocationSetting;

  constructor(private readonly options: SessionOptions = {}) {
    this.recent = options.recentFile ? new RecentProjects(options.recentFile) : null;
    this.location = new ProjectLocationSetting(options.settingsFile ?? null);
  }

  async openSeries(path: string, opts: SeriesOptions = {}): Promise<SeriesSummary> {
    const projectDir = projectFolderOf(path);
    if (projectDir) return this.openProject(projectDir, opts);
    // The sources the series' checks opened stay open for the session (each tilt is then opened once).
    const opened: FourDSource[] = [];
    const closeOpened = (): void => opened.forEach((src) => src.close());
    let series: TiltSeries;
    try {
      series = await openSeries(path, { ...opts, keepSource: (i, src) => ((opened[i] = src), true) });
    } catch (e) {
      closeOpened();
      throw e;
    }
    // One session per series: a second window or a second "Open" shares the same project and results.
    for (const [openId, o] of this.open) {
      if (o.series.origin !== series.origin) continue;
      closeOpened();
      return this.summary(openId);
    }
    const id = `series-${++this.counter}`;
    const sources = Array.from({ length: series.tilts.length }, (_, t) => (opened[t] ? asSeriesTilt(series, opened[t]) : undefined));
    this.open.set(id, { id, series, sources, warnings: [] });
    // An existing project is loaded at once, so its results are there when the series is; a damaged one is named
    // in the warnings (the series still opens; the project's files are left as they are).
    if (existsSync(join(this.projectDirOf(series.origin), 'project.json')) || existsSync(join(this.projectDirOf(series.origin), 'journal.jsonl'))) {
      await this.project(id).catch((e: unknown) => this.get(id).warnings.push(`Project not loaded: ${e instanceof Error ? e.message : String(e)}`));
    }
    return this.summary(id);
  }

  /** Opens the series a project folder belongs to, with that project (its masks, history and results). */
  private async openProject(dir: string, opts: SeriesOptions): Promise<SeriesSummary> {
    const file = join(dir, 'project.json');
    let origin: unknown;
    try {
      origin = (JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as { series?: unknown }).series;
    } catch (e) {
      throw new InputError(file, `unreadable project file (${quotedLine((e as Error).message)})`);
    }
    if (typeof origin !== 'string' || !origin) throw new InputError(file, 'names no series');
    const already = [...this.open.values()].find((o) => o.series.origin === origin);
    if (already && this.projectDirOf(origin) !== dir) {
      throw new ParameterError('path', `its series ${origin} is open with the project ${this.projectDirOf(origin)}: close the series first`);
    }
    if (!existsSync(origin)) throw new InputError(file, `belongs to the series ${origin}, which is not there (moved, or a share not mounted?)`);
    this.useProjectDir(origin, dir);
    return this.openSeries(origin, opts);
  }

  /** Recently opened projects, newest first (empty where no list is kept). */
  recentProjects(): RecentProjectStatus[] {
    return this.recent?.list() ?? [];
  }

  /**
   * Save As: the project (saved first) is copied into `dir` — a new or empty folder, filled under a temporary
   * name and renamed when complete — and the series continues there. The old folder stays as it was at this moment.
   */
  async saveProjectAs(id: string, dir: string): Promise<{ dir: string }> {
    const s = this.get(id);
    const target = resolve(dir);
    const p = await this.project(id);
    if (target === resolve(p.dir)) throw new ParameterError('dir', `${target} is the project's folder already`);
    if (existsSync(target) && (!statSync(target).isDirectory() || readdirSync(target).length)) {
      throw new ParameterError('dir', `${target} is not an empty folder: choose a new one`);
    }
    await p.checkpoint();
    const staging = `${target}.tmp-${process.pid}-${Date.now()}`;
    assertWritableOutput(staging);
    try {
      mkdirSync(staging, { recursive: true });
      for (const f of p.files()) copyFileSync(join(p.dir, f), join(staging, f));
      if (existsSync(target)) rmdirSync(target);
      renameSync(staging, target);
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      throw e;
    }
    await p.close();
    this.useProjectDir(s.series.origin, target);
    const next = await this.newProject(s, target);
    await next.load();
    s.project = Promise.resolve(next);
    this.recent?.touch({ dir: target, series: s.series.origin, name: this.summary(id).name });
    return { dir: target };
  }

  /** After an unclean exit: keep the changes replayed from the journal (saved now), or go back to the last save. */
  async resolveRecovery(id: string, action: 'keep' | 'discard'): Promise<{ keptAs: string | null }> {
    const s = this.get(id);
    const p = await this.project(id);
    if (action === 'keep') {
      await p.checkpoint();
      p.recovery.uncleanExit = false;
      return { keptAs: null };
    }
    const keptAs = await p.discardJournal();
    p.abandon();
    await p.close();
    const fresh = await this.newProject(s, p.dir);
    await fresh.load();
    s.project = Promise.resolve(fresh);
    return { keptAs };
  }

  list(): SeriesSummary[] {
    return [...this.open.keys()].map((id) => this.summary(id));
  }

  async close(id: string): Promise<boolean> {
    const s = this.open.get(id);
    if (!s) return false;
    this.open.delete(id);
    for (const src of s.sources) src?.close();
    // A project that failed to load has nothing to save (its files were left as they were).
    const project = await s.project?.catch(() => null);
    await project?.close();
    return true;
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.open.keys()]) await this.close(id);
  }

  private projectDirOf(origin: string): string {
    return this.projectPlaceOf(origin).dir;
  }

  /** Where `origin`'s project is, and why: a folder it was opened from or saved to, else the remembered choice. */
  projectPlaceOf(origin: string): ProjectPlace & { chosen: boolean } {
    const chosen = this.location.get() !== undefined;
    const override = this.projectDirOverride.get(origin);
    if (override) return { dir: override, reason: 'opened from or saved to this folder', chosen };
    if (this.options.projectDir) return { dir: this.options.projectDir(origin), reason: 'set by this host', chosen };
    return { ...projectPlace(origin, this.location.get() ?? null), chosen };
  }

  /**
   * Remembers where projects go (`folder`, or null: beside the series where possible) and puts this series' project
   * there: moved when nothing was written yet, else copied by Save As (the old folder stays as it was).
   */
  async chooseProjectLocation(id: string, folder: string | null): Promise<{ dir: string }> {
    const s = this.get(id);
    if (folder !== null) {
      const why = existsSync(folder) ? (statSync(folder).isDirectory() ? null : 'is not a folder') : 'does not exist';
      if (why) throw new ParameterError('folder', `${folder} ${why}`);
    }
    this.location.set(folder);
    const p = await this.project(id);
    const target = projectPlace(s.series.origin, folder).dir;
    if (resolve(target) === resolve(p.dir)) return { dir: p.dir };
    if (p.lastSavedAt === null && !p.isDirty() && !p.written) {
      await p.close();
      this.useProjectDir(s.series.origin, target);
      s.project = undefined;
      return { dir: (await this.project(id)).dir };
    }
    return this.saveProjectAs(id, target);
  }

  /** Opens `origin`'s project from `dir` instead of its default place (Open Project, Save As). */
  useProjectDir(origin: string, dir: string): void {
    this.projectDirOverride.set(origin, dir);
  }

  /**
   * Results changed: the project keeps them (written at its next checkpoint). A new extraction gets a new id and
   * forgets the processing of the old one.
   */
  async resultsChanged(id: string, kind: ResultsKind): Promise<void> {
    const s = this.get(id);
    const p = await this.project(id);
    if (kind === 'extraction') {
      s.extractionId = randomUUID();
      p.setResults('extraction', s.extractionId, s.extracted ? { ...s.extracted } : null);
      p.setResults('processing', s.extractionId, null);
    } else if (s.extractionId) {
      const { storedProcessing } = await import('./processing-job');
      p.setResults('processing', s.extractionId, storedProcessing(s.processing));
    }
  }

  /** Puts back the extraction and processing the project kept (when this session has none of its own). */
  private async restoreResults(s: OpenSeries, p: Project): Promise<void> {
    const ex = p.storedResults('extraction');
    if (!ex || s.extracted) return;
    const value = ex.value as Partial<ExtractResult> | null;
    if (!value || !Array.isArray(value.series) || !value.series.every((x) => x && Number.isInteger(x.objectId) && x.frames instanceof Float32Array)) {
      p.recovery.warnings.push('The kept extraction does not fit this trackED; extract again.');
      return;
    }
    s.extracted = { series: value.series, warnings: value.warnings ?? [], bytesRead: value.bytesRead ?? 0, framesRead: value.framesRead ?? 0, seconds: value.seconds ?? 0 };
    s.extractionId = ex.id;
    const pr = p.storedResults('processing');
    if (pr && pr.id === ex.id) s.processing = (await import('./processing-job')).restoredProcessing(pr.value, s.extracted, s.series.calibration);
  }

  /** The series' project (objects, masks, kept results), loaded from disk on first use. */
  project(id: string): Promise<Project> {
    const s = this.get(id);
    s.project ??= (async () => {
      const p = await this.newProject(s, this.projectDirOf(s.series.origin));
      await p.load();
      await this.restoreResults(s, p);
      return p;
    })();
    return s.project;
  }

  /** The project code loads on first use: reading a series needs none of it. */
  private async newProject(s: OpenSeries, dir: string): Promise<Project> {
    const { Project } = await import('./project');
    const p = new Project(dir, s.series.origin, s.series.tilts.length, s.series.scanShape, s.series.tilts.map((t) => t.angleDeg), this.options.checkpointDelayMs);
    const name = this.summary(s.id).name;
    const remember = (): void => this.recent?.touch({ dir, series: s.series.origin, name });
    p.onSaved = remember;
    if (existsSync(join(dir, 'project.json'))) remember();
    return p;
  }

  /** Sum of the diffraction patterns at the probe positions inside `mask` (ny*nx) on one tilt. */
  async maskedPatternSum(id: string, tilt: number, mask: Uint8Array, signal?: AbortSignal): Promise<{ pattern: Float32Array; nqy: number; nqx: number; probeCount: number }> {
    const src = await this.source(id, tilt);
    const [ny, nx] = src.scanShape;
    const [nqy, nqx] = src.detectorShape;
    if (mask.length !== ny * nx) throw new ParameterError('mask', `has ${mask.length} pixels, the scan has ${ny * nx}`);
    const npix = nqy * nqx;
    const sum = new Float64Array(npix);
    let probeCount = 0;
    // Read each row's runs of masked probe positions as one block.
    for (let ry = 0; ry < ny; ry++) {
      let rx = 0;
      while (rx < nx) {
        if (!mask[ry * nx + rx]) {
          rx++;
          continue;
        }
        const start = rx;
        while (rx < nx && mask[ry * nx + rx]) rx++;
        signal?.throwIfAborted();
        const frames = await src.readFrames(ry * nx + start, rx - start, signal);
        for (let k = 0; k < frames.length; k++) sum[k % npix] += frames[k]!;
        probeCount += rx - start;
      }
    }
    return { pattern: Float32Array.from(sum), nqy, nqx, probeCount };
  }

  get(id: string): OpenSeries {
    const s = this.open.get(id);
    if (!s) throw new TrackedError(`No open series with id ${id} (it was closed or never opened)`, { field: 'seriesId' });
    return s;
  }

  summary(id: string): SeriesSummary {
    const { series } = this.get(id);
    const [ny, nx] = series.scanShape;
    const [nqy, nqx] = series.detectorShape;
    const c = series.calibration;
    return {
      seriesId: id,
      // A manifest is always called series.json: name the series after its folder then.
      name: /^series(-\w+)?\.json$/i.test(basename(series.origin)) ? basename(dirname(series.origin)) : basename(series.origin),
      source: series.origin,
      format: series.tilts.length ? basename(series.tilts[0]!.source).split('.').pop()!.toUpperCase() : '',
      nTilts: series.tilts.length,
      anglesDeg: series.tilts.map((t) => t.angleDeg),
      files: series.tilts.map((t) => basename(t.source)),
      scanShape: series.scanShape,
      detectorShape: series.detectorShape,
      dtype: series.dtype,
      calibration: {
        ...(c.voltageKV !== undefined ? { voltageKV: c.voltageKV } : {}),
        ...(c.wavelengthA !== undefined ? { wavelengthA: c.wavelengthA } : {}),
        ...(c.realPixelNm !== undefined ? { realPixelNm: c.realPixelNm } : {}),
        ...(c.reciprocalPixelInvA !== undefined ? { reciprocalPixelInvA: c.reciprocalPixelInvA } : {}),
        rotationAxisDeg: c.rotationAxisDeg ?? null,
      },
      totalBytes: series.tilts.length * ny * nx * nqy * nqx * BYTES_PER_PIXEL[series.dtype],
      warnings: [...series.warnings, ...this.get(id).warnings],
    };
  }

  /** The tilt's source, opened on first use and kept open (read-only) until the series closes. */
  async source(id: string, tilt: number): Promise<FourDSource> {
    const s = this.get(id);
    if (!Number.isInteger(tilt) || tilt < 0 || tilt >= s.series.tilts.length) {
      throw new ParameterError('tilt', `${tilt} is outside 0…${s.series.tilts.length - 1}`);
    }
    return (s.sources[tilt] ??= await openTilt(s.series, tilt));
  }

  async pattern(id: string, tilt: number, rx: number, ry: number): Promise<{ pattern: Float32Array; nqy: number; nqx: number }> {
    const src = await this.source(id, tilt);
    const [ny, nx] = src.scanShape;
    if (rx >= nx || ry >= ny) throw new ParameterError('probe', `(${rx}, ${ry}) is outside the ${nx}×${ny} scan`);
    const frame = await src.readFrames(ry * nx + rx, 1);
    const [nqy, nqx] = src.detectorShape;
    return { pattern: Float32Array.from(frame), nqy, nqx };
  }

}

