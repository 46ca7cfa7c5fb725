// The user's curated work on one series: tracked objects, their masks, frame states and prompts. Main holds
// the single truth; every change is appended to a journal at once (so a crash or a kill loses nothing that
// reached main) and folded into masks.h5 + project.json by an atomic checkpoint every few seconds and on close.
//
// On disk, in the project folder (ARCHITECTURE §6):
//   project.json     { format, version, savedAt, savedBy, series, nTilts, scanShape, anglesDeg, nextObjectId,
//                    objects: [{ id, name, colour, visible, enabled, frameState[], quality[], prompts[] }],
//                    history: { undo[], redo[] }, results: { extraction, processing } } — ./project-schema.ts,
//                    which also migrates every earlier version
//   masks.h5         one uint8 dataset object_<id> [nTilts, ny, nx], attrs name, angleDeg
//   journal.jsonl    one JSON line per change since the last checkpoint; replayed on open (edits are absolute
//                    set/clear runs, so replaying one twice is harmless)
//   extraction.trk   the last extraction, processing.trk the peaks, lattice and integration computed from it
//                    (../io/results-file.ts), written at a checkpoint after they change
//   particles.h5     the auto-detected neighbours of the last tracking run (./neighbours.ts), written atomically
//                    whenever they change
//   session.lock     present while a session has unsaved changes: left behind, it marks an unclean exit
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FrameQuality, FrameState, ObjectSummary, TrackPrompt } from '../../src-shared/contract';
import type { HistoryAction, HistoryEntryWire, ProjectRecovery } from '../../src-shared/project';
import { applyMaskRunsInPlace, diffMask, type MaskRuns } from '../../src-shared/mask-runs';
import { InputError, ParameterError, TrackedError } from '../../src-shared/errors';
import { writeFileAtomicSync } from '../io/atomic';
import { decodeResults, encodeResults } from '../io/results-file';
import pkg from '../../package.json';
import { HISTORY_LIMIT, journalEntrySchema, migrateProject, PROJECT_FORMAT, PROJECT_SCHEMA_VERSION, type HistoryEntryRecord, type JournalEntry } from './project-schema';
import { firstLine, guardHdf5Open, h5lib } from '../io/h5';
import { writeMasksH5 } from '../io/write-masks';
import { dropLabel, neighbourFrame, readNeighbours, summarise, writeNeighbours, type NeighbourSet } from './neighbours';

export interface TrackedObject {
  id: number;
  name: string;
  colour: string;
  visible: boolean;
  enabled: boolean;
  /** nTilts * ny * nx, 1 inside. */
  masks: Uint8Array;
  frameState: FrameState[];
  quality: Array<FrameQuality | null>;
  prompts: TrackPrompt[];
  version: number;
}

export type ResultsKind = 'extraction' | 'processing';
interface StoredResults {
  /** Ties processing results to the extraction they were computed from. */
  id: string;
  value: unknown;
  dirty: boolean;
}

interface SessionLock {
  pid: number;
  host: string;
  startedAt: string;
  app: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const PALETTE = ['#ff6b4a', '#4fc3f7', '#9ccc65', '#ffca28', '#ba68c8', '#4db6ac', '#f06292', '#a1887f'];

export { projectDirFor } from './project-dir';

export class Project {
  readonly objects = new Map<number, TrackedObject>();
  /** The auto-detected neighbours (null before a tracking run found any). */
  neighbours: NeighbourSet | null = null;
  private nextId = 1;
  private dirty = false;
  /** Changes recorded so far: a checkpoint empties the journal only when none came in while it was being written. */
  private changes = 0;
  /** Set when the replay stopped at an unreadable line: the readable lines, written back before the next append. */
  private journalKeep: string | null = null;
  lastSavedAt: number | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly journalPath: string;
  private readonly lockPath: string;
  private lockHeld = false;
  /** The undo and redo stacks of the renderer's mask history (entries as plain arrays). */
  readonly history: { undo: HistoryEntryRecord[]; redo: HistoryEntryRecord[]; seq: number } = { undo: [], redo: [], seq: 0 };
  private readonly results: Record<ResultsKind, StoredResults | null> = { extraction: null, processing: null };
  /** Called after each checkpoint (the recent-projects list follows it). */
  onSaved: (() => void) | null = null;
  recovery: ProjectRecovery = { uncleanExit: false, journalEntries: 0, journalSkipped: 0, fromVersion: null, lastCheckpoint: null, warnings: [] };

  constructor(
    readonly dir: string,
    readonly origin: string,
    readonly nTilts: number,
    readonly scanShape: [number, number],
    readonly anglesDeg: number[],
    private readonly checkpointDelayMs = 3000,
  ) {
    this.journalPath = join(dir, 'journal.jsonl');
    this.lockPath = join(dir, 'session.lock');
  }

  get frameSize(): number {
    return this.scanShape[0] * this.scanShape[1];
  }

  /**
   * Loads project.json (any version, migrated) + masks.h5 + the results files if present, then replays the journal.
   * A damaged project.json or masks.h5 is an InputError naming the file (the user's files are left as they are);
   * damaged results files are dropped with a warning (they can be recomputed); the journal is replayed up to its
   * first unreadable line.
   */
  async load(): Promise<void> {
    this.detectUncleanExit();
    const projectFile = join(this.dir, 'project.json');
    if (existsSync(projectFile)) {
      const { meta, fromVersion } = migrateProject(readFileSync(projectFile, 'utf8'), projectFile, { anglesDeg: this.anglesDeg });
      if (meta.nTilts !== this.nTilts || meta.scanShape[0] !== this.scanShape[0] || meta.scanShape[1] !== this.scanShape[1]) {
        throw new InputError(projectFile, `belongs to a series of ${meta.nTilts} tilts × ${meta.scanShape.join('×')}, not ${this.nTilts} × ${this.scanShape.join('×')}`);
      }
      this.recovery.fromVersion = fromVersion;
      this.recovery.lastCheckpoint = meta.savedAt || null;
      this.nextId = meta.nextObjectId;
      await this.loadMasks(meta.objects);
      this.history.undo = meta.history.undo;
      this.history.redo = meta.history.redo;
      this.history.seq = meta.history.seq;
      for (const kind of ['extraction', 'processing'] as const) this.loadResults(kind, meta.results[kind]);
      if (fromVersion !== PROJECT_SCHEMA_VERSION) this.dirty = true;
    }
    try {
      this.neighbours = await readNeighbours(this.neighboursPath, this.nTilts, this.frameSize);
    } catch (e) {
      // The auto-detected neighbours are the next tracking run's to find again: the project opens without them.
      this.recovery.warnings.push(`${e instanceof TrackedError ? e.message : String(e)} (neighbours dropped; track again to find them)`);
    }
    this.replayJournal();
  }

  private async loadMasks(objects: Array<Omit<TrackedObject, 'masks' | 'version'>>): Promise<void> {
    const masksFile = join(this.dir, 'masks.h5');
    const h5 = existsSync(masksFile) ? await h5lib() : null;
    const damaged = (what: string, e?: unknown): InputError => new InputError(masksFile, `${what}${e === undefined ? '' : ` (${firstLine(e)})`}: the masks cannot be restored from it`);
    const openMasks = async (): Promise<InstanceType<NonNullable<typeof h5>['File']> | null> => {
      if (!h5) return null;
      await guardHdf5Open(masksFile);
      try {
        return new h5.File(masksFile, 'r');
      } catch (e) {
        throw damaged('unreadable masks file', e);
      }
    };
    const f = await openMasks();
    try {
      for (const o of objects) {
        const masks = new Uint8Array(this.nTilts * this.frameSize);
        let value: unknown = null;
        try {
          const ds = f?.get(`object_${o.id}`);
          if (ds && ds instanceof h5!.Dataset) value = ds.value;
        } catch (e) {
          throw damaged(`object_${o.id} cannot be read`, e);
        }
        if (value !== null) {
          if (!(value instanceof Uint8Array) || value.length !== masks.length) throw damaged(`object_${o.id} is not a uint8 stack of ${this.nTilts}×${this.scanShape.join('×')} masks`);
          // Anything but 0 is inside (a damaged byte must not become a value other code does not expect).
          for (let i = 0; i < masks.length; i++) masks[i] = value[i] ? 1 : 0;
        }
        this.objects.set(o.id, { ...o, quality: o.quality.map((q) => q ?? null) as Array<FrameQuality | null>, masks, version: 1 });
      }
    } finally {
      f?.close();
    }
  }

  private loadResults(kind: ResultsKind, ref: { file: string; id: string } | null): void {
    if (!ref) return;
    const file = join(this.dir, ref.file);
    try {
      this.results[kind] = { id: ref.id, value: decodeResults(readFileSync(file), file), dirty: false };
    } catch (e) {
      this.recovery.warnings.push(e instanceof TrackedError ? e.message : `${file}: ${(e as Error).message} (results dropped; compute them again)`);
    }
  }

  private replayJournal(): void {
    if (!existsSync(this.journalPath)) return;
    const lines = readFileSync(this.journalPath, 'utf8').split('\n').filter((l) => l.trim());
    for (let k = 0; k < lines.length; k++) {
      try {
        const entry = journalEntrySchema.parse(JSON.parse(lines[k]!));
        this.checkEntry(entry);
        this.apply(entry);
        this.recovery.journalEntries++;
      } catch {
        // A line cut short by a kill is the last one; a damaged line stops the replay so no later change lands on a
        // state it was not made on.
        this.recovery.journalSkipped = lines.length - k;
        this.recovery.warnings.push(`${this.journalPath}: line ${k + 1} of ${lines.length} could not be replayed; it and the ${lines.length - k - 1} after it were skipped`);
        this.journalKeep = lines.slice(0, k).map((l) => `${l}\n`).join('');
        break;
      }
    }
    if (lines.length) this.dirty = true;
  }

  /** Throws for an entry that does not fit this series (a tilt or a pixel outside it). */
  private checkEntry(e: JournalEntry): void {
    const n = this.frameSize;
    const inFrame = (r: { set: number[]; clear: number[] }): boolean => [r.set, r.clear].every((a) => a.length % 2 === 0 && a.every((v, i) => (i % 2 ? v + a[i - 1]! <= n : v < n)));
    const tilts = e.op === 'edit' ? [e.tilt] : e.op === 'state' || e.op === 'frames' ? e.tilts : e.op === 'prompt' ? [e.prompt.tilt] : [];
    if (tilts.some((t) => t >= this.nTilts)) throw new ParameterError('tilt', 'outside the series');
    if (e.op === 'edit' && !inFrame(e)) throw new ParameterError('runs', 'outside the frame');
    if (e.op === 'frames' && (e.runs.length !== e.tilts.length || e.states.length !== e.tilts.length || !e.runs.every(inFrame))) throw new ParameterError('frames', 'inconsistent');
  }

  /** A lock left by a session that is gone marks an unclean exit; one held by a live trackED elsewhere is refused. */
  private detectUncleanExit(): void {
    if (!existsSync(this.lockPath)) return;
    let lock: Partial<SessionLock> = {};
    try {
      lock = JSON.parse(readFileSync(this.lockPath, 'utf8')) as Partial<SessionLock>;
    } catch {
      // A lock cut short by a kill still says the session did not close.
    }
    const pid = Number.isInteger(lock.pid) ? lock.pid! : 0;
    const host = typeof lock.host === 'string' ? lock.host : '';
    if (pid && pid !== process.pid && host === hostname() && processAlive(pid)) {
      throw new InputError(this.dir, `is open in another trackED (process ${pid}, since ${lock.startedAt ?? '?'}): close it there first`);
    }
    this.recovery.uncleanExit = true;
    this.recovery.previousSession = { pid, host, startedAt: typeof lock.startedAt === 'string' ? lock.startedAt : '' };
    if (host && host !== hostname()) this.recovery.warnings.push(`the previous session ran on ${host}; make sure it is closed there`);
  }

  /** The project folder exists (again, if it was removed under us) and this session holds its lock. */
  private takeLock(): void {
    mkdirSync(this.dir, { recursive: true });
    if (this.lockHeld) return;
    const lock: SessionLock = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), app: `trackED ${pkg.version}` };
    writeFileAtomicSync(this.lockPath, JSON.stringify(lock));
    this.lockHeld = true;
  }

  private record(entry: JournalEntry): void {
    this.apply(entry);
    this.takeLock();
    // New lines must not land behind an unreadable one (an append cut short by a kill): that would hide them too.
    if (this.journalKeep !== null) writeFileAtomicSync(this.journalPath, this.journalKeep);
    this.journalKeep = null;
    appendFileSync(this.journalPath, `${JSON.stringify(entry)}\n`);
    this.changes++;
    this.dirty = true;
    this.scheduleCheckpoint();
  }

  private scheduleCheckpoint(): void {
    if (this.checkpointDelayMs >= 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        void this.checkpoint().catch(() => {
          // The journal still holds every change; the next checkpoint retries.
        });
      }, this.checkpointDelayMs);
      this.timer.unref?.();
    }
  }

  private apply(e: JournalEntry): void {
    if (e.op === 'history') {
      // A kill between project.json's rename and the journal's truncation leaves steps that are already folded in.
      if (e.seq && e.seq <= this.history.seq) return;
      this.history.seq = Math.max(this.history.seq, e.seq ?? 0);
      this.applyHistory(e.action, e.entry);
      return;
    }
    if (e.op === 'create') {
      this.objects.set(e.id, {
        id: e.id,
        name: e.name,
        colour: e.colour,
        visible: true,
        enabled: true,
        masks: new Uint8Array(this.nTilts * this.frameSize),
        frameState: new Array<FrameState>(this.nTilts).fill('empty'),
        quality: new Array<FrameQuality | null>(this.nTilts).fill(null),
        prompts: [],
        version: 1,
      });
      this.nextId = Math.max(this.nextId, e.id + 1);
      return;
    }
    if (e.op === 'delete') {
      this.objects.delete(e.id);
      return;
    }
    const o = this.objects.get(e.id);
    if (!o) return;
    o.version++;
    switch (e.op) {
      case 'update':
        if (e.name !== undefined) o.name = e.name;
        if (e.colour !== undefined) o.colour = e.colour;
        if (e.visible !== undefined) o.visible = e.visible;
        if (e.enabled !== undefined) o.enabled = e.enabled;
        return;
      case 'edit':
        applyMaskRunsInPlace(this.frame(o, e.tilt), { set: Uint32Array.from(e.set), clear: Uint32Array.from(e.clear) });
        o.frameState[e.tilt] = e.state;
        return;
      case 'state':
        for (const t of e.tilts) o.frameState[t] = e.state;
        return;
      case 'prompt':
        o.prompts = o.prompts.filter((p) => p.tilt !== e.prompt.tilt);
        if (e.prompt.points.length || e.prompt.box) o.prompts.push(e.prompt);
        return;
      case 'frames':
        e.tilts.forEach((t, k) => {
          applyMaskRunsInPlace(this.frame(o, t), { set: Uint32Array.from(e.runs[k]!.set), clear: Uint32Array.from(e.runs[k]!.clear) });
          o.frameState[t] = e.states[k]!;
          o.quality[t] = e.quality[k] ?? null;
        });
        return;
    }
  }

  private frame(o: TrackedObject, tilt: number): Uint8Array {
    return o.masks.subarray(tilt * this.frameSize, (tilt + 1) * this.frameSize);
  }

  get(id: number): TrackedObject {
    const o = this.objects.get(id);
    if (!o) throw new TrackedError(`No object ${id} in this series`, { field: 'objectId' });
    return o;
  }

  private checkTilt(tilt: number): void {
    if (!Number.isInteger(tilt) || tilt < 0 || tilt >= this.nTilts) throw new ParameterError('tilt', `${tilt} is outside 0…${this.nTilts - 1}`);
  }

  create(name?: string, colour?: string): TrackedObject {
    const id = this.nextId;
    this.record({ op: 'create', id, name: name ?? `Particle ${id}`, colour: colour ?? PALETTE[(id - 1) % PALETTE.length]! });
    return this.get(id);
  }

  update(id: number, patch: { name?: string; colour?: string; visible?: boolean; enabled?: boolean }): TrackedObject {
    this.get(id);
    this.record({ op: 'update', id, ...patch });
    return this.get(id);
  }

  delete(id: number): boolean {
    if (!this.objects.has(id)) return false;
    this.record({ op: 'delete', id });
    return true;
  }

  edit(id: number, tilt: number, runs: MaskRuns, state: FrameState = 'edited'): TrackedObject {
    const o = this.get(id);
    this.checkTilt(tilt);
    // Validate on a copy first so a bad run never half-applies or reaches the journal.
    applyMaskRunsInPlace(this.frame(o, tilt).slice(), runs);
    this.record({ op: 'edit', id, tilt, set: Array.from(runs.set), clear: Array.from(runs.clear), state });
    return o;
  }

  setState(id: number, tilts: number[], state: FrameState): TrackedObject {
    this.get(id);
    tilts.forEach((t) => this.checkTilt(t));
    this.record({ op: 'state', id, tilts, state });
    return this.get(id);
  }

  setPrompt(id: number, prompt: TrackPrompt): TrackedObject {
    this.get(id);
    this.checkTilt(prompt.tilt);
    this.record({ op: 'prompt', id, prompt });
    return this.get(id);
  }

  /** Replaces whole frames (a tracker's output), as one journal entry. */
  setFrames(id: number, frames: Array<{ tilt: number; runs: MaskRuns; state: FrameState; quality: FrameQuality | null }>): TrackedObject {
    const o = this.get(id);
    for (const f of frames) {
      this.checkTilt(f.tilt);
      applyMaskRunsInPlace(this.frame(o, f.tilt).slice(), f.runs);
    }
    this.record({
      op: 'frames',
      id,
      tilts: frames.map((f) => f.tilt),
      runs: frames.map((f) => ({ set: Array.from(f.runs.set), clear: Array.from(f.runs.clear) })),
      states: frames.map((f) => f.state),
      quality: frames.map((f) => f.quality),
    });
    return o;
  }

  summary(seriesId: string, o: TrackedObject): ObjectSummary {
    const areaPx = new Array<number>(this.nTilts).fill(0);
    for (let t = 0; t < this.nTilts; t++) {
      const f = this.frame(o, t);
      let n = 0;
      for (let i = 0; i < f.length; i++) n += f[i]!;
      areaPx[t] = n;
    }
    return {
      seriesId,
      id: o.id,
      name: o.name,
      colour: o.colour,
      visible: o.visible,
      enabled: o.enabled,
      frameState: [...o.frameState],
      areaPx,
      quality: [...o.quality],
      prompts: o.prompts.map((p) => ({ ...p, points: [...p.points] })),
      version: o.version,
    };
  }

  private get neighboursPath(): string {
    return join(this.dir, 'particles.h5');
  }

  /** Replaces the auto-detected neighbours (a tracking run's); written at once. */
  async setNeighbours(labels: Uint16Array | null): Promise<void> {
    if (labels && labels.length !== this.nTilts * this.frameSize) {
      throw new ParameterError('neighbours', `expected ${this.nTilts * this.frameSize} labels, got ${labels.length}`);
    }
    this.neighbours = labels ? { labels, list: summarise(labels, this.nTilts, this.frameSize) } : null;
    await this.saveNeighbours();
  }

  private async saveNeighbours(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const set = this.neighbours ?? { labels: new Uint16Array(this.nTilts * this.frameSize), list: [] };
    await writeNeighbours(this.neighboursPath, set, this.nTilts, this.scanShape, this.anglesDeg);
  }

  private neighbourSet(label: number): NeighbourSet {
    const set = this.neighbours;
    if (!set || !set.list.some((s) => s.label === label)) throw new TrackedError(`No auto-detected neighbour ${label} in this series`, { field: 'label' });
    return set;
  }

  /** The neighbour's frames that hold it, as tracker output for an object. */
  private neighbourFrames(set: NeighbourSet, label: number, into?: TrackedObject): Array<{ tilt: number; runs: MaskRuns; state: FrameState; quality: null }> {
    const n = this.frameSize;
    const frames: Array<{ tilt: number; runs: MaskRuns; state: FrameState; quality: null }> = [];
    for (let t = 0; t < this.nTilts; t++) {
      const m = neighbourFrame(set, label, t, n);
      if (!m.some((v) => v)) continue;
      const before = into ? this.frame(into, t) : new Uint8Array(n);
      const after = Uint8Array.from(m, (v, i) => (v || before[i] ? 1 : 0));
      // Merged by the user: an edit, which a later tracking run keeps.
      frames.push({ tilt: t, runs: diffMask(before, after), state: into ? 'edited' : 'tracked', quality: null });
    }
    return frames;
  }

  /** Makes a neighbour one of the user's objects (its masks become the object's tracked frames). */
  async enableNeighbour(label: number): Promise<TrackedObject> {
    const set = this.neighbourSet(label);
    const o = this.create(`Neighbour ${label}`);
    this.setFrames(o.id, this.neighbourFrames(set, label));
    this.neighbours = dropLabel(set, label, this.nTilts, this.frameSize);
    await this.saveNeighbours();
    return o;
  }

  /** Adds a neighbour to an object (the user says they are one particle): its frames become edited frames. */
  async mergeNeighbour(label: number, into: number): Promise<TrackedObject> {
    const set = this.neighbourSet(label);
    const o = this.get(into);
    const frames = this.neighbourFrames(set, label, o);
    if (frames.length) this.setFrames(into, frames);
    this.neighbours = dropLabel(set, label, this.nTilts, this.frameSize);
    await this.saveNeighbours();
    return o;
  }

  /** Forgets a neighbour (not a particle: noise, film, a speck). */
  async deleteNeighbour(label: number): Promise<void> {
    const set = this.neighbourSet(label);
    this.neighbours = dropLabel(set, label, this.nTilts, this.frameSize);
    await this.saveNeighbours();
  }

  isDirty(): boolean {
    return this.dirty;
  }

  private applyHistory(action: HistoryAction, entry?: HistoryEntryRecord): void {
    const { undo, redo } = this.history;
    if (action === 'drop') undo.pop();
    else if (action === 'clear') {
      undo.length = 0;
      redo.length = 0;
    } else if (action === 'push' && entry) {
      undo.push(entry);
      if (undo.length > HISTORY_LIMIT) undo.shift();
      redo.length = 0;
    } else if (action === 'undo' && undo.length) redo.push(undo.pop()!);
    else if (action === 'redo' && redo.length) undo.push(redo.pop()!);
  }

  /** Follows the renderer's undo history (the mask changes themselves arrive as edits). */
  recordHistory(action: HistoryAction, wire?: HistoryEntryWire | HistoryEntryRecord): void {
    if (action === 'push' && !wire) throw new ParameterError('entry', 'a history push needs its entry');
    const entry: HistoryEntryRecord | undefined = wire && {
      ...wire,
      changes: wire.changes.map((c) => ({ ...c, runs: { set: Array.from(c.runs.set), clear: Array.from(c.runs.clear) } })),
    };
    entry?.changes.forEach((c) => this.checkTilt(c.tilt));
    if (entry?.prompt) this.checkTilt(entry.prompt.tilt);
    this.record({ op: 'history', seq: this.history.seq + 1, action, ...(entry ? { entry } : {}) });
  }

  /** The history as the renderer holds it. */
  historyWire(): { undo: HistoryEntryWire[]; redo: HistoryEntryWire[] } {
    const wire = (e: HistoryEntryRecord): HistoryEntryWire => ({
      ...e,
      changes: e.changes.map((c) => ({ ...c, runs: { set: Uint32Array.from(c.runs.set), clear: Uint32Array.from(c.runs.clear) } })),
    });
    return { undo: this.history.undo.map(wire), redo: this.history.redo.map(wire) };
  }

  /** Results kept with the project (saved at the next checkpoint); null forgets them. */
  setResults(kind: ResultsKind, id: string, value: unknown): void {
    this.results[kind] = value === null ? null : { id, value, dirty: true };
    this.dirty = true;
    if (existsSync(this.dir) || value !== null) this.takeLock();
    this.scheduleCheckpoint();
  }

  storedResults(kind: ResultsKind): { id: string; value: unknown } | null {
    const r = this.results[kind];
    return r ? { id: r.id, value: r.value } : null;
  }

  /** Goes back to the last checkpoint: the journal's changes are set aside (kept as a dated file), not deleted. */
  async discardJournal(): Promise<string | null> {
    if (!existsSync(this.journalPath) || !readFileSync(this.journalPath, 'utf8').trim()) return null;
    const kept = join(this.dir, `journal.discarded-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
    writeFileAtomicSync(kept, readFileSync(this.journalPath));
    truncateSync(this.journalPath, 0);
    this.journalKeep = null;
    return kept;
  }

  /** Writes the results files that changed, masks.h5 and project.json atomically, then empties the journal. */
  async checkpoint(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty) return;
    const changes = this.changes;
    mkdirSync(this.dir, { recursive: true });
    const refs: Record<ResultsKind, { file: string; id: string } | null> = { extraction: null, processing: null };
    for (const kind of ['extraction', 'processing'] as const) {
      const r = this.results[kind];
      if (!r) continue;
      refs[kind] = { file: `${kind}.trk`, id: r.id };
      if (r.dirty) writeFileAtomicSync(join(this.dir, refs[kind].file), encodeResults(r.value));
      r.dirty = false;
    }
    await writeMasksH5(join(this.dir, 'masks.h5'), [...this.objects.values()], this.nTilts, this.scanShape, this.anglesDeg, { series: this.origin });
    const savedAt = new Date().toISOString();
    const meta = {
      format: PROJECT_FORMAT,
      version: PROJECT_SCHEMA_VERSION,
      savedAt,
      savedBy: `trackED ${pkg.version}`,
      series: this.origin,
      nTilts: this.nTilts,
      scanShape: this.scanShape,
      anglesDeg: this.anglesDeg,
      nextObjectId: this.nextId,
      objects: [...this.objects.values()].map(({ masks: _m, version: _v, ...rest }) => rest),
      history: this.history,
      results: refs,
    };
    // project.json last: it names the masks and results that are now complete.
    writeFileAtomicSync(join(this.dir, 'project.json'), JSON.stringify(meta, null, 1));
    // A change that came in meanwhile may be missing from the files: keep the journal (stay dirty; its timer saves again).
    if (this.changes !== changes) return;
    // Everything in the journal is now in the checkpoint.
    if (existsSync(this.journalPath)) truncateSync(this.journalPath, 0);
    else writeFileSync(this.journalPath, '');
    this.journalKeep = null;
    this.dirty = false;
    this.lastSavedAt = Date.now();
    this.recovery.lastCheckpoint = savedAt;
    this.onSaved?.();
  }

  /** Stops this instance without saving (its state is being replaced by the files on disk). */
  abandon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = false;
  }

  /** The project has been written to its folder (by this session or an earlier one). */
  get written(): boolean {
    return existsSync(join(this.dir, 'project.json'));
  }

  /** The files that make the project (for Save As), those present. */
  files(): string[] {
    return ['project.json', 'masks.h5', 'particles.h5', 'extraction.trk', 'processing.trk'].filter((f) => existsSync(join(this.dir, f)));
  }

  /** Saves and releases the project: a clean exit leaves no lock behind. */
  async close(): Promise<void> {
    await this.checkpoint();
    if (this.lockHeld || existsSync(this.lockPath)) rmSync(this.lockPath, { force: true });
    this.lockHeld = false;
  }
}
