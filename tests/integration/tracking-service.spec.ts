// The tracking service on a synthetic series, through the same sessions and project the app uses.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffMask } from '../../src-shared/mask-runs';
import { fillPolygonForTest } from './polygon';
import { SeriesSessions } from '../../src-main/services/series-session';
import { findCandidates, runTracking } from '../../src-main/services/tracking-job';
import { synthesize } from '../../src-main/synth/index';
import { computeVirtual } from '../../src-main/services/virtual-job';

const N = 40;
let dir: string;
let manifest: string;
let sessions: SeriesSessions;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tracked-track-'));
  const s = await synthesize({ preset: 'brookite-agglomerate', size: { scanShape: [N, N], detectorShape: [96, 96], nTilts: 7, tiltStepDeg: 6 }, outDir: dir, seed: 5 });
  manifest = join(dir, s.manifest);
  sessions = new SeriesSessions({ projectDir: () => join(dir, 'project'), checkpointDelayMs: -1 });
}, 120_000);
afterAll(async () => {
  await sessions?.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('tracking service', () => {
  it('re-tracks forward from an edited frame, keeping it and leaving earlier frames', async () => {
    const { seriesId } = await sessions.openSeries(manifest);
    await computeVirtual(sessions, seriesId, [{ kind: 'disk', radius: 6, name: 'bf' }, { kind: 'annulus', rIn: 10, rOut: 40, name: 'adf' }]);
    const candidates = await findCandidates(sessions, seriesId, 3, 'adf');
    expect(candidates.length).toBeGreaterThan(0);
    const project = await sessions.project(seriesId);
    const o = project.create('rod');
    const [x0, y0, x1, y1] = candidates[0]!.bbox;
    const mask = fillPolygonForTest(N, N, [[x0, y0], [x1 + 1, y0], [x1 + 1, y1 + 1], [x0, y1 + 1]]);
    project.edit(o.id, 3, diffMask(new Uint8Array(N * N), mask));
    await runTracking(sessions, { seriesId, objectIds: [o.id], fromTilt: 3, direction: 'forward', image: 'adf', tracker: 'classical' });
    const after = project.get(o.id);
    expect(after.frameState[3]).toBe('edited');
    expect(Array.from(after.masks.subarray(3 * N * N, 4 * N * N))).toEqual(Array.from(mask));
    expect(after.frameState.slice(0, 3)).toEqual(['empty', 'empty', 'empty']);
    expect(after.frameState.slice(4)).toEqual(['tracked', 'tracked', 'tracked']);
    // The rest of the field was tracked too: neighbours in the project, never under the object's masks.
    const nb = project.neighbours!;
    expect(nb.list.length).toBeGreaterThanOrEqual(2);
    for (let i = 4 * N * N; i < 7 * N * N; i++) if (after.masks[i]) expect(nb.labels[i]).toBe(0);
  });

  it("treats the user's other objects as fixed particles: a tracked object never takes their pixels", async () => {
    const { seriesId } = await sessions.openSeries(manifest);
    const candidates = await findCandidates(sessions, seriesId, 3);
    expect(candidates.length).toBeGreaterThan(1);
    const project = await sessions.project(seriesId);
    const a = project.create('first');
    const b = project.create('second');
    project.setPrompt(a.id, { tilt: 3, points: [{ x: candidates[0]!.x, y: candidates[0]!.y, positive: true }] });
    project.setPrompt(b.id, { tilt: 3, points: [{ x: candidates[1]!.x, y: candidates[1]!.y, positive: true }] });
    await runTracking(sessions, { seriesId, objectIds: [a.id], fromTilt: 3, direction: 'both', tracker: 'classical' });
    const firstMasks = project.get(a.id).masks.slice();
    await runTracking(sessions, { seriesId, objectIds: [b.id], fromTilt: 3, direction: 'both', tracker: 'classical' });
    // Tracking the second left the first alone and stayed out of it.
    expect(Array.from(project.get(a.id).masks)).toEqual(Array.from(firstMasks));
    const second = project.get(b.id).masks;
    expect(second.some((v) => v)).toBe(true);
    for (let i = 0; i < second.length; i++) if (second[i]) expect(firstMasks[i]).toBe(0);
  });

  it("barriers are an option: off, an object prompted on another object's particle takes it; on (the default), never", async () => {
    const { seriesId } = await sessions.openSeries(manifest);
    const [c] = await findCandidates(sessions, seriesId, 3);
    const project = await sessions.project(seriesId);
    const a = project.create('owner');
    project.setPrompt(a.id, { tilt: 3, points: [{ x: c!.x, y: c!.y, positive: true }] });
    await runTracking(sessions, { seriesId, objectIds: [a.id], fromTilt: 3, direction: 'both', tracker: 'classical' });
    const owned = project.get(a.id).masks.slice();
    const overlap = (m: Uint8Array): number => m.reduce((k, v, i) => k + (v && owned[i] ? 1 : 0), 0);
    const prompt = { tilt: 3, points: [{ x: c!.x, y: c!.y, positive: true }] };
    const free = project.create('without barriers');
    project.setPrompt(free.id, prompt);
    await runTracking(sessions, { seriesId, objectIds: [free.id], fromTilt: 3, direction: 'both', tracker: 'classical', barriers: false });
    expect(overlap(project.get(free.id).masks)).toBeGreaterThan(0);
    const fenced = project.create('with barriers');
    project.setPrompt(fenced.id, prompt);
    await runTracking(sessions, { seriesId, objectIds: [fenced.id], fromTilt: 3, direction: 'both', tracker: 'classical' });
    expect(overlap(project.get(fenced.id).masks)).toBe(0);
    // Neither run touched the owner.
    expect(Array.from(project.get(a.id).masks)).toEqual(Array.from(owned));
  });
});

describe('tracking service with SAM2 (stand-in ONNX models, real onnxruntime sessions in the SAM2 worker)', () => {
  it('tracks from a one-click prompt through the worker and folds the result into the project', async () => {
    const { writeStandinFolder } = await import('../fixtures/onnx/sam2-standins');
    const modelDir = writeStandinFolder(join(dir, 'sam2-model'), 'samexporter');
    const { seriesId } = await sessions.openSeries(manifest);
    const candidates = await findCandidates(sessions, seriesId, 3, 'adf');
    const project = await sessions.project(seriesId);
    const o = project.create('sam2 rod');
    project.setPrompt(o.id, { tilt: 3, points: [{ x: candidates[0]!.x, y: candidates[0]!.y, positive: true }] });
    const r = await runTracking(sessions, { seriesId, objectIds: [o.id], fromTilt: 3, direction: 'both', image: 'adf', tracker: 'sam2', modelDir });
    expect(r.objects[0]!.framesTracked).toBeGreaterThan(0);
    const after = project.get(o.id);
    expect(after.frameState.filter((s) => s === 'tracked').length).toBe(r.objects[0]!.framesTracked);
    const n = N * N;
    expect(after.masks.subarray(3 * n, 4 * n).some((v) => v === 1)).toBe(true);
    // SAM2 follows only its object: the neighbours come from the classical tracker around SAM2's masks.
    const nb = project.neighbours!;
    expect(nb.list.length).toBeGreaterThan(0);
    for (let i = 0; i < after.masks.length; i++) if (after.masks[i]) expect(nb.labels[i]).toBe(0);
  });

  it('says what is wrong with a model folder that does not hold an export', async () => {
    const { seriesId } = await sessions.openSeries(manifest);
    const project = await sessions.project(seriesId);
    const o = project.create('no model');
    project.setPrompt(o.id, { tilt: 3, points: [{ x: 10, y: 10, positive: true }] });
    await expect(runTracking(sessions, { seriesId, objectIds: [o.id], fromTilt: 3, direction: 'both', tracker: 'sam2', modelDir: join(dir, 'empty-folder') })).rejects.toThrow(/empty-folder/);
  });
});
