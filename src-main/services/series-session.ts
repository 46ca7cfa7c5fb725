// Open tilt series, their sources, project and last results (virtual images, extraction), kept in main (the single
// truth). The renderer holds ids and fetches typed arrays on demand. Sources are opened lazily, read-only, once per tilt.
import { basename, dirname } from 'node:path';
import type { SeriesSummary } from '../../src-shared/contract';
import { ParameterError, TrackedError } from '../../src-shared/errors';

import { openSeries, openTilt, type SeriesOptions, type TiltSeries } from '../io/series';
import type { FourDSource } from '../io/types';
import { type VirtualResult } from '../stages/virtual/service';
import { Project, projectDirFor } from './project';
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
  /** Processing per extracted object (peaks, lattice, a person's peak edits). */
  processing?: Map<number, ObjectProcessing>;
  /** Created on first use, so reading a series (e.g. `tracked virtual`) never writes a project. */
  project?: Promise<Project>;
}

export interface SessionOptions {
  /** Where projects go; default beside the series (projectDirFor). Tests point it elsewhere. */
  projectDir?: (origin: string) => string;
  /** Delay before an automatic checkpoint after a change (ms; default 3000; negative = only on close). */
  checkpointDelayMs?: number;
}


export class SeriesSessions {
  private readonly open = new Map<string, OpenSeries>();
  private counter = 0;

  constructor(private readonly options: SessionOptions = {}) {}

  async openSeries(path: string, opts: SeriesOptions = {}): Promise<SeriesSummary> {
    const series = await openSeries(path, opts);
    // One session per series: a second window or a second "Open" shares the same project and results.
    for (const [openId, o] of this.open) if (o.series.origin === series.origin) return this.summary(openId);
    const id = `series-${++this.counter}`;
    this.open.set(id, { id, series, sources: new Array(series.tilts.length) });
    return this.summary(id);
  }

  list(): SeriesSummary[] {
    return [...this.open.keys()].map((id) => this.summary(id));
  }

  async close(id: string): Promise<boolean> {
    const s = this.open.get(id);
    if (!s) return false;
    this.open.delete(id);
    for (const src of s.sources) src?.close();
    if (s.project) await (await s.project).close();
    return true;
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.open.keys()]) await this.close(id);
  }

  /** The series' project (objects, masks), loaded from disk on first use. */
  project(id: string): Promise<Project> {
    const s = this.get(id);
    s.project ??= (async () => {
      const p = new Project(
        (this.options.projectDir ?? projectDirFor)(s.series.origin),
        s.series.origin,
        s.series.tilts.length,
        s.series.scanShape,
        s.series.tilts.map((t) => t.angleDeg),
        this.options.checkpointDelayMs,
      );
      await p.load();
      return p;
    })();
    return s.project;
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
      warnings: [...series.warnings],
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

