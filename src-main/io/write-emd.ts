// Writes a 4D-STEM data cube as a py4DSTEM / emdfile "EMD 1.0" HDF5 file (FORMATS §1):
//
//   /                                attrs emd_group_type="file", version_major=1, version_minor=0 (int64), UUID,
//                                          authoring_program, authoring_user
//   /datacube_root                   attrs emd_group_type="root", python_class="Root"
//   /datacube_root/datacube          attrs emd_group_type="array", python_class="DataCube"
//       data   (Rx=ny, Ry=nx, Qx=nqy, Qy=nqx)  CONTIGUOUS, no filters; attr units="pixel intensity"
//       dim0..dim3  linear calibrations as 2 values [start, start+step] (start 0, so also [start, step]),
//                   attrs name ("Rx","Ry","Qx","Qy") and units ("nm","nm","A^-1","A^-1")
//   /datacube_root/metadatabundle/calibration   one scalar dataset per key, attr type
//   /datacube_root/metadatabundle/acquisition   trackED's extra keys (voltage, tilt angle…), same style
//
// py4DSTEM's axis order equals trackED's row-major order (scan row, scan column, detector row, detector
// column), so a block of scan rows from the generator is written as it is.
//
// Streaming: h5wasm's create_dataset insists on the whole array, which a 2 GB tilt cannot give (the wasm heap
// stops at 2 GiB). So the dataset is created through the module's low-level create_dataset with no data
// (a NULL buffer: H5Dcreate2 succeeds and lays out a contiguous dataset with late allocation; the H5Dwrite
// that follows fails harmlessly with "no input buffer" and its error report is swallowed), then filled block
// by block with write_slice. After closing, the layout is checked (no chunks, no filters).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { resolve } from 'node:path';
import { InputError, ParameterError } from '../../src-shared/errors';
import { AtomicFile } from './atomic';
import { h5lib } from './h5';
import type { PixelDType } from '../../src-shared/pixels';

type H5Lib = typeof import('h5wasm/node');
type H5Module = Awaited<H5Lib['ready']>;

interface LowLevel {
  create_dataset(fileId: bigint, path: string, dataPtr: bigint, metadata: Record<string, unknown>): number;
  activate_throwing_error_handler(): number;
  deactivate_throwing_error_handler(): number;
}

/** h5wasm's Node build (loaded once by the readers' h5lib, Electron's `navigator` quirk handled there) and its module. */
export async function loadH5wasm(): Promise<{ lib: H5Lib; module: H5Module }> {
  await h5lib();
  // The same (cached) module, as its namespace: the writer also needs named helpers such as dtype_to_metadata.
  const lib = await import('h5wasm/node');
  return { lib, module: await lib.ready };
}

export const EMD_ROOT = 'datacube_root';
export const EMD_NODE = 'datacube';
/** Path of the 4D dataset inside files written here. */
export const EMD_DATASET_PATH = `/${EMD_ROOT}/${EMD_NODE}/data`;

export type WritableDType = Extract<PixelDType, 'uint8' | 'uint16' | 'uint32' | 'float32'>;
type WritableArray = Uint8Array | Uint16Array | Uint32Array | Float32Array;

const H5_DTYPE: Record<WritableDType, string> = { uint8: '<B', uint16: '<H', uint32: '<I', float32: '<f' };
const BYTES: Record<WritableDType, number> = { uint8: 1, uint16: 2, uint32: 4, float32: 4 };
const ARRAY_OF: Record<WritableDType, new (n: number) => WritableArray> = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  float32: Float32Array,
};

export interface EmdCubeOptions {
  /** Final file path (written to a temporary name, renamed on `close`). */
  path: string;
  /** [ny, nx] probe positions. */
  scanShape: [number, number];
  /** [nqy, nqx] detector pixels. */
  detectorShape: [number, number];
  dtype: WritableDType;
  /** Probe step, nm. */
  realPixelNm: number;
  /** Detector pixel, Å⁻¹. */
  reciprocalPixelInvA: number;
  /** The file's UUID attribute; random when absent (pass one for byte-reproducible metadata). */
  uuid?: string;
  /** Extra scalar metadata for the 'acquisition' metadata group (e.g. voltage_kV, tilt_angle_deg). */
  acquisition?: Record<string, number | string>;
}

function checkOptions(o: EmdCubeOptions): void {
  const dims = [...o.scanShape, ...o.detectorShape];
  if (dims.length !== 4 || !dims.every((d) => Number.isInteger(d) && d > 0 && d <= 65536)) {
    throw new ParameterError('shape', `scan and detector shapes must be positive integers (got ${dims.join('×')})`);
  }
  if (!(o.dtype in H5_DTYPE)) throw new ParameterError('dtype', `cannot write ${o.dtype}`);
  if (!(o.realPixelNm > 0)) throw new ParameterError('realPixelNm', `must be > 0 (got ${o.realPixelNm})`);
  if (!(o.reciprocalPixelInvA > 0)) throw new ParameterError('reciprocalPixelInvA', `must be > 0 (got ${o.reciprocalPixelInvA})`);
}

/** Runs fn with HDF5's error report (written by the wasm module to fd 2) swallowed. Synchronous only. */
function withSilencedStderr<T>(fn: () => T): T {
  const original = fs.writeSync;
  (fs as { writeSync: unknown }).writeSync = function (fd: number, ...rest: unknown[]): number {
    if (fd === 2) {
      const b = rest[0];
      return typeof b === 'string' ? Buffer.byteLength(b) : typeof rest[2] === 'number' ? rest[2] : (b as Uint8Array).byteLength;
    }
    return (original as (...a: unknown[]) => number).call(fs, fd, ...rest);
  };
  try {
    return fn();
  } finally {
    (fs as { writeSync: unknown }).writeSync = original;
  }
}

/** Streams a 4D cube into an EMD 1.0 file, block of scan rows by block of scan rows. */
export class EmdCubeWriter {
  readonly options: EmdCubeOptions;
  readonly datasetPath = EMD_DATASET_PATH;
  private readonly atomic: AtomicFile;
  private file: InstanceType<H5Lib['File']> | null;
  private rowsWritten = 0;
  private readonly frameSize: number;

  private constructor(options: EmdCubeOptions, atomic: AtomicFile, file: InstanceType<H5Lib['File']>) {
    this.options = options;
    this.atomic = atomic;
    this.file = file;
    this.frameSize = options.detectorShape[0] * options.detectorShape[1];
  }

  static async create(options: EmdCubeOptions): Promise<EmdCubeWriter> {
    checkOptions(options);
    const { lib, module } = await loadH5wasm();
    const ll = module as unknown as LowLevel;
    const atomic = new AtomicFile(resolve(options.path));
    let file: InstanceType<H5Lib['File']>;
    try {
      file = new lib.File(atomic.tmpPath, 'w');
    } catch (e) {
      atomic.abort();
      throw new InputError(options.path, `cannot create HDF5 file: ${(e as Error).message}`);
    }
    try {
      const [ny, nx] = options.scanShape;
      const [nqy, nqx] = options.detectorShape;
      file.create_attribute('emd_group_type', 'file');
      file.create_attribute('version_major', 1, [], '<q');
      file.create_attribute('version_minor', 0, [], '<q');
      file.create_attribute('UUID', options.uuid ?? randomUUID());
      file.create_attribute('authoring_program', 'trackED');
      file.create_attribute('authoring_user', '');
      const root = file.create_group(EMD_ROOT);
      root.create_attribute('emd_group_type', 'root');
      root.create_attribute('python_class', 'Root');
      const node = root.create_group(EMD_NODE);
      node.create_attribute('emd_group_type', 'array');
      node.create_attribute('python_class', 'DataCube');

      // The data set itself, created empty (see the header for why this path).
      const shape = [ny, nx, nqy, nqx].map(BigInt);
      const meta = {
        ...lib.dtype_to_metadata(H5_DTYPE[options.dtype]),
        shape,
        maxshape: shape,
        chunks: null,
        compression: 0,
        compression_opts: [],
        track_order: false,
      };
      // Whatever error mode another part of the app left on, the NULL write must only report, not throw
      // through the C frames (that would leak the dataset handle). Afterwards errors are made to throw: a
      // failed block write must never pass silently.
      ll.deactivate_throwing_error_handler();
      try {
        withSilencedStderr(() => ll.create_dataset(file.file_id, EMD_DATASET_PATH, 0n, meta));
      } finally {
        ll.activate_throwing_error_handler();
      }
      const ds = file.get(EMD_DATASET_PATH);
      if (!(ds instanceof lib.Dataset) || ds.shape?.join() !== [ny, nx, nqy, nqx].join()) {
        throw new Error('the 4D dataset could not be created');
      }
      ds.create_attribute('units', 'pixel intensity');

      const dims: [string, string, number][] = [
        ['Rx', 'nm', options.realPixelNm],
        ['Ry', 'nm', options.realPixelNm],
        ['Qx', 'A^-1', options.reciprocalPixelInvA],
        ['Qy', 'A^-1', options.reciprocalPixelInvA],
      ];
      dims.forEach(([name, units, step], i) => {
        const d = node.create_dataset({ name: `dim${i}`, data: Float64Array.from([0, step]) });
        d.create_attribute('name', name);
        d.create_attribute('units', units);
      });

      const bundle = root.create_group('metadatabundle');
      bundle.create_attribute('emd_group_type', 'metadatabundle');
      const cal = bundle.create_group('calibration');
      cal.create_attribute('emd_group_type', 'metadata');
      cal.create_attribute('python_class', 'Calibration');
      const scalar = (g: typeof cal, key: string, value: number | string | boolean): void => {
        if (typeof value === 'number') {
          g.create_dataset({ name: key, data: value, shape: [], dtype: '<d' }).create_attribute('type', 'number');
        } else if (typeof value === 'boolean') {
          // emdfile stores bools as an HDF5 enum; a uint8 with type "bool" reads the same in py4DSTEM's reader.
          g.create_dataset({ name: key, data: value ? 1 : 0, shape: [], dtype: '<B' }).create_attribute('type', 'bool');
        } else {
          g.create_dataset({ name: key, data: value, shape: [] }).create_attribute('type', 'string');
        }
      };
      scalar(cal, 'Q_pixel_size', options.reciprocalPixelInvA);
      scalar(cal, 'Q_pixel_units', 'A^-1');
      scalar(cal, 'R_pixel_size', options.realPixelNm);
      scalar(cal, 'R_pixel_units', 'nm');
      scalar(cal, 'QR_flip', false);
      scalar(cal, '_root_treepath', '');
      if (options.acquisition && Object.keys(options.acquisition).length) {
        const acq = bundle.create_group('acquisition');
        acq.create_attribute('emd_group_type', 'metadata');
        acq.create_attribute('python_class', 'Metadata');
        for (const [k, v] of Object.entries(options.acquisition)) scalar(acq, k, v);
      }
    } catch (e) {
      try {
        file.close();
      } catch {
        /* already failing */
      }
      atomic.abort();
      throw new InputError(options.path, `cannot write EMD layout: ${(e as Error).message}`);
    }
    return new EmdCubeWriter(options, atomic, file);
  }

  /** Number of scan rows written so far (they must be written in order). */
  get rows(): number {
    return this.rowsWritten;
  }

  /** An array of the right type for `nRows` scan rows. */
  allocateRows(nRows: number): WritableArray {
    return new ARRAY_OF[this.options.dtype](nRows * this.options.scanShape[1] * this.frameSize);
  }

  /** Writes the next `data.length / (nx·nqy·nqx)` scan rows. */
  writeRows(data: WritableArray): void {
    if (!this.file) throw new Error(`${this.options.path}: writer is closed`);
    const [ny, nx] = this.options.scanShape;
    const perRow = nx * this.frameSize;
    if (!(data instanceof ARRAY_OF[this.options.dtype])) throw new ParameterError('data', `must be a ${this.options.dtype} array`);
    if (data.length === 0 || data.length % perRow !== 0) throw new ParameterError('data', `length ${data.length} is not a whole number of scan rows (${perRow} values each)`);
    const n = data.length / perRow;
    if (this.rowsWritten + n > ny) throw new ParameterError('data', `would write past the last scan row (${this.rowsWritten} + ${n} > ${ny})`);
    const ds = this.file.get(EMD_DATASET_PATH) as InstanceType<H5Lib['Dataset']>;
    try {
      ds.write_slice([[this.rowsWritten, this.rowsWritten + n], [], [], []], data);
    } catch (e) {
      throw new InputError(this.options.path, `write failed at scan row ${this.rowsWritten}: ${(e as Error).message}`);
    }
    this.rowsWritten += n;
  }

  /** Closes the file, checks the layout, and renames it into place. Every row must have been written. */
  close(): void {
    if (!this.file) return;
    const file = this.file;
    this.file = null;
    try {
      if (this.rowsWritten !== this.options.scanShape[0]) {
        throw new Error(`only ${this.rowsWritten} of ${this.options.scanShape[0]} scan rows were written`);
      }
      const ds = file.get(EMD_DATASET_PATH) as InstanceType<H5Lib['Dataset']>;
      if (ds.metadata.chunks !== null || ds.filters.length !== 0) throw new Error('the data set is not contiguous');
      file.close();
    } catch (e) {
      try {
        file.close();
      } catch {
        /* closing after a failure */
      }
      this.atomic.abort();
      throw new InputError(this.options.path, (e as Error).message);
    }
    this.atomic.commit();
  }

  /** Closes and deletes the partial file (cancel or error). */
  abort(): void {
    if (this.file) {
      try {
        this.file.close();
      } catch {
        /* aborting anyway */
      }
      this.file = null;
    }
    this.atomic.abort();
  }

  /** Bytes of pixel data the dataset holds when complete. */
  get dataBytes(): number {
    const [ny, nx] = this.options.scanShape;
    return ny * nx * this.frameSize * BYTES[this.options.dtype];
  }
}

/** Writes a whole (small) cube in one go. */
export async function writeEmdCube(options: EmdCubeOptions, data: WritableArray): Promise<void> {
  const w = await EmdCubeWriter.create(options);
  try {
    w.writeRows(data);
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
}
