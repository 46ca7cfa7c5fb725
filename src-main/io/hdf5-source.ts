// HDF5 4D-STEM sources: recognise the layout (FORMATS §1), map it to a FourDSource, and
// read frames — straight from the file with fs where the dataset is contiguous or chunked without
// filters (offsets from hdf5-raw.ts), through h5wasm hyperslabs otherwise.

import { closeSync, fstatSync, openSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError, TrackedError, UnsupportedError, throwIfAborted } from '../../src-shared/errors.js';
import { DirectFrameReader, checkRange } from './direct.js';
import type { H5Dataset, H5File, H5Group } from './h5.js';
import { asNumber, attr, attrNumber, attrString, checkFilters, datasetsOf, firstLine, getEntity, h5lib, openH5, smallValue } from './h5.js';
import { UNDEF, locateDataset, readSuperblock } from './hdf5-raw.js';
import type { DirectLayout, FourDSource, ScanShapeOrigin } from './types.js';
import { decideScanShape, toInvA, toNm } from './util.js';
import { type PixelArray, type PixelDType, BYTES_PER_PIXEL, allocPixels } from '../../src-shared/pixels';
import type { Calibration } from '../../src-shared/domain';
import { electronWavelengthA } from '../crystallography/wavelength';

export interface Hdf5OpenOptions {
  /** Dataset path inside the file; found by layout when absent. */
  dataset?: string;
  /** [ny, nx]; needed for a 3D frame stack without scan metadata. */
  scanShape?: [number, number];
  /** Which tilt of a 5D [tilt, ry, rx, qy, qx] dataset (default 0). */
  tiltIndex?: number;
  /** false: never use the direct fs path (h5wasm hyperslabs only) — for comparisons and benchmarks. */
  direct?: boolean;
}

/** One way of reading a file that the layout detector found. */
export interface Hdf5Candidate {
  format: string;
  /** Dataset paths whose frames are concatenated (several only for NeXus data_0000NN links). */
  datasets: string[];
  calibration: Calibration;
  /** HyperSpy: number of navigation axes (the rest are signal axes). */
  navDims?: number;
  /** Scan shape recorded in metadata (ARINA side file…). */
  metadataScan?: [number, number];
  /** 3D stacks of this format may fall back to a square/one-row scan (NeXus, as rosettasciio does). */
  allowGuessedScan?: boolean;
  warnings: string[];
}

/** Checks the superblock against the file size before libhdf5 sees the file. */
export function precheckHdf5(path: string): { fileSize: number } {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    let sb;
    try {
      sb = readSuperblock(fd);
    } catch (e) {
      throw new InputError(path, `not a valid HDF5 file (${e instanceof Error ? e.message : String(e)})`);
    }
    if (sb.eofAddress !== UNDEF && sb.baseAddress + sb.eofAddress > fileSize) {
      throw new InputError(path, `truncated HDF5 file: its superblock records ${sb.baseAddress + sb.eofAddress} bytes but the file has ${fileSize}`, {
        expectedBytes: sb.baseAddress + sb.eofAddress,
        fileBytes: fileSize,
      });
    }
    return { fileSize };
  } finally {
    closeSync(fd);
  }
}

function isDataset(e: unknown, lib: { Dataset: new (...a: never[]) => H5Dataset }): e is H5Dataset {
  return e instanceof lib.Dataset;
}

async function datasetAt(f: H5Group, path: string): Promise<H5Dataset | null> {
  const lib = await h5lib();
  const e = getEntity(f, path);
  return isDataset(e, lib) ? e : null;
}

function groupAt(f: H5Group, path: string): H5Group | null {
  const e = getEntity(f, path);
  return e && 'keys' in e ? (e as H5Group) : null;
}

function keysOf(g: H5Group | null): string[] {
  if (!g) return [];
  try {
    return g.keys();
  } catch {
    return [];
  }
}

/** Step of a calibration vector stored as [start, start+step, …]. */
function vectorStep(v: unknown): number | undefined {
  if (!Array.isArray(v) || v.length < 2) return undefined;
  const a = asNumber(v[0]);
  const b = asNumber(v[1]);
  return a !== undefined && b !== undefined ? b - a : undefined;
}

/** Adds λ for a plausible voltage; a voltage no microscope uses is metadata noise and stays without a wavelength. */
function withWavelength(c: Calibration): Calibration {
  if (c.voltageKV !== undefined && c.voltageKV > 0 && c.voltageKV <= 10_000 && c.wavelengthA === undefined) c.wavelengthA = electronWavelengthA(c.voltageKV);
  return c;
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

/** py4DSTEM ≥ 0.14 / emdfile (EMD 1.0). */
async function detectEmdfile(f: H5File): Promise<Hdf5Candidate[]> {
  if (attrString(f, 'emd_group_type') !== 'file') return [];
  const out: Hdf5Candidate[] = [];
  for (const rootName of keysOf(f)) {
    const root = groupAt(f, rootName);
    if (!root || attrString(root, 'emd_group_type') !== 'root') continue;
    // Arrays can be nested below the root; visit the tree breadth-first.
    const queue = [rootName];
    while (queue.length > 0) {
      const p = queue.shift()!;
      for (const k of keysOf(groupAt(f, p))) {
        const child = `${p}/${k}`;
        const g = groupAt(f, child);
        if (!g) continue;
        queue.push(child);
        if (attrString(g, 'emd_group_type') !== 'array') continue;
        const d = await datasetAt(f, `${child}/data`);
        const rank = d?.shape?.length ?? 0;
        if (rank < 3) continue;
        const cal: Calibration = {};
        const calPath = `${rootName}/metadatabundle/calibration`;
        const rUnits = smallValue(f, `${calPath}/R_pixel_units`);
        const qUnits = smallValue(f, `${calPath}/Q_pixel_units`);
        cal.realPixelNm = toNm(asNumber(smallValue(f, `${calPath}/R_pixel_size`)) ?? NaN, typeof rUnits === 'string' ? rUnits : undefined);
        cal.reciprocalPixelInvA = toInvA(asNumber(smallValue(f, `${calPath}/Q_pixel_size`)) ?? NaN, typeof qUnits === 'string' ? qUnits : undefined);
        const rot = asNumber(smallValue(f, `${calPath}/QR_rotation_degrees`));
        if (rot !== undefined) cal.scanRotationDeg = rot;
        // Fall back to the per-axis vectors dim0 (Rx) and dim2 (Qx).
        if (cal.realPixelNm === undefined) {
          const dim = await datasetAt(f, `${child}/dim0`);
          cal.realPixelNm = toNm(vectorStep(smallValue(f, `${child}/dim0`)) ?? NaN, attrString(dim, 'units'));
        }
        if (cal.reciprocalPixelInvA === undefined) {
          const dim = await datasetAt(f, `${child}/dim2`);
          cal.reciprocalPixelInvA = toInvA(vectorStep(smallValue(f, `${child}/dim2`)) ?? NaN, attrString(dim, 'units'));
        }
        const cls = attrString(g, 'python_class');
        out.push({ format: 'py4DSTEM', datasets: [`${child}/data`], calibration: dropUndefined(cal), warnings: cls === 'DataCube' ? [] : [`array class ${cls ?? 'unknown'}`] });
      }
    }
  }
  // DataCubes first.
  return out.sort((a, b) => a.warnings.length - b.warnings.length);
}

/** Legacy py4DSTEM (≤ 0.12) and Prismatic: /4DSTEM_experiment or /4DSTEM_simulation. */
async function detectLegacy(f: H5File): Promise<Hdf5Candidate[]> {
  const out: Hdf5Candidate[] = [];
  for (const top of ['4DSTEM_experiment', '4DSTEM_simulation']) {
    const tg = groupAt(f, top);
    if (!tg) continue;
    const format = top === '4DSTEM_simulation' ? 'EMD-Prismatic' : 'py4DSTEM-legacy';
    const cubes = `${top}/data/datacubes`;
    for (const name of keysOf(groupAt(f, cubes))) {
      const base = `${cubes}/${name}`;
      let dsPath: string | null = null;
      for (const dn of ['data', 'datacube']) if (await datasetAt(f, `${base}/${dn}`)) dsPath = `${base}/${dn}`;
      if (!dsPath) continue;
      const cal: Calibration = {};
      const d1 = await datasetAt(f, `${base}/dim1`);
      const d3 = await datasetAt(f, `${base}/dim3`);
      cal.realPixelNm = toNm(vectorStep(smallValue(f, `${base}/dim1`)) ?? NaN, attrString(d1, 'units'));
      cal.reciprocalPixelInvA = toInvA(vectorStep(smallValue(f, `${base}/dim3`)) ?? NaN, attrString(d3, 'units'));
      // Prismatic records the beam energy (keV) with its simulation parameters.
      const sim = groupAt(f, `${top}/metadata/metadata_0/original/simulation_parameters`);
      const e = attrNumber(sim, 'E');
      if (e !== undefined && e > 0) cal.voltageKV = e;
      const mic = groupAt(f, `${top}/metadata/metadata_0/microscope`);
      const v = attrNumber(mic, 'beam_energy') ?? attrNumber(mic, 'accelerating_voltage');
      if (v !== undefined && v > 0) cal.voltageKV = v > 1000 ? v / 1000 : v;
      out.push({ format, datasets: [dsPath], calibration: dropUndefined(cal), warnings: [] });
    }
  }
  return out;
}

/** HyperSpy .hspy: /Experiments/<title>/data with axis-i groups. */
async function detectHyperSpy(f: H5File): Promise<Hdf5Candidate[]> {
  if (attrString(f, 'file_format') !== 'HyperSpy') return [];
  const out: Hdf5Candidate[] = [];
  for (const title of keysOf(groupAt(f, 'Experiments'))) {
    const base = `Experiments/${title}`;
    const d = await datasetAt(f, `${base}/data`);
    const shape = d?.shape;
    if (!d || !shape) continue;
    const rank = shape.length;
    const axes = Array.from({ length: rank }, (_, i) => groupAt(f, `${base}/axis-${i}`));
    let navDims: number;
    if (axes.every((a) => a && attr(a, 'navigate') !== undefined)) {
      navDims = axes.filter((a) => asNumber(attr(a, 'navigate')) === 1).length;
      // HyperSpy stores navigation axes first in array order.
      const firstSignal = axes.findIndex((a) => asNumber(attr(a, 'navigate')) !== 1);
      if (firstSignal !== navDims) navDims = rank - 2;
    } else {
      navDims = Math.max(0, rank - 2);
    }
    const cal: Calibration = {};
    const sig = axes[rank - 1];
    if (sig) cal.reciprocalPixelInvA = toInvA(attrNumber(sig, 'scale') ?? NaN, attrString(sig, 'units'));
    if (navDims > 0) {
      const nav = axes[navDims - 1];
      if (nav) cal.realPixelNm = toNm(attrNumber(nav, 'scale') ?? NaN, attrString(nav, 'units'));
    }
    const tem = groupAt(f, `${base}/metadata/Acquisition_instrument/TEM`);
    const kv = attrNumber(tem, 'beam_energy');
    if (kv !== undefined && kv > 0) cal.voltageKV = kv;
    const cl = attrNumber(tem, 'camera_length'); // HyperSpy: mm
    if (cl !== undefined && cl > 0) cal.cameraLengthM = cl / 1000;
    for (const det of ['Diffraction', 'Camera', 'Detector']) {
      const g = groupAt(f, `${base}/metadata/Acquisition_instrument/TEM/Detector/${det}`);
      const ex = attrNumber(g, 'exposure');
      if (ex !== undefined && ex > 0 && cal.dwellTimeS === undefined) cal.dwellTimeS = ex;
    }
    out.push({ format: 'HyperSpy', datasets: [`${base}/data`], calibration: dropUndefined(cal), navDims, warnings: [] });
  }
  // Prefer a signal with a 2D detector.
  return out.sort((a, b) => Number(b.navDims !== undefined) - Number(a.navDims !== undefined));
}

/** NeXus / DECTRIS (ARINA, EIGER): /entry/data/data_0000NN (external links) or /entry/data/data. */
async function detectNexus(f: H5File, path: string): Promise<Hdf5Candidate[]> {
  const dataGroup = groupAt(f, 'entry/data');
  if (!dataGroup) return [];
  const keys = keysOf(dataGroup);
  let names = keys.filter((k) => /^data_\d+$/.test(k)).sort();
  if (names.length === 0 && keys.includes('data')) names = ['data'];
  const datasets: string[] = [];
  for (const n of names) {
    const d = await datasetAt(f, `entry/data/${n}`);
    if (d) datasets.push(`entry/data/${n}`);
    else if (n !== 'data') throw new InputError(path, `NeXus link entry/data/${n} cannot be resolved (missing data file next to the master file?)`);
  }
  if (datasets.length === 0) return [];
  const cal: Calibration = {};
  const det = 'entry/instrument/detector';
  const ct = asNumber(smallValue(f, `${det}/count_time`));
  if (ct !== undefined && ct > 0) cal.dwellTimeS = ct;
  const dist = asNumber(smallValue(f, `${det}/detector_distance`)) ?? asNumber(smallValue(f, `${det}/distance`));
  if (dist !== undefined && dist > 0) cal.cameraLengthM = dist;
  const warnings: string[] = [];
  let metadataScan: [number, number] | undefined;
  // ARINA writes scan metadata in a side file <name>.h5 next to <name>_master.h5.
  const m = /^(.*)_master\.h5$/i.exec(basename(path));
  if (m) {
    const side = join(dirname(path), `${m[1]}.h5`);
    try {
      precheckHdf5(side);
      const sf = await openH5(side);
      try {
        const g = groupAt(sf, 'STEM Metadata');
        if (g) {
          const nx = attrNumber(g, 'NumPixelsX');
          const ny = attrNumber(g, 'NumPixelsY');
          if (nx && ny) metadataScan = [ny, nx];
          const px = attrNumber(g, 'Pixel Size');
          if (px !== undefined && px > 0) cal.realPixelNm = px;
          const ht = attrNumber(g, 'High Tension');
          if (ht !== undefined && ht > 0) cal.voltageKV = ht / 1000;
          const cl = attrNumber(g, 'Camera Length');
          if (cl !== undefined && cl > 0) cal.cameraLengthM = cl;
          const dwell = attrNumber(g, 'ScanDwellTime');
          if (dwell !== undefined && dwell > 0) cal.dwellTimeS = dwell;
        }
      } finally {
        sf.close();
      }
    } catch {
      warnings.push(`no readable ARINA scan metadata file ${basename(side)}`);
    }
  }
  return [{ format: 'NeXus', datasets, calibration: dropUndefined(cal), metadataScan, allowGuessedScan: true, warnings }];
}

/** NCEM EMD v0.2 (Berkeley): groups with emd_group_type 1 under /data or /signals. */
async function detectNcem(f: H5File): Promise<Hdf5Candidate[]> {
  if (asNumber(attr(f, 'version_major')) !== 0) return [];
  const out: Hdf5Candidate[] = [];
  for (const top of ['data', 'signals']) {
    for (const k of keysOf(groupAt(f, top))) {
      const g = groupAt(f, `${top}/${k}`);
      if (!g || asNumber(attr(g, 'emd_group_type')) !== 1) continue;
      if (await datasetAt(f, `${top}/${k}/data`)) {
        out.push({
          format: 'EMD-NCEM',
          datasets: [`${top}/${k}/data`],
          calibration: {},
          warnings: ['NCEM EMD: axes taken in stored order (first = slow scan axis)'],
        });
      }
    }
  }
  return out;
}

/** Every dataset of rank ≥ 3 in the file, largest first (the generic fallback). */
async function detectPlain(f: H5File): Promise<Hdf5Candidate[]> {
  const found: Array<{ p: string; n: number; rank: number }> = [];
  for (const { path: p, dataset } of await datasetsOf(f)) {
    const shape = dataset.shape ?? [];
    if (shape.length >= 3 && shape.length <= 5) found.push({ p, n: shape.reduce((a, b) => a * b, 1), rank: shape.length });
  }
  // 4D/5D before 3D, then by size.
  found.sort((a, b) => Number(b.rank >= 4) - Number(a.rank >= 4) || b.n - a.n);
  return found.map((x) => ({ format: 'HDF5', datasets: [x.p.replace(/^\//, '')], calibration: {}, warnings: [] }));
}

/** All candidate readings of an open file, best first. */
export async function detectHdf5Layouts(f: H5File, path: string): Promise<Hdf5Candidate[]> {
  const all = [
    ...(await detectEmdfile(f)),
    ...(await detectLegacy(f)),
    ...(await detectHyperSpy(f)),
    ...(await detectNexus(f, path)),
    ...(await detectNcem(f)),
  ];
  const seen = new Set(all.map((c) => c.datasets[0]));
  for (const c of await detectPlain(f)) if (!seen.has(c.datasets[0])) all.push(c);
  for (const c of all) withWavelength(c.calibration);
  return all;
}

/** Pixel type of an h5wasm dataset, or an UnsupportedError. */
export function pixelDType(path: string, ds: H5Dataset): { dtype: PixelDType; littleEndian: boolean } {
  const m = ds.metadata;
  const littleEndian = m.littleEndian;
  if (m.type === 0) {
    const map: Record<number, [PixelDType, PixelDType]> = { 1: ['uint8', 'int8'], 2: ['uint16', 'int16'], 4: ['uint32', 'int32'] };
    const t = map[m.size];
    if (t) return { dtype: t[m.signed ? 1 : 0], littleEndian };
    throw new UnsupportedError(`${path}: dataset ${ds.path} has ${m.size * 8}-bit integer pixels, which are not supported`, { file: path });
  }
  if (m.type === 1 && (m.size === 4 || m.size === 8)) return { dtype: m.size === 4 ? 'float32' : 'float64', littleEndian };
  throw new UnsupportedError(`${path}: dataset ${ds.path} has pixel type ${JSON.stringify(ds.dtype)}, not integer or float`, { file: path });
}

/** One dataset's share of the frames. */
interface Piece {
  dataset: string;
  /** Dataset shape. */
  shape: number[];
  /** Index of the first scan dimension in `shape` (1 for 5D: dim 0 is the tilt). */
  scanDim0: number;
  /** Number of leading "frame" dimensions used for addressing (1: stack, 2: ry/rx). */
  frameDims: number;
  tilt?: number;
  nFrames: number;
}

class Hdf5Source implements FourDSource {
  readonly path: string;
  readonly format: string;
  readonly dataset: string;
  readonly scanShape: [number, number];
  readonly detectorShape: [number, number];
  readonly dtype: PixelDType;
  readonly calibration: Calibration;
  readonly direct?: DirectLayout;
  readonly scanShapeFrom: ScanShapeOrigin;
  readonly tiltIndex?: number;
  readonly nTilts?: number;
  readonly warnings: string[];
  readonly metadata: Record<string, unknown>;
  private reader: Promise<DirectFrameReader> | null = null;
  private closed = false;

  constructor(
    private readonly file: H5File,
    init: {
      path: string;
      format: string;
      scanShape: [number, number];
      scanShapeFrom: ScanShapeOrigin;
      detectorShape: [number, number];
      dtype: PixelDType;
      calibration: Calibration;
      direct?: DirectLayout;
      tiltIndex?: number;
      nTilts?: number;
      warnings: string[];
      metadata: Record<string, unknown>;
    },
    private readonly pieces: Piece[],
  ) {
    this.path = init.path;
    this.format = init.format;
    this.dataset = pieces[0]!.dataset;
    this.scanShape = init.scanShape;
    this.scanShapeFrom = init.scanShapeFrom;
    this.detectorShape = init.detectorShape;
    this.dtype = init.dtype;
    this.calibration = init.calibration;
    if (init.direct) this.direct = init.direct;
    if (init.tiltIndex !== undefined) this.tiltIndex = init.tiltIndex;
    if (init.nTilts !== undefined) this.nTilts = init.nTilts;
    this.warnings = init.warnings;
    this.metadata = init.metadata;
  }

  get nFrames(): number {
    return this.scanShape[0] * this.scanShape[1];
  }

  async readFrames(start: number, count: number, signal?: AbortSignal): Promise<PixelArray> {
    if (this.closed) throw new InputError(this.path, 'source is closed');
    checkRange(start, count, this.nFrames);
    throwIfAborted(signal);
    if (this.direct) {
      this.reader ??= DirectFrameReader.open({ path: this.path, direct: this.direct, dtype: this.dtype, detectorShape: this.detectorShape, nFrames: this.nFrames });
      return (await this.reader).read(start, count, signal);
    }
    return this.readViaH5(start, count, signal);
  }

  /** Hyperslab reads through h5wasm, split at scan-row and dataset boundaries. */
  private readViaH5(start: number, count: number, signal?: AbortSignal): PixelArray {
    const fpx = this.detectorShape[0] * this.detectorShape[1];
    const out = allocPixels(this.dtype, count * fpx);
    let g = start;
    let pieceStart = 0;
    for (const piece of this.pieces) {
      const pieceEnd = pieceStart + piece.nFrames;
      while (g < start + count && g < pieceEnd) {
        throwIfAborted(signal);
        const local = g - pieceStart;
        let n = Math.min(start + count, pieceEnd) - g;
        const ranges: Array<[number, number] | []> = [];
        if (piece.tilt !== undefined) ranges.push([piece.tilt, piece.tilt + 1]);
        if (piece.frameDims === 0) {
          n = 1; // a lone 2D pattern
        } else if (piece.frameDims === 1) {
          ranges.push([local, local + n]);
        } else {
          const nx = piece.shape[piece.scanDim0 + 1]!;
          const row = Math.floor(local / nx);
          const col = local % nx;
          if (col !== 0 || n < nx) {
            n = Math.min(n, nx - col);
            ranges.push([row, row + 1], [col, col + n]);
          } else {
            const rows = Math.floor(n / nx);
            n = rows * nx;
            ranges.push([row, row + rows], []);
          }
        }
        ranges.push([], []);
        let data: unknown;
        try {
          const ds = this.file.get(piece.dataset) as H5Dataset;
          data = ds.slice(ranges);
        } catch (e) {
          throw new InputError(this.path, `reading frames ${g}…${g + n - 1} of ${piece.dataset} failed: ${firstLine(e)}`, { dataset: piece.dataset });
        }
        if (!ArrayBuffer.isView(data) || (data as PixelArray).length !== n * fpx) {
          throw new InputError(this.path, `reading frames ${g}…${g + n - 1} of ${piece.dataset} returned an unexpected result`);
        }
        out.set(data as PixelArray as never, (g - start) * fpx);
        g += n;
      }
      pieceStart = pieceEnd;
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.file.close();
    } catch {
      // already closed
    }
    if (this.reader) void this.reader.then((r) => r.close()).catch(() => undefined);
  }
}

/** Finds fs offsets for a dataset (or one tilt of it), or explains why not. */
function directLayoutFor(
  path: string,
  fileSize: number,
  datasetPath: string,
  shape: number[],
  scanDim0: number,
  tilt: number | undefined,
  elementSize: number,
  littleEndian: boolean,
  nFrames: number,
): { direct?: DirectLayout; why?: string; layout: string } {
  const fd = openSync(path, 'r');
  try {
    const res = locateDataset(fd, datasetPath, elementSize);
    if (!res.ok) return { why: res.reason, layout: 'unknown' };
    const base = res.superblock?.baseAddress ?? 0;
    const rank = shape.length;
    if (res.shape.length !== rank || res.shape.some((s, i) => s !== shape[i])) {
      throw new InputError(path, `dataset ${datasetPath}: its dataspace message says [${res.shape.join(', ')}] but libhdf5 reports [${shape.join(', ')}]`);
    }
    const frameBytes = shape[rank - 2]! * shape[rank - 1]! * elementSize;
    const framesPerTilt = shape.slice(scanDim0, rank - 2).reduce((a, b) => a * b, 1);
    const L = res.layout;
    if (L.kind === 'contiguous') {
      if (L.address === UNDEF) return { why: 'no data written (storage not allocated)', layout: 'contiguous' };
      const expected = shape.reduce((a, b) => a * b, 1) * elementSize;
      if (L.size !== expected) {
        throw new InputError(path, `dataset ${datasetPath}: layout message says ${L.size} bytes but shape [${shape.join(', ')}] × ${elementSize} bytes needs ${expected}`, {
          dataset: datasetPath,
        });
      }
      if (base + L.address + L.size > fileSize) {
        throw new InputError(path, `dataset ${datasetPath} extends to byte ${base + L.address + L.size} but the file has only ${fileSize} bytes (truncated file?)`, {
          dataset: datasetPath,
        });
      }
      const direct: DirectLayout = {
        kind: 'contiguous',
        offset: base + L.address + (tilt ?? 0) * framesPerTilt * frameBytes,
        frameStrideBytes: frameBytes,
        littleEndian,
        frameBytes,
      };
      return { direct, layout: 'contiguous' };
    }
    if (L.kind !== 'chunked') return { why: `${L.kind} layout`, layout: L.kind };
    if (res.filtered) return { why: 'chunks are filtered (compressed)', layout: 'chunked' };
    const cs = L.chunkShape;
    if (cs[rank - 2] !== shape[rank - 2] || cs[rank - 1] !== shape[rank - 1]) {
      return { why: `chunks [${cs.join(', ')}] split the detector`, layout: 'chunked' };
    }
    const chunkBytes = cs.reduce((a, b) => a * b, 1) * elementSize;
    const offsets = new Float64Array(nFrames).fill(NaN);
    const scanShape = shape.slice(scanDim0, rank - 2);
    const scanChunk = cs.slice(scanDim0, rank - 2);
    L.forEachChunk((c) => {
      if (tilt !== undefined) {
        // 5D: the chunk covers tilts [c.offset[0], c.offset[0] + cs[0]).
        if (tilt < c.offset[0]! || tilt >= c.offset[0]! + cs[0]!) return;
      }
      if (c.size < chunkBytes) {
        throw new InputError(path, `dataset ${datasetPath}: chunk at [${c.offset.join(', ')}] is stored in ${c.size} bytes but needs ${chunkBytes}`, { dataset: datasetPath });
      }
      if (base + c.address + chunkBytes > fileSize) {
        throw new InputError(path, `dataset ${datasetPath}: chunk at [${c.offset.join(', ')}] extends to byte ${base + c.address + chunkBytes} but the file has only ${fileSize} bytes (truncated file?)`, {
          dataset: datasetPath,
        });
      }
      const tiltInChunk = tilt !== undefined ? tilt - c.offset[0]! : 0;
      const perTiltInChunk = scanChunk.reduce((a, b) => a * b, 1);
      // Visit the frames of this chunk (row-major inside the chunk), clipped to the dataset.
      const o0 = scanShape.map((_, i) => c.offset[scanDim0 + i]!);
      const idx = scanChunk.map(() => 0);
      for (let k = 0; k < perTiltInChunk; k++) {
        let inside = true;
        let flat = 0;
        for (let d = 0; d < idx.length; d++) {
          const v = o0[d]! + idx[d]!;
          if (v >= scanShape[d]!) inside = false;
          flat = flat * scanShape[d]! + v;
        }
        if (inside) offsets[flat] = base + c.address + (tiltInChunk * perTiltInChunk + k) * frameBytes;
        for (let d = idx.length - 1; d >= 0; d--) {
          if (++idx[d]! < scanChunk[d]!) break;
          idx[d] = 0;
        }
      }
    });
    for (let i = 0; i < nFrames; i++) {
      if (Number.isNaN(offsets[i]!)) return { why: 'some chunks are not allocated (fill value)', layout: `chunked (${L.index})` };
    }
    let uniform = true;
    for (let i = 1; i < nFrames && uniform; i++) uniform = offsets[i]! === offsets[0]! + i * frameBytes;
    const direct: DirectLayout = {
      kind: 'chunked-uncompressed',
      offset: offsets[0]!,
      frameStrideBytes: uniform ? frameBytes : 0,
      littleEndian,
      frameBytes,
    };
    if (!uniform) direct.frameOffsets = offsets;
    return { direct, layout: `chunked (${L.index})` };
  } finally {
    closeSync(fd);
  }
}

/** Opens an HDF5 file as a FourDSource (see FORMATS §1 for the layouts). */
export async function openHdf5(path: string, opts: Hdf5OpenOptions = {}): Promise<FourDSource> {
  const { fileSize } = precheckHdf5(path);
  const f = await openH5(path);
  try {
    return await buildSource(f, path, fileSize, opts);
  } catch (e) {
    try {
      f.close();
    } catch {
      // ignore
    }
    if (e instanceof TrackedError) throw e;
    // libhdf5 refusing an object (e.g. raw data beyond the end of the file) surfaces as an h5wasm Error.
    throw new InputError(path, `HDF5 error: ${firstLine(e)}`);
  }
}

/** The largest dataset of the file, described for "nothing usable" messages. */
async function largestDataset(f: H5File): Promise<string> {
  let best: { p: string; shape: number[]; n: number } | null = null;
  for (const { path: p, dataset } of await datasetsOf(f)) {
    const shape = dataset.shape ?? [];
    const n = shape.reduce((a, b) => a * b, 1);
    if (!best || n > best.n) best = { p, shape, n };
  }
  return best ? ` (largest dataset: ${best.p}, rank ${best.shape.length}, shape [${best.shape.join(', ')}])` : ' (it has no datasets)';
}

async function buildSource(f: H5File, path: string, fileSize: number, opts: Hdf5OpenOptions): Promise<FourDSource> {
  const candidates = await detectHdf5Layouts(f, path);
  let cand: Hdf5Candidate | undefined;
  if (opts.dataset !== undefined) {
    const want = opts.dataset.replace(/^\/+/, '');
    cand = candidates.find((c) => c.datasets.length === 1 && c.datasets[0] === want);
    if (!cand) {
      if (!(await datasetAt(f, want))) throw new InputError(path, `has no dataset ${opts.dataset}`, { dataset: opts.dataset });
      cand = { format: candidates[0]?.format ?? 'HDF5', datasets: [want], calibration: candidates[0]?.calibration ?? {}, warnings: [] };
    }
  } else {
    cand = candidates[0];
    if (!cand) throw new InputError(path, `contains no dataset of rank 3–5 that could hold 4D-STEM frames${await largestDataset(f)}`);
  }
  const warnings = [...cand.warnings];
  if (opts.dataset === undefined && candidates.length > 1) {
    warnings.push(`using ${cand.datasets[0]}; other candidates: ${candidates.slice(1, 6).map((c) => c.datasets[0]).join(', ')}`);
  }

  const dss: H5Dataset[] = [];
  for (const p of cand.datasets) {
    const d = await datasetAt(f, p);
    if (!d) throw new InputError(path, `dataset ${p} cannot be opened`);
    dss.push(d);
  }
  const first = dss[0]!;
  const shape = first.shape ?? [];
  const rank = shape.length;
  const { dtype, littleEndian } = pixelDType(path, first);
  for (const d of dss) checkFilters(path, d.path, d.filters);

  let scan: { shape: [number, number]; from: ScanShapeOrigin; warnings: string[] };
  let scanDim0 = 0;
  let tilt: number | undefined;
  let nTilts: number | undefined;
  const pieces: Piece[] = [];
  const navDims = cand.navDims;

  if (navDims !== undefined && rank - navDims !== 2) {
    throw new InputError(path, `dataset ${cand.datasets[0]} has ${rank - navDims} signal dimension(s) (shape [${shape.join(', ')}]); a 2D diffraction pattern per probe position is needed`, {
      dataset: cand.datasets[0],
    });
  }
  if (rank < 2 || (rank === 2 && navDims !== 0) || rank > 5) {
    throw new InputError(path, `dataset ${cand.datasets[0]} has rank ${rank} (shape [${shape.join(', ')}]); 4D [ry, rx, qy, qx], 5D [tilt, ry, rx, qy, qx], or 3D [frame, qy, qx] with a scan shape is needed`, {
      dataset: cand.datasets[0],
    });
  }
  const detectorShape: [number, number] = [shape[rank - 2]!, shape[rank - 1]!];

  if (rank === 2) {
    // HyperSpy signal without navigation axes: one diffraction pattern.
    scan = { shape: [1, 1], from: 'dataset', warnings: [] };
    if (opts.scanShape && opts.scanShape[0] * opts.scanShape[1] !== 1) {
      throw new InputError(path, `holds a single diffraction pattern, not a [${opts.scanShape.join(', ')}] scan`);
    }
    pieces.push({ dataset: cand.datasets[0]!, shape, scanDim0: 0, frameDims: 0, nFrames: 1 });
  } else if (rank === 3) {
    let total = 0;
    for (const d of dss) {
      const s = d.shape ?? [];
      if (s.length !== 3 || s[1] !== detectorShape[0] || s[2] !== detectorShape[1]) {
        throw new InputError(path, `dataset ${d.path} has shape [${s.join(', ')}], unlike [${shape.join(', ')}] of ${first.path}`);
      }
      const pd = pixelDType(path, d);
      if (pd.dtype !== dtype) throw new InputError(path, `dataset ${d.path} is ${pd.dtype}, unlike ${dtype} of ${first.path}`);
      pieces.push({ dataset: d.path.replace(/^\//, ''), shape: s, scanDim0: 0, frameDims: 1, nFrames: s[0]! });
      total += s[0]!;
    }
    const hints = {
      ...(opts.scanShape ? { user: opts.scanShape } : {}),
      ...(cand.metadataScan ? { metadata: cand.metadataScan, metadataFrom: 'metadata' as const } : {}),
      ...(navDims === 1 && !opts.scanShape ? { metadata: [1, total] as [number, number], metadataFrom: 'dataset' as const } : {}),
      ...(cand.allowGuessedScan || navDims === 1
        ? {}
        : {
            requireExplicit: `dataset ${cand.datasets[0]} is a 3D stack [${shape.join(', ')}] with no scan shape in the file; give scanShape [ny, nx] (e.g. --scan-shape)`,
          }),
    };
    scan = decideScanShape(path, total, hints);
  } else {
    // 4D (or 5D: first axis is the tilt).
    if (rank === 5) {
      nTilts = shape[0]!;
      tilt = opts.tiltIndex ?? 0;
      if (!Number.isInteger(tilt) || tilt < 0 || tilt >= nTilts) {
        throw new InputError(path, `tilt index ${tilt} is outside 0…${nTilts - 1} of dataset ${cand.datasets[0]}`);
      }
      scanDim0 = 1;
    } else if (opts.tiltIndex !== undefined && opts.tiltIndex !== 0) {
      throw new InputError(path, `dataset ${cand.datasets[0]} is 4D; it has no tilt ${opts.tiltIndex}`);
    }
    const ds: [number, number] = [shape[scanDim0]!, shape[scanDim0 + 1]!];
    if (opts.scanShape) {
      if (opts.scanShape[0] * opts.scanShape[1] !== ds[0] * ds[1]) {
        throw new InputError(path, `requested scan shape [${opts.scanShape.join(', ')}] does not match the dataset's [${ds.join(', ')}] probe positions`);
      }
      scan = { shape: opts.scanShape, from: 'user', warnings: [] };
    } else {
      scan = { shape: ds, from: 'dataset', warnings: [] };
    }
    pieces.push({ dataset: cand.datasets[0]!, shape, scanDim0, frameDims: 2, ...(tilt !== undefined ? { tilt } : {}), nFrames: ds[0] * ds[1] });
  }
  warnings.push(...scan.warnings);
  const nFrames = scan.shape[0] * scan.shape[1];

  // Direct fs path: one dataset, no filters, offsets found by the raw parser.
  let direct: DirectLayout | undefined;
  const metadata: Record<string, unknown> = { datasetShape: shape, filters: first.filters.map((x) => x.id) };
  if (opts.direct === false) {
    metadata.directUnavailable = 'disabled by caller';
  } else if (dss.length === 1 && first.filters.length === 0 && rank >= 3) {
    const r = directLayoutFor(path, fileSize, cand.datasets[0]!, shape, scanDim0, tilt, BYTES_PER_PIXEL[dtype], littleEndian, nFrames);
    metadata.storage = r.layout;
    if (r.direct) direct = r.direct;
    else metadata.directUnavailable = r.why;
  } else {
    metadata.directUnavailable = dss.length > 1 ? 'frames span several datasets' : first.filters.length > 0 ? 'compressed' : 'single frame';
  }
  const calibration: Calibration = { ...cand.calibration };
  return new Hdf5Source(
    f,
    {
      path,
      format: cand.format,
      scanShape: scan.shape,
      scanShapeFrom: scan.from,
      detectorShape,
      dtype,
      calibration,
      ...(direct ? { direct } : {}),
      ...(tilt !== undefined ? { tiltIndex: tilt, nTilts } : {}),
      warnings,
      metadata,
    },
    pieces,
  );
}
