// The app's virtual-imaging job and its queries: detectors from the UI's requests, the pass run over the series'
// sources, and the result kept in the series' session, from which the renderer fetches stacks and patterns.
import type { DetectorRequest, DetectorSuggestion, VirtualSummary } from '../../src-shared/contract';
import { ParameterError, TrackedError } from '../../src-shared/errors';
import type { FourDSource } from '../io/types';
import { fitBeamCentre } from '../kernels/beam-centre';
import type { DetectorSpec } from '../kernels/virtual-detectors';
import type { StageContext } from '../stages/context';
import { computeVirtualImages } from '../stages/virtual';
import type { SeriesSessions } from './series-session';

const UNITS: Record<string, string> = { disk: 'counts', annulus: 'counts', mask: 'counts', com: 'px', variance: 'counts²', sum: 'counts' };

/**
 * Runs every detector over every tilt of the series and keeps the result in its session. `imagesOnly`: no mean
 * pattern and no beam-centre fit on it (the command line writes the images alone), so the pass reads only what
 * the detectors need.
 */
export async function computeVirtual(
  sessions: SeriesSessions,
  id: string,
  detectors: DetectorRequest[],
  ctx: StageContext = {},
  opts: { imagesOnly?: boolean } = {},
): Promise<VirtualSummary> {
  const s = sessions.get(id);
  const sources: FourDSource[] = [];
  for (let t = 0; t < s.series.tilts.length; t++) sources.push(await sessions.source(id, t));
  s.virtual = await computeVirtualImages(sources, detectors.map(toSpec), {
    // The app shows (and fits the beam on) the mean pattern; the max pattern would cost ~10 % of the pass for nothing.
    maxPattern: false,
    ...(opts.imagesOnly ? { meanPattern: false, beamCentreFit: false } : {}),
    signal: ctx.signal,
    onProgress: (done, total, stage) => ctx.progress?.(done, total, stage),
  });
  return virtualSummary(sessions, id)!;
}

export function virtualSummary(sessions: SeriesSessions, id: string): VirtualSummary | null {
  const v = sessions.get(id).virtual;
  if (!v) return null;
  return {
    seriesId: id,
    outputs: v.outputs.map((o) => ({ name: o.name, kind: o.kind, unit: UNITS[o.kind] ?? '' })),
    beamCentre: v.beamCentre,
    beamCentreFit: v.beamCentreFit.map((f) => (f ? [f.cx, f.cy] : null)),
    warnings: v.warnings,
    bytesRead: v.bytesRead,
    seconds: v.seconds,
  };
}

/** One output as an nTilts * ny * nx stack. */
export function virtualStack(sessions: SeriesSessions, id: string, output: string): { stack: Float32Array; nTilts: number; ny: number; nx: number } {
  const s = sessions.get(id);
  const v = s.virtual;
  if (!v) throw new TrackedError('No virtual images yet: compute them first', { field: 'seriesId' });
  const k = v.outputs.findIndex((o) => o.name === output);
  if (k < 0) throw new ParameterError('output', `no output named ${output} (have ${v.outputs.map((o) => o.name).join(', ')})`);
  const [ny, nx] = s.series.scanShape;
  const stack = new Float32Array(v.images.length * ny * nx);
  v.images.forEach((perTilt, t) => stack.set(perTilt[k]!, t * ny * nx));
  return { stack, nTilts: v.images.length, ny, nx };
}

/**
 * Per tilt, the direct-beam centre fitted on the tilt's mean pattern over all probe positions (where the
 * unscattered beam dominates), from the last virtual pass; null before one ran.
 */
export function tiltBeamCentres(sessions: SeriesSessions, id: string): Array<[number, number] | null> | null {
  const v = sessions.get(id).virtual;
  if (!v) return null;
  return v.beamCentreFit.map((f, t) => (f ? [f.cx, f.cy] : (v.beamCentre[t] ?? null)));
}

/** The mean diffraction pattern of one tilt from the last pass, with its fitted beam centre. */
export function meanPattern(sessions: SeriesSessions, id: string, tilt: number): { pattern: Float32Array; nqy: number; nqx: number; beamCentre: [number, number] | null } {
  const s = sessions.get(id);
  const v = s.virtual;
  if (!v) throw new TrackedError('No virtual images yet: compute them first', { field: 'seriesId' });
  const pattern = v.meanPattern[tilt];
  if (!pattern) throw new ParameterError('tilt', `${tilt} is outside 0…${v.meanPattern.length - 1}`);
  const [nqy, nqx] = s.series.detectorShape;
  const fit = v.beamCentreFit[tilt];
  return { pattern, nqy, nqx, beamCentre: fit ? [fit.cx, fit.cy] : (v.beamCentre[tilt] ?? null) };
}

/**
 * Detector radii from the data: the direct beam fitted on the mean of frames sampled across the middle tilt.
 * BF: the disk and a little margin; ADF: from 3.5 disk radii (clear of the direct beam's tails and the strongest
 * low-angle film scattering) out to the nearest detector edge.
 */
export async function suggestDetectors(sessions: SeriesSessions, id: string): Promise<DetectorSuggestion> {
  const s = sessions.get(id);
  const src = await sessions.source(id, Math.floor(s.series.tilts.length / 2));
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
