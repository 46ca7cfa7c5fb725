// What `tracked info PATH` prints (ARCHITECTURE §6): the format, the dataset used, scan and detector shapes,
// dtype, calibration, how frames will be read, and for HDF5 every dataset with its layout and
// filters. A series (series.json, tilts.csv, folder) is summarised instead.

import { closeSync, openSync, statSync } from 'node:fs';
import type { FileInfo, Hdf5DatasetInfo } from '../../src-shared/contract.js';
import { extname, resolve } from 'node:path';
import { InputError, UnsupportedError } from '../../src-shared/errors.js';
import type { H5Dataset } from './h5.js';
import { FILTER_NAMES, firstLine, getEntity, h5lib, openH5 } from './h5.js';
import { locateDataset } from './hdf5-raw.js';
import { precheckHdf5 } from './hdf5-source.js';
import { detectFormat, openSource } from './open.js';
import type { OpenSourceOptions } from './open.js';
import { openSeries } from './series.js';
import type { SeriesOptions } from './series.js';
import type { FourDSource } from './types.js';

/** One dataset of an HDF5 file in the listing (the IPC contract's type). */
export type DatasetInfo = Hdf5DatasetInfo;

/** What `tracked info` prints and `file.info` returns (the IPC contract's FileInfo, plus the tilt of a 5D source). */
export interface InfoJson extends FileInfo {
  tiltIndex?: number;
}

/** Pixel type as a name ('uint16', 'float32', + ' big-endian'), or h5wasm's dtype string for other types. */
function dtypeName(d: H5Dataset): string {
  const m = d.metadata;
  const order = m.littleEndian || m.size === 1 ? '' : ' big-endian';
  if (m.type === 0) return `${m.signed ? 'int' : 'uint'}${m.size * 8}${order}`;
  if (m.type === 1) return `float${m.size * 8}${order}`;
  return typeof d.dtype === 'string' ? d.dtype : JSON.stringify(d.dtype);
}

/** Lists every dataset of an HDF5 file with shape, dtype, layout and filters. */
export async function listHdf5Datasets(path: string): Promise<DatasetInfo[]> {
  const lib = await h5lib();
  const f = await openH5(path);
  const out: DatasetInfo[] = [];
  const fd = openSync(path, 'r');
  try {
    let paths: string[];
    try {
      paths = f.paths();
    } catch (e) {
      // A damaged link table or B-tree: HDF5 cannot walk the file.
      throw new InputError(path, `HDF5 cannot list its contents (damaged or truncated file): ${firstLine(e)}`);
    }
    for (const p of paths) {
      let e;
      try {
        e = getEntity(f, p);
      } catch {
        continue;
      }
      if (!(e instanceof lib.Dataset)) continue;
      const d = e as H5Dataset;
      const meta = d.metadata;
      let layout = meta.chunks ? 'chunked' : 'contiguous';
      const raw = locateDataset(fd, p, meta.size);
      if (raw.ok) layout = raw.layout.kind === 'chunked' ? `chunked (${raw.layout.index})` : raw.layout.kind;
      else if (/external link/.test(raw.reason)) {
        try {
          const link = f.get_external_link(p);
          layout = `${layout}, external link → ${link.filename}:${link.obj_path}`;
        } catch {
          layout = `${layout}, via external link`;
        }
      }
      const info: DatasetInfo = {
        path: p.startsWith('/') ? p : `/${p}`,
        shape: d.shape,
        dtype: dtypeName(d),
        layout,
        filters: d.filters.map((x) => ({ id: x.id, name: FILTER_NAMES[x.id] ?? x.name })),
      };
      if (meta.chunks) info.chunks = meta.chunks;
      out.push(info);
    }
  } finally {
    closeSync(fd);
    f.close();
  }
  return out;
}

function readerOf(direct: { kind: string } | undefined, metadata: Readonly<Record<string, unknown>> | undefined): string {
  if (direct) return `fs ${direct.kind}`;
  const why = metadata?.directUnavailable;
  return typeof why === 'string' ? `h5wasm (${why})` : 'h5wasm';
}

/** What `tracked info` says of any opened source (MIB or HDF5). */
function sourceInfo(src: FourDSource, path: string, sizeBytes: number): InfoJson {
  return {
    path,
    format: src.format,
    sizeBytes,
    scanShape: src.scanShape,
    scanShapeFrom: src.scanShapeFrom ?? 'dataset',
    detectorShape: src.detectorShape,
    dtype: src.dtype,
    calibration: src.calibration,
    reader: readerOf(src.direct, src.metadata),
    warnings: [...(src.warnings ?? [])],
  };
}

/** A 4D-STEM file as a series: one tilt, at startDeg (the CLI's --angle), default 0°. */
function oneTilt(abs: string, opts: SeriesOptions, dataset?: string): NonNullable<InfoJson['series']> {
  const angleDeg = opts.startDeg ?? 0;
  return { nTilts: 1, tiltRangeDeg: [angleDeg, angleDeg], tilts: [{ index: 0, angleDeg, source: abs, ...(dataset ? { dataset } : {}) }] };
}

/**
 * Describes a data file or a series. Missing files, directories without `startDeg`/`stepDeg`, and
 * files that are neither HDF5 nor MIB give an InputError with a one-line reason.
 */
export async function inspect(path: string, opts: OpenSourceOptions & SeriesOptions = {}): Promise<InfoJson> {
  const abs = resolve(path);
  let isDir: boolean;
  let sizeBytes: number;
  try {
    const st = statSync(abs);
    isDir = st.isDirectory();
    sizeBytes = st.size;
  } catch {
    throw new InputError(abs, 'file does not exist');
  }
  const ext = extname(abs).toLowerCase();
  if ((isDir && opts.startDeg !== undefined) || ext === '.json' || ext === '.csv') {
    const s = await openSeries(abs, opts);
    const angles = s.tilts.map((t) => t.angleDeg);
    return {
      path: abs,
      format: 'series',
      scanShape: s.scanShape,
      detectorShape: s.detectorShape,
      dtype: s.dtype,
      calibration: s.calibration,
      warnings: s.warnings,
      series: { nTilts: s.tilts.length, tiltRangeDeg: [Math.min(...angles), Math.max(...angles)], tilts: s.tilts },
    };
  }
  if (isDir) throw new InputError(abs, 'is a directory, not a data file (give startDeg and stepDeg to read it as a tilt series)');
  const fmt = await detectFormat(abs);
  if (fmt === 'mib') {
    const src = await openSource(abs, opts);
    try {
      return { ...sourceInfo(src, src.path, sizeBytes), metadata: { ...(src.metadata ?? {}) }, series: oneTilt(abs, opts) };
    } finally {
      src.close();
    }
  }
  precheckHdf5(abs);
  const datasets = await listHdf5Datasets(abs);
  try {
    const src = await openSource(abs, opts);
    try {
      const info: InfoJson = { ...sourceInfo(src, abs, sizeBytes), datasets };
      if (src.dataset !== undefined) info.dataset = `/${src.dataset.replace(/^\/+/, '')}`;
      if (src.nTilts !== undefined) {
        info.nTilts = src.nTilts;
        info.tiltIndex = src.tiltIndex ?? 0;
      } else info.series = oneTilt(abs, opts, info.dataset);
      return info;
    } finally {
      src.close();
    }
  } catch (e) {
    if (!(e instanceof InputError || e instanceof UnsupportedError)) throw e;
    // The file is fine as HDF5 but holds nothing we can read as 4D-STEM: still describe it.
    return { path: abs, format: 'HDF5', sizeBytes, warnings: [`no 4D-STEM data could be read: ${e.message}`], datasets, problem: e.message };
  }
}
