// Open tilt series and their last virtual-imaging result, kept in main (the single truth). The renderer
// holds ids and fetches typed arrays on demand. Sources are opened lazily, read-only, once per tilt.
import { basename, dirname } from 'node:path';
import type { DetectorRequest, DetectorSuggestion, SeriesSummary, VirtualSummary } from '../../src-shared/contract';
import { fitBeamCentre } from '../kernels/beam-centre';
import { ParameterError, TrackedError } from '../../src-shared/errors';
import type { DetectorSpec } from '../kernels/virtual-detectors';

import { openSeries, openTilt, type SeriesOptions, type TiltSeries } from '../io/series';
import type { FourDSource } from '../io/types';
import { computeVirtualImages, type VirtualResult } from '../stages/virtual/run';
import { Project, projectDirFor } from './project';
import type { ExtractResult } from '../stages/extraction';
import { BYTES_PER_PIXEL } from '../../src-shared/pixels';

interface OpenSeries {
  id: string;
  series: TiltSeries;
  sources: Array<FourDSource | undefined>;
  virtual?: VirtualResult;
  /** The last extraction (frames stay here; the renderer fetches them per tilt). */
  extracted?: ExtractResult;
  /** Created on first use, so reading a series (e.g. `tracked virtual`) never writes a project. */
  project?: Promise<Project>;
}

export interface SessionOptions {
  /** Where projects go; default beside the series (projectDirFor). Tests point it elsewhere. */
  projectDir?: (origin: string) => string;
  /** Delay before an automatic checkpoint after a change (ms; default 3000; negative = only on close). */
  checkpointDelayMs?: number;
}

const UNITS: Record<string, string> = { disk: 'counts', annulus: 'counts', mask: 'counts', com: 'px', variance: 'counts²', sum: 'counts' };

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

  /**
   * Detector radii from the data: the direct beam fitted on the mean of frames sampled across the middle tilt.
   * BF: the disk and a little margin; ADF: from 3.5 disk radii (clear of the direct beam's tails and the
   * strongest low-angle film scattering) out to the nearest detector edge.
   */
  async suggestDetectors(id: string): Promise<DetectorSuggestion> {
    const s = this.get(id);
    const src = await this.source(id, Math.floor(s.series.tilts.length / 2));
    const [ny, nx] = src.scanShape;
    const [nqy, nqx] = src.detectorShape;
    const npix = nqy * nqx;
    const samples = Math.min(32, ny * nx);
    const mean = new Float64Array(npix);
    for (let k = 0; k < samples; k++) {
      const frame = await src.readFrames(Math.floor(((k + 0.5) * ny * nx) / samples), 1);
      for (let i = 0; i < npix; i++) mean[i] += frame[i]! / samples;
    }
    return suggestRadii(fitBeamCentre(mean, [nqy, nqx]), [nqy, nqx]);
  }

  async pattern(id: string, tilt: number, rx: number, ry: number): Promise<{ pattern: Float32Array; nqy: number; nqx: number }> {
    const src = await this.source(id, tilt);
    const [ny, nx] = src.scanShape;
    if (rx >= nx || ry >= ny) throw new ParameterError('probe', `(${rx}, ${ry}) is outside the ${nx}×${ny} scan`);
    const frame = await src.readFrames(ry * nx + rx, 1);
    const [nqy, nqx] = src.detectorShape;
    return { pattern: Float32Array.from(frame), nqy, nqx };
  }

  async computeVirtual(
    id: string,
    detectors: DetectorRequest[],
    ctx: { signal?: AbortSignal; progress?: (done: number, total: number, stage?: string) => void } = {},
  ): Promise<VirtualSummary> {
    const s = this.get(id);
    const sources: FourDSource[] = [];
    for (let t = 0; t < s.series.tilts.length; t++) sources.push(await this.source(id, t));
    const result = await computeVirtualImages(sources, detectors.map(toSpec), {
      // The app shows (and fits the beam on) the mean pattern; the max pattern would cost ~10 % of the pass for nothing.
      maxPattern: false,
      signal: ctx.signal,
      onProgress: (done, total, stage) => ctx.progress?.(done, total, stage),
    });
    s.virtual = result;
    return this.virtualSummary(id)!;
  }

  virtualSummary(id: string): VirtualSummary | null {
    const v = this.get(id).virtual;
    if (!v) return null;
    return {
      seriesId: id,
      outputs: v.outputs.map((o) => ({ name: o.name, kind: o.kind, unit: UNITS[o.kind] ?? '' })),
      beamCentre: v.beamCentre,
      warnings: v.warnings,
      bytesRead: v.bytesRead,
      seconds: v.seconds,
    };
  }

  /** One output as an nTilts * ny * nx stack. */
  virtualStack(id: string, output: string): { stack: Float32Array; nTilts: number; ny: number; nx: number } {
    const s = this.get(id);
    const v = s.virtual;
    if (!v) throw new TrackedError('No virtual images yet: compute them first', { field: 'seriesId' });
    const k = v.outputs.findIndex((o) => o.name === output);
    if (k < 0) throw new ParameterError('output', `no output named ${output} (have ${v.outputs.map((o) => o.name).join(', ')})`);
    const [ny, nx] = s.series.scanShape;
    const stack = new Float32Array(v.images.length * ny * nx);
    v.images.forEach((perTilt, t) => stack.set(perTilt[k]!, t * ny * nx));
    return { stack, nTilts: v.images.length, ny, nx };
  }

  meanPattern(id: string, tilt: number): { pattern: Float32Array; nqy: number; nqx: number; beamCentre: [number, number] | null } {
    const s = this.get(id);
    const v = s.virtual;
    if (!v) throw new TrackedError('No virtual images yet: compute them first', { field: 'seriesId' });
    const pattern = v.meanPattern[tilt];
    if (!pattern) throw new ParameterError('tilt', `${tilt} is outside 0…${v.meanPattern.length - 1}`);
    const [nqy, nqx] = s.series.detectorShape;
    const fit = v.beamCentreFit[tilt];
    return { pattern, nqy, nqx, beamCentre: fit ? [fit.cx, fit.cy] : v.beamCentre[tilt] ?? null };
  }
}

/**
 * Detector radii from a direct-beam fit (or none): BF the disk plus a margin, ADF from 3.5 disk radii to the
 * largest circle around the centre that stays on the detector. Always valid (0 ≤ rIn < rOut, BF > 0), also for a
 * beam near the edge or a detector of a few pixels.
 */
export function suggestRadii(fit: { cx: number; cy: number; radius: number } | null, shape: [number, number]): DetectorSuggestion {
  const [nqy, nqx] = shape;
  const cx = fit?.cx ?? (nqx - 1) / 2;
  const cy = fit?.cy ?? (nqy - 1) / 2;
  const half = Math.max(1, Math.floor(Math.min(nqx, nqy) / 2));
  let reach = Math.floor(Math.min(cx, cy, nqx - 1 - cx, nqy - 1 - cy));
  // A centre within a few pixels of the edge leaves no room for an annulus inside: use the detector's half width.
  if (!(reach >= 3)) reach = half;
  const r = fit?.radius ?? Math.max(1, Math.min(nqx, nqy) / 40);
  const halfStep = (v: number): number => Math.round(v * 2) / 2;
  const bfRadius = Math.min(reach, Math.max(0.5, halfStep(r * 1.25)));
  const adfInner = Math.max(0, Math.min(reach - 1, Math.max(bfRadius + 0.5, halfStep(3.5 * r))));
  return {
    beamCentre: fit ? [cx, cy] : null,
    diskRadius: fit ? fit.radius : null,
    bfRadius,
    adfInner,
    adfOuter: Math.max(adfInner + 1, reach),
  };
}

/** The UI's detector request → the kernel's spec (centre null/absent = the fitted beam of each tilt). */
export function toSpec(d: DetectorRequest): DetectorSpec {
  const centre = 'centre' in d && d.centre ? { cx: d.centre[0], cy: d.centre[1] } : {};
  const name = d.name !== undefined ? { name: d.name } : {};
  switch (d.kind) {
    case 'disk':
      return { kind: 'disk', radius: d.radius, ...centre, ...name };
    case 'annulus':
      return { kind: 'annulus', rIn: d.rIn, rOut: d.rOut, ...centre, ...name };
    case 'com':
      return { kind: 'com', ...centre, ...name };
    case 'variance':
      return { kind: 'variance', ...name };
    case 'sum':
      return { kind: 'sum', ...name };
    case 'mask':
      return { kind: 'mask', mask: d.mask, ...name };
  }
}
