// Every real sample file in ../shared/data reads with the shapes and values PROVENANCE.md states
// (rosettasciio's own test assertions, and sums computed independently with numpy/h5py).

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openHdf5 } from '../hdf5-source.js';
import { openMib } from '../mib.js';
import { openSource } from '../open.js';
import type { FourDSource } from '../types.js';
import { QD, RSC, SHARED_DATA, sum } from './helpers.js';
import type { PixelArray } from '../../../src-shared/pixels';

async function all(src: FourDSource): Promise<PixelArray> {
  return src.readFrames(0, src.scanShape[0] * src.scanShape[1]);
}

function frameSums(a: PixelArray, frames: number): number[] {
  const n = a.length / frames;
  return Array.from({ length: frames }, (_, k) => sum(a.subarray(k * n, (k + 1) * n)));
}

function maxOf(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m;
}

function minOf(a: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < a.length; i++) if (a[i]! < m) m = a[i]!;
  return m;
}

function argmax(a: ArrayLike<number>): number {
  let m = -Infinity;
  let at = -1;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) [m, at] = [a[i]!, i];
  return at;
}

describe('py4DSTEM / emdfile EMD 1.0 (py4DSTEM_size2x3x4x5.h5)', () => {
  const path = join(RSC, 'emd/py4DSTEM_size2x3x4x5.h5');
  it('finds the DataCube, shapes, calibration and values', async () => {
    const s = await openSource(path);
    try {
      expect(s.format).toBe('py4DSTEM');
      expect(s.dataset).toBe('datacube_root/datacube/data');
      expect(s.scanShape).toEqual([2, 3]);
      expect(s.detectorShape).toEqual([4, 5]);
      expect(s.dtype).toBe('float32');
      // rosettasciio test_py4dstem: axis 0 scale 0.126796875 nm, axis 2 scale 0.044251566616087125 1/Å.
      expect(s.calibration.realPixelNm).toBeCloseTo(0.126796875, 12);
      expect(s.calibration.reciprocalPixelInvA).toBeCloseTo(0.0442515666160871, 15);
      expect(s.direct?.kind).toBe('contiguous');
      const a = await all(s);
      expect(sum(a)).toBeCloseTo(28255.876245, 3);
      expect(minOf(a)).toBeCloseTo(-13.1188, 3);
      expect(maxOf(a)).toBeCloseTo(2766.8955, 3);
      expect(Array.from(a.subarray(0, 4))).toEqual([472.5212, 138.3012, 228.7802, 261.8452].map((v) => expect.closeTo(v, 3)));
    } finally {
      s.close();
    }
  });
});

describe('Prismatic EMD 0.5 (Si100_4D.emd)', () => {
  const path = join(RSC, 'emd/Si100_4D.emd');
  it('reads both depth datacubes, chunked (1,1,8,8) directly from the file', async () => {
    const expected: Record<string, number> = { CBED_array_depth0000: 110.668392, CBED_array_depth0001: 110.607312 };
    for (const [name, total] of Object.entries(expected)) {
      const s = await openSource(path, { dataset: `/4DSTEM_simulation/data/datacubes/${name}/datacube` });
      try {
        expect(s.format).toBe('EMD-Prismatic');
        expect(s.scanShape).toEqual([11, 11]);
        expect(s.detectorShape).toEqual([8, 8]);
        expect(s.dtype).toBe('float32');
        expect(s.direct?.kind).toBe('chunked-uncompressed');
        // rosettasciio test_4D: navigation axes scale 0.5 nm.
        expect(s.calibration.realPixelNm).toBeCloseTo(0.5, 12);
        expect(s.calibration.voltageKV).toBe(100);
        expect(sum(await all(s))).toBeCloseTo(total, 4);
      } finally {
        s.close();
      }
    }
  });
  it('defaults to the first datacube', async () => {
    const s = await openSource(path);
    expect(s.dataset).toBe('4DSTEM_simulation/data/datacubes/CBED_array_depth0000/datacube');
    s.close();
  });
});

describe('HyperSpy .hspy (example2_v3.1.hspy)', () => {
  it('reads the gzip+shuffle signal with its axis calibration', async () => {
    const s = await openSource(join(RSC, 'hspy/example2_v3.1.hspy'));
    try {
      expect(s.format).toBe('HyperSpy');
      // 2 signal axes (navigate FALSE), no navigation axes: one pattern.
      expect(s.scanShape).toEqual([1, 1]);
      expect(s.detectorShape).toEqual([16, 16]);
      expect(s.dtype).toBe('int32');
      expect(s.direct).toBeUndefined();
      // axis scale 0.17443285882472992 1/nm → Å⁻¹.
      expect(s.calibration.reciprocalPixelInvA).toBeCloseTo(0.0174432858824730, 15);
      expect(s.calibration.voltageKV).toBe(200);
      expect(s.calibration.cameraLengthM).toBeCloseTo(0.32, 12);
      const a = await all(s);
      expect(sum(a)).toBe(250910);
      expect(minOf(a)).toBe(718);
      expect(maxOf(a)).toBe(1218);
    } finally {
      s.close();
    }
  });
  it('rejects the 1D spectrum file (wrong rank) with an InputError', async () => {
    await expect(openSource(join(RSC, 'hspy/example1_v1.2.hdf5'))).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('1 signal dimension') });
  });
});

describe('DECTRIS ARINA NeXus (test_00_master.h5 + data file + scan metadata)', () => {
  it('follows the external link, decodes bitshuffle/LZ4, takes the scan from test_00.h5', async () => {
    const s = await openSource(join(RSC, 'arina/test_00_master.h5'));
    try {
      expect(s.format).toBe('NeXus');
      expect(s.scanShape).toEqual([4, 4]);
      expect(s.scanShapeFrom).toBe('metadata');
      expect(s.detectorShape).toEqual([192, 192]);
      expect(s.dtype).toBe('uint32');
      expect(s.calibration.voltageKV).toBe(300);
      expect(s.calibration.cameraLengthM).toBeCloseTo(0.115, 12);
      expect(s.calibration.realPixelNm).toBeCloseTo(0.13915206, 12);
      expect(s.calibration.wavelengthA).toBeCloseTo(0.01969, 4);
      const a = await all(s);
      expect(a.length).toBe(16 * 192 * 192);
      expect(sum(a)).toBe(0); // a blank acquisition (PROVENANCE)
    } finally {
      s.close();
    }
  });
});

describe('bitshuffle/LZ4 generated file (bslz4_lz4_test.h5)', () => {
  it('decodes exactly (uint32 and uint16 datasets)', async () => {
    const path = join(SHARED_DATA, 'generated/bslz4_lz4_test.h5');
    for (const dataset of ['/entry/data/data', '/entry/data/data16']) {
      const s = await openHdf5(path, { dataset, scanShape: [2, 3] });
      try {
        const a = await all(s);
        expect(s.dtype).toBe(dataset.endsWith('16') ? 'uint16' : 'uint32');
        expect(sum(a)).toBe(61300);
        expect(frameSums(a, 6)).toEqual([10262, 10279, 10204, 10171, 10132, 10252]);
        expect(a[32 * 48 + 24]).toBe(1003);
        expect(Array.from(a.subarray(5 * 64 * 48, 5 * 64 * 48 + 5))).toEqual([3, 6, 3, 7, 2]);
        // Reading a sub-range reads only that.
        const f4 = await s.readFrames(4, 1);
        expect(sum(f4)).toBe(10132);
      } finally {
        s.close();
      }
    }
  });
});

describe('NCEM EMD v0.2 (example_signal.emd)', () => {
  it('is a 3D dataset: rejected without a scan shape, read with one', async () => {
    const path = join(RSC, 'emd/example_signal.emd');
    await expect(openSource(path)).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('3D stack') });
    const s = await openSource(path, { scanShape: [1, 3] });
    expect(s.format).toBe('EMD-NCEM');
    expect(sum(await all(s))).toBe(351);
    s.close();
  });
});

describe('Merlin .mib (rosettasciio quantumdetector, unzipped)', () => {
  const cases: Array<{ file: string; scan: [number, number]; det: [number, number]; dtype: string; total: number; frames?: number[]; max: number; argmaxRC?: [number, number] }> = [
    { file: '001_4x2_6bit', scan: [2, 4], det: [256, 256], dtype: 'uint8', total: 3623664, frames: [448386, 449671, 452147, 455427, 450760, 453755, 455591, 457927], max: 63, argmaxRC: [73, 19] },
    { file: '002_merlin_test_roi_sig256x128_nav4x2_hot_pixel_52x_39y', scan: [2, 4], det: [128, 256], dtype: 'uint16', total: 79, frames: [10, 7, 10, 8, 12, 12, 12, 8], max: 10, argmaxRC: [39, 52] },
    { file: '003_merlin_test_roi_sig256x64_nav4x2_hot_pixel_52x_39y', scan: [2, 4], det: [64, 256], dtype: 'uint16', total: 77, frames: [16, 10, 8, 3, 13, 9, 6, 12], max: 15, argmaxRC: [39, 52] },
    { file: 'Single_9_Frame_CounterDepth_12_Rows_256', scan: [1, 9], det: [256, 256], dtype: 'uint16', total: 260753, frames: [29032, 29076, 28899, 28730, 28893, 28878, 29164, 29055, 29026], max: 2216, argmaxRC: [210, 213] },
    { file: 'Single_9_Frame_CounterDepth_24_Rows_256', scan: [3, 3], det: [256, 256], dtype: 'uint32', total: 258156, frames: [28662, 28637, 28828, 28346, 29094, 28746, 28626, 28666, 28551], max: 2074 },
    { file: 'Single_1_Frame_CounterDepth_1_Rows_256', scan: [1, 1], det: [256, 256], dtype: 'uint8', total: 2398, max: 1 },
    { file: 'Quad_1_Frame_CounterDepth_12_Rows_256', scan: [1, 1], det: [512, 512], dtype: 'uint16', total: 845907, max: 4093, argmaxRC: [12, 286] },
  ];
  for (const c of cases) {
    it(`${c.file}: shape, dtype, sums, maximum`, async () => {
      const s = await openSource(join(QD, `${c.file}.mib`));
      try {
        expect(s.format).toBe('MIB');
        expect(s.scanShape).toEqual(c.scan);
        expect(s.detectorShape).toEqual(c.det);
        expect(s.dtype).toBe(c.dtype);
        expect(s.direct?.kind).toBe('mib');
        expect(s.direct?.littleEndian).toBe(false);
        const a = await all(s);
        expect(sum(a)).toBe(c.total);
        if (c.frames) expect(frameSums(a, c.frames.length)).toEqual(c.frames);
        expect(maxOf(a)).toBe(c.max);
        if (c.argmaxRC) {
          const at = argmax(a.subarray(0, c.det[0] * c.det[1]));
          expect([Math.floor(at / c.det[1]), at % c.det[1]]).toEqual(c.argmaxRC);
        }
      } finally {
        s.close();
      }
    });
  }

  it('001_4x2_6bit: every header field, exposure, and the (2, 4) scan from per-frame timestamps', async () => {
    const s = await openMib(join(QD, '001_4x2_6bit.mib'));
    try {
      expect(s.scanShapeFrom).toBe('timestamps');
      const h = s.metadata?.header as Record<string, unknown>;
      expect(h).toMatchObject({ id: 'MQ1', sequence: 1, headerBytes: 384, chips: 1, width: 256, height: 256, pixelType: 'U08', sensorLayout: '1x1', chipSelect: 1, counterDepth: 6 });
      expect(h.timestampUtc).toBe('2021-05-07T16:51:10.905800928Z');
      expect(h.timestampLocal).toBe('2021-05-07 18:51:10.905800');
      expect(h.exposureNs).toBe(100000000);
      expect(h.thresholdsKeV).toEqual([40, 511, 0, 0, 0, 0, 0, 0]);
      expect((h.chipDacs as Array<{ chipType: string; dacs: number[] }>)[0]).toMatchObject({ chipType: '3RX' });
      expect((h.chipDacs as Array<{ dacs: number[] }>)[0]!.dacs).toHaveLength(27);
      expect(s.calibration.dwellTimeS).toBeCloseTo(0.1, 12);
      const hdr = s.metadata?.hdr as Record<string, string>;
      expect(hdr['Frames in Acquisition (Number)']).toBe('8');
      expect(hdr['Counter Depth (number)']).toBe('6');
      expect(hdr['Assembly Size (NX1, 2X2)']).toBe('1x1');
      // A single frame in the middle.
      expect(sum(await s.readFrames(5, 1))).toBe(453755);
      expect((await s.readFrames(0, 1))[0]).toBe(2);
    } finally {
      s.close();
    }
  });

  it('the user scan shape wins; one that needs more frames than exist is an InputError', async () => {
    const s = await openMib(join(QD, 'Single_9_Frame_CounterDepth_24_Rows_256.mib'), { scanShape: [1, 9] });
    expect(s.scanShape).toEqual([1, 9]);
    s.close();
    await expect(openMib(join(QD, 'Single_9_Frame_CounterDepth_1_Rows_256.mib'.replace('1_Rows', '12_Rows')), { scanShape: [4, 3] })).rejects.toMatchObject({
      name: 'InputError',
      message: expect.stringContaining('needs 12 frames but the file has 9'),
    });
  });

  it('raw R64 1-bit single chip unpacks to the same picture as the processed frame taken 1.5 s later', async () => {
    const raw = await openSource(join(QD, 'Single_1_Frame_CounterDepth_1_Rows_256RAW.mib'));
    const proc = await openSource(join(QD, 'Single_1_Frame_CounterDepth_1_Rows_256.mib'));
    try {
      expect(raw.direct).toBeUndefined();
      expect(raw.dtype).toBe('uint8');
      expect(raw.detectorShape).toEqual([256, 256]);
      const a = await raw.readFrames(0, 1);
      const b = await proc.readFrames(0, 1);
      expect(maxOf(a)).toBe(1);
      expect(sum(a)).toBe(2394);
      let both = 0;
      for (let i = 0; i < a.length; i++) if (a[i] && b[i]) both++;
      // 2394 and 2398 counts over 65536 pixels: chance overlap ≈ 88; the same hot/counting pixels give ≈ all.
      expect(both).toBeGreaterThan(2300);
    } finally {
      raw.close();
      proc.close();
    }
  });

  it('raw R64 1-bit quad (1024×256 as written) becomes the 512×512 mosaic of the processed quad', async () => {
    const raw = await openSource(join(QD, 'Quad_1_Frame_CounterDepth_1_Rows_256RAW.mib'));
    const proc = await openSource(join(QD, 'Quad_1_Frame_CounterDepth_12_Rows_256.mib'));
    try {
      expect(raw.detectorShape).toEqual([512, 512]);
      const a = await raw.readFrames(0, 1);
      const b = await proc.readFrames(0, 1);
      // Compare where counts fall, on 8×8 blocks: quadrant placement and flips must match.
      const blocks = (x: PixelArray): Float64Array => {
        const o = new Float64Array(64 * 64);
        for (let y = 0; y < 512; y++) for (let c = 0; c < 512; c++) o[(y >> 3) * 64 + (c >> 3)] += x[y * 512 + c]! > 0 ? 1 : 0;
        return o;
      };
      const u = blocks(a);
      const v = blocks(b);
      const mu = sum(u) / u.length;
      const mv = sum(v) / v.length;
      let suv = 0;
      let suu = 0;
      let svv = 0;
      for (let i = 0; i < u.length; i++) {
        suv += (u[i]! - mu) * (v[i]! - mv);
        suu += (u[i]! - mu) ** 2;
        svv += (v[i]! - mv) ** 2;
      }
      expect(suv / Math.sqrt(suu * svv)).toBeGreaterThan(0.99);
    } finally {
      raw.close();
      proc.close();
    }
  });
});
