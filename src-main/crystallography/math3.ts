// Small 3-vector / 3×3-matrix algebra for crystallographic geometry. Matrices are arrays of rows
// (row-major, `m[row][col]`) so they serialise to JSON exactly as written in truth.json and reports.
// Everything is pure: inputs are never mutated, every function returns a fresh value.

export type Vec3 = [number, number, number];
export type Mat3 = [Vec3, Vec3, Vec3];

export function vec3(x: number, y: number, z: number): Vec3 {
  return [x, y, z];
}

export function identity3(): Mat3 {
  return [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
}

export function dot(a: Readonly<Vec3>, b: Readonly<Vec3>): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Readonly<Vec3>, b: Readonly<Vec3>): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function norm(a: Readonly<Vec3>): number {
  return Math.hypot(a[0], a[1], a[2]);
}

export function scale(a: Readonly<Vec3>, k: number): Vec3 {
  return [a[0] * k, a[1] * k, a[2] * k];
}

export function add(a: Readonly<Vec3>, b: Readonly<Vec3>): Vec3 {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

export function sub(a: Readonly<Vec3>, b: Readonly<Vec3>): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

export function normalize(a: Readonly<Vec3>): Vec3 {
  const n = norm(a);
  if (!(n > 0)) throw new RangeError('normalize: zero-length vector');
  return [a[0] / n, a[1] / n, a[2] / n];
}

export function matVec(m: Readonly<Mat3>, v: Readonly<Vec3>): Vec3 {
  return [
    m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
    m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
    m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
  ];
}

export function matMul(a: Readonly<Mat3>, b: Readonly<Mat3>): Mat3 {
  const out = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ] as Mat3;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      out[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
    }
  }
  return out;
}

export function transpose(m: Readonly<Mat3>): Mat3 {
  return [
    [m[0][0], m[1][0], m[2][0]],
    [m[0][1], m[1][1], m[2][1]],
    [m[0][2], m[1][2], m[2][2]],
  ];
}

export function det3(m: Readonly<Mat3>): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

export function inverse3(m: Readonly<Mat3>): Mat3 {
  const d = det3(m);
  if (!(Math.abs(d) > 1e-300)) throw new RangeError('inverse3: singular matrix');
  const inv = 1 / d;
  return [
    [
      (m[1][1] * m[2][2] - m[1][2] * m[2][1]) * inv,
      (m[0][2] * m[2][1] - m[0][1] * m[2][2]) * inv,
      (m[0][1] * m[1][2] - m[0][2] * m[1][1]) * inv,
    ],
    [
      (m[1][2] * m[2][0] - m[1][0] * m[2][2]) * inv,
      (m[0][0] * m[2][2] - m[0][2] * m[2][0]) * inv,
      (m[0][2] * m[1][0] - m[0][0] * m[1][2]) * inv,
    ],
    [
      (m[1][0] * m[2][1] - m[1][1] * m[2][0]) * inv,
      (m[0][1] * m[2][0] - m[0][0] * m[2][1]) * inv,
      (m[0][0] * m[1][1] - m[0][1] * m[1][0]) * inv,
    ],
  ];
}

/**
 * Rotation by `angleRad` about the unit vector `axis`, right-hand rule (Rodrigues' formula):
 * R v = v cosθ + (k × v) sinθ + k (k·v)(1 − cosθ).
 */
export function rotationAboutAxis(axis: Readonly<Vec3>, angleRad: number): Mat3 {
  const [x, y, z] = normalize(axis);
  const c = Math.cos(angleRad);
  const s = Math.sin(angleRad);
  const t = 1 - c;
  return [
    [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
    [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
    [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
  ];
}

/** The proper rotation that takes unit(from) onto unit(to) by the shortest arc. */
export function rotationBetween(from: Readonly<Vec3>, to: Readonly<Vec3>): Mat3 {
  const a = normalize(from);
  const b = normalize(to);
  const c = dot(a, b);
  const axis = cross(a, b);
  const s = norm(axis);
  if (s < 1e-12) {
    if (c > 0) return identity3();
    // Antiparallel: turn by π about any axis perpendicular to a.
    const helper: Vec3 = Math.abs(a[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
    return rotationAboutAxis(cross(a, helper), Math.PI);
  }
  return rotationAboutAxis(axis, Math.atan2(s, c));
}
