// The user's curated work on one series: tracked objects, their masks, frame states and prompts. Main holds
// the single truth; every change is appended to a journal at once (so a crash or a kill loses nothing that
// reached main) and folded into masks.h5 + project.json by an atomic checkpoint every few seconds and on close.
//
// On disk, in the project folder:
//   project.json   { version, series, nTilts, scanShape, nextObjectId, objects: [{ id, name, colour, visible,
//                    enabled, frameState[], quality[], prompts[] }] }
//   masks.h5       ARCHITECTURE §6 layout: one uint8 dataset object_<id> [nTilts, ny, nx], attrs name, angleDeg
//   journal.jsonl  one JSON line per change since the last checkpoint; replayed on open (edits are absolute
//                  set/clear runs, so replaying one twice is harmless)
//   particles.h5   the auto-detected neighbours of the last tracking run (./neighbours.ts), written atomically
//                  whenever they change
import { createHash } from 'node:crypto';
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import type { FrameQuality, FrameState, ObjectSummary, TrackPrompt } from '../../src-shared/contract';
import { applyMaskRunsInPlace, diffMask, type MaskRuns } from '../../src-shared/mask-runs';
import { InputError, ParameterError, TrackedError } from '../../src-shared/errors';
import { writeFileAtomicSync } from '../io/atomic';
import { h5lib } from '../io/h5';
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

type JournalEntry =
  | { op: 'create'; id: number; name: string; colour: string }
  | { op: 'update'; id: number; name?: string; colour?: string; visible?: boolean; enabled?: boolean }
  | { op: 'delete'; id: number }
  | { op: 'edit'; id: number; tilt: number; set: number[]; clear: number[]; state: FrameState }
  | { op: 'state'; id: number; tilts: number[]; state: FrameState }
  | { op: 'prompt'; id: number; prompt: TrackPrompt }
  | { op: 'frames'; id: number; tilts: number[]; runs: Array<{ set: number[]; clear: number[] }>; states: FrameState[]; quality: Array<FrameQuality | null> };

const PALETTE = ['#ff6b4a', '#4fc3f7', '#9ccc65', '#ffca28', '#ba68c8', '#4db6ac', '#f06292', '#a1887f'];

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

export class Project {
  readonly objects = new Map<number, TrackedObject>();
  /** The auto-detected neighbours (null before a tracking run found any). */
  neighbours: NeighbourSet | null = null;
  private nextId = 1;
  private dirty = false;
  lastSavedAt: number | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly journalPath: string;

  constructor(
    readonly dir: string,
    readonly origin: string,
    readonly nTilts: number,
    readonly scanShape: [number, number],
    readonly anglesDeg: number[],
    private readonly checkpointDelayMs = 3000,
  ) {
    this.journalPath = join(dir, 'journal.jsonl');
  }

  get frameSize(): number {
    return this.scanShape[0] * this.scanShape[1];
  }

  /** Loads masks.h5 + project.json if present, then replays the journal. */
  async load(): Promise<void> {
    const projectFile = join(this.dir, 'project.json');
    if (existsSync(projectFile)) {
      let meta: {
        nTilts: number;
        scanShape: [number, number];
        nextObjectId: number;
        objects: Array<Omit<TrackedObject, 'masks' | 'version'>>;
      };
      try {
        meta = JSON.parse(readFileSync(projectFile, 'utf8')) as typeof meta;
      } catch (e) {
        throw new InputError(projectFile, `unreadable project file (${(e as Error).message})`);
      }
      if (meta.nTilts !== this.nTilts || meta.scanShape[0] !== this.scanShape[0] || meta.scanShape[1] !== this.scanShape[1]) {
        throw new InputError(projectFile, `belongs to a series of ${meta.nTilts} tilts × ${meta.scanShape.join('×')}, not ${this.nTilts} × ${this.scanShape.join('×')}`);
      }
      this.nextId = meta.nextObjectId;
      const masksFile = join(this.dir, 'masks.h5');
      const h5 = existsSync(masksFile) ? await h5lib() : null;
      const f = h5 ? new h5.File(masksFile, 'r') : null;
      try {
        for (const o of meta.objects) {
          const ds = f?.get(`object_${o.id}`);
          const masks = new Uint8Array(this.nTilts * this.frameSize);
          if (ds && ds instanceof h5!.Dataset) masks.set(ds.value as Uint8Array);
          this.objects.set(o.id, { ...o, masks, version: 1 });
        }
      } finally {
        f?.close();
      }
    }
    this.neighbours = await readNeighbours(this.neighboursPath, this.nTilts, this.frameSize);
    if (existsSync(this.journalPath)) {
      const lines = readFileSync(this.journalPath, 'utf8').split('\n');
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          this.apply(JSON.parse(line) as JournalEntry);
        } catch {
          // A line cut short by a crash is the last one: everything before it is applied.
          break;
        }
      }
      if (lines.some((l) => l.trim())) this.dirty = true;
    }
  }

  private record(entry: JournalEntry): void {
    this.apply(entry);
    mkdirSync(this.dir, { recursive: true });
    appendFileSync(this.journalPath, `${JSON.stringify(entry)}\n`);
    this.dirty = true;
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

  /** Writes masks.h5 and project.json atomically, then empties the journal. */
  async checkpoint(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.dirty) return;
    await writeMasksH5(join(this.dir, 'masks.h5'), [...this.objects.values()], this.nTilts, this.scanShape, this.anglesDeg, { series: this.origin });
    const meta = {
      version: 1,
      series: this.origin,
      nTilts: this.nTilts,
      scanShape: this.scanShape,
      nextObjectId: this.nextId,
      objects: [...this.objects.values()].map(({ masks: _m, version: _v, ...rest }) => rest),
    };
    writeFileAtomicSync(join(this.dir, 'project.json'), JSON.stringify(meta, null, 1));
    // Everything in the journal is now in the checkpoint.
    if (existsSync(this.journalPath)) truncateSync(this.journalPath, 0);
    else writeFileSync(this.journalPath, '');
    this.dirty = false;
    this.lastSavedAt = Date.now();
  }

  async close(): Promise<void> {
    await this.checkpoint();
  }
}
