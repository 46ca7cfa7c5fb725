import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../../src-shared/errors';
import { defaultJobs } from '../local';
import { loadPlan, resolvePlan } from '../plan';
import { arraySpec } from '../slurm';

const dir = mkdtempSync(join(tmpdir(), 'tracked-plan-'));
for (const s of ['A', 'B']) {
  mkdirSync(join(dir, s), { recursive: true });
  writeFileSync(join(dir, s, 'series.json'), '{}');
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe('batch plan', () => {
  it('reads a CSV plan into the same tasks as the JSON plan, with typed values and one task per series and target', () => {
    const json = write('p.json', JSON.stringify({ version: 1, defaults: { composition: 'Ti8 O16', mergeGroup: 'g' }, series: [{ path: 'A/series.json', targets: ['auto', '3,4@2'], cell: [5.4, 5.1, 9.2, 90, 90, 90], voltageKV: 200 }, { path: 'B/series.json', spaceGroup: 61, background: true }] }));
    const csv = write(
      'p.csv',
      '\uFEFFseries,target,cell,voltage_kv,space_group,background,composition,merge_group\n# a comment\nA/series.json,auto,"5.4,5.1,9.2,90,90,90",200,,,Ti8 O16,g\nA/series.json,"3,4@2",5.4 5.1 9.2 90 90 90,200,,,Ti8 O16,g\nB/series.json,,,,61,yes,Ti8 O16,g\n',
    );
    const a = resolvePlan(loadPlan(json), json, join(dir, 'out'));
    const b = resolvePlan(loadPlan(csv), csv, join(dir, 'out'));
    expect(a.tasks.map((t) => t.id)).toEqual(['A-auto', 'A-3_4_at_2', 'B-auto']);
    expect(b.tasks.map((t) => [t.id, t.hash])).toEqual(a.tasks.map((t) => [t.id, t.hash]));
    expect(a.tasks[0]!.options).toMatchObject({ cell: [5.4, 5.1, 9.2, 90, 90, 90], voltageKV: 200, composition: 'Ti8 O16' });
    expect(a.tasks[2]!.options).toMatchObject({ spaceGroup: 61, background: true });
    expect(a.tasks[0]!.series).toBe(join(dir, 'A', 'series.json'));
    expect(a.tasks[1]!.out).toBe(join(dir, 'out', 'tasks', 'A-3_4_at_2'));
    expect(a.merges).toEqual({ g: [0, 1, 2] });
  });

  it("changes a task's hash with anything that decides its output, not with its merge group", () => {
    const base = { version: 1, series: [{ path: 'A/series.json', targets: ['auto'] }] };
    const hash = (extra: object): string => {
      const f = write('h.json', JSON.stringify({ ...base, series: [{ ...base.series[0], ...extra }] }));
      return resolvePlan(loadPlan(f), f, join(dir, 'out')).tasks[0]!.hash;
    };
    const h0 = hash({});
    expect(hash({ mergeGroup: 'x' })).toBe(h0);
    expect(hash({ spaceGroup: 'Pbca' })).not.toBe(h0);
    expect(hash({ targets: ['all'] })).not.toBe(h0);
  });

  it('names the file, the entry and the field of every mistake', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['a.json', '{"version": 2, "series": []}', /a\.json: is not a valid batch plan: version: /],
      ['b.json', JSON.stringify({ version: 1, series: [{ path: 'A/series.json', targets: ['middle'] }] }), /series\[0\]\.targets\[0\]: a target is 'auto'/],
      ['c.json', JSON.stringify({ version: 1, series: [{ path: 'A/series.json', colour: 'red' }] }), /series\[0\]: Unrecognized key/],
      ['d.json', JSON.stringify({ version: 1, series: [{ path: 'A/series.json', cell: [1, 2, 3] }] }), /series\[0\]\.cell/],
      ['e.json', JSON.stringify({ version: 1, series: [{ path: 'nope/series.json' }] }), /e\.json: series\[0\]\.path: .*nope\/series\.json does not exist/],
      ['f.json', '{"version": 1, "series": [', /f\.json: is not valid JSON/],
      ['g.csv', 'series,target\n', /g\.csv: has no rows/],
      ['h.csv', 'series,target,mergegroup\nA/series.json,auto,x\n', /h\.csv: unknown column "mergegroup"/],
      ['i.json', JSON.stringify({ version: 1, series: [{ path: 'A/series.json', mergeGroup: 'a b' }] }), /mergeGroup: a merge group is a name/],
    ];
    for (const [name, text, message] of cases) {
      const f = write(name, text);
      let err: unknown;
      try {
        resolvePlan(loadPlan(f), f, join(dir, 'out'));
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(InputError);
      expect((err as Error).message, name).toMatch(message);
    }
  });

  it('writes --array as ranges and sizes local parallelism by cores and memory', () => {
    expect(arraySpec([0, 1, 2, 3, 5, 7, 8, 9])).toBe('0-3,5,7-9');
    expect(arraySpec([4])).toBe('4');
    expect(defaultJobs(16, 64 * 2 ** 30)).toBe(8);
    expect(defaultJobs(16, 3 * 2 ** 30)).toBe(2);
    expect(defaultJobs(2, 64 * 2 ** 30)).toBe(1);
    expect(defaultJobs(1, 0)).toBe(1);
  });
});
