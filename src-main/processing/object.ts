// One extracted object as the pipeline's input, and what its result says against the series' metadata. Shared by
// `tracked run` and the app's processing service, so both state the same things in the same words.
import type { ExtractedSeries } from '../../src-shared/domain';
import type { Statement } from '../../src-shared/processing';
import type { LatticeOutcome, ProcessingFrames } from './pipeline';

/** Highest metric misfit (degrees) a Bravais candidate may have unless the user says otherwise. */
export const DEFAULT_MAX_MISFIT_DEG = 2;

export const NO_CALIBRATION: Statement = {
  severity: 'error',
  code: 'no-calibration',
  message: 'processing needs the wavelength (voltage) and the reciprocal pixel size: set them in the calibration (--voltage, --q-pixel)',
};

/** The pipeline's input for one extracted object, or the statement why there is none. */
export function processingFramesOf(s: ExtractedSeries, c: { wavelengthA?: number; reciprocalPixelInvA?: number }): ProcessingFrames | Statement {
  if (!(c.wavelengthA && c.reciprocalPixelInvA)) return NO_CALIBRATION;
  return {
    frames: s.frames,
    detectorShape: s.detectorShape,
    anglesDeg: s.anglesDeg,
    beamCentres: s.beamCentre,
    included: s.included,
    wavelengthA: c.wavelengthA,
    reciprocalPixelInvA: c.reciprocalPixelInvA,
  };
}

/** A found axis more than 1° from the series metadata is said (the data's axis is the one used). */
export function axisStatements(lattice: LatticeOutcome, metadataAxisDeg: number | null | undefined, givenAxisDeg: number | undefined): Statement[] {
  const found = lattice.axis?.refinedDeg;
  if (found === undefined || metadataAxisDeg === undefined || metadataAxisDeg === null || givenAxisDeg !== undefined) return [];
  const d = Math.abs(((found - metadataAxisDeg + 540) % 360) - 180);
  if (d <= 1) return [];
  return [
    {
      severity: 'warning',
      code: 'axis-differs',
      message: `the rotation axis found in the data (${found.toFixed(2)}°) differs by ${d.toFixed(1)}° from the series metadata (${metadataAxisDeg}°); the data's axis is used`,
    },
  ];
}
