// Extraction (issue 7): one clean 3D ED frame per tilt and object, summed inside the object's mask.
export { extractSeries, estimateBeamCentre, splitRuns, type SeriesInput } from './run';
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
} from '../../kernels/extract';
export { DirectBlockReader, SourceBlockReader, resolveExtractKernel, runDirectUnit, runUnit, type BlockReader, type DirectUnitArgs, type UnitPlan, type UnitResult } from './unit';
export { computePurity, drawMaskOverlay, percentileRange, type OverlayInput, type PurityInput, type PurityResult } from '../../kernels/purity';
