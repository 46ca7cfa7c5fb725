// The project's life on disk: earlier versions migrate, results and the undo history survive a restart, an unclean
// exit is recognised and its journal replayed, damaged files are named.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../../src-shared/errors';
import { Project } from '../project';
import { PROJECT_SCHEMA_VERSION } from '../project-schema';

const V1 = join(__dirname, '../../../tests/fixtures/projects/v1');
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tracked-project-'));
  dirs.push(d);
  return d;
}
const open = async (dir: string): Promise<Project> => {
  const p = new Project(dir, '/data/brookite/series.json', 3, [4, 5], [-1, 0, 1], -1);
  await p.load();
  return p;
};
const pixels = (p: Project, id: number, tilt: number): number[] => {
  const f = p.get(id).masks.subarray(tilt * 20, (tilt + 1) * 20);
  return [...f.keys()].filter((i) => f[i]);
};

/** Two history steps, 'Brush' and 'Eraser', and an undo: Brush on the undo stack, Eraser on the redo stack. */
function brushThenEraserUndone(p: Project, objectId: number): void {
  const entry = { objectId, label: 'Brush', changes: [{ tilt: 0, runs: { set: [3, 2], clear: [] }, stateBefore: 'empty' as const, stateAfter: 'edited' as const }] };
  p.recordHistory('push', entry);
  p.recordHistory('push', { ...entry, label: 'Eraser' });
  p.recordHistory('undo');
}

describe('project files', () => {
  it('opens a version-1 project (checkpoint + journal) with every mask, state and name, and saves it as the current version', async () => {
    const dir = tempDir();
    cpSync(V1, dir, { recursive: true });
    const p = await open(dir);
    // The operations that made the fixture, applied by hand: runs are [start, length] pairs on a 5×4 scan.
    expect(pixels(p, 1, 0)).toEqual([0, 6, 7]);
    expect(pixels(p, 1, 1)).toEqual([1, 7, 12]);
    expect(pixels(p, 1, 2)).toEqual([2, 6, 7]);
    expect(pixels(p, 2, 2)).toEqual([18, 19]);
    expect(pixels(p, 2, 0)).toEqual([0, 1]); // only in the journal
    expect(p.get(1).name).toBe('Particle A'); // only in the journal
    expect(p.get(1).frameState).toEqual(['tracked', 'locked', 'tracked']);
    expect(p.get(2).frameState).toEqual(['edited', 'empty', 'edited']);
    expect(p.get(1).prompts).toEqual([{ tilt: 1, points: [{ x: 2, y: 1, positive: true }] }]);
    expect(p.recovery).toMatchObject({ fromVersion: 1, journalEntries: 2, journalSkipped: 0 });
    await p.close();
    const meta = JSON.parse(readFileSync(join(dir, 'project.json'), 'utf8')) as { version: number; anglesDeg: number[] };
    expect(meta.version).toBe(PROJECT_SCHEMA_VERSION);
    expect(meta.anglesDeg).toEqual([-1, 0, 1]);
    const again = await open(dir);
    expect(pixels(again, 2, 0)).toEqual([0, 1]);
    expect(again.recovery).toMatchObject({ fromVersion: PROJECT_SCHEMA_VERSION, journalEntries: 0, uncleanExit: false });
  });

  it('names the file and the problem for a newer, damaged or foreign project.json', async () => {
    const cases: Array<[string, RegExp]> = [
      [JSON.stringify({ version: 99 }), /newer trackED \(project version 99/],
      [JSON.stringify({ version: '2' }), /no valid project version/],
      ['{"version": 1, "series"', /unreadable project file/],
      ['[1,2]', /not a trackED project/],
      [readFileSync(join(V1, 'project.json'), 'utf8').replace('"nextObjectId": 3', '"nextObjectId": 2'), /object 2 is not below nextObjectId/],
      [readFileSync(join(V1, 'project.json'), 'utf8').replace('"tracked",', ''), /object 1 has 2 frame states for 3 tilts/],
      [readFileSync(join(V1, 'project.json'), 'utf8').replace('"locked"', '"lockd"'), /damaged project file \(objects\.0\.frameState\.1/],
    ];
    for (const [text, message] of cases) {
      const dir = tempDir();
      writeFileSync(join(dir, 'project.json'), text);
      const err = await open(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toContain(join(dir, 'project.json'));
    }
  });

  it('keeps results (typed arrays, NaN) and the undo history across a restart; drops a damaged results file with a warning', async () => {
    const dir = tempDir();
    const p = await open(dir);
    const o = p.create();
    p.edit(o.id, 0, { set: Uint32Array.from([3, 2]), clear: new Uint32Array(0) });
    brushThenEraserUndone(p, o.id);
    p.setResults('extraction', 'x1', { frames: Float32Array.from([1, Number.NaN]), objectId: o.id });
    await p.close();
    const q = await open(dir);
    expect(q.history.undo.map((e) => e.label)).toEqual(['Brush']);
    expect(q.history.redo.map((e) => e.label)).toEqual(['Eraser']);
    const r = q.storedResults('extraction') as { id: string; value: { frames: Float32Array } };
    expect(r.id).toBe('x1');
    expect(Array.from(r.value.frames)).toEqual([1, Number.NaN]);
    await q.close();
    const bytes = readFileSync(join(dir, 'extraction.trk'));
    writeFileSync(join(dir, 'extraction.trk'), bytes.subarray(0, bytes.length - 5));
    const damaged = await open(dir);
    expect(damaged.storedResults('extraction')).toBeNull();
    expect(damaged.recovery.warnings.join('\n')).toMatch(/extraction\.trk.*cut short/);
    expect(pixels(damaged, o.id, 0)).toEqual([3, 4]);
  });

  it('does not apply a history step twice when a kill left the journal untruncated after a checkpoint', async () => {
    const dir = tempDir();
    const p = await open(dir);
    const o = p.create();
    brushThenEraserUndone(p, o.id);
    const journal = readFileSync(join(dir, 'journal.jsonl'), 'utf8');
    await p.checkpoint();
    // The kill came after project.json's rename, before the truncation: the same steps are still in the journal.
    writeFileSync(join(dir, 'journal.jsonl'), journal);
    const q = await open(dir);
    expect(q.history.undo.map((e) => e.label)).toEqual(['Brush']);
    expect(q.history.redo.map((e) => e.label)).toEqual(['Eraser']);
    q.recordHistory('redo');
    await q.close();
    expect((await open(dir)).history.undo.map((e) => e.label)).toEqual(['Brush', 'Eraser']);
  });

  it('recognises an unclean exit, replays its journal up to a damaged line, and sets discarded changes aside', async () => {
    const dir = tempDir();
    const p = await open(dir);
    const o = p.create();
    await p.checkpoint();
    p.edit(o.id, 1, { set: Uint32Array.from([5, 1]), clear: new Uint32Array(0) });
    p.edit(o.id, 2, { set: Uint32Array.from([6, 1]), clear: new Uint32Array(0) });
    // No close: the process "died". A third line was cut short by the kill.
    writeFileSync(join(dir, 'journal.jsonl'), `${readFileSync(join(dir, 'journal.jsonl'), 'utf8')}{"op":"edit","id":1,"ti`);
    expect(existsSync(join(dir, 'session.lock'))).toBe(true);
    const q = await open(dir);
    expect(q.recovery).toMatchObject({ uncleanExit: true, journalEntries: 2, journalSkipped: 1 });
    expect(q.recovery.previousSession?.host).toBe(hostname());
    expect(pixels(q, o.id, 1)).toEqual([5]);
    expect(pixels(q, o.id, 2)).toEqual([6]);
    const kept = await q.discardJournal();
    expect(kept && readFileSync(kept, 'utf8')).toContain('"tilt":2');
    const r = await open(dir);
    expect(pixels(r, o.id, 1)).toEqual([]);
    await r.close();
    expect(existsSync(join(dir, 'session.lock'))).toBe(false);
    expect((await open(dir)).recovery.uncleanExit).toBe(false);
  });

  it('refuses a project that a live trackED process holds, and replays no journal line that points outside the series', async () => {
    const dir = tempDir();
    const child = spawn('sleep', ['30']);
    try {
      writeFileSync(join(dir, 'session.lock'), JSON.stringify({ pid: child.pid, host: hostname(), startedAt: 'now', app: 'trackED' }));
      await expect(open(dir)).rejects.toThrow(/is open in another trackED \(process \d+/);
    } finally {
      child.kill();
    }
    rmSync(join(dir, 'session.lock'));
    const lines = [
      { op: 'create', id: 1, name: 'P', colour: '#fff' },
      { op: 'edit', id: 1, tilt: 0, set: [1, 1], clear: [], state: 'edited' },
      { op: 'edit', id: 1, tilt: 7, set: [1, 1], clear: [], state: 'edited' },
      { op: 'edit', id: 1, tilt: 1, set: [2, 1], clear: [], state: 'edited' },
    ];
    writeFileSync(join(dir, 'journal.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n'));
    const p = await open(dir);
    expect(pixels(p, 1, 0)).toEqual([1]);
    expect(pixels(p, 1, 1)).toEqual([]);
    expect(p.recovery.journalSkipped).toBe(2);
  });
});
