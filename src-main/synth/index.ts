// trackED's synthetic 4D-STEM tomography generator (issue 3). One call writes a tilt series (series.json +
// one EMD 1.0 HDF5 file per tilt, optionally .mib files) and its ground truth (truth/) into outDir.
//
// Per tilt: rotate the specimen by R(α) about the goniometer axis, add the drift, compute each particle's
// projected-thickness map over the scan, plan its excited reflections (pattern.ts), then stream the scan a
// block of rows at a time: for every probe position sum the precomputed stamps scaled by the thickness
// terms (Float32), draw Poisson counts, and hand the block to the HDF5 (and MIB) writer. Memory stays
// bounded by one block whatever the size; every file appears only when complete (temp + rename), and a
// cancelled or failed run removes what it had written.
//
// Per-particle signal truth (truth/signal.h5): in the same loop that gathers a position's stamps, each
// particle's Bragg amplitudes (expected counts of its excited reflections, times the fraction of each disk
// that lands on the detector) are summed into signal_p[tilt, ry, rx] — exactly the numbers the renderer
// scales its stamps by before Poisson sampling (direct beam, film and diffuse background excluded), so
// Σ_p signal_p is the Bragg part of the pattern's expected total. Tests of extraction use it as the true
// diffraction signal each particle puts at each probe position.
import { mkdirSync, rmdirSync, statSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledError, ParameterError, InputError, throwIfAborted } from '../../src-shared/errors';
import { electronWavelengthA, lorentzGamma } from '../crystallography/wavelength';
import { cellVolumeA3 } from '../crystallography/lattice';
import { matMul, matVec, transpose, add, type Vec3 } from '../crystallography/math3';
import { goniometerRotation } from '../crystallography/geometry';
import { enumerateReflections, prepareStructureFactorModel, structureFactorsSquared } from '../crystallography/structure-factor';
import { EmdCubeWriter, EMD_DATASET_PATH } from '../io/write-emd';
import { MibWriter } from '../io/write-mib';
import { removeQuietly } from '../io/atomic';
import { PRESETS, PRESET_NAMES, SIZES, SIZE_NAMES, dataBytes, tiltAnglesDeg, type PresetName, type SizeName, type SizeSpec } from './presets';
import { buildScene, driftSeries, type Particle } from './scene';
import { chordLength } from './shapes';
import { diffuseFrame, diskStamp, filmFrame, planParticleTilt, type DetectorSetup, type ParticleReflections, type ParticleTiltPlan, type Stamp } from './pattern';
import { AliasTable, addSpreadCounts, addStampCounts, addStampExpected } from './render';
import { Rng, mixSeed } from './prng';
import { truthPath, writeF2Json, writeJsonAtomic, writeStacksH5, type TruthJson } from './truth';

export { PRESET_NAMES, SIZE_NAMES, PRESETS, SIZES, tiltAnglesDeg, type PresetName, type SizeName, type SizeSpec } from './presets';

export interface SynthOptions {
  preset: PresetName;
  /** A named size, or an explicit one (tests use tiny ones). */
  size: SizeName | SizeSpec;
  outDir: string;
  /** 32-bit unsigned integer; default 1. */
  seed?: number;
  /** Also write tilt_NNN.mib (+ .hdr) per tilt and series-mib.json. */
  mib?: boolean;
  /** false: write the rounded expected counts instead of Poisson samples (for tests of geometry). Default true. */
  noise?: boolean;
}

export interface SynthContext {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, stage: string) => void;
}

export interface SynthSummary {
  preset: PresetName;
  size: string;
  seed: number;
  nTilts: number;
  scanShape: [number, number];
  detectorShape: [number, number];
  dtype: 'uint16';
  /** Bytes of all files written. */
  bytesWritten: number;
  /** Files written, relative to outDir. */
  files: string[];
  /** The manifest to open (relative to outDir). */
  manifest: string;
  particles: { id: number; structure: string; shape: string; semiAxesNm: Vec3 }[];
  seconds: number;
  probePositionsPerSecond: number;
}

/** Scan rows per block: as many as fit in ~32 MB of uint16 frames (at least one). */
const BLOCK_BYTES = 32 * 1024 * 1024;

function resolveSize(size: SynthOptions['size']): { name: string; spec: SizeSpec } {
  if (typeof size === 'string') {
    if (!(SIZE_NAMES as readonly string[]).includes(size)) throw new ParameterError('size', `unknown size '${size}' (use ${SIZE_NAMES.join(', ')})`);
    return { name: size, spec: SIZES[size] };
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
function seededUuid(seed: number): string {
  const rng = new Rng(seed);
  const hex = Array.from({ length: 4 }, () => rng.nextU32().toString(16).padStart(8, '0')).join('');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Reflection data of a particle to the detector corner's resolution. */
function particleReflections(p: Particle, setup: DetectorSetup): ParticleReflections & { dInvA: Float64Array } {
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

/** Generates a synthetic series with ground truth. See the module header. */
export async function synthesize(opts: SynthOptions, ctx: SynthContext = {}): Promise<SynthSummary> {
  const t0 = performance.now();
  if (!opts || typeof opts !== 'object') throw new ParameterError('options', 'missing');
  if (!(PRESET_NAMES as readonly string[]).includes(opts.preset)) {
    throw new ParameterError('preset', `unknown preset '${String(opts.preset)}' (use ${PRESET_NAMES.join(', ')})`);
  }
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new ParameterError('seed', `must be an integer 0…4294967295 (got ${seed})`);
  if (typeof opts.outDir !== 'string' || opts.outDir.trim() === '') throw new ParameterError('outDir', 'must be a folder path');
  const { name: sizeName, spec: size } = resolveSize(opts.size);
  const preset = PRESETS[opts.preset];
  const noise = opts.noise !== false;
  const signal = ctx.signal;
  throwIfAborted(signal);

  const outDir = opts.outDir;
  try {
    mkdirSync(join(outDir, 'truth'), { recursive: true });
  } catch (e) {
    throw new InputError(outDir, `cannot create the output folder: ${(e as Error).message}`);
  }
  const needed = dataBytes(size) * (opts.mib ? 2 : 1);
  try {
    const st = statfsSync(outDir);
    const free = Number(st.bavail) * Number(st.bsize);
    if (free < needed * 1.02 + 64e6) {
      throw new InputError(outDir, `needs ${(needed / 1e9).toFixed(1)} GB, only ${(free / 1e9).toFixed(1)} GB free`);
    }
  } catch (e) {
    if (e instanceof InputError) throw e; // statfs unsupported: go on
  }

  const [ny, nx] = size.scanShape;
  const [nqy, nqx] = size.detectorShape;
  const nTilts = size.nTilts;
  const angles = tiltAnglesDeg(size);
  const wavelengthA = electronWavelengthA(preset.voltageKV);
  const gamma = lorentzGamma(preset.voltageKV);
  const realPixelNm = preset.fovNm / nx;
  const pixelInvA = preset.detectorEdgeInvA / (Math.min(nqx, nqy) / 2);
  const convergenceRad = preset.convergenceMrad * 1e-3;
  const diskRadiusPx = convergenceRad / wavelengthA / pixelInvA;
  // The beam centre sits a little off the middle, as it does on a real detector.
  const cx = (nqx - 1) / 2 + 0.31;
  const cy = (nqy - 1) / 2 - 0.23;
  const setup: DetectorSetup = {
    nqy,
    nqx,
    cx,
    cy,
    pixelInvA,
    wavelengthA,
    gamma,
    convergenceRad,
    diskRadiusPx,
    psfSigmaPx: 0.5,
    bfRadiusPx: diskRadiusPx + 1.5,
    adfInnerPx: Math.max(3 * diskRadiusPx, 0.1 / pixelInvA),
    adfOuterPx: Math.min(nqx, nqy) / 2 - 1,
  };

  const particles = buildScene(preset, mixSeed(seed, 1));
  const drift = driftSeries(nTilts, preset.driftStepNm, mixSeed(seed, 2));
  const reflections = particles.map((p) => particleReflections(p, setup));
  const N0 = preset.electronsPerProbe;
  // Dose per scan over the area of one probe step (e/Å²) and the critical dose giving the preset's fading.
  const dosePerScan = N0 / (realPixelNm * 10) ** 2;
  const criticalDose = preset.fadeRemainingAtEnd < 1 && nTilts > 1 ? ((nTilts - 1) * dosePerScan) / Math.log(1 / preset.fadeRemainingAtEnd) : Infinity;
  const fadeAt = (tilt: number): number => (Number.isFinite(criticalDose) ? Math.exp(-(tilt * dosePerScan) / criticalDose) : 1);

  const film = filmFrame(setup);
  const diffuse = diffuseFrame(setup);
  const direct = diskStamp(setup, cx, cy);
  const nq = nqy * nqx;
  const filmN = preset.filmFraction * N0;
  const filmAlias = new AliasTable(film.frame);
  const diffuseAlias = new AliasTable(diffuse.frame);
  const counts = new Uint32Array(nq);
  const expected = new Float32Array(nq);
  const actStamp: Stamp[] = [];
  const actAmp: number[] = [];

  const nPos = ny * nx;
  const masks = particles.map(() => new Uint8Array(nTilts * nPos));
  const thickness = particles.map(() => new Float32Array(nTilts * nPos));
  /** Expected Bragg counts on the detector per particle, tilt and probe position (truth/signal.h5). */
  const braggSignal = particles.map(() => new Float32Array(nTilts * nPos));
  const vBf = new Float32Array(nTilts * nPos);
  const vAdf = new Float32Array(nTilts * nPos);

  const rowsPerBlock = Math.max(1, Math.min(ny, Math.floor(BLOCK_BYTES / (nx * nq * 2))));
  const blocksPerTilt = Math.ceil(ny / rowsPerBlock);
  const totalSteps = nTilts * blocksPerTilt + 1;
  let step = 0;
  const progress = (stage: string): void => ctx.onProgress?.(step, totalSteps, stage);

  const created: string[] = [];
  let emd: EmdCubeWriter | null = null;
  let mib: MibWriter | null = null;
  const tiltFiles: string[] = [];
  const start = new Date(Date.UTC(2024, 0, 15, 9, 0, 0) + (seed % 100000) * 1000);

  try {
    for (let ti = 0; ti < nTilts; ti++) {
      throwIfAborted(signal);
      const angleDeg = angles[ti]!;
      const rot = goniometerRotation(preset.rotationAxisDeg, angleDeg);
      const fade = fadeAt(ti);
      // Thickness maps and plans per particle.
      const tMaps: Float32Array[] = [];
      const plans: ParticleTiltPlan[] = [];
      const damage: number[] = [];
      particles.forEach((p, pi) => {
        const m = matMul(rot, p.bodyRotation);
        const mT = transpose(m);
        const centre = add(matVec(rot, p.centreNm), drift[ti]!);
        const dir = matVec(mT, [0, 0, 1]);
        const map = thickness[pi]!.subarray(ti * nPos, (ti + 1) * nPos);
        const mask = masks[pi]!.subarray(ti * nPos, (ti + 1) * nPos);
        let tMax = 0;
        for (let ry = 0; ry < ny; ry++) {
          const y = (ry - (ny - 1) / 2) * realPixelNm;
          for (let rx = 0; rx < nx; rx++) {
            const x = (rx - (nx - 1) / 2) * realPixelNm;
            const o = matVec(mT, [x - centre[0], y - centre[1], -centre[2]]);
            const t = chordLength(p.shape, o, dir);
            map[ry * nx + rx] = t;
            if (t > 0) mask[ry * nx + rx] = 1;
            if (t > tMax) tMax = t;
          }
        }
        tMaps.push(map);
        plans.push(planParticleTilt(setup, reflections[pi]!, rot, { maxThicknessNm: tMax, electronsPerProbe: N0, minCounts: 0.02, fade }));
        // Damaged (amorphised) material scatters diffusely instead of into Bragg peaks.
        damage.push(1 + 1.5 * (1 - fade));
      });

      const file = `tilt_${String(ti).padStart(3, '0')}.h5`;
      tiltFiles.push(file);
      emd = await EmdCubeWriter.create({
        path: join(outDir, file),
        scanShape: [ny, nx],
        detectorShape: [nqy, nqx],
        dtype: 'uint16',
        realPixelNm,
        reciprocalPixelInvA: pixelInvA,
        uuid: seededUuid(mixSeed(seed, 5000 + ti)),
        acquisition: {
          voltage_kV: preset.voltageKV,
          wavelength_A: wavelengthA,
          tilt_angle_deg: angleDeg,
          rotation_axis_deg: preset.rotationAxisDeg,
          convergence_semiangle_mrad: preset.convergenceMrad,
          dwell_time_s: preset.dwellS,
          electrons_per_probe: N0,
          synthetic: 'trackED synth',
        },
      });
      if (opts.mib) {
        mib = new MibWriter({
          path: join(outDir, file.replace(/\.h5$/, '.mib')),
          detectorShape: [nqy, nqx],
          dtype: 'uint16',
          scanShape: [ny, nx],
          exposureS: preset.dwellS,
          start: new Date(start.getTime() + ti * 600_000),
        });
      }
      const rng = new Rng(mixSeed(seed, 1000 + ti));
      const block = emd.allocateRows(rowsPerBlock) as Uint16Array;
      for (let r0 = 0; r0 < ny; r0 += rowsPerBlock) {
        throwIfAborted(signal);
        const nRows = Math.min(rowsPerBlock, ny - r0);
        for (let ry = r0; ry < r0 + nRows; ry++) {
          for (let rx = 0; rx < nx; rx++) {
            const j = ry * nx + rx;
            // Gather this position's parts: (stamp, expected counts) per excited reflection.
            let tTot = 0;
            let diffuseFrac = 0;
            let braggFrac = 0;
            let bf = 0;
            let adf = 0;
            let nAct = 0;
            for (let pi = 0; pi < particles.length; pi++) {
              const t = tMaps[pi]![j]!;
              if (t <= 0) continue;
              tTot += t;
              diffuseFrac += preset.diffusePerNm * t * damage[pi]!;
              const plan = plans[pi]!;
              const nb = plan.nBins;
              const fb = t / plan.binNm;
              const b0 = Math.min(Math.floor(fb), nb - 2);
              const fr = fb - b0;
              const tab = plan.table;
              let own = 0;
              for (let k = 0; k < plan.nRefl; k++) {
                const I = tab[k * nb + b0]! * (1 - fr) + tab[k * nb + b0 + 1]! * fr;
                const amp = I * N0;
                if (amp < 1e-3) continue;
                braggFrac += I;
                const st = plan.stamps[k]!;
                if (nAct === actStamp.length) {
                  actStamp.push(st);
                  actAmp.push(amp);
                } else {
                  actStamp[nAct] = st;
                  actAmp[nAct] = amp;
                }
                nAct++;
                bf += amp * st.bf;
                adf += amp * st.adf;
                own += amp * st.total;
              }
              braggSignal[pi]![ti * nPos + j] = own;
            }
            const trans = Math.max(0.03, (1 - preset.filmFraction) * Math.exp(-tTot / preset.absorptionLengthNm) - braggFrac - diffuseFrac);
            const dAmp = trans * N0;
            const dN = diffuseFrac * N0;
            bf += dAmp * direct.bf + filmN * film.bf + dN * diffuse.bf;
            adf += dAmp * direct.adf + filmN * film.adf + dN * diffuse.adf;
            vBf[ti * nPos + j] = bf;
            vAdf[ti * nPos + j] = adf;
            const off = ((ry - r0) * nx + rx) * nq;
            if (noise) {
              counts.fill(0);
              addSpreadCounts(counts, filmAlias, filmN, rng);
              if (dN > 0) addSpreadCounts(counts, diffuseAlias, dN, rng);
              addStampCounts(counts, direct, dAmp, rng);
              for (let k = 0; k < nAct; k++) addStampCounts(counts, actStamp[k]!, actAmp[k]!, rng);
              for (let i = 0; i < nq; i++) {
                const v = counts[i]!;
                block[off + i] = v > 65535 ? 65535 : v;
              }
            } else {
              for (let i = 0; i < nq; i++) expected[i] = filmN * film.frame[i]! + dN * diffuse.frame[i]!;
              addStampExpected(expected, direct, dAmp);
              for (let k = 0; k < nAct; k++) addStampExpected(expected, actStamp[k]!, actAmp[k]!);
              for (let i = 0; i < nq; i++) {
                const v = Math.round(expected[i]!);
                block[off + i] = v > 65535 ? 65535 : v;
              }
            }
          }
        }
        const data = block.subarray(0, nRows * nx * nq);
        emd.writeRows(data);
        mib?.writeFrames(data);
        step++;
        progress(`tilt ${ti + 1}/${nTilts}`);
        // Let progress events and cancellation through between blocks.
        await new Promise<void>((res) => setImmediate(res));
      }
      emd.close();
      emd = null;
      created.push(file);
      if (mib) {
        mib.close();
        mib = null;
        created.push(file.replace(/\.h5$/, '.mib'), file.replace(/\.h5$/, '.hdr'));
      }
    }

    // Ground truth.
    throwIfAborted(signal);
    const truth: TruthJson = {
      version: 1,
      wavelengthA,
      reciprocalPixelInvA: pixelInvA,
      rotationAxisDeg: preset.rotationAxisDeg,
      beamCentre: [cx, cy],
      particles: particles.map((p) => ({
        id: p.id,
        structure: p.structureFile,
        cell: { ...p.structure.cell },
        UB: p.ub,
        spaceGroup: p.structure.spaceGroup,
      })),
    };
    writeJsonAtomic(truthPath(outDir, 'truth.json'), truth);
    created.push('truth/truth.json');
    particles.forEach((p, pi) => {
      const r = reflections[pi]!;
      writeF2Json(truthPath(outDir, `F2_${p.id}.json`), r.hkl, r.f2, r.dInvA);
      created.push(`truth/F2_${p.id}.json`);
    });
    const angleArr = Float64Array.from(angles);
    await writeStacksH5(
      truthPath(outDir, 'masks.h5'),
      particles.map((p, pi) => ({
        name: `object_${p.id}`,
        data: masks[pi]!,
        shape: [nTilts, ny, nx],
        attrs: { name: `particle ${p.id} (${p.structureFile.replace(/\.cif$/, '')})`, angleDeg: angleArr },
      })),
    );
    created.push('truth/masks.h5');
    await writeStacksH5(
      truthPath(outDir, 'virtual.h5'),
      [
        {
          name: 'bf',
          data: vBf,
          shape: [nTilts, ny, nx],
          attrs: {
            detector: `bf:${setup.bfRadiusPx.toFixed(3)}`,
            description: 'noise-free expected counts inside a disk of radius bfRadiusPx about the beam centre',
            bfRadiusPx: setup.bfRadiusPx,
            angleDeg: angleArr,
          },
        },
        {
          name: 'adf',
          data: vAdf,
          shape: [nTilts, ny, nx],
          attrs: {
            detector: `adf:${setup.adfInnerPx.toFixed(3)},${setup.adfOuterPx.toFixed(3)}`,
            description: 'noise-free expected counts in the annulus adfInnerPx…adfOuterPx about the beam centre',
            adfInnerPx: setup.adfInnerPx,
            adfOuterPx: setup.adfOuterPx,
            angleDeg: angleArr,
          },
        },
        ...particles.map((p, pi) => ({
          name: `thickness_${p.id}`,
          data: thickness[pi]!,
          shape: [nTilts, ny, nx] as [number, number, number],
          attrs: { units: 'nm', description: 'projected thickness along the beam', angleDeg: angleArr },
        })),
      ],
      { beamCentreX: cx, beamCentreY: cy },
    );
    created.push('truth/virtual.h5');
    await writeStacksH5(
      truthPath(outDir, 'signal.h5'),
      particles.map((p, pi) => ({
        name: `object_${p.id}`,
        data: braggSignal[pi]!,
        shape: [nTilts, ny, nx] as [number, number, number],
        attrs: {
          name: 'expected Bragg counts of this particle',
          units: 'counts',
          description:
            'noise-free expected counts on the detector in the disks of this particle\'s reflections at each probe position ' +
            '(direct beam, film and diffuse background excluded; before Poisson sampling and the uint16 clip)',
          angleDeg: angleArr,
        },
      })),
    );
    created.push('truth/signal.h5');
    writeJsonAtomic(truthPath(outDir, 'scene.json'), {
      version: 1,
      preset: preset.name,
      description: preset.description,
      size: sizeName,
      seed,
      noise,
      voltageKV: preset.voltageKV,
      wavelengthA,
      convergenceMrad: preset.convergenceMrad,
      diskRadiusPx,
      psfSigmaPx: setup.psfSigmaPx,
      beamCentre: [cx, cy],
      reciprocalPixelInvA: pixelInvA,
      realPixelNm,
      scanShape: [ny, nx],
      detectorShape: [nqy, nqx],
      electronsPerProbe: N0,
      dosePerScanEPerA2: dosePerScan,
      criticalDoseEPerA2: Number.isFinite(criticalDose) ? criticalDose : null,
      fade: angles.map((_, i) => fadeAt(i)),
      angleDeg: angles,
      driftNm: drift.map((d) => [d[0], d[1]]),
      virtualDetectors: { bfRadiusPx: setup.bfRadiusPx, adfInnerPx: setup.adfInnerPx, adfOuterPx: setup.adfOuterPx },
      truthFiles: {
        'truth.json': 'wavelength, calibration, beam centre, per-particle cell, UB and space group (DESIGN §7)',
        'masks.h5': 'object_<id>: uint8 [nTilts, ny, nx], 1 where the particle has non-zero projected thickness',
        'F2_<id>.json': 'kinematic |F|² of every reflection to the detector corner: [[h, k, l, F2, dA], …]',
        'virtual.h5': 'bf, adf: noise-free virtual images; thickness_<id>: projected thickness (nm), float32 [nTilts, ny, nx]',
        'signal.h5':
          'object_<id>: float32 [nTilts, ny, nx], expected Bragg counts this particle puts on the detector at each probe ' +
          'position (its reflections only; direct beam and backgrounds excluded; noise-free)',
        'scene.json': 'this file',
      },
      particles: particles.map((p) => ({
        id: p.id,
        structure: p.structureFile,
        shape: p.shape.kind,
        semiAxesNm: p.shape.semiAxesNm,
        centreNm: p.centreNm,
        bodyRotation: p.bodyRotation,
        U: p.u,
      })),
      geometry:
        'lab frame of DESIGN §4; probe (ry, rx) at x = (rx − (nx−1)/2)·realPixelNm, y = (ry − (ny−1)/2)·realPixelNm; ' +
        'particle centre at tilt i = R(angle_i)·centreNm + driftNm[i]; body → lab = R(angle_i)·bodyRotation; q_lab = R·UB·h',
    });
    created.push('truth/scene.json');

    const manifest = (ext: string): unknown => ({
      version: 1,
      voltageKV: preset.voltageKV,
      reciprocalPixelInvA: pixelInvA,
      realPixelNm,
      rotationAxisDeg: preset.rotationAxisDeg,
      tilts: tiltFiles.map((f, i) => ({ file: f.replace(/\.h5$/, ext), angleDeg: angles[i]!, dataset: ext === '.h5' ? EMD_DATASET_PATH : null })),
    });
    if (opts.mib) {
      writeJsonAtomic(join(outDir, 'series-mib.json'), manifest('.mib'));
      created.push('series-mib.json');
    }
    // The manifest last: its presence means the series is complete.
    writeJsonAtomic(join(outDir, 'series.json'), manifest('.h5'));
    created.push('series.json');
    step++;
    progress('truth');
  } catch (e) {
    emd?.abort();
    mib?.abort();
    for (const f of created) removeQuietly(join(outDir, f));
    try {
      rmdirSync(join(outDir, 'truth')); // only if this run left it empty
    } catch {
      /* not empty or not ours */
    }
    if (signal?.aborted && !(e instanceof CancelledError)) throw new CancelledError();
    throw e;
  }

  const bytesWritten = created.reduce((s, f) => s + statSync(join(outDir, f)).size, 0);
  const seconds = (performance.now() - t0) / 1000;
  return {
    preset: preset.name,
    size: sizeName,
    seed,
    nTilts,
    scanShape: [ny, nx],
    detectorShape: [nqy, nqx],
    dtype: 'uint16',
    bytesWritten,
    files: created,
    manifest: 'series.json',
    particles: particles.map((p) => ({ id: p.id, structure: p.structureFile, shape: p.shape.kind, semiAxesNm: p.shape.semiAxesNm })),
    seconds,
    probePositionsPerSecond: (nTilts * nPos) / seconds,
  };
}

