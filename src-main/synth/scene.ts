// The specimen: particles with a shape, a crystal structure and an orientation, placed on the film (touching
// where the preset says so), and the stage drift from tilt to tilt. All in the sample frame at tilt 0,
// which is the lab frame of ARCHITECTURE §4 at α = 0 (X along +qx, Y along +qy, Z along the beam), in nm, with
// the origin at the eucentric point in the middle of the field of view.
import { bMatrix, directMatrix } from '../crystallography/lattice';
import { matMul, matVec, rotationAboutAxis, rotationBetween, transpose, add, sub, type Mat3, type Vec3 } from '../crystallography/math3';
import { loadBundledStructure, type BundledStructure } from '../crystallography/structures';
import type { CrystalStructure } from '../crystallography/cif';
import { boundingRadiusNm, insideShape, samplePoints, type Shape } from './shapes';
import type { PresetSpec } from './presets';
import { Rng } from './prng';

export interface Particle {
  /** 1-based id, as in truth.json and masks.h5 (object_<id>). */
  id: number;
  structureFile: BundledStructure;
  structure: CrystalStructure;
  shape: Shape;
  /** Centre at tilt 0, nm. */
  centreNm: Vec3;
  /** Body frame → sample frame at tilt 0. */
  bodyRotation: Mat3;
  /** Crystal Cartesian frame (that of B) → lab frame at tilt 0. */
  u: Mat3;
  /** U·B at tilt 0, Å⁻¹. */
  ub: Mat3;
}

const Z: Vec3 = [0, 0, 1];

/** Uniformly random proper rotation (Shoemake's quaternion method). */
export function randomRotation(rng: Rng): Mat3 {
  const u1 = rng.uniform();
  const u2 = rng.uniform() * 2 * Math.PI;
  const u3 = rng.uniform() * 2 * Math.PI;
  const a = Math.sqrt(1 - u1);
  const b = Math.sqrt(u1);
  const [w, x, y, z] = [a * Math.sin(u2), a * Math.cos(u2), b * Math.sin(u3), b * Math.cos(u3)];
  return [
    [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
    [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
    [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
  ];
}

function rotZ(a: number): Mat3 {
  return rotationAboutAxis(Z, a);
}

/** How the body sits on the film. */
function poseRotation(pose: 'long-axis-in-plane' | 'face-down' | 'random', rng: Rng): Mat3 {
  const deg = Math.PI / 180;
  if (pose === 'random') return randomRotation(rng);
  if (pose === 'face-down') {
    // A face (or the short axis) on the film, a few degrees of wobble, any azimuth.
    const axisAzimuth = rng.range(0, 2 * Math.PI);
    const wobble = rotationAboutAxis([Math.cos(axisAzimuth), Math.sin(axisAzimuth), 0], rng.range(-6, 6) * deg);
    return matMul(wobble, rotZ(rng.range(0, 2 * Math.PI)));
  }
  // Long axis (body z) lying in the film plane, ±12° out of it, any azimuth, any spin about itself.
  const spin = rotZ(rng.range(0, 2 * Math.PI));
  const lay = rotationAboutAxis([0, 1, 0], (90 + rng.range(-12, 12)) * deg);
  return matMul(rotZ(rng.range(0, 2 * Math.PI)), matMul(lay, spin));
}

function particleOverlaps(a: { shape: Shape; centre: Vec3; rot: Mat3 }, others: { shape: Shape; centre: Vec3; rot: Mat3; pts: Vec3[] }[], aPts: Vec3[]): boolean {
  for (const o of others) {
    const rmax = boundingRadiusNm(a.shape) + boundingRadiusNm(o.shape);
    const d = sub(a.centre, o.centre);
    if (Math.hypot(...d) > rmax) continue;
    const oT = transpose(o.rot);
    const aT = transpose(a.rot);
    for (const p of aPts) {
      const lab = add(matVec(a.rot, p), a.centre);
      if (insideShape(o.shape, matVec(oT, sub(lab, o.centre)))) return true;
    }
    for (const p of o.pts) {
      const lab = add(matVec(o.rot, p), o.centre);
      if (insideShape(a.shape, matVec(aT, sub(lab, a.centre)))) return true;
    }
  }
  return false;
}

/**
 * Builds the particles of a preset. Touching particles are placed by bisection along a random in-plane
 * direction from a neighbour down to the last non-overlapping distance (contact within 0.1 nm), so their
 * projections touch as in a real agglomerate; isolated ones keep a gap of at least 8 nm.
 */
export function buildScene(preset: PresetSpec, seed: number): Particle[] {
  const rng = new Rng(seed);
  const structures = new Map<BundledStructure, CrystalStructure>();
  const placed: { shape: Shape; centre: Vec3; rot: Mat3; pts: Vec3[] }[] = [];
  const out: Particle[] = [];
  preset.particles.forEach((spec, index) => {
    let structure = structures.get(spec.structure);
    if (!structure) {
      structure = loadBundledStructure(spec.structure);
      structures.set(spec.structure, structure);
    }
    const shape: Shape = {
      kind: spec.shape,
      semiAxesNm: spec.semiAxesNm.map(([lo, hi]) => rng.range(lo, hi)) as Vec3,
    };
    const rot = poseRotation(spec.pose, rng);
    // Crystal orientation: the growth direction along body z, or random.
    let crystalToBody: Mat3;
    if (spec.growthUvw) {
      const a = directMatrix(structure.cell);
      crystalToBody = matMul(rotZ(rng.range(0, 2 * Math.PI)), rotationBetween(matVec(a, spec.growthUvw), Z));
    } else {
      crystalToBody = randomRotation(rng);
    }
    const u = matMul(rot, crystalToBody);
    const pts = samplePoints(shape, 7);
    const touch =
      index > 0 && (preset.arrangement === 'agglomerate' || (preset.arrangement === 'pair' && index === 1) || (preset.arrangement === 'mixed' && index === 1));
    let centre: Vec3 = [0, 0, 0];
    if (index > 0) {
      const gap = touch ? 0 : 8;
      for (let attempt = 0; attempt < 200; attempt++) {
        // Touching: start beside a random earlier particle. Isolated: beside the whole group's centre.
        const anchor = touch ? placed[Math.floor(rng.uniform() * placed.length)]!.centre : ([0, 0, 0] as Vec3);
        const phi = rng.range(0, 2 * Math.PI);
        // Touching along the tilt axis: the contact plane contains the beam on every tilt, so the two stay side by
        // side in projection (touching, never overlapping) through the whole series.
        const alongAxis = touch && preset.contact === 'along-tilt-axis';
        const axisRad = (preset.rotationAxisDeg * Math.PI) / 180 + (Math.cos(phi) < 0 ? Math.PI : 0);
        const dir: Vec3 = alongAxis ? [Math.cos(axisRad), Math.sin(axisRad), 0] : [Math.cos(phi), Math.sin(phi), 0];
        const at = (dist: number): Vec3 => [anchor[0] + dir[0] * dist, anchor[1] + dir[1] * dist, anchor[2]];
        const far = placed.reduce((m, p) => Math.max(m, Math.hypot(...sub(p.centre, anchor)) + boundingRadiusNm(p.shape)), 0) + boundingRadiusNm(shape) + gap + 1;
        if (particleOverlaps({ shape, centre: at(far), rot }, placed, pts)) continue;
        let lo = 0;
        let hi = far;
        while (hi - lo > 0.1) {
          const mid = 0.5 * (lo + hi);
          if (particleOverlaps({ shape, centre: at(mid), rot }, placed, pts)) lo = mid;
          else hi = mid;
        }
        if (!touch) {
          // Push out by the gap and make sure nothing else is within it.
          const grown: Shape = { kind: shape.kind, semiAxesNm: shape.semiAxesNm.map((s) => s + gap) as Vec3 };
          let d = hi + gap;
          while (particleOverlaps({ shape: grown, centre: at(d), rot }, placed, samplePoints(grown, 7)) && d < far + 4 * gap) d += 1;
          hi = d;
        }
        centre = at(hi);
        break;
      }
    }
    placed.push({ shape, centre, rot, pts });
    out.push({
      id: index + 1,
      structureFile: spec.structure,
      structure,
      shape,
      centreNm: centre,
      bodyRotation: rot,
      u,
      ub: matMul(u, bMatrix(structure.cell)),
    });
  });
  // Centre the group in the field of view (the eucentric point is the middle of the scan).
  const lo = [Infinity, Infinity];
  const hi = [-Infinity, -Infinity];
  for (const p of out) {
    const r = boundingRadiusNm(p.shape) * 0.7;
    for (let k = 0; k < 2; k++) {
      lo[k] = Math.min(lo[k]!, p.centreNm[k]! - r);
      hi[k] = Math.max(hi[k]!, p.centreNm[k]! + r);
    }
  }
  const shift: Vec3 = [-(lo[0]! + hi[0]!) / 2, -(lo[1]! + hi[1]!) / 2, 0];
  return out.map((p) => ({ ...p, centreNm: add(p.centreNm, shift) }));
}

/**
 * Stage drift per tilt (nm, in the lab XY plane): a smooth random walk — the velocity is an AR(1) process
 * (memory 0.7) with steps of `stepNm` — re-centred so that its mean is zero.
 */
export function driftSeries(nTilts: number, stepNm: number, seed: number): Vec3[] {
  const rng = new Rng(seed);
  const out: Vec3[] = [];
  let vx = 0;
  let vy = 0;
  let x = 0;
  let y = 0;
  for (let i = 0; i < nTilts; i++) {
    vx = 0.7 * vx + stepNm * rng.normal();
    vy = 0.7 * vy + stepNm * rng.normal();
    x += vx;
    y += vy;
    out.push([x, y, 0]);
  }
  const mx = out.reduce((s, p) => s + p[0], 0) / nTilts;
  const my = out.reduce((s, p) => s + p[1], 0) / nTilts;
  return out.map((p) => [p[0] - mx, p[1] - my, 0]);
}
