// Extraction (issue 7): one clean 3D ED frame per tilt and object, summed inside the object's mask.
export { extractSeries, estimateBeamCentre, splitRuns, type SeriesInput } from './service';
export type * from './types';
export {
  accumulateFramesInto,
  backgroundRing,
  buildTargetMap,
  createAccumulators,
  fillBadPixelsInPlace,
  mergeAccumulators,
  neededRuns,
  type AccumulateArgs,
  type BadPixelMode,
  type TargetAccumulators,
  type TargetMap,
} from './kernel';
export { DirectBlockReader, SourceBlockReader, resolveExtractKernel, runDirectUnit, runUnit, type BlockReader, type DirectUnitArgs, type UnitPlan, type UnitResult } from './reader';
export { computePurity, drawMaskOverlay, percentileRange, type OverlayInput, type PurityInput, type PurityResult } from './purity';
