import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRESET_NAMES, SIZES, synthesize, type SizeSpec } from '..';
import {
  electronWavelengthA,
  enumerateReflections,
  excitationErrorInvA,
  goniometerRotation,
  matMul,
  matVec,
  prepareStructureFactorModel,
  projectToDetector,
  readCifFile,
  structureFactor,
  type Mat3,
  type Vec3,
} from '../../crystallography';
import { CancelledError, ParameterError } from '../../../src-shared/errors';
import { readJson, removeDir, tempDir, withH5 } from './helpers';
import { SHARED_REF } from '../../../tests/helpers/paths';

const REF = SHARED_REF;
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
function dir(tag: string): string {
  const d = tempDir(tag);
  dirs.push(d);
  return d;
}

interface Series {
  version: number;
  voltageKV: number;
  reciprocalPixelInvA: number;
  realPixelNm: number;
  rotationAxisDeg: number | null;
  tilts: { file: string; angleDeg: number; dataset: string | null }[];
}
interface Truth {
  version: number;
  wavelengthA: number;
  reciprocalPixelInvA: number;
  rotationAxisDeg: number;
  beamCentre: [number, number];
  particles: { id: number; structure: string; cell: Record<string, number>; UB: Mat3; spaceGroup: string }[];
}

describe('spot positions (ARCHITECTURE §4 geometry)', () => {
  it('the brightest predicted reflections of single-isolated appear where R·UB·h projects, within 0.5 px', async () => {
    const out = dir('spots');
    const size: SizeSpec = { scanShape: [14, 14], detectorShape: [128, 128], nTilts: 3, tiltStepDeg: 17 };
    await synthesize({ preset: 'single-isolated', size, outDir: out, seed: 11, noise: false });
    const series = readJson<Series>(join(out, 'series.json'));
    const truth = readJson<Truth>(join(out, 'truth', 'truth.json'));
    const p = truth.particles[0]!;
    // Independent forward model: the reference CIF, truth UB, §4 geometry.
    const model = prepareStructureFactorModel(readCifFile(join(REF, 'structures', p.structure)));
    const lam = electronWavelengthA(series.voltageKV);
    expect(truth.wavelengthA).toBeCloseTo(lam, 12);
    const geom = { wavelengthA: lam, reciprocalPixelInvA: truth.reciprocalPixelInvA, beamCentre: truth.beamCentre };
    const list = enumerateReflections(model.cell, 1 / (64 * truth.reciprocalPixelInvA));
    let checked = 0;
    for (const ti of [0, 1, 2]) {
      const angle = series.tilts[ti]!.angleDeg;
      const rub = matMul(goniometerRotation(truth.rotationAxisDeg, angle), p.UB);
      // Probe position: the thickest point of the particle (truth thickness map).
      const { ry, rx, tA } = await withH5(join(out, 'truth', 'virtual.h5'), (get) => {
        const t = get('thickness_1').slice([[ti, ti + 1], [], []]);
        let best = 0;
        let bj = 0;
        for (let j = 0; j < t.length; j++) {
          if (t[j]! > best) {
            best = t[j]!;
            bj = j;
          }
        }
        return { ry: Math.floor(bj / 14), rx: bj % 14, tA: best * 10 };
      });
      const frame = await withH5(join(out, series.tilts[ti]!.file), (get) => get(series.tilts[ti]!.dataset!).slice([[ry, ry + 1], [rx, rx + 1], [], []]));
      const spots: { x: number; y: number; f2: number; s: number }[] = [];
      for (let i = 0; i < list.count; i++) {
        const h: Vec3 = [list.hkl[3 * i]!, list.hkl[3 * i + 1]!, list.hkl[3 * i + 2]!];
        const g = matVec(rub, h);
        const s = excitationErrorInvA(g, lam);
        if (Math.abs(s) > 0.02) continue;
        const pos = projectToDetector(geom, g);
        // Kinematic brightness at this thickness: |F|² t² sinc²(π t s).
        const x = Math.PI * tA * s;
        const sinc = Math.abs(x) < 1e-9 ? 1 : Math.sin(x) / x;
        spots.push({ x: pos.qx, y: pos.qy, f2: structureFactor(model, ...h).f2 * sinc * sinc, s });
      }
      const candidates = spots
        .filter((c) => c.f2 > 4 && c.x > 8 && c.y > 8 && c.x < 119 && c.y < 119)
        .filter((c) => Math.hypot(c.x - truth.beamCentre[0], c.y - truth.beamCentre[1]) > 10)
        .filter((c) => spots.every((o) => o === c || Math.hypot(o.x - c.x, o.y - c.y) > 7))
        .sort((a, b) => b.f2 - a.f2)
        .slice(0, 6);
      for (const c of candidates) {
        // Background from a ring 5–7 px out, centroid of the excess within 4 px.
        const ring: number[] = [];
        for (let y = Math.floor(c.y) - 7; y <= Math.ceil(c.y) + 7; y++)
          for (let x = Math.floor(c.x) - 7; x <= Math.ceil(c.x) + 7; x++) {
            const r = Math.hypot(x - c.x, y - c.y);
            if (r >= 5 && r <= 7) ring.push(frame[y * 128 + x]!);
          }
        ring.sort((a, b) => a - b);
        const bg = ring[Math.floor(ring.length / 2)]!;
        let sw = 0;
        let sx = 0;
        let sy = 0;
        for (let y = Math.floor(c.y) - 4; y <= Math.ceil(c.y) + 4; y++)
          for (let x = Math.floor(c.x) - 4; x <= Math.ceil(c.x) + 4; x++) {
            if (Math.hypot(x - c.x, y - c.y) > 4) continue;
            const w = Math.max(0, frame[y * 128 + x]! - bg);
            sw += w;
            sx += w * x;
            sy += w * y;
          }
        expect(sw, `spot at (${c.x.toFixed(2)}, ${c.y.toFixed(2)}) is missing`).toBeGreaterThan(30);
        expect(Math.abs(sx / sw - c.x), `x of spot at (${c.x.toFixed(2)}, ${c.y.toFixed(2)})`).toBeLessThan(0.5);
        expect(Math.abs(sy / sw - c.y), `y of spot at (${c.x.toFixed(2)}, ${c.y.toFixed(2)})`).toBeLessThan(0.5);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });
});

describe('determinism', () => {
  it('same seed → identical pixels, JSON and MIB bytes; another seed differs', async () => {
    const size: SizeSpec = { scanShape: [10, 12], detectorShape: [64, 64], nTilts: 2, tiltStepDeg: 8 };
    const a = dir('det-a');
    const b = dir('det-b');
    const c = dir('det-c');
    await synthesize({ preset: 'cspbbr3-sensitive', size, outDir: a, seed: 42, mib: true });
    await synthesize({ preset: 'cspbbr3-sensitive', size, outDir: b, seed: 42, mib: true });
    await synthesize({ preset: 'cspbbr3-sensitive', size, outDir: c, seed: 43, mib: true });
    const files = readdirSync(a, { recursive: true }).map(String).filter((f) => f.endsWith('.json') || f.endsWith('.mib') || f.endsWith('.hdr'));
    expect(files.length).toBeGreaterThan(6);
    for (const f of files) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);
    // HDF5 containers carry creation times in their object headers; the data and attributes must match.
    const pixels = async (d: string): Promise<number[]> =>
      withH5(join(d, 'tilt_001.h5'), (get, _k, attrs) => [...Array.from(get('/datacube_root/datacube/data').slice([[], [], [], []])), String(attrs['UUID']).length]);
    const pa = await pixels(a);
    expect(await pixels(b)).toEqual(pa);
    expect(await pixels(c)).not.toEqual(pa);
    expect(pa.reduce((s, v) => s + v, 0)).toBeGreaterThan(1000);
  });
});

// SIZES.small: an S×S scan, a Q×Q detector, NT tilts; one brookite-agglomerate series shared by the two blocks below.
const [S] = SIZES.small.scanShape;
const [Q] = SIZES.small.detectorShape;
const NT = SIZES.small.nTilts;
const NP = S * S;
const PROBES = [0, Math.floor(NP / 2) + 5, NP - 1];
const t0 = (NT - 1) / 2;
interface SmallSeries {
  out: string;
  series: Series;
  truth: Truth;
  masks: Uint8Array[];
}
let smallOnce: Promise<SmallSeries> | null = null;
function smallSeries(): Promise<SmallSeries> {
  smallOnce ??= (async () => {
    const out = dir('small');
    const stages = new Set<string>();
    const summary = await synthesize({ preset: 'brookite-agglomerate', size: 'small', outDir: out, seed: 5 }, { onProgress: (_d, _t, s) => stages.add(s) });
    expect(summary.nTilts).toBe(NT);
    expect(summary.scanShape).toEqual([S, S]);
    expect(summary.detectorShape).toEqual([Q, Q]);
    expect(summary.bytesWritten).toBeGreaterThan(NT * S * S * Q * Q * 2);
    expect(summary.particles).toHaveLength(5);
    expect(stages.has('truth')).toBe(true);
    return {
      out,
      series: readJson<Series>(join(out, 'series.json')),
      truth: readJson<Truth>(join(out, 'truth', 'truth.json')),
      masks: await withH5(join(out, 'truth', 'masks.h5'), (get, keys) => keys().map((k) => Uint8Array.from(get(k).slice([[], [], []])))),
    };
  })();
  return smallOnce;
}

describe('the small preset: series, layout, truth.json', () => {
  let out: string;
  let series: Series;
  let truth: Truth;
  beforeAll(async () => void ({ out, series, truth } = await smallSeries()), 120_000);

  it('brookite-agglomerate small: series.json and the EMD layout (contiguous, frames back to back)', async () => {
    expect(Object.keys(series).sort()).toEqual(['realPixelNm', 'reciprocalPixelInvA', 'rotationAxisDeg', 'tilts', 'version', 'voltageKV']);
    expect(series.version).toBe(1);
    expect(series.voltageKV).toBe(200);
    expect(series.tilts).toHaveLength(NT);
    expect(series.tilts[0]).toEqual({ file: 'tilt_000.h5', angleDeg: -40, dataset: '/datacube_root/datacube/data' });
    expect(series.tilts[NT - 1]!.angleDeg).toBe(40);

    // EMD 1.0 layout, right shape/dtype, contiguous: frames sit back to back in the file in row-major order.
    const path = join(out, 'tilt_010.h5');
    const probe = await withH5(path, (get, _keys, attrs) => {
      expect(attrs['emd_group_type']).toBe('file');
      expect(attrs['version_major']).toBe(1);
      expect(attrs['version_minor']).toBe(0);
      const d = get('/datacube_root/datacube/data');
      expect(d.shape).toEqual([S, S, Q, Q]);
      expect(d.dtype).toBe('<H');
      expect(d.chunks).toBeNull();
      expect(d.filters).toEqual([]);
      const dim2 = get('/datacube_root/datacube/dim2');
      expect(dim2.attrs['name']).toBe('Qx');
      expect(Array.from(dim2.slice([[]]) as ArrayLike<number>)[1]).toBeCloseTo(series.reciprocalPixelInvA, 12);
      expect(get('/datacube_root/metadatabundle/calibration/R_pixel_size').value()).toBeCloseTo(series.realPixelNm, 12);
      return PROBES.map((k) => Uint16Array.from(d.slice([[Math.floor(k / S), Math.floor(k / S) + 1], [k % S, (k % S) + 1], [], []])));
    });
    const bytes = readFileSync(path);
    const frameBytes = Q * Q * 2;
    const mid = Buffer.from(probe[1]!.buffer, probe[1]!.byteOffset, frameBytes);
    const at = bytes.indexOf(mid);
    expect(at).toBeGreaterThan(0);
    const dataStart = at - PROBES[1] * frameBytes;
    for (const [i, k] of PROBES.entries()) {
      expect(bytes.subarray(dataStart + k * frameBytes, dataStart + (k + 1) * frameBytes).equals(Buffer.from(probe[i]!.buffer, 0, frameBytes))).toBe(true);
    }

  });

  it('truth.json holds exactly the contract fields, and F2 matches cctbx', () => {
    // truth.json: exactly ARCHITECTURE §7.
    expect(Object.keys(truth).sort()).toEqual(['beamCentre', 'particles', 'reciprocalPixelInvA', 'rotationAxisDeg', 'version', 'wavelengthA']);
    expect(truth.wavelengthA).toBeCloseTo(0.02508, 5);
    expect(truth.particles).toHaveLength(5);
    for (const p of truth.particles) {
      expect(Object.keys(p).sort()).toEqual(['UB', 'cell', 'id', 'spaceGroup', 'structure']);
      expect(p.structure).toBe('brookite_TiO2.cif');
      expect(p.spaceGroup).toBe('P b c a');
      // |UB columns| = a*, b*, c*.
      const col = (j: number): number => Math.hypot(p.UB[0][j], p.UB[1][j], p.UB[2][j]);
      expect(col(0)).toBeCloseTo(1 / 9.184, 9);
      expect(col(1)).toBeCloseTo(1 / 5.447, 9);
      expect(col(2)).toBeCloseTo(1 / 5.145, 9);
      const f2 = readJson<[number, number, number, number, number][]>(join(out, 'truth', `F2_${p.id}.json`));
      const row = f2.find(([h, k, l]) => h === 0 && k === 4 && l === 0)!;
      expect(row[3]).toBeCloseTo(459.7388, 2); // the cctbx value in sf_brookite_TiO2.json
      expect(Math.min(...f2.map((r) => r[4]))).toBeLessThan(0.8);
    }

  });

});

describe('the small preset: masks and per-particle signal', () => {
  let out: string;
  let series: Series;
  let truth: Truth;
  let masks: Uint8Array[];
  beforeAll(async () => void ({ out, series, truth, masks } = await smallSeries()), 120_000);

  it('masks.h5: one object per particle, non-empty every tilt, touching at 0°', async () => {
    // Masks: one object per particle, [nTilts, ny, nx], non-empty every tilt, touching at 0°.
    const described = await withH5(join(out, 'truth', 'masks.h5'), (get, keys) => {
      expect(keys().sort()).toEqual(['object_1', 'object_2', 'object_3', 'object_4', 'object_5']);
      return keys().map((k) => {
        const d = get(k);
        expect(d.shape).toEqual([NT, S, S]);
        expect(d.dtype).toBe('<B');
        expect(d.attrs['name']).toMatch(/particle/);
        expect(d.attrs['angleDeg']).toEqual(series.tilts.map((t) => t.angleDeg));
        return Uint8Array.from(d.slice([[], [], []]));
      });
    });
    expect(described).toHaveLength(masks.length);
    for (const m of masks) for (let t = 0; t < NT; t++) expect(m.subarray(t * NP, (t + 1) * NP).some((v) => v === 1)).toBe(true);
    const touches = (a: Uint8Array, b: Uint8Array): boolean => {
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++) {
          if (!a[t0 * NP + y * S + x]) continue;
          for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [0, -1], [-1, 0]] as const) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy >= 0 && yy < S && xx >= 0 && xx < S && b[t0 * NP + yy * S + xx]) return true;
          }
        }
      return false;
    };
    // Every rod touches at least one other (an agglomerate), and the contact graph is connected.
    const n = masks.length;
    const seen = new Set([0]);
    const queue = [0];
    while (queue.length) {
      const i = queue.pop()!;
      for (let j = 0; j < n; j++) {
        if (!seen.has(j) && touches(masks[i]!, masks[j]!)) {
          seen.add(j);
          queue.push(j);
        }
      }
    }
    expect(seen.size).toBe(n);

  });

  it('signal.h5: per-particle Bragg signal only inside its own mask, at every tilt', async () => {
    // Per-particle Bragg signal (truth/signal.h5): same layout as masks.h5, non-negative, only inside the
    // particle's own mask, present at every tilt; scene.json describes it.
    const signal = await withH5(join(out, 'truth', 'signal.h5'), (get, keys) => {
      expect(keys().sort()).toEqual(['object_1', 'object_2', 'object_3', 'object_4', 'object_5']);
      return keys()
        .sort()
        .map((k) => {
          const d = get(k);
          expect(d.shape).toEqual([NT, S, S]);
          expect(d.dtype).toBe('<f');
          expect(d.attrs['name']).toBe('expected Bragg counts of this particle');
          expect(d.attrs['units']).toBe('counts');
          return Float32Array.from(d.slice([[], [], []]));
        });
    });
    const maskById = await withH5(join(out, 'truth', 'masks.h5'), (get, keys) => keys().sort().map((k) => Uint8Array.from(get(k).slice([[], [], []]))));
    signal.forEach((s, k) => {
      let outside = 0;
      let negative = 0;
      for (let i = 0; i < s.length; i++) {
        if (s[i]! < 0) negative++;
        if (s[i]! !== 0 && !maskById[k]![i]) outside++;
      }
      expect(negative).toBe(0);
      expect(outside).toBe(0);
      for (let t = 0; t < NT; t++) expect(s.subarray(t * NP, (t + 1) * NP).reduce((a, v) => a + v, 0)).toBeGreaterThan(0);
    });
    expect(readJson<{ truthFiles: Record<string, string> }>(join(out, 'truth', 'scene.json')).truthFiles['signal.h5']).toMatch(/Bragg/);

  });

  it('the masks are where the signal is: truth ADF and measured counts outside the BF disk', async () => {
    // The masks are where the signal is: truth ADF and measured counts outside the BF disk.
    const adf = await withH5(join(out, 'truth', 'virtual.h5'), (get) => Float32Array.from(get('adf').slice([[t0, t0 + 1], [], []])));
    const union = new Uint8Array(NP).map((_, j) => (masks.some((m) => m[t0 * NP + j]) ? 1 : 0));
    const mean = (arr: ArrayLike<number>, sel: (j: number) => boolean): number => {
      let s = 0;
      let c = 0;
      for (let j = 0; j < arr.length; j++) {
        if (sel(j)) {
          s += arr[j]!;
          c++;
        }
      }
      return s / c;
    };
    expect(mean(adf, (j) => union[j] === 1)).toBeGreaterThan(1.5 * mean(adf, (j) => union[j] === 0));
    const measured = await withH5(join(out, 'tilt_010.h5'), (get) => {
      const d = get('/datacube_root/datacube/data');
      const sums = new Float64Array(NP);
      for (let ry = 0; ry < S; ry++) {
        const row = d.slice([[ry, ry + 1], [], [], []]);
        for (let rx = 0; rx < S; rx++)
          for (let q = 0; q < Q * Q; q++) {
            const r = Math.hypot((q % Q) - truth.beamCentre[0], Math.floor(q / Q) - truth.beamCentre[1]);
            if (r > 6) sums[ry * S + rx] += row[rx * Q * Q + q]!;
          }
      }
      return sums;
    });
    expect(mean(measured, (j) => union[j] === 1)).toBeGreaterThan(1.5 * mean(measured, (j) => union[j] === 0));
  });
});

describe('options and cancellation', () => {
  it('rejects unknown presets, sizes and seeds with ParameterError naming the field', async () => {
    const out = dir('bad');
    await expect(synthesize({ preset: 'nope' as never, size: 'small', outDir: out })).rejects.toThrow(/preset/);
    await expect(synthesize({ preset: 'single-isolated', size: 'huge' as never, outDir: out })).rejects.toThrow(ParameterError);
    await expect(synthesize({ preset: 'single-isolated', size: 'small', outDir: out, seed: -3 })).rejects.toThrow(/seed/);
    await expect(synthesize({ preset: 'single-isolated', size: 'small', outDir: out, seed: 1.5 })).rejects.toThrow(/seed/);
    await expect(synthesize({ preset: 'single-isolated', size: { scanShape: [0, 4], detectorShape: [64, 64], nTilts: 2, tiltStepDeg: 1 }, outDir: out })).rejects.toThrow(/size/);
    expect(PRESET_NAMES).toEqual(['brookite-agglomerate', 'cspbbr3-sensitive', 'single-isolated', 'monoclinic-pair', 'monoclinic-hard', 'monoclinic-hard-thick-film', 'pseudo-orthorhombic']);
  });
  it('a cancelled run leaves no files behind', async () => {
    const out = dir('cancel');
    const ac = new AbortController();
    const size: SizeSpec = { scanShape: [16, 16], detectorShape: [128, 128], nTilts: 4, tiltStepDeg: 5 };
    const run = synthesize(
      { preset: 'monoclinic-pair', size, outDir: out, seed: 2, mib: true },
      { signal: ac.signal, onProgress: (done) => done >= 2 && ac.abort() },
    );
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(readdirSync(out, { recursive: true })).toEqual([]);
    expect(existsSync(join(out, 'series.json'))).toBe(false);
  });
  it('monoclinic-pair: two touching β-Ga2O3 crystals with a monoclinic UB', async () => {
    const out = dir('mono');
    const size: SizeSpec = { scanShape: [20, 20], detectorShape: [64, 64], nTilts: 1, tiltStepDeg: 0 };
    await synthesize({ preset: 'monoclinic-pair', size, outDir: out, seed: 9 });
    const truth = readJson<Truth>(join(out, 'truth', 'truth.json'));
    expect(truth.particles.map((p) => p.cell['beta'])).toEqual([103.83, 103.83]);
    const ub = truth.particles[0]!.UB;
    const a = [ub[0][0], ub[1][0], ub[2][0]];
    const c = [ub[0][2], ub[1][2], ub[2][2]];
    // angle between a* and c* is β* = 180° − β
    const cos = (a[0]! * c[0]! + a[1]! * c[1]! + a[2]! * c[2]!) / (Math.hypot(...a) * Math.hypot(...c));
    expect((Math.acos(cos) * 180) / Math.PI).toBeCloseTo(180 - 103.83, 6);
    const m = await withH5(join(out, 'truth', 'masks.h5'), (get) => [get('object_1'), get('object_2')].map((d) => Uint8Array.from(d.slice([[], [], []]))));
    let adjacent = false;
    for (let j = 0; j < 400; j++) {
      if (!m[0]![j]) continue;
      for (const k of [j, j + 1, j - 1, j + 20, j - 20]) if (k >= 0 && k < 400 && m[1]![k]) adjacent = true;
    }
    expect(adjacent).toBe(true);
  });
});
