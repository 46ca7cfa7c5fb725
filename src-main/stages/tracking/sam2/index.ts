// Public surface of the SAM2 tracking path.
export * from './types';
export { loadSam2Model, validateSam2Folder, findModelFiles, checkTensors, providerCandidates, type Sam2Model, type Sam2LoadOptions, type Sam2Provider } from './model';
export { LAYOUTS, type LayoutId, type Sam2Layout, type TensorSpec } from './layouts';
export { Sam2Tracker, type Sam2TrackOptions, type IntensityOptions, type SegmentResult } from './propagate';
export { cropAround, wholeImageCrop, toFrame, fromFrame, type CropBox, type PixelBox, type CropOptions } from './geometry';
export { createSam2Handler, type Sam2Request, type Sam2Reply, type Sam2Results, type Sam2PropagateOptions } from './protocol';
export { Sam2WorkerClient } from './client';
