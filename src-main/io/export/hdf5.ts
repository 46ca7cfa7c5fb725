// The extracted stacks as one HDF5 file for Python users (`extracted.h5`), through h5wasm's Node build:
//
//   /                       attrs: creator, version, wavelengthA, reciprocalPixelInvA, voltageKV, realPixelNm,
//                                  rotationAxisDeg (those known; NaN is never written for an unknown value)
//   /object_<id>/frames     float32 [nTilts, nqy, nqx]   summed (or mean) patterns, zero where not extracted
//               /angleDeg   float64 [nTilts]
//               /probeCount int32   [nTilts]
//               /included   uint8   [nTilts]
//               /beamCentre float64 [nTilts, 2]   (cx, cy) detector pixels, pixel centres at integers; NaN = none
//               /doseScale  float64 [nTilts]
//               /sharedSignalFraction float64 [nTilts]
//               /purity, /probePurity, /signalPurity  float64 [nTilts]   purity against every segmented particle
//                                                                      (README "Purity"; NaN = not measured)
//               /backgroundPattern float32 [nTilts, nqy, nqx]   per-probe mean ring pattern (ring background only)
//               /ringProbeCount    int32 [nTilts]              (ring background only)
//     attrs: id, name, statistic ('sum' | 'mean'), background ('none' | 'ring'), ringWidth
//
// In Python: `h5py.File('extracted.h5')['object_1/frames'][()]` is the (nTilts, nqy, nqx) stack.
// Written to a temporary name and renamed when closed (ARCHITECTURE §6: nothing partial).

import { withAtomicFile } from '../atomic';
import { h5lib } from '../h5';

import type { ExportCalibration } from './geometry';
import type { ExtractedSeries } from '../../../src-shared/domain';

export interface Hdf5ExportOptions {
  /** Overrides/extends what each series' calibration records. */
  calibration?: Partial<ExportCalibration>;
}

export async function writeExtractedHdf5(path: string, series: readonly ExtractedSeries[], opts: Hdf5ExportOptions = {}): Promise<void> {
  const h5 = await h5lib();
  await withAtomicFile(path, (tmp) => {
    const f = new h5.File(tmp, 'w');
    try {
      f.create_attribute('creator', 'trackED');
      f.create_attribute('version', 1);
      const cal = { ...(series[0]?.calibration ?? {}), ...opts.calibration };
      const num = (k: string, v: number | undefined): void => {
        if (v !== undefined && Number.isFinite(v)) f.create_attribute(k, v);
      };
      num('wavelengthA', cal.wavelengthA);
      num('reciprocalPixelInvA', cal.reciprocalPixelInvA);
      num('voltageKV', series[0]?.calibration.voltageKV);
      num('realPixelNm', series[0]?.calibration.realPixelNm);
      num('rotationAxisDeg', cal.rotationAxisDeg);
      for (const s of series) {
        const [nqy, nqx] = s.detectorShape;
        const g = f.create_group(`object_${s.objectId}`);
        g.create_attribute('id', s.objectId);
        g.create_attribute('name', s.name);
        g.create_attribute('statistic', s.statistic);
        g.create_attribute('background', s.background.method);
        g.create_attribute('ringWidth', s.background.ringWidth);
        g.create_dataset({ name: 'frames', data: s.frames, shape: [s.nTilts, nqy, nqx], dtype: '<f' });
        g.create_dataset({ name: 'angleDeg', data: s.anglesDeg, shape: [s.nTilts], dtype: '<d' });
        g.create_dataset({ name: 'probeCount', data: s.probeCount, shape: [s.nTilts], dtype: '<i' });
        g.create_dataset({ name: 'included', data: s.included, shape: [s.nTilts], dtype: '<B' });
        g.create_dataset({ name: 'beamCentre', data: s.beamCentre, shape: [s.nTilts, 2], dtype: '<d' });
        g.create_dataset({ name: 'doseScale', data: s.doseScale, shape: [s.nTilts], dtype: '<d' });
        g.create_dataset({ name: 'sharedSignalFraction', data: s.sharedSignalFraction, shape: [s.nTilts], dtype: '<d' });
        if (s.purity) {
          g.create_dataset({ name: 'purity', data: s.purity.purity, shape: [s.nTilts], dtype: '<d' });
          g.create_dataset({ name: 'probePurity', data: s.purity.probes, shape: [s.nTilts], dtype: '<d' });
          g.create_dataset({ name: 'signalPurity', data: s.purity.signal, shape: [s.nTilts], dtype: '<d' });
        }
        if (s.background.pattern) {
          g.create_dataset({ name: 'backgroundPattern', data: s.background.pattern, shape: [s.nTilts, nqy, nqx], dtype: '<f' });
          g.create_dataset({ name: 'ringProbeCount', data: s.background.ringProbeCount, shape: [s.nTilts], dtype: '<i' });
        }
      }
    } finally {
      f.close();
    }
  });
}
