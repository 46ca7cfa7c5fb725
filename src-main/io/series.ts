// Tilt-series assembly (ARCHITECTURE §5): a series.json manifest, a tilts.csv (file,angle_deg), a folder of
// files with a start angle and a step, one HDF5 file holding a 5D [tilt, ry, rx, qy, qx] array, or one 4D-STEM
// file (a series of one tilt).
// Every tilt is opened once (headers only) to check that all tilts share scan shape, detector shape
// and pixel type; errors name the file that differs and how.
//
// Decisions: duplicate or non-finite angles are errors; angles that are not monotonic are a warning
// (dose-symmetric schemes acquire 0, +2, −2, +4, … on purpose) and the listed order is kept, since
// `--target X,Y@TILT` refers to it.

import { guardHdf5Open } from './h5';
import { protectInputs } from './protected-inputs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { InputError, ParameterError } from '../../src-shared/errors.js';
import { openSource } from './open.js';
import type { FourDSource } from './types.js';
import { naturalCompare, quotedLine } from './util.js';
import type { PixelDType } from '../../src-shared/pixels';
import type { Calibration } from '../../src-shared/domain';
import { electronWavelengthA } from '../crystallography/wavelength';

export interface TiltEntry {
  /** 0-based position in the series (manifest order). */
  index: number;
  angleDeg: number;
  /** Absolute path of the tilt's data file. */
  source: string;
  /** HDF5 dataset path, when given. */
  dataset?: string;
  /** Tilt index inside a 5D dataset. */
  tiltIndex?: number;
}

export interface TiltSeries {
  tilts: TiltEntry[];
  scanShape: [number, number];
  detectorShape: [number, number];
  dtype: PixelDType;
  calibration: Calibration;
  /** The manifest / csv / folder it came from. */
  origin: string;
  /** Non-fatal findings (non-monotonic angles, guessed scan shapes…). */
  warnings: string[];
}

export interface SeriesOptions {
  /** Used when the manifest/files do not say (tilts.csv, folder). Manifest values win over these. */
  calibration?: Calibration;
  /** Scan shape for every tilt (files without one, e.g. MIB without .hdr). */
  scanShape?: [number, number];
  /** Folder / 5D file: angle of the first tilt and the step between tilts, degrees (a 4D file: its angle). */
  startDeg?: number;
  stepDeg?: number;
  /**
   * Called with each tilt's source once it passed the checks; return true to keep it open (the callee then owns and
   * closes it, also when a later tilt fails), false to let the series close it. Saves opening every tilt twice.
   */
  keepSource?(index: number, source: FourDSource): boolean;
}

interface RawTilt {
  file: string;
  angleDeg: number;
  dataset?: string;
  tiltIndex?: number;
}

/** Checks angles: finite, no duplicates (errors); monotonic (warning). */
function checkAngles(origin: string, tilts: RawTilt[], warnings: string[]): void {
  const seen = new Map<number, string>();
  for (const t of tilts) {
    if (!Number.isFinite(t.angleDeg)) throw new InputError(t.file, `tilt angle is not a finite number (${String(t.angleDeg)}) in ${origin}`);
    const key = Math.round(t.angleDeg * 1e6);
    const other = seen.get(key);
    if (other !== undefined) throw new InputError(t.file, `has the same tilt angle ${t.angleDeg}° as ${other} in ${origin}`, { angleDeg: t.angleDeg });
    seen.set(key, t.file);
  }
  let up = 0;
  let down = 0;
  for (let i = 1; i < tilts.length; i++) {
    if (tilts[i]!.angleDeg > tilts[i - 1]!.angleDeg) up++;
    else down++;
  }
  if (up > 0 && down > 0) {
    warnings.push(`tilt angles in ${basename(origin)} are not monotonic; keeping the listed order`);
  }
}

/** Opens every tilt's header, checks shapes and dtype agree, and builds the series. */
async function assemble(origin: string, raw: RawTilt[], calibration: Calibration, opts: SeriesOptions, warnings: string[]): Promise<TiltSeries> {
  if (raw.length === 0) throw new InputError(origin, 'lists no tilts');
  checkAngles(origin, raw, warnings);
  let ref: { scan: [number, number]; det: [number, number]; dtype: PixelDType; file: string; cal: Calibration } | null = null;
  // Every HDF5 tilt's structure check starts now, side by side on the workers; each open below waits for its own.
  for (const t of raw) if (/\.(h5|hdf5|emd|hspy|nxs)$/i.test(t.file)) void guardHdf5Open(t.file).catch(() => undefined);
  for (const [i, t] of raw.entries()) {
    let st;
    try {
      st = await stat(t.file);
    } catch {
      throw new InputError(t.file, `tilt ${i} (${t.angleDeg}°) listed in ${basename(origin)} does not exist`, { tilt: i });
    }
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a pipe (FIFO)' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
      throw new InputError(t.file, `tilt ${i} (${t.angleDeg}°) listed in ${basename(origin)} is ${kind}, not a data file`, { tilt: i });
    }
    let src: FourDSource;
    try {
      src = await openSource(t.file, {
        ...(t.dataset !== undefined ? { dataset: t.dataset } : {}),
        ...(t.tiltIndex !== undefined ? { tiltIndex: t.tiltIndex } : {}),
        ...(opts.scanShape ? { scanShape: opts.scanShape } : {}),
      });
    } catch (e) {
      if (e instanceof Error) e.message = `tilt ${i} (${t.angleDeg}°): ${e.message}`;
      throw e;
    }
    let kept = false;
    try {
      for (const w of src.warnings ?? []) warnings.push(`${basename(t.file)}: ${w}`);
      ref ??= { scan: src.scanShape, det: src.detectorShape, dtype: src.dtype, file: t.file, cal: src.calibration };
      const what = `than ${basename(ref.file)} (tilt 0)`;
      if (src.scanShape[0] !== ref.scan[0] || src.scanShape[1] !== ref.scan[1]) {
        throw new InputError(t.file, `tilt ${i} has scan shape [${src.scanShape.join(', ')}], a different one ${what}: [${ref.scan.join(', ')}]`, { tilt: i });
      }
      if (src.detectorShape[0] !== ref.det[0] || src.detectorShape[1] !== ref.det[1]) {
        throw new InputError(t.file, `tilt ${i} has detector shape [${src.detectorShape.join(', ')}], a different one ${what}: [${ref.det.join(', ')}]`, { tilt: i });
      }
      if (src.dtype !== ref.dtype) {
        throw new InputError(t.file, `tilt ${i} has pixel type ${src.dtype}, a different one ${what}: ${ref.dtype}`, { tilt: i });
      }
      kept = opts.keepSource?.(i, src) ?? false;
    } finally {
      if (!kept) src.close();
    }
  }
  const r = ref!;
  // Precedence: manifest > caller's options > the first tilt's own metadata.
  const cal: Calibration = { ...r.cal, ...(opts.calibration ?? {}), ...calibration };
  // The wavelength always follows the voltage that won.
  if (cal.voltageKV !== undefined) cal.wavelengthA = electronWavelengthA(cal.voltageKV);
  const tilts: TiltEntry[] = raw.map((t, index) => ({
    index,
    angleDeg: t.angleDeg,
    source: t.file,
    ...(t.dataset !== undefined ? { dataset: t.dataset } : {}),
    ...(t.tiltIndex !== undefined ? { tiltIndex: t.tiltIndex } : {}),
  }));
  // From here on nothing may write over these files (io/protected-inputs.ts).
  protectInputs([origin, ...tilts.flatMap((t) => (/\.mib$/i.test(t.source) ? [t.source, t.source.replace(/\.mib$/i, '.hdr')] : [t.source]))]);
  return { tilts, scanShape: r.scan, detectorShape: r.det, dtype: r.dtype, calibration: cal, origin, warnings };
}

function num(origin: string, field: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(origin, `"${field}" must be a finite number (got ${JSON.stringify(v)})`);
  return v;
}

/**
 * A tilt angle written as text: a plain decimal number ("-30", "12.5", "1e1"); anything else — empty, hexadecimal
 * ("0x10"), "Infinity", units — is NaN, which the angle check then names, rather than Number()'s 0 or 16.
 */
export function parseAngle(text: string): number {
  const t = text.trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : NaN;
}

/** Reads a series.json manifest (ARCHITECTURE §5); tilt paths are relative to the manifest. */
export async function loadSeriesManifest(path: string, opts: SeriesOptions = {}): Promise<TiltSeries> {
  const abs = resolve(path);
  let json: unknown;
  try {
    // A byte-order mark (Windows editors write one) is skipped, as in tilts.csv.
    json = JSON.parse((await readFile(abs, 'utf8')).replace(/^\uFEFF/, ''));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(abs, code === 'ENOENT' ? 'file does not exist' : `is not valid JSON (${quotedLine(e instanceof Error ? e.message : String(e))})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError(abs, 'is not a series manifest (expected a JSON object)');
  const m = json as Record<string, unknown>;
  if (m.version !== 1) throw new InputError(abs, `manifest version ${JSON.stringify(m.version)} is not supported (expected 1)`);
  if (!Array.isArray(m.tilts)) throw new InputError(abs, '"tilts" must be an array');
  const cal: Calibration = {};
  const v = num(abs, 'voltageKV', m.voltageKV);
  if (v !== undefined && !(v > 0 && v <= 10_000)) throw new InputError(abs, `"voltageKV" must be an accelerating voltage in kV, 0 < V ≤ 10000 (got ${v})`);
  if (v !== undefined) cal.voltageKV = v;
  const q = num(abs, 'reciprocalPixelInvA', m.reciprocalPixelInvA);
  if (q !== undefined) cal.reciprocalPixelInvA = q;
  const r = num(abs, 'realPixelNm', m.realPixelNm);
  if (r !== undefined) cal.realPixelNm = r;
  // null means "determine it" (ARCHITECTURE §5): leave it out.
  const ax = num(abs, 'rotationAxisDeg', m.rotationAxisDeg);
  if (ax !== undefined) cal.rotationAxisDeg = ax;
  const dir = dirname(abs);
  const raw: RawTilt[] = m.tilts.map((t: unknown, i: number) => {
    if (typeof t !== 'object' || t === null) throw new InputError(abs, `tilt ${i} is not an object`);
    const e = t as Record<string, unknown>;
    if (typeof e.file !== 'string' || e.file === '') throw new InputError(abs, `tilt ${i} has no "file"`);
    const file = isAbsolute(e.file) ? e.file : join(dir, e.file);
    const a = e.angleDeg;
    const angleDeg = typeof a === 'number' ? a : typeof a === 'string' ? parseAngle(a) : NaN;
    const out: RawTilt = { file, angleDeg };
    if (typeof e.dataset === 'string') out.dataset = e.dataset;
    if (typeof e.tiltIndex === 'number') out.tiltIndex = e.tiltIndex;
    return out;
  });
  return assemble(abs, raw, cal, opts, []);
}

/** Splits one CSV line (double quotes allowed around fields). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** Reads a tilts.csv with columns file,angle_deg (and optionally dataset); paths relative to the csv. */
export async function loadTiltsCsv(path: string, opts: SeriesOptions = {}): Promise<TiltSeries> {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch {
    throw new InputError(abs, 'file does not exist or cannot be read');
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (lines.length === 0) throw new InputError(abs, 'is empty');
  const header = csvFields(lines[0]!).map((h) => h.toLowerCase());
  const fi = header.indexOf('file');
  const ai = header.indexOf('angle_deg');
  const di = header.indexOf('dataset');
  if (fi < 0 || ai < 0) throw new InputError(abs, `needs a header line with columns "file,angle_deg" (found "${quotedLine(lines[0]!)}")`);
  const dir = dirname(abs);
  const raw: RawTilt[] = lines.slice(1).map((l, i) => {
    const f = csvFields(l);
    const name = f[fi] ?? '';
    if (name === '') throw new InputError(abs, `row ${i + 2} has no file name`);
    const file = isAbsolute(name) ? name : join(dir, name);
    const angleText = f[ai] ?? '';
    const angleDeg = parseAngle(angleText);
    const out: RawTilt = { file, angleDeg };
    if (di >= 0 && f[di]) out.dataset = f[di];
    return out;
  });
  return assemble(abs, raw, {}, opts, []);
}

const DATA_EXTENSIONS = new Set(['.mib', '.h5', '.hdf5', '.hdf', '.emd', '.hspy', '.nxs']);

/**
 * A folder of tilt files in natural order, angles start + i·step. ARINA sets contribute only their
 * *_master.h5 files. When every file name ends in a number, the numbers must run without gaps —
 * a missing tilt is an error naming where the gap is.
 */
export async function seriesFromFolder(dir: string, opts: SeriesOptions): Promise<TiltSeries> {
  const abs = resolve(dir);
  if (opts.startDeg === undefined || opts.stepDeg === undefined) throw new ParameterError('stepDeg', 'a folder needs startDeg and stepDeg to give each file its angle');
  if (!Number.isFinite(opts.startDeg)) throw new ParameterError('startDeg', `must be a finite number (got ${opts.startDeg})`);
  if (!Number.isFinite(opts.stepDeg) || opts.stepDeg === 0) throw new ParameterError('stepDeg', `must be a finite non-zero number (got ${opts.stepDeg})`);
  let names: string[];
  try {
    names = (await readdir(abs, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  } catch {
    throw new InputError(abs, 'folder does not exist or cannot be read');
  }
  let files = names.filter((n) => DATA_EXTENSIONS.has(extname(n).toLowerCase()));
  const masters = files.filter((n) => /_master\.h5$/i.test(n));
  if (masters.length > 0) files = masters;
  files.sort(naturalCompare);
  if (files.length === 0) throw new InputError(abs, `holds no data files (${[...DATA_EXTENSIONS].join(', ')})`);
  const warnings: string[] = [];
  const stem = (n: string): string => basename(n, extname(n)).replace(/_master$/i, '');
  const nums = files.map((n) => /(\d+)$/.exec(stem(n)));
  if (files.length > 1 && nums.every((m) => m !== null)) {
    for (let i = 1; i < files.length; i++) {
      const a = Number(nums[i - 1]![1]);
      const b = Number(nums[i]![1]);
      if (b !== a + 1) {
        throw new InputError(join(abs, files[i]!), `tilt numbering jumps from ${files[i - 1]} to ${files[i]}: ${b - a - 1} tilt file(s) missing (or duplicated)`, {
          after: files[i - 1],
        });
      }
    }
  }
  const raw: RawTilt[] = files.map((n, i) => ({ file: join(abs, n), angleDeg: opts.startDeg! + i * opts.stepDeg! }));
  return assemble(abs, raw, {}, opts, warnings);
}

/**
 * One data file: a 5D [tilt, ry, rx, qy, qx] dataset is one tilt per index, angles start + i·step; a 4D-STEM scan
 * (any 4D file: MIB, HDF5) is a series of one tilt, at startDeg (default 0°).
 */
export async function seriesFromFile(path: string, opts: SeriesOptions & { dataset?: string }): Promise<TiltSeries> {
  const abs = resolve(path);
  const probe = await openSource(abs, {
    ...(opts.dataset !== undefined ? { dataset: opts.dataset } : {}),
    ...(opts.scanShape ? { scanShape: opts.scanShape } : {}),
  });
  const n = probe.nTilts;
  const ds = probe.dataset;
  probe.close();
  if (n === undefined) {
    const angleDeg = opts.startDeg ?? 0;
    if (!Number.isFinite(angleDeg)) throw new ParameterError('angleDeg', `must be a finite angle, got ${angleDeg}`);
    return assemble(abs, [{ file: abs, angleDeg, ...(ds !== undefined ? { dataset: ds } : {}) }], {}, opts, []);
  }
  if (opts.startDeg === undefined || opts.stepDeg === undefined) throw new ParameterError('stepDeg', 'a 5D file needs startDeg and stepDeg to give each tilt its angle');
  const raw: RawTilt[] = Array.from({ length: n }, (_, i) => ({
    file: abs,
    angleDeg: opts.startDeg! + i * opts.stepDeg!,
    tiltIndex: i,
    ...(ds !== undefined ? { dataset: ds } : {}),
  }));
  return assemble(abs, raw, {}, opts, []);
}

/** Opens a series from a manifest (.json), a tilts.csv, a folder, a 5D HDF5 file, or one 4D file (one tilt). */
export async function openSeries(path: string, opts: SeriesOptions = {}): Promise<TiltSeries> {
  const abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw new InputError(abs, 'does not exist');
  }
  if (st.isDirectory()) return seriesFromFolder(abs, opts);
  const ext = extname(abs).toLowerCase();
  if (ext === '.json') return loadSeriesManifest(abs, opts);
  if (ext === '.csv') return loadTiltsCsv(abs, opts);
  return seriesFromFile(abs, opts);
}

/**
 * Opens tilt `index` of a series as a FourDSource (the caller closes it). Its calibration is the file's own,
 * overridden by the series' (manifest values and user options win over file metadata, as in assembly).
 */
export async function openTilt(series: TiltSeries, index: number): Promise<FourDSource> {
  const t = series.tilts[index];
  if (!t) throw new ParameterError('tilt', `index ${index} is outside 0…${series.tilts.length - 1}`);
  const src = await openSource(t.source, {
    ...(t.dataset !== undefined ? { dataset: t.dataset } : {}),
    ...(t.tiltIndex !== undefined ? { tiltIndex: t.tiltIndex } : {}),
    scanShape: series.scanShape,
  });
  return asSeriesTilt(series, src);
}

/** A tilt's source as openTilt gives it: the file's calibration overridden by the series'. */
export function asSeriesTilt(series: TiltSeries, src: FourDSource): FourDSource {
  const calibration: Calibration = { ...src.calibration, ...series.calibration };
  // A view of the source with the merged calibration; everything else (methods, direct layout) is the source's own.
  return new Proxy(src, {
    get(target, prop) {
      if (prop === 'calibration') return calibration;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
