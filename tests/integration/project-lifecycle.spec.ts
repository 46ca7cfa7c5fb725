// A project's life through the app's own handlers: curate masks, close, reopen from the project folder (masks, undo
// history, extraction and processing results back), Save As to a new folder, the recent list, recovery after an
// unclean exit — and `tracked run --project` extracting the curated masks headless without touching the project.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline } from '../../src-main/cli/run';
import { synthesize } from '../../src-main/synth/index';
import { inProcessApi } from '../helpers/in-process-api';

const root = mkdtempSync(join(tmpdir(), 'tracked-project-life-'));
const seriesDir = join(root, 'series');
const seriesJson = join(seriesDir, 'series.json');
const projects = join(root, 'projects');
const recentFile = join(root, 'settings', 'recent-projects.json');
const [S, NT] = [24, 5];
let truth: Array<{ id: number; masks: Uint8Array }> = [];

beforeAll(async () => {
  await h5wasm.ready;
  await synthesize({ preset: 'brookite-agglomerate', size: { scanShape: [S, S], detectorShape: [48, 48], nTilts: NT, tiltStepDeg: 2 }, outDir: seriesDir, seed: 11 });
  const f = new h5wasm.File(join(seriesDir, 'truth', 'masks.h5'), 'r');
  try {
    truth = f.keys().filter((k) => k.startsWith('object_')).slice(0, 2).map((k) => ({ id: Number(k.slice(7)), masks: Uint8Array.from((f.get(k) as InstanceType<typeof h5wasm.Dataset>).value as Uint8Array) }));
  } finally {
    f.close();
  }
  expect(truth).toHaveLength(2);
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const app = () => inProcessApi({ projectDir: () => join(projects, 'series.tracked'), checkpointDelayMs: -1, recentFile });
const runsOf = (mask: Uint8Array) => {
  const set: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] && !mask[i - 1]) {
    let j = i;
    while (mask[j]) j++;
    set.push(i, j - i);
  }
  return { set: Uint32Array.from(set), clear: new Uint32Array(0) };
};
const digest = (dir: string): Record<string, string> =>
  Object.fromEntries(readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile()).map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));

describe('project lifecycle', () => {
  it('curates, reopens from the project folder with masks, history and results, saves as, and lists recent projects', async () => {
    const a = app();
    const { seriesId } = await a.api.invoke('series.open', { path: seriesJson });
    const ids: number[] = [];
    for (const [k, t] of truth.entries()) {
      const o = await a.api.invoke('objects.create', { seriesId, name: `crystal ${k + 1}` });
      ids.push(o.id);
      for (let tilt = 0; tilt < NT; tilt++) {
        const runs = runsOf(t.masks.subarray(tilt * S * S, (tilt + 1) * S * S));
        await a.api.invoke('masks.edit', { seriesId, objectId: o.id, tilt, ...runs });
        if (tilt === 0) await a.api.invoke('project.recordHistory', { seriesId, action: 'push', entry: { objectId: o.id, label: 'Brush', changes: [{ tilt, runs, stateBefore: 'empty', stateAfter: 'edited' }] } });
      }
    }
    await a.api.invoke('project.recordHistory', { seriesId, action: 'undo' });
    await a.api.runJob('extract.run', { seriesId, background: false, ringWidth: 2 });
    const summaryBefore = await a.api.invoke('extract.summary', { seriesId });
    expect(summaryBefore?.objects).toHaveLength(2);
    await a.api.runJob('process.peaks', { seriesId, objectId: ids[0]!, params: {} });
    const processingBefore = await a.api.invoke('process.summary', { seriesId, objectId: ids[0]! });
    await a.close();
    expect(existsSync(join(projects, 'series.tracked', 'session.lock'))).toBe(false);

    // Reopen by the project folder, as Open Project and the recent list do.
    const b = app();
    const recent = await b.api.invoke('project.recent', {});
    expect(recent[0]).toMatchObject({ dir: join(projects, 'series.tracked'), series: seriesJson, missing: false, uncleanExit: false });
    const reopened = await b.api.invoke('series.open', { path: recent[0]!.dir });
    const objects = await b.api.invoke('objects.list', { seriesId: reopened.seriesId });
    expect(objects.map((o) => o.name)).toEqual(['crystal 1', 'crystal 2']);
    for (const [k, o] of objects.entries()) {
      const { masks } = await b.api.invoke('masks.stack', { seriesId: reopened.seriesId, objectId: o.id });
      expect(Buffer.from(masks).equals(Buffer.from(truth[k]!.masks))).toBe(true);
    }
    const history = await b.api.invoke('project.history', { seriesId: reopened.seriesId });
    expect(history.undo.map((e) => e.objectId)).toEqual([ids[0]]);
    expect(history.redo.map((e) => e.objectId)).toEqual([ids[1]]);
    expect(Array.from(history.redo[0]!.changes[0]!.runs.set)).toEqual(Array.from(runsOf(truth[1]!.masks.subarray(0, S * S)).set));
    expect(await b.api.invoke('extract.summary', { seriesId: reopened.seriesId })).toEqual(summaryBefore);
    expect(await b.api.invoke('process.summary', { seriesId: reopened.seriesId, objectId: ids[0]! })).toEqual(processingBefore);
    const info = await b.api.invoke('project.info', { seriesId: reopened.seriesId });
    expect(info.recovery).toMatchObject({ uncleanExit: false, journalEntries: 0 });

    // Save As: a new folder with the same project; the old one stays.
    const copy = join(projects, 'copy.tracked');
    expect((await b.api.invoke('project.saveAs', { seriesId: reopened.seriesId, dir: copy })).dir).toBe(copy);
    await expect(b.api.invoke('project.saveAs', { seriesId: reopened.seriesId, dir: join(projects, 'series.tracked') })).rejects.toThrow(/not an empty folder/);
    await b.api.invoke('objects.update', { seriesId: reopened.seriesId, objectId: ids[0]!, name: 'renamed after save as' });
    await b.close();
    expect(JSON.parse(readFileSync(join(copy, 'project.json'), 'utf8')).objects[0].name).toBe('renamed after save as');
    expect(JSON.parse(readFileSync(join(projects, 'series.tracked', 'project.json'), 'utf8')).objects[0].name).toBe('crystal 1');
    expect((await app().api.invoke('project.recent', {})).map((r) => r.dir).slice(0, 2)).toEqual([copy, join(projects, 'series.tracked')]);
  }, 180_000);

  it('projects go where the user chose, asked after the first save and remembered; an unsaved project moves, a saved one is copied', async () => {
    const place = join(root, 'own-data');
    await synthesize({ preset: 'single-isolated', size: { scanShape: [16, 16], detectorShape: [32, 32], nTilts: 3, tiltStepDeg: 2 }, outDir: join(place, 'a'), seed: 3 });
    await synthesize({ preset: 'single-isolated', size: { scanShape: [16, 16], detectorShape: [32, 32], nTilts: 3, tiltStepDeg: 2 }, outDir: join(place, 'b'), seed: 4 });
    const settingsFile = join(root, 'settings', 'settings.json');
    const chosen = join(root, 'my-projects');
    mkdirSync(chosen);
    const located = () => inProcessApi({ checkpointDelayMs: -1, recentFile, settingsFile });
    // Never asked: beside the series (this account's own local folder), saved on close.
    const a = located();
    const { seriesId } = await a.api.invoke('series.open', { path: join(place, 'a', 'series.json') });
    expect(await a.api.invoke('project.info', { seriesId })).toMatchObject({ dir: join(place, 'a', 'series.tracked'), locationReason: 'beside the series', locationChosen: false, written: false });
    await a.api.invoke('objects.create', { seriesId, name: 'kept' });
    await a.close();
    // Saved once and still not asked: the app asks now. Choosing a folder copies the saved project there.
    const b = located();
    const again = await b.api.invoke('series.open', { path: join(place, 'a', 'series.json') });
    const info = await b.api.invoke('project.info', { seriesId: again.seriesId });
    expect(info).toMatchObject({ locationChosen: false, written: true });
    await expect(b.api.invoke('project.chooseLocation', { seriesId: again.seriesId, folder: join(root, 'missing') })).rejects.toThrow(/does not exist/);
    const { dir } = await b.api.invoke('project.chooseLocation', { seriesId: again.seriesId, folder: chosen });
    expect(dir.startsWith(join(chosen, 'series-'))).toBe(true);
    expect(await b.api.invoke('project.info', { seriesId: again.seriesId })).toMatchObject({ dir, locationChosen: true });
    expect((await b.api.invoke('objects.list', { seriesId: again.seriesId })).map((o) => o.name)).toEqual(['kept']);
    expect(existsSync(join(place, 'a', 'series.tracked', 'project.json'))).toBe(true);
    await b.close();
    expect(JSON.parse(readFileSync(settingsFile, 'utf8'))).toEqual({ projectsFolder: chosen });
    // Remembered: another series' project goes to the chosen folder from the start; not yet written, it moves.
    const c = located();
    const other = await c.api.invoke('series.open', { path: join(place, 'b', 'series.json') });
    const otherInfo = await c.api.invoke('project.info', { seriesId: other.seriesId });
    expect(otherInfo).toMatchObject({ locationReason: 'in the folder chosen for projects', locationChosen: true });
    expect(otherInfo.dir.startsWith(join(chosen, 'series-'))).toBe(true);
    expect(otherInfo.dir).not.toBe(dir);
    const back = await c.api.invoke('project.chooseLocation', { seriesId: other.seriesId, folder: null });
    expect(back.dir).toBe(join(place, 'b', 'series.tracked'));
    expect(existsSync(otherInfo.dir)).toBe(false);
    await c.close();
    expect(JSON.parse(readFileSync(settingsFile, 'utf8'))).toEqual({ projectsFolder: null });
  }, 120_000);

  it('after an unclean exit: the recent list says so, opening replays the journal, and discarding goes back to the last save', async () => {
    const a = app();
    const { seriesId } = await a.api.invoke('series.open', { path: join(projects, 'series.tracked') });
    const [o] = await a.api.invoke('objects.list', { seriesId });
    await a.api.invoke('masks.edit', { seriesId, objectId: o!.id, tilt: 0, set: Uint32Array.from([0, 3]), clear: new Uint32Array(0) });
    // The process "dies": no close. A new app in the same process sees the lock (same pid: treated as left behind).
    const b = app();
    expect((await b.api.invoke('project.recent', {})).find((r) => r.dir === join(projects, 'series.tracked'))?.uncleanExit).toBe(true);
    const again = await b.api.invoke('series.open', { path: join(projects, 'series.tracked') });
    const info = await b.api.invoke('project.info', { seriesId: again.seriesId });
    expect(info.recovery).toMatchObject({ uncleanExit: true, journalEntries: 1, journalSkipped: 0 });
    const recovered = (await b.api.invoke('masks.stack', { seriesId: again.seriesId, objectId: o!.id })).masks;
    expect(Array.from(recovered.subarray(0, 3))).toEqual([1, 1, 1]);
    const { keptAs } = await b.api.invoke('project.resolveRecovery', { seriesId: again.seriesId, action: 'discard' });
    expect(keptAs && readFileSync(keptAs, 'utf8')).toMatch(/"op":"edit"/);
    const back = (await b.api.invoke('masks.stack', { seriesId: again.seriesId, objectId: o!.id })).masks;
    expect(Buffer.from(back.subarray(0, S * S)).equals(Buffer.from(truth[0]!.masks.subarray(0, S * S)))).toBe(true);
    await b.close();
  }, 60_000);

  it('tracked run --project extracts the curated objects and leaves the project as it was', async () => {
    const project = join(projects, 'series.tracked');
    const before = digest(project);
    const out = join(root, 'run');
    const report = await runPipeline(seriesJson, { out, project, process: false });
    expect(digest(project)).toEqual(before);
    expect(report.target.spec).toBe(`project ${project}`);
    expect(report.objects.map((o) => o.name)).toEqual(['crystal 1', 'crystal 2']);
    const f = new h5wasm.File(join(out, 'masks', 'masks.h5'), 'r');
    try {
      for (const [k, o] of report.objects.entries()) {
        const written = (f.get(`object_${o.id}`) as InstanceType<typeof h5wasm.Dataset>).value as Uint8Array;
        expect(Buffer.from(written).equals(Buffer.from(truth[k]!.masks))).toBe(true);
        let area = 0;
        for (const v of truth[k]!.masks) area += v;
        expect(o.probesExtracted).toBe(area);
      }
    } finally {
      f.close();
    }
    await expect(runPipeline(seriesJson, { out: join(root, 'run2'), project: join(root, 'series') })).rejects.toThrow(/is not a trackED project folder/);
  }, 120_000);
});
