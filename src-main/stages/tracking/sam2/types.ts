// Public types of the SAM2 tracking path. Shapes follow ARCHITECTURE §3 (TrackedObject) so the SAM2 path and the classical
// tracker hand the same per-object result to the UI.

import type { FrameState } from '../../../../src-shared/domain';

/** Per-frame state of a tracked object (ARCHITECTURE §3). 'edited' and 'locked' frames are never overwritten. */
export type { FrameState };

/**
 * A point prompt in virtual-image pixel coordinates: x = column, y = row, pixel (i, j) centred on (i, j), the
 * convention of SAM clicks. label: 1 positive, 0 negative (SAM convention).
 */
export interface PointPrompt {
  x: number;
  y: number;
  label: 0 | 1;
}

/** A box prompt: the pixel centres of the extreme pixels (SAM's xyxy from a mask: min/max column and row). */
export interface BoxPrompt {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The user's prompts on one frame. At most one box (SAM takes one box per call), any number of points. */
export interface FramePrompt {
  points?: PointPrompt[];
  box?: BoxPrompt;
}

/** Quality signals of one frame, so the UI can flag frames to check (same fields as the classical tracker). */
export interface FrameQuality {
  /** IoU of the new mask with the motion-model prediction (the previous mask shifted by the predicted motion); 1 on
   *  prompted keyframes, which have no prediction. */
  iouWithPrediction: number;
  /** The decoder's own IoU estimate for the chosen mask. */
  predictedIou: number;
  /** (area − previous area) / previous area; 0 on prompted frames. */
  areaChange: number;
  flagged: boolean;
  reason?: string;
}

/** Why propagation in one direction ended before the next keyframe or the end of the series. */
export type StopReason = 'empty-mask' | 'iou-collapse' | 'mask-exploded' | 'left-field-of-view' | 'no-object';

export interface StopRecord {
  /** The keyframe the run started from. */
  from: number;
  /** 'both' when the keyframe itself gave no object, so nothing was propagated from it. */
  direction: 'forward' | 'backward' | 'both';
  /** The frame where the object was lost (its mask and state are left as they were). */
  frame: number;
  reason: StopReason;
  message: string;
}

/** One object to track: its prompts and, when re-tracking, its current masks and frame states. */
export interface Sam2ObjectInput {
  id: string;
  /** Prompts per frame index. Frames with prompts are keyframes. */
  prompts: Record<number, FramePrompt>;
  /** nTilts·ny·nx, 0/1; optional. Frames 'edited' or 'locked' keep theirs and anchor the propagation. */
  masks?: Uint8Array;
  frameState?: FrameState[];
}

export interface Sam2ObjectResult {
  id: string;
  masks: Uint8Array;
  frameState: FrameState[];
  quality: (FrameQuality | null)[];
  stops: StopRecord[];
}

/** A stack of virtual images, row-major nTilts·ny·nx (ARCHITECTURE §3 VirtualImageStack). */
export interface ImageStack {
  data: Float32Array;
  nTilts: number;
  ny: number;
  nx: number;
}

/** Time spent per stage, summed over frames (what bench/sam2.ts reports). */
export interface StageTimings {
  frames: number;
  preprocessMs: number;
  encoderMs: number;
  decoderMs: number;
  postprocessMs: number;
  cacheHits: number;
  cacheMisses: number;
}

export function emptyTimings(): StageTimings {
  return { frames: 0, preprocessMs: 0, encoderMs: 0, decoderMs: 0, postprocessMs: 0, cacheHits: 0, cacheMisses: 0 };
}
