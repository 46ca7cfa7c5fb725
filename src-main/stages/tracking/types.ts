// Shared types of the trackers (classical here; SAM2 in ./sam2 can use the same prompt and result shapes).
import type { BackgroundMethod, ThresholdMethod } from '../../kernels/image';

/** DESIGN §3: state of one object on one tilt. */
export type FrameState = 'empty' | 'tracked' | 'edited' | 'locked' | 'excluded';

/** A click on the virtual image: probe-position column x, row y; positive = "this particle", negative = "not this". */
export interface PromptPoint {
  x: number;
  y: number;
  positive: boolean;
}

/** A box around the particle, inclusive pixel bounds. */
export interface PromptBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The user's prompt for one object on one frame (tilt index). */
export interface TrackPrompt {
  objectId: number;
  frame: number;
  points: PromptPoint[];
  box?: PromptBox;
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
  /** nTilts·ny·nx, row-major per tilt (DESIGN §3 VirtualImageStack). */
  stack: Float32Array;
  nTilts: number;
  ny: number;
  nx: number;
  /** Bright-field images: particles are darker than the background. */
  invert?: boolean;
  existing?: ExistingObject[];
}

/** How one frame is segmented into candidate particles. */
export interface SegmentationOptions {
  threshold: ThresholdMethod;
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
}

export interface TrackContext {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Signals for the UI to flag frames worth checking. */
export interface FrameQuality {
  /** IoU of the mask with the prediction (previous mask moved by drift + motion). */
  iouWithPrediction: number;
  /** area / previous area − 1. */
  areaChange: number;
  /** (mean inside − mean of a ring around) / background noise, on the preprocessed image. */
  contrast: number;
  flagged: boolean;
  reason?: string;
}

export interface ObjectStop {
  /** The frame at which tracking stopped (the first frame not tracked). */
  frame: number;
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

export interface TrackResult {
  objects: TrackedObjectResult[];
  /** Shift of tilt t relative to tilt t − 1 (index 0 is 0), pixels, and the phase-correlation peak height. */
  drift: { dx: Float64Array; dy: Float64Array; peak: Float64Array };
}
