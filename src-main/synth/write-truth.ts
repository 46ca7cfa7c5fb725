// The ground truth of a synthetic series (docs/ARCHITECTURE.md, "Contracts": truth/) and its manifests: truth.json,
// F2_<id>.json, masks.h5, virtual.h5, signal.h5, scene.json, then series.json last (its presence means the series is
// complete). Every file is written atomically; each name written is pushed to `created` so a failed run can remove
// what it wrote.
import { join } from 'node:path';
import { EMD_DATASET_PATH } from '../io/write-emd';
import type { SynthTruth } from './render-tilt';
import type { SynthSetup } from './setup';
import { truthPath, writeF2Json, writeJsonAtomic, writeStacksH5, type TruthJson } from './truth';

export async function writeTruthFiles(s: SynthSetup, truth: SynthTruth, outDir: string, created: string[]): Promise<void> {
  const { particles, nTilts, ny, nx, detector } = s;
  const t: TruthJson = {
    version: 1,
    wavelengthA: s.wavelengthA,
    reciprocalPixelInvA: detector.pixelInvA,
    rotationAxisDeg: s.preset.rotationAxisDeg,
    beamCentre: [detector.cx, detector.cy],
    particles: particles.map((p) => ({ id: p.id, structure: p.structureFile, cell: { ...p.structure.cell }, UB: p.ub, spaceGroup: p.structure.spaceGroup })),
  };
  writeJsonAtomic(truthPath(outDir, 'truth.json'), t);
  created.push('truth/truth.json');
  particles.forEach((p, pi) => {
    const r = s.reflections[pi]!;
    writeF2Json(truthPath(outDir, `F2_${p.id}.json`), r.hkl, r.f2, r.dInvA);
    created.push(`truth/F2_${p.id}.json`);
  });
  const angleDeg = Float64Array.from(s.anglesDeg);
  const shape: [number, number, number] = [nTilts, ny, nx];
  await writeStacksH5(
    truthPath(outDir, 'masks.h5'),
    particles.map((p, pi) => ({
      name: `object_${p.id}`,
      data: truth.masks[pi]!,
      shape,
      attrs: { name: `particle ${p.id} (${p.structureFile.replace(/\.cif$/, '')})`, angleDeg },
    })),
  );
  created.push('truth/masks.h5');
  await writeStacksH5(
    truthPath(outDir, 'virtual.h5'),
    [
      {
        name: 'bf',
        data: truth.vBf,
        shape,
        attrs: {
          detector: `bf:${detector.bfRadiusPx.toFixed(3)}`,
          description: 'noise-free expected counts inside a disk of radius bfRadiusPx about the beam centre',
          bfRadiusPx: detector.bfRadiusPx,
          angleDeg,
        },
      },
      {
        name: 'adf',
        data: truth.vAdf,
        shape,
        attrs: {
          detector: `adf:${detector.adfInnerPx.toFixed(3)},${detector.adfOuterPx.toFixed(3)}`,
          description: 'noise-free expected counts in the annulus adfInnerPx…adfOuterPx about the beam centre',
          adfInnerPx: detector.adfInnerPx,
          adfOuterPx: detector.adfOuterPx,
          angleDeg,
        },
      },
      ...particles.map((p, pi) => ({
        name: `thickness_${p.id}`,
        data: truth.thickness[pi]!,
        shape,
        attrs: { units: 'nm', description: 'projected thickness along the beam', angleDeg },
      })),
    ],
    { beamCentreX: detector.cx, beamCentreY: detector.cy },
  );
  created.push('truth/virtual.h5');
  await writeStacksH5(
    truthPath(outDir, 'signal.h5'),
    particles.map((p, pi) => ({
      name: `object_${p.id}`,
      data: truth.braggSignal[pi]!,
      shape,
      attrs: {
        name: 'expected Bragg counts of this particle',
        units: 'counts',
        description:
          "noise-free expected counts on the detector in the disks of this particle's reflections at each probe position " +
          '(direct beam, film and diffuse background excluded; before Poisson sampling and the uint16 clip)',
        angleDeg,
      },
    })),
  );
  created.push('truth/signal.h5');
  writeJsonAtomic(truthPath(outDir, 'scene.json'), sceneJson(s));
  created.push('truth/scene.json');
}

/** scene.json: everything else a test may want (shapes, drift, dose, fading) and what each truth file holds. */
function sceneJson(s: SynthSetup): unknown {
  const { preset, detector } = s;
  return {
    version: 1,
    preset: preset.name,
    description: preset.description,
    size: s.sizeName,
    seed: s.seed,
    noise: s.noise,
    voltageKV: preset.voltageKV,
    wavelengthA: s.wavelengthA,
    convergenceMrad: preset.convergenceMrad,
    diskRadiusPx: detector.diskRadiusPx,
    psfSigmaPx: detector.psfSigmaPx,
    beamCentre: [detector.cx, detector.cy],
    reciprocalPixelInvA: detector.pixelInvA,
    realPixelNm: s.realPixelNm,
    scanShape: [s.ny, s.nx],
    detectorShape: [s.nqy, s.nqx],
    electronsPerProbe: s.electronsPerProbe,
    dosePerScanEPerA2: s.dosePerScan,
    criticalDoseEPerA2: Number.isFinite(s.criticalDose) ? s.criticalDose : null,
    fade: s.anglesDeg.map((_, i) => s.fadeAt(i)),
    angleDeg: s.anglesDeg,
    driftNm: s.drift.map((d) => [d[0], d[1]]),
    virtualDetectors: { bfRadiusPx: detector.bfRadiusPx, adfInnerPx: detector.adfInnerPx, adfOuterPx: detector.adfOuterPx },
    truthFiles: {
      'truth.json': 'wavelength, calibration, beam centre, per-particle cell, UB and space group',
      'masks.h5': 'object_<id>: uint8 [nTilts, ny, nx], 1 where the particle has non-zero projected thickness',
      'F2_<id>.json': 'kinematic |F|² of every reflection to the detector corner: [[h, k, l, F2, dA], …]',
      'virtual.h5': 'bf, adf: noise-free virtual images; thickness_<id>: projected thickness (nm), float32 [nTilts, ny, nx]',
      'signal.h5':
        'object_<id>: float32 [nTilts, ny, nx], expected Bragg counts this particle puts on the detector at each probe ' +
        'position (its reflections only; direct beam and backgrounds excluded; noise-free)',
      'scene.json': 'this file',
    },
    particles: s.particles.map((p) => ({
      id: p.id,
      structure: p.structureFile,
      shape: p.shape.kind,
      semiAxesNm: p.shape.semiAxesNm,
      centreNm: p.centreNm,
      bodyRotation: p.bodyRotation,
      U: p.u,
    })),
    geometry:
      'lab frame of docs/ARCHITECTURE.md (conventions); probe (ry, rx) at x = (rx − (nx−1)/2)·realPixelNm, y = (ry − (ny−1)/2)·realPixelNm; ' +
      'particle centre at tilt i = R(angle_i)·centreNm + driftNm[i]; body → lab = R(angle_i)·bodyRotation; q_lab = R·UB·h',
  };
}

/** series.json (and series-mib.json with MIB files), the manifest last: its presence means the series is complete. */
export function writeManifests(s: SynthSetup, tiltFiles: string[], outDir: string, mib: boolean, created: string[]): void {
  const manifest = (ext: string): unknown => ({
    version: 1,
    voltageKV: s.preset.voltageKV,
    reciprocalPixelInvA: s.detector.pixelInvA,
    realPixelNm: s.realPixelNm,
    rotationAxisDeg: s.preset.rotationAxisDeg,
    tilts: tiltFiles.map((f, i) => ({ file: f.replace(/\.h5$/, ext), angleDeg: s.anglesDeg[i]!, dataset: ext === '.h5' ? EMD_DATASET_PATH : null })),
  });
  if (mib) {
    writeJsonAtomic(join(outDir, 'series-mib.json'), manifest('.mib'));
    created.push('series-mib.json');
  }
  writeJsonAtomic(join(outDir, 'series.json'), manifest('.h5'));
  created.push('series.json');
}
