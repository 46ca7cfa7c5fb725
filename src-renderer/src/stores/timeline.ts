// An object's timeline as every view computes it: the same statuses for the strip, its counts and "next to check"
// (core/timeline.ts), with the beam centres of the series' last virtual pass as a signal.
import type { ObjectSummary } from '../../../src-shared/contract';
import { beamCentreOutliers, timelineFrames, type TimelineFrame } from '../core/timeline';

export function objectTimeline(o: ObjectSummary, beamCentres: ReadonlyArray<readonly [number, number] | null>): TimelineFrame[] {
  return timelineFrames(o, beamCentreOutliers(beamCentres));
}
