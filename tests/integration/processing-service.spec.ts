// The app's processing service on a synthetic series, through the same sessions and worker pool the app uses: peak
// search in pieces gives the same table as one pass, the lattice matches the generator's truth (cctbx decides), a
// person's peak edits change exactly one frame and mark the lattice stale, cancellation and bad edits are refused
// cleanly, and a new extraction keeps the parameters and edits but drops the results.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, ParameterError } from '../../src-shared/errors';
import { SeriesSessions } from '../../src-main/services/series-session';
import { findCandidates, runTracking } from '../../src-main/services/tracking-job';
import { computeVirtual } from '../../src-main/services/virtual-job';
import { runExtractionJob } from '../../src-main/services/extraction-job';
import { editPeak, framePeaks, processingSummary, runLatticeSearch, runPeakSearch } from '../../src-main/services/processing-job';
import { searchPeaks } from '../../src-main/processing/pipeline';
import { synthesize } from '../../src-main/synth/index';
import { particleCellError, readTruth, type TruthJson } from '../helpers/cell-error';

let dir: string;
let sessions: SeriesSessions;
let seriesId: string;
let objectId: number;
let truth: TruthJson;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tracked-process-svc-'));
  const s = await synthesize({ preset: 'single-isolated', size: { scanShape: [32, 32], detectorShape: [128, 128], nTilts: 31, tiltStepDeg: 2 }, outDir: dir, seed: 7 });
  truth = readTruth(dir);
  sessions = new SeriesSessions({ projectDir: () => join(dir, 'project'), checkpointDelayMs: -1 });
  seriesId = (await sessions.openSeries(join(dir, s.manifest))).seriesId;
  await computeVirtual(sessions, seriesId, [{ kind: 'annulus', rIn: 10, rOut: 60, name: 'adf' }]);
  const [c] = await findCandidates(sessions, seriesId, 15, 'adf');
  const project = await sessions.project(seriesId);
  objectId = project.create('particle').id;
  project.setPrompt(objectId, { tilt: 15, points: [{ x: c!.x, y: c!.y, positive: true }] });
  await runTracking(sessions, { seriesId, objectIds: [objectId], fromTilt: 15, direction: 'both', image: 'adf', tracker: 'classical' });
  await runExtractionJob(sessions, { seriesId, background: false, ringWidth: 2 });
}, 180_000);
afterAll(async () => {
  await sessions?.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('processing service', () => {
  it('searches peaks in pieces on the pool, with progress, giving the table of one pass', async () => {
    expect(processingSummary(sessions, seriesId, objectId)!.peaks).toBeNull();
    const seen: Array<[number, number]> = [];
    const summary = await runPeakSearch(sessions, { seriesId, objectId, params: {} }, { progress: (d, t) => seen.push([d, t]) });
    expect(seen.at(-1)).toEqual([31, 31]);
    expect(seen.length).toBeGreaterThan(2);
    const p = summary.peaks!;
    expect(p.perFrame.reduce((a, b) => a + b, 0)).toBe(p.nPeaks);
    expect(p.nPeaks).toBeGreaterThan(200);
    const s = sessions.get(seriesId).extracted!.series[0]!;
    const c = sessions.get(seriesId).series.calibration;
    const direct = searchPeaks({ frames: s.frames, detectorShape: s.detectorShape, anglesDeg: s.anglesDeg, beamCentres: s.beamCentre, included: s.included, wavelengthA: c.wavelengthA!, reciprocalPixelInvA: c.reciprocalPixelInvA! }, { radiusPx: p.radiusPx });
    expect(direct.frame.length).toBe(p.nPeaks);
    const f = 10;
    const one = framePeaks(sessions, seriesId, objectId, f);
    const rows = [...direct.frame.keys()].filter((i) => direct.frame[i] === f);
    expect(Array.from(one.x)).toEqual(rows.map((i) => Math.fround(direct.x[i]!)));
  });

  it('finds the lattice of the tracked particle within 0.15 % and 0.1° of the truth, the axis within 0.2°', async () => {
    const summary = await runLatticeSearch(sessions, { seriesId, objectId, params: {} });
    const l = summary.lattice!;
    expect(l.status).toBe('indexed');
    expect(l.bravais).toBe('oP');
    const err = particleCellError(truth, l.reducedCell!);
    expect(err.lengthPct).toBeLessThan(0.15);
    expect(err.angleDeg).toBeLessThan(0.1);
    expect(Math.abs(((l.axis!.refinedDeg - truth.rotationAxisDeg + 540) % 360) - 180)).toBeLessThan(0.2);
    expect(l.perFrame.length).toBeGreaterThan(20);
    expect(summary.latticeStale).toBe(false);
    const fp = framePeaks(sessions, seriesId, objectId, 15);
    expect(fp.indexed.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }, 60_000);

  it('removes and adds peaks on one frame only; the lattice is then stale', async () => {
    const before = processingSummary(sessions, seriesId, objectId)!.peaks!;
    const f = 12;
    const fp = framePeaks(sessions, seriesId, objectId, f);
    const k = fp.intensity.indexOf(Math.max(...fp.intensity));
    const [x, y] = [fp.x[k]!, fp.y[k]!];
    const removed = editPeak(sessions, { seriesId, objectId, frame: f, x: x + 0.7, y: y - 0.4, action: 'remove' });
    expect(removed.summary.peaks!.nPeaks).toBe(before.nPeaks - 1);
    expect(removed.summary.peaks!.perFrame.filter((n, i) => n !== before.perFrame[i])).toHaveLength(1);
    expect(removed.summary.latticeStale).toBe(true);
    expect(removed.peaks.indexed.every((v) => v === 0)).toBe(true);
    expect([...removed.peaks.x].some((px, i) => Math.hypot(px - x, removed.peaks.y[i]! - y) < 1)).toBe(false);
    // Added back by hand: integrated there, re-centred on the same disk, marked manual.
    const added = editPeak(sessions, { seriesId, objectId, frame: f, x: x + 1.2, y, action: 'add' });
    const m = [...added.peaks.manual].indexOf(1);
    expect(m).toBeGreaterThanOrEqual(0);
    expect(Math.hypot(added.peaks.x[m]! - x, added.peaks.y[m]! - y)).toBeLessThan(0.5);
    expect(added.summary.peaks!.added).toBe(1);
    // Removing a peak a person added un-adds it.
    const undone = editPeak(sessions, { seriesId, objectId, frame: f, x: added.peaks.x[m]!, y: added.peaks.y[m]!, action: 'remove' });
    expect(undone.summary.peaks!.added).toBe(0);
    expect(undone.summary.peaks!.nPeaks).toBe(before.nPeaks - 1);
  });

  it('refuses an edit with nothing there, outside the detector, or before any peak search; cancels the lattice job', async () => {
    expect(() => editPeak(sessions, { seriesId, objectId, frame: 3, x: 2, y: 2, action: 'remove' })).toThrow(/no peak within/);
    expect(() => editPeak(sessions, { seriesId, objectId, frame: 3, x: 500, y: 2, action: 'add' })).toThrow(ParameterError);
    expect(() => framePeaks(sessions, seriesId, objectId, 31)).toThrow(/outside 0…30/);
    const ac = new AbortController();
    const job = runLatticeSearch(sessions, { seriesId, objectId, params: {} }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(job).rejects.toBeInstanceOf(CancelledError);
  });

  it('keeps parameters and edits across a new extraction and drops the results', async () => {
    await runPeakSearch(sessions, { seriesId, objectId, params: { minIOverSigma: 8 } });
    await runExtractionJob(sessions, { seriesId, background: false, ringWidth: 2 });
    const s = processingSummary(sessions, seriesId, objectId)!;
    expect(s.peaks).toBeNull();
    expect(s.lattice).toBeNull();
    const again = await runPeakSearch(sessions, { seriesId, objectId, params: { minIOverSigma: 8 } });
    expect(again.peaks!.removed).toBe(1);
    expect(() => editPeak(sessions, { seriesId, objectId: 99, frame: 0, x: 1, y: 1, action: 'add' })).toThrow(/not in the last extraction/);
  });
});
