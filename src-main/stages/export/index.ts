// Export: files for PETS2, DIALS, XDS and Python users from an extraction and the curated masks.
export { writeExports, writeMasks, type MaskSeries, type WrittenExports } from './service';
