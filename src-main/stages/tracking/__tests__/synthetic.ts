// A synthetic tilt series for the tracker tests: elliptical particles with 3D positions projected at each tilt
// (rotation about the y axis moves them relative to each other), outlines that change with tilt, a smooth random
// drift of the whole field, partial-pixel edges (3×3 supersampling) and Gaussian noise. Ground-truth masks are
// the pixel centres inside each projected ellipse.
import { gauss, rng } from '../../../kernels/image/__tests__/helpers';

export interface SynthParticle {
  /** 3D position relative to the field centre, pixels. */
  x: number;
  y: number;
  z: number;
  /** Semi-axes at tilt 0 and how strongly they change with tilt. */
  a: number;
  b: number;
  wobble: number;
  /** Orientation at tilt 0, radians. */
  theta: number;
  /** Signal above background. */
  intensity: number;
}

export interface SynthOptions {
  nx: number;
  ny: number;
  nTilts: number;
  tiltRangeDeg: number;
  particles: SynthParticle[];
  /** Standard deviation of the per-tilt drift velocity change, px. */
  driftStep: number;
  noise: number;
  background: number;
  seed: number;
  /** Bright field: particles darker than the background. */
  brightField?: boolean;
}

export interface SynthStack {
  stack: Float32Array;
  truth: Uint8Array[]; // per particle, nTilts·ny·nx
  nx: number;
  ny: number;
  nTilts: number;
  /** Field drift of each tilt (px), cumulative. */
  driftX: Float64Array;
  driftY: Float64Array;
  /** Projected centre of each particle per tilt. */
  centres: { x: number; y: number }[][];
}

export function synthStack(o: SynthOptions): SynthStack {
  const { nx, ny, nTilts } = o;
  const n = nx * ny;
  const rand = rng(o.seed);
  const stack = new Float32Array(nTilts * n);
  const truth = o.particles.map(() => new Uint8Array(nTilts * n));
  const driftX = new Float64Array(nTilts);
  const driftY = new Float64Array(nTilts);
  let vx = 0;
  let vy = 0;
  for (let t = 1; t < nTilts; t++) {
    vx = 0.7 * vx + o.driftStep * gauss(rand);
    vy = 0.7 * vy + o.driftStep * gauss(rand);
    driftX[t] = driftX[t - 1] + vx;
    driftY[t] = driftY[t - 1] + vy;
  }
  const phases = o.particles.map(() => [rand() * 6.28, rand() * 6.28, rand() * 6.28]);
  const centres: { x: number; y: number }[][] = o.particles.map(() => []);
  const coverage = new Float32Array(n);
  for (let t = 0; t < nTilts; t++) {
    const alpha = ((-o.tiltRangeDeg + (2 * o.tiltRangeDeg * t) / Math.max(1, nTilts - 1)) * Math.PI) / 180;
    const frame = stack.subarray(t * n, (t + 1) * n);
    frame.fill(0);
    o.particles.forEach((p, k) => {
      const [p1, p2, p3] = phases[k];
      const cx = nx / 2 + p.x * Math.cos(alpha) + p.z * Math.sin(alpha) + driftX[t];
      const cy = ny / 2 + p.y + driftY[t];
      centres[k].push({ x: cx, y: cy });
      // Outline changes smoothly with tilt: the projected width shrinks a little and both axes wobble.
      const a = p.a * (1 + p.wobble * Math.sin(2 * alpha + p1)) * (0.85 + 0.15 * Math.cos(alpha));
      const b = p.b * (1 + p.wobble * Math.sin(1.5 * alpha + p2));
      const th = p.theta + 0.4 * Math.sin(alpha + p3);
      const c = Math.cos(th);
      const s = Math.sin(th);
      const inside = (x: number, y: number): boolean => {
        const u = (x - cx) * c + (y - cy) * s;
        const v = -(x - cx) * s + (y - cy) * c;
        return (u / a) ** 2 + (v / b) ** 2 <= 1;
      };
      const r = Math.ceil(Math.max(a, b)) + 2;
      coverage.fill(0);
      for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(ny - 1, Math.ceil(cy + r)); y++) {
        for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(nx - 1, Math.ceil(cx + r)); x++) {
          let hit = 0;
          for (let sy = -1; sy <= 1; sy++) for (let sx = -1; sx <= 1; sx++) if (inside(x + sx / 3, y + sy / 3)) hit++;
          if (inside(x, y)) truth[k][t * n + y * nx + x] = 1;
          // Particles overlapping in projection: the signal does not add up (it saturates), as thick ADF does.
          const i = y * nx + x;
          frame[i] = Math.max(frame[i], (hit / 9) * p.intensity);
        }
      }
    });
    for (let i = 0; i < n; i++) {
      const v = o.background + frame[i] + o.noise * gauss(rand);
      frame[i] = o.brightField ? 2 * o.background + 60 - v : v;
    }
  }
  return { stack, truth, nx, ny, nTilts, driftX, driftY, centres };
}

/** The default scene: an isolated large particle, a touching pair, a small one and one that leaves the field. */
export function defaultParticles(): SynthParticle[] {
  return [
    { x: -26, y: -22, z: 4, a: 12, b: 9, wobble: 0.08, theta: 0.3, intensity: 50 }, // 0: isolated, largest
    { x: 4, y: 12, z: -6, a: 10, b: 7, wobble: 0.08, theta: 0.0, intensity: 45 }, // 1: touching pair, left
    { x: 21, y: 14, z: -6, a: 8, b: 7, wobble: 0.08, theta: 1.2, intensity: 55 }, // 2: touching pair, right
    { x: 25, y: -26, z: 10, a: 6, b: 5, wobble: 0.05, theta: 0.8, intensity: 40 }, // 3: small
  ];
}

/** Mean and minimum over frames of the IoU of `masks` with `truth` (both nTilts·n), over the given frames. */
export function iouStats(masks: Uint8Array, truth: Uint8Array, n: number, frames: number[]): { mean: number; min: number; per: number[] } {
  const per = frames.map((t) => {
    let inter = 0;
    let union = 0;
    for (let i = t * n; i < (t + 1) * n; i++) {
      if (masks[i] && truth[i]) inter++;
      if (masks[i] || truth[i]) union++;
    }
    return union ? inter / union : 1;
  });
  return { mean: per.reduce((a, b) => a + b, 0) / per.length, min: Math.min(...per), per };
}
