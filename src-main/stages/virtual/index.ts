// Virtual imaging: every detector of every tilt in one pass over the bytes (docs/ARCHITECTURE.md, "Stages").
export { computeVirtualImages, imageStack, type DetectorSpec, type OutputInfo, type VirtualContext, type VirtualResult, type VirtualStage, type VirtualTraceEvent } from './service';
