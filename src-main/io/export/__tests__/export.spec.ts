import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { h5lib } from '../../h5';
import { countsOnCentre, encodeTiff, exportObject, formatPts2, parseSmvHeader, resolveCalibration, SMV_OVERLOAD, writeExtractedHdf5, writeSmvSeries, writeTiffFrames } from '../index';
import type { ExtractedSeries } from '../../../../src-shared/domain';

// utif2 is CommonJS; load it the way Node loads it.
const UTIF = createRequire(import.meta.url)('utif2') as typeof import('utif2');

const dir = mkdtempSync(join(tmpdir(), 'tracked-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NQY = 6;
const NQX = 8;
const NPIX = NQY * NQX;

/** A hand-made series: 4 tilts from −3° in 1.5° steps, tilt 2 excluded, values with negatives and fractions. */
function series(angles = [-3, -1.5, 0, 1.5]): ExtractedSeries {
  const n = angles.length;
  const frames = new Float32Array(n * NPIX);
  for (let t = 0; t < n; t++) for (let q = 0; q < NPIX; q++) frames[t * NPIX + q] = t === 2 ? 0 : ((q * 37 + t * 11) % 101) - 7.25 + t;
  const beamCentre = new Float64Array(n * 2);
  for (let t = 0; t < n; t++) {
    beamCentre[2 * t] = 3.4 + 0.1 * t;
    beamCentre[2 * t + 1] = 2.6 - 0.05 * t;
  }
  return {
    objectId: 7,
    name: 'rod A',
    nTilts: n,
    detectorShape: [NQY, NQX],
    anglesDeg: Float64Array.from(angles),
    frames,
    statistic: 'sum',
    probeCount: Int32Array.from(angles.map((_, t) => (t === 2 ? 0 : 20 + t))),
    included: Uint8Array.from(angles.map((_, t) => (t === 2 ? 0 : 1))),
    background: { method: 'none', ringWidth: 0, ringProbeCount: new Int32Array(n) },
    beamCentre,
    doseScale: new Float64Array(n).fill(1),
    excludedPixels: new Int32Array(n),
    sharedSignalFraction: new Float64Array(n),
    calibration: { voltageKV: 200, reciprocalPixelInvA: 0.0105, rotationAxisDeg: 12.3 },
  };
}

function decodeTiff(path: string): { width: number; height: number; bits: number; sampleFormat: number; description: string; values: number[] } {
  const buf = readFileSync(path);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const ifds = UTIF.decode(ab);
  const ifd = ifds[0];
  UTIF.decodeImage(ab, ifd);
  const bits = (ifd.t258 as number[])[0];
  const sampleFormat = ((ifd.t339 as number[] | undefined) ?? [1])[0];
  const bytes = ifd.data;
  const copy = bytes.slice().buffer;
  const n = ifd.width * ifd.height;
  const values = bits === 32 && sampleFormat === 3 ? Array.from(new Float32Array(copy, 0, n)) : Array.from(new Uint16Array(copy, 0, n));
  return { width: ifd.width, height: ifd.height, bits, sampleFormat, description: String((ifd.t270 as string[] | undefined)?.[0] ?? ''), values };
}

describe('TIFF frames', () => {
  it('32-bit float frames round-trip through utif2: values, size, bit depth, float tag; numbered by tilt', () => {
    const s = series();
    const w = writeTiffFrames(s, join(dir, 'f32'));
    expect(w.files.map((f) => f.file)).toEqual(['0001.tif', '0002.tif', '0004.tif']);
    expect(readdirSync(join(dir, 'f32')).sort()).toEqual(['0001.tif', '0002.tif', '0004.tif']);
    for (const f of w.files) {
      const d = decodeTiff(join(dir, 'f32', f.file));
      expect([d.width, d.height, d.bits, d.sampleFormat]).toEqual([NQX, NQY, 32, 3]);
      expect(d.values).toEqual(Array.from(s.frames.subarray(f.tiltIndex * NPIX, (f.tiltIndex + 1) * NPIX)));
      expect(d.description).toContain(`angleDeg ${s.anglesDeg[f.tiltIndex]}`);
    }
  });

  it('16-bit frames: one scale for the series, recorded; negatives clipped to 0', () => {
    const s = series();
    const w = writeTiffFrames(s, join(dir, 'u16'), { depth: 'uint16', maxValue: 50000 });
    let max = 0;
    for (const t of [0, 1, 3]) for (let q = 0; q < NPIX; q++) max = Math.max(max, s.frames[t * NPIX + q]);
    expect(w.scale).toBeCloseTo(50000 / max, 9);
    expect(w.clippedNegative).toBeGreaterThan(0);
    for (const f of w.files) {
      const d = decodeTiff(join(dir, 'u16', f.file));
      expect([d.width, d.height, d.bits, d.sampleFormat]).toEqual([NQX, NQY, 16, 1]);
      const want = Array.from(s.frames.subarray(f.tiltIndex * NPIX, (f.tiltIndex + 1) * NPIX), (v) => Math.max(0, Math.round(v * w.scale)));
      expect(d.values).toEqual(want);
      const m = /uint16 = round\(value \* ([0-9.e+-]+)\)/.exec(d.description);
      expect(Number(m?.[1])).toBeCloseTo(w.scale, 6);
    }
    expect(Math.max(...decodeTiff(join(dir, 'u16', '0004.tif')).values, ...decodeTiff(join(dir, 'u16', '0002.tif')).values, ...decodeTiff(join(dir, 'u16', '0001.tif')).values)).toBe(50000);
  });

  it('multi-strip images (rows beyond 64 KiB) decode whole', () => {
    const w = 300;
    const h = 70; // 300·4 bytes per row → 54 rows per strip → 2 strips
    const data = Float32Array.from({ length: w * h }, (_, i) => i * 0.5);
    const bytes = encodeTiff(data, w, h);
    const path = join(dir, 'strips.tif');
    writeFileSync(path, bytes);
    const d = decodeTiff(path);
    expect(d.values).toEqual(Array.from(data));
  });
});

describe('PETS2 .pts2', () => {
  it('carries λ, aperpixel, static geometry, omega and every frame with its tilt angle', () => {
    const s = series();
    const cal = resolveCalibration(s.calibration);
    const text = formatPts2({
      calibration: cal,
      frames: [
        { path: 'frames/0001.tif', angleDeg: -3 },
        { path: 'frames/0002.tif', angleDeg: -1.5 },
      ],
      centre: [3.4, 2.6],
    });
    const kv = new Map<string, string>();
    for (const line of text.split('\n')) {
      const m = /^([a-z/]+)\s+(.*)$/.exec(line);
      if (m && !line.startsWith('#') && !kv.has(m[1])) kv.set(m[1], m[2].trim());
    }
    expect(Number(kv.get('lambda'))).toBeCloseTo(0.02508, 5);
    expect(Number(kv.get('aperpixel'))).toBe(0.0105);
    expect(kv.get('geometry')).toBe('static');
    expect(Number(kv.get('phi'))).toBe(0);
    expect(kv.get('omega')!.split(/\s+/).map(Number)).toEqual([12.3, 0, 1]);
    expect(kv.get('center')!.split(/\s+/).map(Number)).toEqual([3.4, 2.6]);
    const list = text.slice(text.indexOf('\nimagelist\n') + 11, text.indexOf('\nendimagelist'));
    expect(list.split('\n').map((l) => l.split(/\s+/))).toEqual([
      ['"frames/0001.tif"', '-3.0000'],
      ['"frames/0002.tif"', '-1.5000'],
    ]);
    const unknownAxis = formatPts2({ calibration: { ...cal, rotationAxisDeg: undefined }, frames: [] });
    expect(unknownAxis).toMatch(/\nomega\s+0\.0000 1 1\n/);
    expect(unknownAxis).toMatch(/\ncenter AUTO\n/);
  });
});

describe('SMV for DIALS/XDS', () => {
  it('one frame per tilt, every header on one common beam centre, pixels as whole counts moved by whole pixels', () => {
    const s = series();
    s.beamCentre[6] = 5.9; // tilt 3's beam is 2.4 px right of the others: moved back by 2 px, 0.4 px left over
    const cal = resolveCalibration(s.calibration);
    const out = join(dir, 'smv');
    const w = writeSmvSeries(s, out, { calibration: cal, stem: 'rodA', pixelSizeMm: 0.055 });
    expect(w.files).toEqual(['rodA_0001.img', 'rodA_0002.img', 'rodA_0003.img', 'rodA_0004.img']);
    expect(w.emptyTilts).toEqual([2]);
    // The median of the extracted frames' centres (tilts 0, 1, 3).
    expect(w.commonCentre[0]).toBeCloseTo(3.5, 12);
    expect(w.commonCentre[1]).toBeCloseTo(2.55, 12);
    expect(w.shifts).toEqual([[0, 0], [0, 0], [0, 0], [-2, 0]]);
    expect(w.warnings.some((m) => /not whole counts/.test(m))).toBe(true);
    const lambda = 0.0250793; // 200 kV
    const L = 0.055 / (cal.wavelengthA * 0.0105);
    for (const file of w.files) {
      const t = Number(file.slice(5, 9)) - 1;
      const bytes = new Uint8Array(readFileSync(join(out, file)));
      expect(String.fromCharCode(...bytes.subarray(0, 15))).toBe('{\nHEADER_BYTES=');
      const { headerBytes, fields } = parseSmvHeader(bytes);
      expect(headerBytes % 512).toBe(0);
      expect(bytes.length).toBe(headerBytes + 2 * NPIX);
      expect(fields.DIM).toBe('2');
      expect(fields.BYTE_ORDER).toBe('little_endian');
      expect(fields.TYPE).toBe('unsigned_short');
      expect([Number(fields.SIZE1), Number(fields.SIZE2)]).toEqual([NQX, NQY]);
      expect(Number(fields.PIXEL_SIZE)).toBe(0.055);
      expect(Number(fields.WAVELENGTH)).toBeCloseTo(lambda, 6);
      expect(Number(fields.DISTANCE)).toBeCloseTo(L, 3);
      expect(Number(fields.GAIN)).toBe(1);
      // The geometry is right: a point d pixels from the beam sits at 2θ = atan(d·p/L) → |q| = 2 sin θ / λ ≈ d·s.
      const d = 40;
      const twoTheta = Math.atan((d * Number(fields.PIXEL_SIZE)) / Number(fields.DISTANCE));
      expect((2 * Math.sin(twoTheta / 2)) / Number(fields.WAVELENGTH)).toBeCloseTo(d * 0.0105, 4);
      // dxtbx FormatSMVADSC: (fast, slow) mm = (BEAM_CENTER_Y, BEAM_CENTER_X) from the first pixel's corner; the
      // same in every header.
      expect(Number(fields.BEAM_CENTER_Y)).toBeCloseTo((3.5 + 0.5) * 0.055, 6);
      expect(Number(fields.BEAM_CENTER_X)).toBeCloseTo((2.55 + 0.5) * 0.055, 6);
      expect(Number(fields.OSC_RANGE)).toBeCloseTo(1.5, 6);
      expect(Number(fields.OSC_START)).toBeCloseTo(-3 + 1.5 * t - 0.75, 6);
      expect(Number(fields.PHI)).toBe(Number(fields.OSC_START));
      expect(Number(fields.TWOTHETA)).toBe(0);
      expect(Number(fields.TRACKED_ANGLE_DEG)).toBe(s.anglesDeg[t]);
      expect(Number(fields.TRACKED_EMPTY)).toBe(t === 2 ? 1 : 0);
      for (const k of ['BEAM_CENTER_X', 'BEAM_CENTER_Y', 'DISTANCE', 'WAVELENGTH', 'PIXEL_SIZE', 'OSC_START', 'OSC_RANGE', 'SIZE1', 'SIZE2', 'BYTE_ORDER', 'TIME']) {
        expect(fields[k], k).toBeDefined();
      }
      const px = new Uint16Array(bytes.slice(headerBytes).buffer);
      const dx = w.shifts[t][0];
      expect(Number(fields.TRACKED_SHIFT_X)).toBe(dx);
      // Counts, not rescaled: frame value at (x − dx, y) rounded and clipped at 0; what moved in from outside is 0.
      const expected = Array.from({ length: NPIX }, (_, i) => {
        const x = i % NQX;
        const y = Math.floor(i / NQX);
        if (t === 2 || x - dx < 0 || x - dx >= NQX) return 0;
        return Math.max(0, Math.round(s.frames[t * NPIX + y * NQX + x - dx]));
      });
      expect(Array.from(px)).toEqual(expected);
    }
    expect(Number(parseSmvHeader(new Uint8Array(readFileSync(join(out, 'rodA_0004.img')))).fields.TRACKED_RESIDUAL_X)).toBeCloseTo(0.4, 3);
    const xds = readFileSync(join(out, 'XDS.INP'), 'utf8');
    expect(xds).toContain('NAME_TEMPLATE_OF_DATA_FRAMES= rodA_????.img SMV');
    expect(xds).toContain('DATA_RANGE= 1 4');
    expect(xds).toContain('EXCLUDE_DATA_RANGE= 3 3');
    expect(xds).toMatch(/STARTING_ANGLE= -3\.750000\n/);
    expect(xds).toMatch(/OSCILLATION_RANGE= 1\.500000\n/);
    const ax = (12.3 * Math.PI) / 180;
    expect(xds).toContain(`ROTATION_AXIS= ${Math.cos(ax).toFixed(6)} ${Math.sin(ax).toFixed(6)} 0.000000`);
    expect(xds).toContain(`ORGX= ${(3.5 + 0.5).toFixed(3)}  ORGY= ${(2.55 + 0.5).toFixed(3)}`);
    expect(xds).toMatch(new RegExp(`DETECTOR_DISTANCE= ${L.toFixed(4)}`));
    const readme = readFileSync(join(out, 'README.txt'), 'utf8');
    expect(readme).toContain(`dials.import rodA_*.img goniometer.axis=${Math.cos(ax).toFixed(6)},${(-Math.sin(ax)).toFixed(6)},0`);
    expect(readme).toMatch(/Frames with no data .*: 3\./);
    expect(readme).toMatch(/Intensities: counts/);
  });

  it('whole counts are exact; above 65535 a pixel is written as overloaded', () => {
    const frame = Float32Array.from([0, 1, 2, 65534, 65535, 70000, -3, 7.4, 1e6]);
    const c = countsOnCentre(frame, 3, 3, 0, 0);
    expect(Array.from(c.data)).toEqual([0, 1, 2, 65534, SMV_OVERLOAD, SMV_OVERLOAD, 0, 7, SMV_OVERLOAD]);
    expect(c.overloaded).toBe(3);
    expect(c.fractional).toBe(1);
    // A move by (1, −1): pixel (x, y) takes (x − 1, y + 1); the first column and last row come from outside.
    expect(Array.from(countsOnCentre(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 3, 3, 1, -1).data)).toEqual([0, 4, 5, 0, 7, 8, 0, 0, 0]);
  });

  it('a descending series is written about the reversed axis with positive OSC_RANGE', () => {
    const s = series([3, 1.5, 0, -1.5]);
    const w = writeSmvSeries(s, join(dir, 'smv-desc'), { calibration: resolveCalibration(s.calibration) });
    expect(w.axisReversed).toBe(true);
    const f0 = parseSmvHeader(new Uint8Array(readFileSync(join(dir, 'smv-desc', 'frame_0001.img')))).fields;
    const f1 = parseSmvHeader(new Uint8Array(readFileSync(join(dir, 'smv-desc', 'frame_0002.img')))).fields;
    expect(Number(f0.OSC_RANGE)).toBeCloseTo(1.5, 6);
    expect(Number(f0.OSC_START)).toBeCloseTo(-3 - 0.75, 6);
    expect(Number(f1.OSC_START) - Number(f0.OSC_START)).toBeCloseTo(1.5, 6);
    const ax = (12.3 * Math.PI) / 180;
    expect(readFileSync(join(dir, 'smv-desc', 'XDS.INP'), 'utf8')).toContain(`ROTATION_AXIS= ${(-Math.cos(ax)).toFixed(6)} ${(-Math.sin(ax)).toFixed(6)} 0.000000`);
  });
});

describe('HDF5 and the whole export', () => {
  it('extracted.h5 holds frames [nTilts, nqy, nqx] float32, angles, probe counts, centres and calibration', async () => {
    const s = series();
    const path = join(dir, 'extracted.h5');
    await writeExtractedHdf5(path, [s], { calibration: { wavelengthA: 0.02508 } });
    const h5 = await h5lib();
    const f = new h5.File(path, 'r');
    try {
      const frames = f.get('object_7/frames') as import('h5wasm').Dataset;
      expect(frames.shape).toEqual([4, NQY, NQX]);
      expect(frames.dtype).toBe('<f');
      expect(Array.from(frames.value as Float32Array)).toEqual(Array.from(s.frames));
      expect(Array.from((f.get('object_7/angleDeg') as import('h5wasm').Dataset).value as Float64Array)).toEqual([-3, -1.5, 0, 1.5]);
      expect(Array.from((f.get('object_7/probeCount') as import('h5wasm').Dataset).value as Int32Array)).toEqual([20, 21, 0, 23]);
      const bc = f.get('object_7/beamCentre') as import('h5wasm').Dataset;
      expect(bc.shape).toEqual([4, 2]);
      expect(Array.from(bc.value as Float64Array)).toEqual(Array.from(s.beamCentre));
      expect(f.attrs.wavelengthA.json_value).toBe(0.02508);
      expect(f.attrs.reciprocalPixelInvA.json_value).toBe(0.0105);
      expect(f.attrs.rotationAxisDeg.json_value).toBe(12.3);
      expect((f.get('object_7') as import('h5wasm').Group).attrs.name.json_value).toBe('rod A');
    } finally {
      f.close();
    }
  });

  it('exportObject writes frames/, NAME.pts2 and smv/ with matching names and leaves no temp files', () => {
    const s = series();
    const out = join(dir, 'run');
    const r = exportObject(s, out, { tiff16: true });
    expect(r.name).toBe('rod_A');
    expect(readdirSync(out).sort()).toEqual(['frames', 'frames16', 'rod_A.pts2', 'smv']);
    const pts2 = readFileSync(join(out, 'rod_A.pts2'), 'utf8');
    for (const f of r.frames.files) expect(pts2).toContain(`"frames/${f.file}"  ${f.angleDeg.toFixed(4)}`);
    expect(readdirSync(join(out, 'smv')).sort()).toEqual(['README.txt', 'XDS.INP', 'rod_A_0001.img', 'rod_A_0002.img', 'rod_A_0003.img', 'rod_A_0004.img']);
    const all = [out, join(out, 'frames'), join(out, 'frames16'), join(out, 'smv')].flatMap((d) => readdirSync(d));
    expect(all.filter((n) => n.includes('.tmp-'))).toEqual([]);
    // Without the geometry only the frames can be written: no .pts2, no smv/, and a warning that says what is missing.
    const bare = exportObject({ ...s, calibration: {} }, join(dir, 'nocal'));
    expect(readdirSync(join(dir, 'nocal')).sort()).toEqual(['frames']);
    expect(bare.pts2).toBeUndefined();
    expect(bare.smv).toBeUndefined();
    expect(bare.warnings.join()).toMatch(/wavelengthA: unknown.*--voltage/);
  });
});

describe('multi-page TIFF', () => {
  it('writes a stack that an independent decoder reads page by page', async () => {
    const { encodeTiffPages } = await import('../tiff');
    const UTIF = (await import('utif2')).default as unknown as {
      decode(b: ArrayBuffer): Array<{ width: number; height: number; t258?: number[]; t339?: number[] }>;
      decodeImage(b: ArrayBuffer, ifd: unknown): void;
    };
    const pages = [0, 1, 2].map((k) => ({ data: Float32Array.from({ length: 5 * 3 }, (_, i) => i * (k + 1) - 4.5), width: 5, height: 3, description: `tilt ${k}` }));
    const bytes = encodeTiffPages(pages, 'trackED');
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const ifds = UTIF.decode(buf);
    expect(ifds).toHaveLength(3);
    ifds.forEach((ifd, k) => {
      UTIF.decodeImage(buf, ifd);
      const raw = (ifd as unknown as { data: Uint8Array }).data;
      const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
      expect(Array.from(values)).toEqual(Array.from(pages[k]!.data));
      expect(ifd.width).toBe(5);
      expect(ifd.height).toBe(3);
    });
  });
});
