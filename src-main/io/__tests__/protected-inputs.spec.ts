// Raw data are never written to: once a series is open, every atomic write (the path of every output) refuses its
// files — as given, through a symbolic link, and its .hdr companion for MIB — before anything is written, and a
// destination folder that does not exist is named instead of failing deep in a writer.
import { mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ParameterError } from '../../../src-shared/errors';
import { synthesize } from '../../synth/index';
import { withAtomicFile, writeFileAtomicSync } from '../atomic';
import { isProtectedInput } from '../protected-inputs';
import { openSeries } from '../series';
import { writeStacksH5 } from '../write-stacks';
import { scratchDir } from './helpers';

const { dir, cleanup } = scratchDir('protected-inputs');
afterAll(cleanup);

describe('protected inputs', () => {
  it('refuses every way of writing over an open series, and leaves its bytes and times alone', async () => {
    const s = await synthesize({ preset: 'single-isolated', size: { scanShape: [8, 8], detectorShape: [16, 16], nTilts: 3, tiltStepDeg: 2 }, outDir: join(dir, 'series'), seed: 3 });
    const manifest = join(dir, 'series', s.manifest);
    const series = await openSeries(manifest);
    const tilt = series.tilts[1]!.source;
    const before = { bytes: readFileSync(tilt), mtimeMs: statSync(tilt).mtimeMs };
    expect(isProtectedInput(tilt)).toBe(true);
    expect(() => writeFileAtomicSync(tilt, 'x')).toThrow(ParameterError);
    expect(() => writeFileAtomicSync(manifest, '{}')).toThrow(/is an input file of the open series: raw data are never written to/);
    await expect(writeStacksH5(tilt, [{ name: 'bf', data: new Float32Array(4), shape: [2, 2] }])).rejects.toThrow(/input file/);
    await expect(withAtomicFile(join(dir, 'series', '.', tilt.split('/').pop()!), () => 1)).rejects.toThrow(/input file/);
    // Through a link to the series folder.
    symlinkSync(join(dir, 'series'), join(dir, 'link'));
    expect(() => writeFileAtomicSync(join(dir, 'link', tilt.split('/').pop()!), 'x')).toThrow(/input file/);
    expect(readFileSync(tilt).equals(before.bytes)).toBe(true);
    expect(statSync(tilt).mtimeMs).toBe(before.mtimeMs);
    // Other files beside them are fine.
    writeFileAtomicSync(join(dir, 'series', 'notes.txt'), 'ok');
  });

  it('names a destination folder that does not exist, and a destination that is a folder', () => {
    expect(() => writeFileAtomicSync(join(dir, 'nowhere', 'v.h5'), 'x')).toThrow(/the folder .*nowhere does not exist/);
    mkdirSync(join(dir, 'out.h5'));
    expect(() => writeFileAtomicSync(join(dir, 'out.h5'), 'x')).toThrow(/is a folder: give a file name/);
  });
});
