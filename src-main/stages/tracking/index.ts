// Classical (weight-free) particle tracking through a tilt series. SAM2 lives in ./sam2.
export * from './types';
export { DEFAULT_SEGMENTATION, detectCandidates, segmentationOptions, type Candidate, type Detection } from './segment';
export { DEFAULT_TRACK_OPTIONS, trackObjects, trackOptions } from './tracker';
export { parseTargetSpec, pickAutoTarget, targetFromProbe, type StackRef, type TargetChoice, type TargetSpec } from './target';
export { assignObjects } from './assignment';
export { estimateDrift, cumulativeDrift, type DriftEstimate } from './drift';
