// Tracking: particles followed through the tilt series in the virtual images — the classical tracker (no weights,
// the default) or SAM2 on the user's ONNX exports (./sam2). docs/ARCHITECTURE.md, "Stages".
export * from './types';
export { trackSeries, sam2WorkerPath, type TrackSeriesOptions } from './service';
export { DEFAULT_SEGMENTATION, detectCandidates, segmentationOptions, type Candidate, type Detection } from './segment';
export { DEFAULT_TRACK_OPTIONS, trackObjects, trackOptions } from './tracker';
export { parseTargetSpec, pickAllTargets, pickAutoTarget, targetFromProbe, type StackRef, type TargetChoice, type TargetSpec } from './target';
export { assignObjects } from './assignment';
export { estimateDrift, cumulativeDrift, type DriftEstimate } from './drift';
