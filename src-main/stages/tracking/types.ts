// Shared types of the trackers (classical here; SAM2 in ./sam2 can use the same prompt and result shapes).
import type { FrameQuality, FrameState, NeighbourSummary, TrackPrompt } from '../../../src-shared/domain';
import type { BackgroundMethod, ThresholdMethod } from '../../kernels/image';

export type { FrameQuality, FrameState };

/** A user's (or --target's) prompt for one object on one tilt. */
export interface ObjectPrompt extends TrackPrompt {
  objectId: number;
}

/** What an object already has (from an earlier run or the mask editor): frames 'edited'/'locked' are anchors. */
export interface ExistingObject {
  objectId: number;
  /** nTilts·ny·nx, 1 inside. */
  masks: Uint8Array;
  frameState: FrameState[];
}

/** The virtual-image stack to track in. */
export interface TrackInput {
  /** nTilts·ny·nx, row-major per tilt (ARCHITECTURE §3 VirtualImageStack). */
  stack: Float32Array;
  nTilts: number;
  ny: number;
  nx: number;
  /** Bright-field images: particles are darker than the background. */
  invert?: boolean;
  /**
   * Several virtual images of the series to segment in together (e.g. bright field and annular dark field, see
   * preprocessChannels); when absent, `stack` alone. Each is nTilts·ny·nx like `stack`.
   */
  channels?: TrackChannel[];
  existing?: ExistingObject[];
}

/** One virtual-image stack and its polarity. */
export interface TrackChannel {
  stack: Float32Array;
  invert: boolean;
  /** e.g. 'bf', 'adf': for messages. */
  name?: string;
}

/** How one frame is segmented into candidate particles. */
export interface SegmentationOptions {
  /** A global method of the image kernels, or 'noise' (referenced to the background noise and each particle's brightness). */
  threshold: ThresholdMethod | 'noise';
  /** Gaussian smoothing before thresholding, pixels. */
  smoothingSigma: number;
  /** Candidates smaller than this (pixels) are dropped as noise. */
  minArea: number;
  background: BackgroundMethod;
  /** Rolling-ball radius / Gaussian sigma of the background, pixels; 0 = max(nx, ny). */
  backgroundRadius: number;
  /** Disk radius of the opening that removes specks and one-pixel bridges (0 = none). */
  openRadius: number;
  /** Saddle depth (pixels of distance transform) a neck must have to split two touching particles (0 = shape not used). */
  splitH: number;
  /** Brightness ratio between a particle's peak and the dip to its neighbour that splits them (≤ 1 = intensity not used). */
  splitRatio: number;
  /** Window half-width for threshold 'adaptive', pixels. */
  adaptiveRadius: number;
}

export interface TrackOptions extends SegmentationOptions {
  /**
   * Inside each object's predicted zone, foreground is re-thresholded at background + localFraction × (the
   * object's own mean brightness on this frame − background); 0 keeps the frame's global threshold.
   */
  localFraction: number;
  /** Largest distance (px) between predicted and found centroid; 0 = automatic (the particle's radius, ≥ 5 px). */
  gate: number;
  /** Frames an object may be lost before its track stops. */
  maxGap: number;
  direction: 'forward' | 'backward' | 'both';
  /** Frames to propagate from each anchor in each direction. */
  maxFrames: number;
  /**
   * Track every other particle in the field too (auto-detected neighbours), so a touching neighbour is a labelled
   * region the objects' masks stop at; the result then carries the whole-field segmentation (TrackResult.neighbours).
   */
  neighbours: boolean;
  /**
   * Largest area growth per tilt (fraction of the predicted area) a region may show where it touches another
   * particle; beyond it the mask is cut back to the prediction's surroundings and flagged. An isolated region may
   * grow freely: there the image shows where the particle ends.
   */
  maxAreaGrowth: number;
}

export interface TrackContext {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface ObjectStop {
  /** The tilt at which tracking stopped (the first tilt not tracked). */
  tilt: number;
  direction: 'forward' | 'backward';
  reason: string;
}

export interface TrackedObjectResult {
  objectId: number;
  masks: Uint8Array;
  frameState: FrameState[];
  /** Per frame; null where the tracker did not produce the mask (anchors, untouched or lost frames have a reason). */
  quality: (FrameQuality | null)[];
  stops: ObjectStop[];
  /** Set when the object could not be started at all (bad prompt); its masks are then returned unchanged. */
  error?: string;
}

/** The auto-detected neighbours: every particle in the field that no user object is, tracked with them. */
export interface NeighbourMap {
  /** nTilts·ny·nx, 0 = no neighbour, k = neighbours[k − 1]. */
  labels: Uint16Array;
  neighbours: NeighbourSummary[];
}


export interface TrackResult {
  objects: TrackedObjectResult[];
  /** Present when options.neighbours is on. */
  neighbours?: NeighbourMap;
  /** Shift of tilt t relative to tilt t − 1 (index 0 is 0), pixels, and the phase-correlation peak height. */
  drift: { dx: Float64Array; dy: Float64Array; peak: Float64Array };
}
