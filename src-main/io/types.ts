// The reader-side data model (ARCHITECTURE §3): every 4D-STEM source, whatever its format, is opened lazily
// as a FourDSource that hands out whole diffraction patterns (frames) in probe-position order.

import type { Calibration } from '../../src-shared/domain';
import type { PixelArray, PixelDType } from '../../src-shared/pixels';

/** Where the frames of a dataset sit in the file, when they can be read with plain fs reads. */
export interface DirectLayout {
  kind: 'contiguous' | 'chunked-uncompressed' | 'mib';
  /** Byte offset of frame 0's pixel data. For 'mib' frames are `frameStrideBytes` apart with a header in front. */
  offset: number;
  frameStrideBytes: number;
  littleEndian: boolean;
  /** Bytes of pixel data per frame (nqy * nqx * bytes per pixel). */
  frameBytes?: number;
  /**
   * For 'chunked-uncompressed': absolute byte offset of every frame (in probe order), because HDF5
   * chunks need not be equally spaced. When present it wins over `offset + i * frameStrideBytes`.
   */
  frameOffsets?: Float64Array;
}

/** How the scan shape of a source was decided (shown by `tracked info`). */
export type ScanShapeOrigin =
  | 'user'
  | 'dataset'
  | 'metadata'
  | 'hdr'
  | 'timestamps'
  | 'square'
  | 'single-row';

export interface FourDSource {
  /** The file path (the main data file) — used in every error message. */
  readonly path: string;
  /** A short name of the format: 'py4DSTEM', 'EMD-Prismatic', 'HyperSpy', 'NeXus', 'MIB', 'HDF5' … */
  readonly format: string;
  /** Dataset path inside an HDF5 file, when there is one. */
  readonly dataset?: string;
  /** [ny, nx] probe positions. */
  readonly scanShape: [number, number];
  /** [nqy, nqx] detector pixels. */
  readonly detectorShape: [number, number];
  readonly dtype: PixelDType;
  readonly calibration: Calibration;
  /** Present when frames can be streamed straight from the file with fs reads. */
  readonly direct?: DirectLayout;
  /** How `scanShape` was decided. */
  readonly scanShapeFrom?: ScanShapeOrigin;
  /** For a 5D [tilt, ry, rx, qy, qx] dataset: which tilt this source is, and how many there are. */
  readonly tiltIndex?: number;
  readonly nTilts?: number;
  /** Things the user should know that are not errors (guessed scan shape, dropped partial line…). */
  readonly warnings?: readonly string[];
  /** Format-specific header fields (e.g. every MIB header field), for `tracked info`. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /**
   * Reads `count` consecutive frames starting at flat probe index `start` (ry * nx + rx) as one typed
   * array of `count * nqy * nqx` pixels in native byte order. Never reads more than asked.
   */
  readFrames(start: number, count: number, signal?: AbortSignal): Promise<PixelArray>;
  close(): void;
}
