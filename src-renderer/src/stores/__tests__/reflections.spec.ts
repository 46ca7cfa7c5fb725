// The reflections store against main's real services on the tiny store series: the forms become the contract's
// parameters (empty fields left out, a number as a number), the files' name and folder fall back to the object's, and
// integrating, previewing or writing before there are reflections ends in a sentence in the log, not a request that
// makes no sense.
import { describe, expect, it } from 'vitest';
import { useLogStore } from '../log';
import { useProcessingStore } from '../processing';
import { fileStem, spaceGroupOf, useReflectionsStore } from '../reflections';
import { storeFixture } from './fixture';
import { logged, openTrackAndExtract } from './flows';

const fx = storeFixture();

describe('reflections store', () => {
  it('reads a space-group field as a number or a symbol, and an object name as a file stem', () => {
    expect(spaceGroupOf('')).toBeUndefined();
    expect(spaceGroupOf(' 61 ')).toBe(61);
    expect(spaceGroupOf(' P 21/c ')).toBe('P 21/c');
    expect(fileStem('Particle 1')).toBe('Particle_1');
    expect(fileStem('../x/y')).toBe('_x_y');
    expect(fileStem('')).toBe('object');
  });

  it('turns the forms into parameters and file options, with the object as the default name', async () => {
    await openTrackAndExtract(fx.manifest());
    const r = useReflectionsStore();
    expect(r.integrationParams()).toEqual({});
    r.form.spaceGroup = '14';
    r.form.dMinA = 0.8;
    r.form.bFactor = true;
    expect(r.integrationParams()).toEqual({ spaceGroup: 14, bFactor: true, dMinA: 0.8 });
    // One tilt bound alone runs to the other end of the series.
    r.form.firstTilt = 3;
    const nTilts = r.integrationParams().tilts!.last;
    expect(nTilts).toBeGreaterThan(3);
    r.form.firstTilt = '';
    r.form.lastTilt = 5;
    expect(r.integrationParams().tilts).toEqual({ first: 1, last: 5 });
    r.form.lastTilt = '';
    r.form.spaceGroup = '';
    r.files.composition = '  Ti8 O16 ';
    r.files.batches = true;
    expect(r.fileArgs()).toEqual({ name: r.defaultName, composition: 'Ti8 O16', batches: true });
    expect(r.defaultName).toMatch(/^[A-Za-z0-9_.-]+$/);
    // Merged wins over batches (main refuses both together).
    r.files.merged = true;
    r.files.name = 'brookite';
    expect(r.fileArgs()).toEqual({ name: 'brookite', composition: 'Ti8 O16', merged: true });
    // Only other objects of the extraction can join a group (an id that is not one is dropped, the object itself too).
    r.files.mergeWith = [9999, useProcessingStore().ids!.objectId];
    expect(r.group).toEqual([]);
    expect(r.fileArgs().mergeWith).toBeUndefined();
  });

  it('says what is missing before integrating, previewing or writing', async () => {
    await openTrackAndExtract(fx.manifest());
    const r = useReflectionsStore();
    await r.integrate();
    expect(logged('error').at(-1)).toMatch(/find the lattice first/);
    r.form.spaceGroup = 'P 7';
    await r.integrate();
    expect(logged('error').at(-1)).toMatch(/not a Hermann–Mauguin symbol/);
    expect(useProcessingStore().current?.integration ?? null).toBeNull();
    // Without reflections nothing is asked of main.
    const before = useLogStore().lines.length;
    await r.previewFiles();
    await r.writeFiles();
    expect(useLogStore().lines.length).toBe(before);
    expect(r.preview).toBeNull();
    expect(r.lastWritten).toBeNull();
  });
});
