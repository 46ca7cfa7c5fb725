// Series assembly from series.json, tilts.csv, a folder + start/step, and a 5D file; and `inspect`.

import { copyFileSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspect } from '../inspect.js';
import { asSeriesTilt, loadSeriesManifest, loadTiltsCsv, openSeries, openTilt, seriesFromFolder } from '../series.js';
import type { FourDSource } from '../types';

import { QD, RSC, pattern, scratchDir, sum, writeH5 } from './helpers.js';
import { electronWavelengthA } from '../../crystallography/wavelength';

const { dir, cleanup } = scratchDir('series');
afterAll(cleanup);

/** A folder of 4 MIB tilts (copies of the 8-frame 001_4x2_6bit set, each with its .hdr). */
function mibFolder(name: string, n = 4): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (let i = 0; i < n; i++) {
    const stem = `tilt_${String(i).padStart(3, '0')}`;
    copyFileSync(join(QD, '001_4x2_6bit.mib'), join(d, `${stem}.mib`));
    copyFileSync(join(QD, '001_4x2_6bit.hdr'), join(d, `${stem}.hdr`));
  }
  return d;
}

describe('series.json', () => {
  let d: string;
  beforeAll(() => {
    d = mibFolder('manifest');
  });

  const manifest = (tilts: unknown[], extra: Record<string, unknown> = {}): string => {
    const p = join(d, `series-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, JSON.stringify({ version: 1, voltageKV: 200, reciprocalPixelInvA: 0.0105, realPixelNm: 1.2, rotationAxisDeg: null, tilts, ...extra }));
    return p;
  };

  it('reads tilts (paths relative to the manifest), shapes, calibration from the manifest', async () => {
    const p = manifest([0, 1, 2, 3].map((i) => ({ file: `tilt_00${i}.mib`, angleDeg: -30 + 20 * i, dataset: null })));
    const s = await loadSeriesManifest(p);
    expect(s.tilts.map((t) => t.angleDeg)).toEqual([-30, -10, 10, 30]);
    expect(s.tilts[2]).toMatchObject({ index: 2, source: join(d, 'tilt_002.mib') });
    expect(s.scanShape).toEqual([2, 4]);
    expect(s.detectorShape).toEqual([256, 256]);
    expect(s.dtype).toBe('uint8');
    expect(s.calibration).toMatchObject({ voltageKV: 200, reciprocalPixelInvA: 0.0105, realPixelNm: 1.2, dwellTimeS: 0.1 });
    expect(s.calibration.rotationAxisDeg).toBeUndefined(); // null = determine it
    expect(s.calibration.wavelengthA).toBeCloseTo(0.02508, 5);
    const src = await openTilt(s, 1);
    expect(sum(await src.readFrames(0, 1))).toBe(448386);
    src.close();
    expect(s.warnings).toEqual([]);
  });

  it('a missing tilt file, duplicate or non-finite angle: InputError naming the file', async () => {
    await expect(loadSeriesManifest(manifest([{ file: 'tilt_000.mib', angleDeg: 0 }, { file: 'tilt_009.mib', angleDeg: 2 }]))).rejects.toMatchObject({
      name: 'InputError',
      detail: { file: join(d, 'tilt_009.mib') },
      message: expect.stringContaining('does not exist'),
    });
    await expect(loadSeriesManifest(manifest([{ file: 'tilt_000.mib', angleDeg: 0 }, { file: 'tilt_001.mib', angleDeg: 0 }]))).rejects.toMatchObject({
      name: 'InputError',
      detail: { file: join(d, 'tilt_001.mib') },
      message: expect.stringContaining('same tilt angle 0° as'),
    });
    for (const bad of ['NaN', null, 'abc']) {
      await expect(loadSeriesManifest(manifest([{ file: 'tilt_000.mib', angleDeg: 0 }, { file: 'tilt_001.mib', angleDeg: bad }]))).rejects.toMatchObject({
        name: 'InputError',
        detail: { file: join(d, 'tilt_001.mib') },
        message: expect.stringContaining('not a finite number'),
      });
    }
    await expect(loadSeriesManifest(manifest([], { version: 2 }))).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('version 2') });
  });

  it('non-monotonic angles are kept in order with a warning (dose-symmetric schemes)', async () => {
    const s = await loadSeriesManifest(manifest([0, 2, -2, 4].map((a, i) => ({ file: `tilt_00${i}.mib`, angleDeg: a }))));
    expect(s.tilts.map((t) => t.angleDeg)).toEqual([0, 2, -2, 4]);
    expect(s.warnings.join()).toContain('not monotonic');
  });

  it('a tilt with a different detector shape: InputError saying which file and how', async () => {
    copyFileSync(join(QD, '003_merlin_test_roi_sig256x64_nav4x2_hot_pixel_52x_39y.mib'), join(d, 'odd.mib'));
    copyFileSync(join(QD, '003_merlin_test_roi_sig256x64_nav4x2_hot_pixel_52x_39y.hdr'), join(d, 'odd.hdr'));
    await expect(loadSeriesManifest(manifest([{ file: 'tilt_000.mib', angleDeg: 0 }, { file: 'odd.mib', angleDeg: 1 }]))).rejects.toMatchObject({
      name: 'InputError',
      detail: { file: join(d, 'odd.mib') },
      message: expect.stringContaining('detector shape [64, 256], a different one than tilt_000.mib (tilt 0): [256, 256]'),
    });
  });

  it('hands each checked tilt to keepSource: kept sources stay open for the caller, the rest are closed', async () => {
    const kept: Array<{ index: number; src: FourDSource }> = [];
    const s = await loadSeriesManifest(manifest([0, 1, 2].map((i) => ({ file: `tilt_00${i}.mib`, angleDeg: i }))), {
      keepSource: (index, src) => (kept.push({ index, src }), index !== 1),
    });
    expect(kept.map((k) => k.index)).toEqual([0, 1, 2]);
    // A kept source reads (it is open); asSeriesTilt gives it the series' calibration as openTilt would.
    const tilt2 = asSeriesTilt(s, kept[2]!.src);
    expect(sum(await tilt2.readFrames(0, 1))).toBe(sum(await (await openTilt(s, 2)).readFrames(0, 1)));
    expect(tilt2.calibration).toEqual((await openTilt(s, 2)).calibration);
    expect(tilt2.calibration.voltageKV).toBe(200);
    // The one it declined was closed by the series.
    await expect(kept[1]!.src.readFrames(0, 1)).rejects.toThrow();
    kept[0]!.src.close();
    kept[2]!.src.close();
    // A later tilt that fails its check: the ones before it were handed over (the caller closes them), and the error names the file.
    copyFileSync(join(QD, '003_merlin_test_roi_sig256x64_nav4x2_hot_pixel_52x_39y.mib'), join(d, 'odd.mib'));
    copyFileSync(join(QD, '003_merlin_test_roi_sig256x64_nav4x2_hot_pixel_52x_39y.hdr'), join(d, 'odd.hdr'));
    const before: number[] = [];
    await expect(
      loadSeriesManifest(manifest([{ file: 'tilt_000.mib', angleDeg: 0 }, { file: 'odd.mib', angleDeg: 1 }]), {
        keepSource: (index, src) => (before.push(index), src.close(), true),
      }),
    ).rejects.toMatchObject({ name: 'InputError', detail: { file: join(d, 'odd.mib') } });
    expect(before).toEqual([0]);
  });
});

describe('tilts.csv', () => {
  it('reads file,angle_deg with calibration from options; NaN angle is an error naming the file', async () => {
    const d = mibFolder('csv', 3);
    const csv = join(d, 'tilts.csv');
    writeFileSync(csv, 'file,angle_deg\ntilt_000.mib,-1.5\n"tilt_001.mib",0\ntilt_002.mib,1.5\n');
    const s = await loadTiltsCsv(csv, { calibration: { voltageKV: 300 } });
    expect(s.tilts.map((t) => t.angleDeg)).toEqual([-1.5, 0, 1.5]);
    expect(s.calibration.voltageKV).toBe(300);
    expect(s.calibration.wavelengthA).toBeCloseTo(electronWavelengthA(300), 12);
    writeFileSync(csv, 'angle_deg,file\n0,tilt_000.mib\nNaN,tilt_001.mib\n');
    await expect(loadTiltsCsv(csv)).rejects.toMatchObject({ name: 'InputError', detail: { file: join(d, 'tilt_001.mib') } });
    writeFileSync(csv, 'name,angle\n');
    await expect(loadTiltsCsv(csv)).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('file,angle_deg') });
  });
});

describe('folder + start + step', () => {
  it('natural order, angles start + i·step; a gap in the numbering is a missing tilt', async () => {
    const d = mibFolder('folder', 12);
    const s = await seriesFromFolder(d, { startDeg: -10, stepDeg: 2 });
    expect(s.tilts).toHaveLength(12);
    expect(s.tilts[10]!.source).toBe(join(d, 'tilt_010.mib'));
    expect(s.tilts[11]!.angleDeg).toBe(12);
    unlinkSync(join(d, 'tilt_004.mib'));
    await expect(openSeries(d, { startDeg: -10, stepDeg: 2 })).rejects.toMatchObject({
      name: 'InputError',
      detail: { file: join(d, 'tilt_005.mib') },
      message: expect.stringContaining('jumps from tilt_003.mib to tilt_005.mib: 1 tilt file(s) missing'),
    });
    await expect(seriesFromFolder(d, { startDeg: 0 } as never)).rejects.toMatchObject({ name: 'ParameterError' });
  });
});

describe('one 5D file', () => {
  it('one tilt per index of [tilt, ry, rx, qy, qx]', async () => {
    const p = join(dir, 'five.h5');
    const shape = [5, 2, 3, 4, 4];
    const data = pattern(shape.reduce((a, b) => a * b, 1), 5);
    await writeH5(p, [{ name: 'entry/cube', data, shape, dtype: '<H' }]);
    const s = await openSeries(p, { startDeg: -20, stepDeg: 10 });
    expect(s.tilts.map((t) => [t.tiltIndex, t.angleDeg])).toEqual([
      [0, -20],
      [1, -10],
      [2, 0],
      [3, 10],
      [4, 20],
    ]);
    const t3 = await openTilt(s, 3);
    expect(Array.from((await t3.readFrames(0, 1)) as Uint16Array)).toEqual(Array.from(data.subarray(3 * 96, 3 * 96 + 16)));
    t3.close();
  });
});

describe('inspect (tracked info)', () => {
  it('HDF5: format, dataset, shapes, calibration, reader, and every dataset with layout and filters', async () => {
    const info = await inspect(join(RSC, 'emd/Si100_4D.emd'));
    expect(info).toMatchObject({ format: 'EMD-Prismatic', dataset: '/4DSTEM_simulation/data/datacubes/CBED_array_depth0000/datacube', scanShape: [11, 11], detectorShape: [8, 8], dtype: 'float32', reader: 'fs chunked-uncompressed' });
    const cube = info.datasets!.find((d) => d.path.endsWith('depth0001/datacube'))!;
    expect(cube).toMatchObject({ shape: [11, 11, 8, 8], dtype: 'float32', layout: 'chunked (btree-v1)', chunks: [1, 1, 8, 8], filters: [] });
    expect(info.datasets!.length).toBe(10);
    const hs = await inspect(join(RSC, 'hspy/example2_v3.1.hspy'));
    expect(hs.datasets![0]).toMatchObject({ layout: 'chunked (btree-v1)', filters: [{ id: 2, name: 'shuffle' }, { id: 1, name: 'deflate (gzip)' }] });
    expect(hs.reader).toBe('h5wasm (compressed)');
    const ar = await inspect(join(RSC, 'arina/test_00_master.h5'));
    const link = ar.datasets!.find((d) => d.path === '/entry/data/data_000001')!;
    expect(link.layout).toContain('external link → test_00_data_000001.h5:/entry/data/data');
    expect(link.filters[0]).toMatchObject({ id: 32008, name: 'bitshuffle/LZ4' });
    expect(JSON.parse(JSON.stringify(ar)).scanShape).toEqual([4, 4]);
  });

  it('HDF5 without a usable dataset: listing plus the problem; MIB: header fields; series: summary', async () => {
    const sp = await inspect(join(RSC, 'hspy/example1_v1.2.hdf5'));
    expect(sp.problem).toContain('1 signal dimension');
    expect(sp.warnings[0]).toMatch(/^no 4D-STEM data could be read: /);
    expect(sp.datasets!.length).toBeGreaterThan(0);
    const mib = await inspect(join(QD, '002_merlin_test_roi_sig256x128_nav4x2_hot_pixel_52x_39y.mib'));
    expect(mib).toMatchObject({ format: 'MIB', scanShape: [2, 4], scanShapeFrom: 'hdr', detectorShape: [128, 256], dtype: 'uint16', reader: 'fs mib' });
    expect((mib.metadata!.header as { counterDepth: number }).counterDepth).toBe(12);
    const d = mibFolder('inspect', 3);
    const ser = await inspect(d, { startDeg: 0, stepDeg: 1 });
    expect(ser).toMatchObject({ format: 'series', series: { nTilts: 3, tiltRangeDeg: [0, 2] } });
    await expect(inspect(d)).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('is a directory') });
  });
});
