// One tilt of a synthetic series: the specimen rotated by R(α) about the goniometer axis and shifted by the drift,
// each particle's projected-thickness map over the scan and the plan of its excited reflections (./pattern.ts), then
// the scan rendered a block of rows at a time: for every probe position the precomputed stamps summed, scaled by the
// thickness terms, and (with noise) drawn as Poisson counts.
//
// Per-particle signal truth (truth/signal.h5): in the same loop that gathers a position's stamps, each particle's
// Bragg amplitudes (expected counts of its excited reflections, times the fraction of each disk that lands on the
// detector) are summed into signal_p[tilt, ry, rx] — exactly the numbers the renderer scales its stamps by before
// Poisson sampling (direct beam, film and diffuse background excluded), so Σ_p signal_p is the Bragg part of the
// pattern's expected total.
import { add, matMul, matVec, transpose } from '../crystallography/math3';
import { goniometerRotation } from '../crystallography/geometry';
import { planParticleTilt, type ParticleTiltPlan, type Stamp } from './pattern';
import { addSpreadCounts, addStampCounts, addStampExpected } from './render';
import type { Rng } from './prng';
import type { SynthSetup } from './setup';
import { chordLength } from './shapes';

/** The truth the rendering fills in, per particle and for the whole series, [tilt, ry, rx]. */
export interface SynthTruth {
  masks: Uint8Array[];
  /** Projected thickness, nm. */
  thickness: Float32Array[];
  /** Expected Bragg counts on the detector per particle. */
  braggSignal: Float32Array[];
  /** Noise-free virtual bright field and annular dark field. */
  vBf: Float32Array;
  vAdf: Float32Array;
}

export function emptyTruth(s: SynthSetup): SynthTruth {
  const n = s.nTilts * s.ny * s.nx;
  return {
    masks: s.particles.map(() => new Uint8Array(n)),
    thickness: s.particles.map(() => new Float32Array(n)),
    braggSignal: s.particles.map(() => new Float32Array(n)),
    vBf: new Float32Array(n),
    vAdf: new Float32Array(n),
  };
}

/** A tilt ready to render: each particle's thickness map and reflection plan. */
export interface TiltScene {
  ti: number;
  thicknessMaps: Float32Array[];
  plans: ParticleTiltPlan[];
  /** Diffuse scattering factor per particle: damaged (amorphised) material scatters diffusely, not into Bragg peaks. */
  damage: number[];
}

/** Rotates and shifts the specimen for tilt ti, fills the truth's thickness maps and masks, plans the reflections. */
export function sceneAtTilt(s: SynthSetup, truth: SynthTruth, ti: number): TiltScene {
  const { ny, nx, realPixelNm } = s;
  const nPos = ny * nx;
  const rot = goniometerRotation(s.preset.rotationAxisDeg, s.anglesDeg[ti]!);
  const fade = s.fadeAt(ti);
  const scene: TiltScene = { ti, thicknessMaps: [], plans: [], damage: [] };
  s.particles.forEach((p, pi) => {
    const m = matMul(rot, p.bodyRotation);
    const mT = transpose(m);
    const centre = add(matVec(rot, p.centreNm), s.drift[ti]!);
    const dir = matVec(mT, [0, 0, 1]);
    const map = truth.thickness[pi]!.subarray(ti * nPos, (ti + 1) * nPos);
    const mask = truth.masks[pi]!.subarray(ti * nPos, (ti + 1) * nPos);
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
    scene.thicknessMaps.push(map);
    scene.plans.push(planParticleTilt(s.detector, s.reflections[pi]!, rot, { maxThicknessNm: tMax, electronsPerProbe: s.electronsPerProbe, minCounts: 0.02, fade }));
    scene.damage.push(1 + 1.5 * (1 - fade));
  });
  return scene;
}

/** Scratch a renderer reuses across positions. */
export interface RenderScratch {
  counts: Uint32Array;
  expected: Float32Array;
  stamps: Stamp[];
  amps: number[];
}

export function renderScratch(s: SynthSetup): RenderScratch {
  const nq = s.nqy * s.nqx;
  return { counts: new Uint32Array(nq), expected: new Float32Array(nq), stamps: [], amps: [] };
}

/**
 * Gathers the excited reflections of probe position j on this tilt into scratch.stamps/amps (returns how many) and
 * the truth: the particles' Bragg signal and the virtual BF/ADF. Returns the counts of the direct beam and diffuse
 * scattering the frame also gets.
 */
function gatherPosition(s: SynthSetup, scene: TiltScene, truth: SynthTruth, j: number, sc: RenderScratch): { nAct: number; directAmp: number; diffuseN: number } {
  const { preset, electronsPerProbe: N0 } = s;
  const at = scene.ti * s.ny * s.nx + j;
  let tTot = 0;
  let diffuseFrac = 0;
  let braggFrac = 0;
  let bf = 0;
  let adf = 0;
  let nAct = 0;
  for (let pi = 0; pi < s.particles.length; pi++) {
    const t = scene.thicknessMaps[pi]![j]!;
    if (t <= 0) continue;
    tTot += t;
    diffuseFrac += preset.diffusePerNm * t * scene.damage[pi]!;
    const plan = scene.plans[pi]!;
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
      sc.stamps[nAct] = st;
      sc.amps[nAct] = amp;
      nAct++;
      bf += amp * st.bf;
      adf += amp * st.adf;
      own += amp * st.total;
    }
    truth.braggSignal[pi]![at] = own;
  }
  const trans = Math.max(0.03, (1 - preset.filmFraction) * Math.exp(-tTot / preset.absorptionLengthNm) - braggFrac - diffuseFrac);
  const directAmp = trans * N0;
  const diffuseN = diffuseFrac * N0;
  const filmN = preset.filmFraction * N0;
  truth.vBf[at] = bf + directAmp * s.direct.bf + filmN * s.film.bf + diffuseN * s.diffuse.bf;
  truth.vAdf[at] = adf + directAmp * s.direct.adf + filmN * s.film.adf + diffuseN * s.diffuse.adf;
  return { nAct, directAmp, diffuseN };
}

/** Renders scan rows [r0, r0 + nRows) of the tilt into `block` (uint16 frames, row-major). */
export function renderRows(s: SynthSetup, scene: TiltScene, truth: SynthTruth, r0: number, nRows: number, block: Uint16Array, rng: Rng, sc: RenderScratch): void {
  const { nx } = s;
  const nq = s.nqy * s.nqx;
  const filmN = s.preset.filmFraction * s.electronsPerProbe;
  for (let ry = r0; ry < r0 + nRows; ry++) {
    for (let rx = 0; rx < nx; rx++) {
      const { nAct, directAmp, diffuseN } = gatherPosition(s, scene, truth, ry * nx + rx, sc);
      const off = ((ry - r0) * nx + rx) * nq;
      if (s.noise) {
        const counts = sc.counts;
        counts.fill(0);
        addSpreadCounts(counts, s.filmAlias, filmN, rng);
        if (diffuseN > 0) addSpreadCounts(counts, s.diffuseAlias, diffuseN, rng);
        addStampCounts(counts, s.direct, directAmp, rng);
        for (let k = 0; k < nAct; k++) addStampCounts(counts, sc.stamps[k]!, sc.amps[k]!, rng);
        for (let i = 0; i < nq; i++) {
          const v = counts[i]!;
          block[off + i] = v > 65535 ? 65535 : v;
        }
      } else {
        const expected = sc.expected;
        for (let i = 0; i < nq; i++) expected[i] = filmN * s.film.frame[i]! + diffuseN * s.diffuse.frame[i]!;
        addStampExpected(expected, s.direct, directAmp);
        for (let k = 0; k < nAct; k++) addStampExpected(expected, sc.stamps[k]!, sc.amps[k]!);
        for (let i = 0; i < nq; i++) {
          const v = Math.round(expected[i]!);
          block[off + i] = v > 65535 ? 65535 : v;
        }
      }
    }
  }
}
