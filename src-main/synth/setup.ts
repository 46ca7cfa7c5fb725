// The fixed part of a synthetic series: sizes checked, detector and dose geometry derived from the preset, the
// scene (particles, drift) built from the seed, each particle's reflections enumerated, and the backgrounds and
// direct-beam stamp every frame shares. Everything the per-tilt rendering (./render-tilt.ts) and the truth files
// (./write-truth.ts) read.
import { ParameterError } from '../../src-shared/errors';
import { cellVolumeA3 } from '../crystallography/lattice';
import { matVec, type Vec3 } from '../crystallography/math3';
import { enumerateReflections, prepareStructureFactorModel, structureFactorsSquared } from '../crystallography/structure-factor';
import { electronWavelengthA, lorentzGamma } from '../crystallography/wavelength';
import { diffuseFrame, diskStamp, filmFrame, type DetectorSetup, type ParticleReflections, type Stamp } from './pattern';
import { PRESETS, SIZES, SIZE_NAMES, tiltAnglesDeg, type PresetName, type PresetSpec, type SizeName, type SizeSpec } from './presets';
import { AliasTable } from './render';
import { Rng, mixSeed } from './prng';
import { buildScene, driftSeries, type Particle } from './scene';

/** A named size (the preset's own when it has one) or an explicit size, checked. */
export function resolveSize(size: SizeName | SizeSpec, preset?: PresetSpec): { name: string; spec: SizeSpec } {
  if (typeof size === 'string') {
    if (!(SIZE_NAMES as readonly string[]).includes(size)) throw new ParameterError('size', `unknown size '${size}' (use ${SIZE_NAMES.join(', ')})`);
    return { name: size, spec: preset?.sizes?.[size] ?? SIZES[size] };
  }
  if (!size || typeof size !== 'object') throw new ParameterError('size', 'must be small, medium, large or a size object');
  const dims = [...(size.scanShape ?? []), ...(size.detectorShape ?? [])];
  if (dims.length !== 4 || !dims.every((d) => Number.isInteger(d) && d >= 4 && d <= 4096)) {
    throw new ParameterError('size', 'scanShape and detectorShape must be integers between 4 and 4096');
  }
  if (!Number.isInteger(size.nTilts) || size.nTilts < 1 || size.nTilts > 2001) throw new ParameterError('size.nTilts', `must be 1…2001 (got ${size.nTilts})`);
  if (!(size.tiltStepDeg >= 0) || (size.nTilts - 1) * size.tiltStepDeg > 180) throw new ParameterError('size.tiltStepDeg', 'tilt range must stay within ±90°');
  return { name: 'custom', spec: size };
}

/** A version-4-shaped UUID drawn from a seed, so that reruns with the same seed write the same attributes. */
export function seededUuid(seed: number): string {
  const rng = new Rng(seed);
  const hex = Array.from({ length: 4 }, () => rng.nextU32().toString(16).padStart(8, '0')).join('');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export type Reflections = ParticleReflections & { dInvA: Float64Array };

/** Reflection data of a particle to the detector corner's resolution. */
function particleReflections(p: Particle, setup: DetectorSetup): Reflections {
  const corner = Math.max(
    Math.hypot(setup.cx, setup.cy),
    Math.hypot(setup.nqx - 1 - setup.cx, setup.cy),
    Math.hypot(setup.cx, setup.nqy - 1 - setup.cy),
    Math.hypot(setup.nqx - 1 - setup.cx, setup.nqy - 1 - setup.cy),
  );
  const qMax = (corner + setup.diskRadiusPx + 2) * setup.pixelInvA;
  const list = enumerateReflections(p.structure.cell, 1 / qMax);
  const model = prepareStructureFactorModel(p.structure);
  const f2 = structureFactorsSquared(model, list);
  const v = cellVolumeA3(p.structure.cell);
  const k = (setup.wavelengthA * setup.gamma) / v;
  const strength = new Float64Array(list.count);
  const g0 = new Float64Array(list.count * 3);
  for (let i = 0; i < list.count; i++) {
    strength[i] = k * k * f2[i]!;
    const g = matVec(p.ub, [list.hkl[3 * i]!, list.hkl[3 * i + 1]!, list.hkl[3 * i + 2]!]);
    g0.set(g, 3 * i);
  }
  return { count: list.count, hkl: list.hkl, g0, f2, strength, dInvA: list.dInvA };
}

/** Everything fixed for the whole series. */
export interface SynthSetup {
  preset: PresetSpec;
  sizeName: string;
  size: SizeSpec;
  seed: number;
  noise: boolean;
  ny: number;
  nx: number;
  nqy: number;
  nqx: number;
  nTilts: number;
  anglesDeg: number[];
  wavelengthA: number;
  realPixelNm: number;
  detector: DetectorSetup;
  particles: Particle[];
  drift: Vec3[];
  reflections: Reflections[];
  /** Electrons per probe position. */
  electronsPerProbe: number;
  dosePerScan: number;
  criticalDose: number;
  /** Remaining Bragg strength at tilt i (dose fading). */
  fadeAt(tilt: number): number;
  film: ReturnType<typeof filmFrame>;
  diffuse: ReturnType<typeof diffuseFrame>;
  direct: Stamp;
  filmAlias: AliasTable;
  diffuseAlias: AliasTable;
}

export function makeSetup(presetName: PresetName, size: SizeName | SizeSpec, seed: number, noise: boolean): SynthSetup {
  const preset = PRESETS[presetName];
  const { name: sizeName, spec } = resolveSize(size, preset);
  const [ny, nx] = spec.scanShape;
  const [nqy, nqx] = spec.detectorShape;
  const nTilts = spec.nTilts;
  const wavelengthA = electronWavelengthA(preset.voltageKV);
  const realPixelNm = preset.fovNm / nx;
  const pixelInvA = preset.detectorEdgeInvA / (Math.min(nqx, nqy) / 2);
  const convergenceRad = preset.convergenceMrad * 1e-3;
  const diskRadiusPx = convergenceRad / wavelengthA / pixelInvA;
  // The beam centre sits a little off the middle, as it does on a real detector.
  const cx = (nqx - 1) / 2 + 0.31;
  const cy = (nqy - 1) / 2 - 0.23;
  const detector: DetectorSetup = {
    nqy, nqx, cx, cy, pixelInvA, wavelengthA, gamma: lorentzGamma(preset.voltageKV), convergenceRad, diskRadiusPx,
    psfSigmaPx: 0.5,
    bfRadiusPx: diskRadiusPx + 1.5,
    adfInnerPx: Math.max(3 * diskRadiusPx, 0.1 / pixelInvA),
    adfOuterPx: Math.min(nqx, nqy) / 2 - 1,
  };
  const particles = buildScene(preset, mixSeed(seed, 1));
  const N0 = preset.electronsPerProbe;
  // Dose per scan over the area of one probe step (e/Å²) and the critical dose giving the preset's fading.
  const dosePerScan = N0 / (realPixelNm * 10) ** 2;
  const criticalDose = preset.fadeRemainingAtEnd < 1 && nTilts > 1 ? ((nTilts - 1) * dosePerScan) / Math.log(1 / preset.fadeRemainingAtEnd) : Infinity;
  const film = filmFrame(detector);
  const diffuse = diffuseFrame(detector);
  return {
    preset, sizeName, size: spec, seed, noise, ny, nx, nqy, nqx, nTilts,
    anglesDeg: tiltAnglesDeg(spec),
    wavelengthA,
    realPixelNm,
    detector,
    particles,
    drift: driftSeries(nTilts, preset.driftStepNm, mixSeed(seed, 2)),
    reflections: particles.map((p) => particleReflections(p, detector)),
    electronsPerProbe: N0,
    dosePerScan,
    criticalDose,
    fadeAt: (tilt) => (Number.isFinite(criticalDose) ? Math.exp(-(tilt * dosePerScan) / criticalDose) : 1),
    film,
    diffuse,
    direct: diskStamp(detector, cx, cy),
    filmAlias: new AliasTable(film.frame),
    diffuseAlias: new AliasTable(diffuse.frame),
  };
}
