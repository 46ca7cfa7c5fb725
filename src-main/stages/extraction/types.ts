// The extraction stage's inputs and options (its output, ExtractedSeries, is in src-shared/domain.ts).

import type { BadPixelMode, ExtractKernelChoice } from '../../kernels/extract';
import type { WorkerPool } from '../../workers/pool';
import type { ExtractedSeries, FrameState } from '../../../src-shared/domain';

/** What extraction needs of a TrackedObject. */
export interface ExtractionObject {
  id: number;
  name: string;
  /** nTilts * ny * nx, 1 (non-zero) inside. */
  masks: Uint8Array;
  /** One per tilt; 'excluded' tilts are skipped (probeCount 0, frame left at 0). */
  frameState: readonly FrameState[];
}

export interface BackgroundOptions {
  /** Ring width in probe steps around the mask (Euclidean dilation minus the mask); default 3. */
  ringWidth?: number;
}

export interface ExtractOptions {
  /** 'sum' (default) keeps counts; 'mean' divides by the probe count (after background). */
  statistic?: 'sum' | 'mean';
  /**
   * Local background from a ring of probe positions around the mask (support film): its mean pattern, times the
   * object's probe count, is subtracted. Other objects' masks are never part of a ring.
   */
  background?: BackgroundOptions | false;
  /** Detector pixels to exclude everywhere (hot/dead pixels): nqy*nqx, 1 = bad. */
  badPixels?: Uint8Array;
  /** Pixel values ≥ this are saturated; such a pixel is excluded from the pattern of every object it touched. */
  saturationLevel?: number;
  /** How excluded pixels appear in the output (default 'neighbours': mean of the valid 8-neighbours). */
  badPixelMode?: BadPixelMode;
  /**
   * Per-tilt normalisation by dose. 'auto' uses each source's recorded dwell time (× beam current, when the
   * source's metadata records `beamCurrentA`); an array gives the relative dose of each tilt. Frames are scaled by
   * mean(dose) / dose[t], so the numbers stay in counts of an average tilt. Default: none.
   */
  normaliseDose?: 'auto' | readonly number[] | false;
  /** Beam-centre estimate per frame (default true). */
  beamCentre?: boolean;
  /**
   * Per tilt, the direct-beam centre of the tilt's mean pattern over all probe positions (the virtual pass fits it):
   * each frame's centre is anchored on it (ExtractedSeries.beamCentreCheck). Without it, on the median of the
   * frames' own fits.
   */
  referenceBeamCentre?: ReadonlyArray<readonly [number, number] | null>;
  /** How far (px) a frame's own beam-centre fit may move from its reference (default 3). */
  maxCentreShiftPx?: number;
  /**
   * Refines a frame's beam centre after the direct-beam fit — the hook for Friedel-pair refinement. Receives the
   * finished pattern (background-subtracted), its shape, and the disk-fit centre; returns a better centre or null.
   */
  refineBeamCentre?: (pattern: Float32Array, shape: readonly [number, number], initial: readonly [number, number]) => [number, number] | null;
  /** Bytes of each of the two block buffers (default 4 MiB). */
  blockBytes?: number;
  /**
   * Inner loops: 'auto' (default: WebAssembly SIMD for uint8/uint16/uint32/float32, the JS kernel otherwise), 'js'
   * to force the JS reference kernel, 'wasm' to require the SIMD one (ParameterError where it cannot run). The
   * environment variable TRACKED_EXTRACT_KERNEL sets the default. Both give the same sums.
   */
  kernel?: ExtractKernelChoice;
}


export interface ExtractContext {
  signal?: AbortSignal;
  /** Bytes are frame pixel bytes actually read. Called at most every `progressIntervalMs` and once at the end. */
  onProgress?(doneBytes: number, totalBytes: number, stage: 'extraction'): void;
  progressIntervalMs?: number;
  /** Runs the units over files with a direct layout on this pool, pool.size at a time (default: in this thread). */
  pool?: WorkerPool;
}

export interface ExtractResult {
  series: ExtractedSeries[];
  warnings: string[];
  bytesRead: number;
  framesRead: number;
  seconds: number;
}
