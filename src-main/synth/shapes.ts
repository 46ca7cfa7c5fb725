// Convex 3D particle shapes in their own body frame (nm), with the two queries the generator needs:
// is a point inside, and the chord length of a straight line through the shape (the projected thickness
// seen by a probe travelling along the beam).
//   ellipsoid: x²/a² + y²/b² + z²/c² ≤ 1
//   rod:       x²/a² + y²/b² ≤ 1 and |z| ≤ c   (elliptic cylinder with flat ends, long axis along z)
//   cuboid:    |x| ≤ a, |y| ≤ b, |z| ≤ c
import type { Vec3 } from '../crystallography/math3';

export type ShapeKind = 'ellipsoid' | 'rod' | 'cuboid';

export interface Shape {
  kind: ShapeKind;
  /** Semi-axes / half-extents (a, b, c) in nm along body x, y, z. */
  semiAxesNm: Vec3;
}

export function insideShape(shape: Shape, p: Readonly<Vec3>): boolean {
  const [a, b, c] = shape.semiAxesNm;
  switch (shape.kind) {
    case 'ellipsoid':
      return (p[0] / a) ** 2 + (p[1] / b) ** 2 + (p[2] / c) ** 2 <= 1;
    case 'rod':
      return (p[0] / a) ** 2 + (p[1] / b) ** 2 <= 1 && Math.abs(p[2]) <= c;
    case 'cuboid':
      return Math.abs(p[0]) <= a && Math.abs(p[1]) <= b && Math.abs(p[2]) <= c;
  }
}

/** Interval [t0, t1] of the line o + t·d inside [−h, h] along one axis, intersected with (lo, hi). */
function slab(o: number, d: number, h: number, lo: number, hi: number): [number, number] {
  if (Math.abs(d) < 1e-15) return Math.abs(o) <= h ? [lo, hi] : [1, 0];
  let t0 = (-h - o) / d;
  let t1 = (h - o) / d;
  if (t0 > t1) [t0, t1] = [t1, t0];
  return [Math.max(lo, t0), Math.min(hi, t1)];
}

/** Roots of |(o + t d) scaled|² = 1 for the quadric Σ (o_i + t d_i)²/s_i² over the given axes. */
function quadric(o: Readonly<Vec3>, d: Readonly<Vec3>, s: Readonly<Vec3>, axes: number): [number, number] {
  let A = 0;
  let B = 0;
  let C = -1;
  for (let i = 0; i < axes; i++) {
    const oi = o[i]! / s[i]!;
    const di = d[i]! / s[i]!;
    A += di * di;
    B += 2 * oi * di;
    C += oi * oi;
  }
  if (A < 1e-30) return C <= 0 ? [-Infinity, Infinity] : [1, 0];
  const disc = B * B - 4 * A * C;
  if (disc <= 0) return [1, 0];
  const r = Math.sqrt(disc);
  return [(-B - r) / (2 * A), (-B + r) / (2 * A)];
}

/**
 * Length (in units of t·|d|) of the chord of the line o + t·d (body frame) through the shape; 0 if it
 * misses. With |d| = 1 this is the thickness in nm.
 */
export function chordLength(shape: Shape, o: Readonly<Vec3>, d: Readonly<Vec3>): number {
  const s = shape.semiAxesNm;
  let t0: number;
  let t1: number;
  switch (shape.kind) {
    case 'ellipsoid':
      [t0, t1] = quadric(o, d, s, 3);
      break;
    case 'rod': {
      [t0, t1] = quadric(o, d, s, 2);
      [t0, t1] = slab(o[2], d[2], s[2], t0, t1);
      break;
    }
    case 'cuboid': {
      t0 = -Infinity;
      t1 = Infinity;
      for (let i = 0; i < 3; i++) [t0, t1] = slab(o[i]!, d[i]!, s[i]!, t0, t1);
      break;
    }
  }
  return t1 > t0 ? (t1 - t0) * Math.hypot(d[0], d[1], d[2]) : 0;
}

/** Radius of the smallest sphere about the body origin that holds the shape, nm. */
export function boundingRadiusNm(shape: Shape): number {
  const [a, b, c] = shape.semiAxesNm;
  switch (shape.kind) {
    case 'ellipsoid':
      return Math.max(a, b, c);
    case 'rod':
      return Math.hypot(Math.max(a, b), c);
    case 'cuboid':
      return Math.hypot(a, b, c);
  }
}

/** Volume in nm³. */
export function shapeVolumeNm3(shape: Shape): number {
  const [a, b, c] = shape.semiAxesNm;
  switch (shape.kind) {
    case 'ellipsoid':
      return (4 / 3) * Math.PI * a * b * c;
    case 'rod':
      return Math.PI * a * b * 2 * c;
    case 'cuboid':
      return 8 * a * b * c;
  }
}

/**
 * Points filling the shape and covering its surface (body frame), for overlap tests during placement:
 * a regular interior grid plus surface points, about `n`³ + 6n² in all.
 */
export function samplePoints(shape: Shape, n = 8): Vec3[] {
  const [a, b, c] = shape.semiAxesNm;
  const pts: Vec3[] = [];
  for (let i = 0; i <= n; i++) {
    for (let j = 0; j <= n; j++) {
      for (let k = 0; k <= n; k++) {
        const p: Vec3 = [a * (2 * i / n - 1), b * (2 * j / n - 1), c * (2 * k / n - 1)];
        if (insideShape(shape, p)) pts.push(p);
      }
    }
  }
  // Surface points: Fibonacci sphere mapped onto the surface along rays from the centre.
  const m = 6 * n * n;
  const golden = Math.PI * (3 - Math.sqrt(5));
  for (let i = 0; i < m; i++) {
    const z = 1 - (2 * (i + 0.5)) / m;
    const r = Math.sqrt(1 - z * z);
    const dir: Vec3 = [r * Math.cos(golden * i), r * Math.sin(golden * i), z];
    // Distance to the surface along dir: the exit parameter of the chord from the origin.
    const o: Vec3 = [0, 0, 0];
    const s = shape.semiAxesNm;
    let t1: number;
    if (shape.kind === 'ellipsoid') t1 = quadric(o, dir, s, 3)[1];
    else if (shape.kind === 'rod') t1 = slab(0, dir[2], s[2], ...quadric(o, dir, s, 2))[1];
    else {
      t1 = Infinity;
      for (let ax = 0; ax < 3; ax++) t1 = Math.min(t1, slab(0, dir[ax]!, s[ax]!, -Infinity, Infinity)[1]);
    }
    pts.push([dir[0] * t1 * 0.999, dir[1] * t1 * 0.999, dir[2] * t1 * 0.999]);
  }
  return pts;
}
