import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { notOursToWrite, projectDirFor } from '../project-dir';

const root = mkdtempSync(join(tmpdir(), 'tracked-projdir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('default project folder', () => {
  it('is beside the series in a local folder of this account, else in the home folder', () => {
    const data = join(root, 'data');
    mkdirSync(data);
    const owner = statSync(data).uid;
    expect(notOursToWrite(data, owner)).toBeNull();
    expect(projectDirFor(join(data, 'series.json'), owner)).toBe(join(data, 'series.tracked'));
    // The same folder seen by another account (the acquisition account's data, writable for us): not ours to fill.
    const other = owner === 65534 ? 65533 : 65534;
    expect(notOursToWrite(data, other)).toBe("another account's folder");
    const dir = projectDirFor(join(data, 'series.json'), other);
    expect(dir.startsWith(join(homedir(), '.tracked', 'projects', 'series-'))).toBe(true);
    expect(projectDirFor(join(data, 'series.json'), other)).toBe(dir);
    expect(notOursToWrite(join(root, 'missing'), owner)).toBe('not writable');
  });
});
