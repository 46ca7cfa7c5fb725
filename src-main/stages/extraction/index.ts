// Extraction: per object and tilt, the summed diffraction pattern inside its mask — one clean 3D ED data set per
// particle (docs/ARCHITECTURE.md, "Stages").
export { extractSeries, estimateBeamCentre, splitRuns, type SeriesInput } from './service';
export type * from './types';
