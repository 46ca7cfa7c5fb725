// Geometry of the Reciprocal space tab, pure functions over the cloud main sends (src-shared/reciprocal.ts): the
// reciprocal and direct axes of UB, view directions (along the beam at a tilt, along a*, b*, c*, along a zone [uvw] or
// a plane normal (hkl)), sections (points within a slab of a reciprocal plane, projected onto it, with the lattice
// nodes of that layer), and picking by screen distance. Vectors are [x, y, z] in Å⁻¹ (Å for direct ones), in the
// crystal frame at tilt 0 (ARCHITECTURE §4: beam along +Z, detector x right, y down).
export type Vec3 = [number, number, number];
/** Row-major 3 × 3. */
export type Mat3Flat = ArrayLike<number>;

export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
export const norm = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const unit = (a: Vec3): Vec3 => {
  const n = norm(a);
  return n > 0 ? scale(a, 1 / n) : [0, 0, 0];
};

/** Column j of a row-major matrix. */
const column = (m: Mat3Flat, j: number): Vec3 => [m[j], m[3 + j], m[6 + j]];

/** a*, b*, c*: the columns of UB (Å⁻¹). */
export function reciprocalAxes(ub: Mat3Flat): [Vec3, Vec3, Vec3] {
  return [column(ub, 0), column(ub, 1), column(ub, 2)];
}

/** a, b, c (Å): the direct basis, a = (b* × c*) / V*, and so on. */
export function directAxes(ub: Mat3Flat): [Vec3, Vec3, Vec3] {
  const [as, bs, cs] = reciprocalAxes(ub);
  const v = dot(as, cross(bs, cs));
  return [scale(cross(bs, cs), 1 / v), scale(cross(cs, as), 1 / v), scale(cross(as, bs), 1 / v)];
}

/** UB·h. */
export function nodeOf(ub: Mat3Flat, h: number, k: number, l: number): Vec3 {
  return [ub[0] * h + ub[1] * k + ub[2] * l, ub[3] * h + ub[4] * k + ub[5] * l, ub[6] * h + ub[7] * k + ub[8] * l];
}

/** Unit vector of the goniometer axis (in the XY plane; unchanged by the rotation about it). */
export function axisVector(axisDeg: number): Vec3 {
  const r = (axisDeg * Math.PI) / 180;
  return [Math.cos(r), Math.sin(r), 0];
}

/** R(α)·v for the rotation by α about the axis (Rodrigues; right-handed). */
export function rotateAbout(axis: Vec3, angleDeg: number, v: Vec3): Vec3 {
  const t = (angleDeg * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  const kv = cross(axis, v);
  const kd = dot(axis, v) * (1 - c);
  return [v[0] * c + kv[0] * s + axis[0] * kd, v[1] * c + kv[1] * s + axis[1] * kd, v[2] * c + kv[2] * s + axis[2] * kd];
}

/** A camera: the direction it looks along and the direction that is up on the screen (unit, perpendicular). */
export interface ViewDirection {
  direction: Vec3;
  up: Vec3;
}

/** An up vector perpendicular to the direction, as close to `hint` as possible (another axis when parallel). */
function upFor(direction: Vec3, hint: Vec3): Vec3 {
  const d = unit(direction);
  for (const h of [hint, [0, -1, 0] as Vec3, [0, 0, 1] as Vec3, [1, 0, 0] as Vec3]) {
    const u = [h[0] - d[0] * dot(h, d), h[1] - d[1] * dot(h, d), h[2] - d[2] * dot(h, d)] as Vec3;
    if (norm(u) > 1e-3 * norm(h)) return unit(u);
  }
  return [0, 1, 0];
}

/**
 * Along the beam at tilt α: the crystal frame sees the beam (+Z in the lab) along R(α)ᵀ·Z; up is the detector's −y, so
 * the view is the frame's pattern as the detector records it (x right, y down).
 */
export function beamView(axisDeg: number, angleDeg: number): ViewDirection {
  const e = axisVector(axisDeg);
  return { direction: unit(rotateAbout(e, -angleDeg, [0, 0, 1])), up: unit(rotateAbout(e, -angleDeg, [0, -1, 0])) };
}

/** Along a reciprocal axis (0 a*, 1 b*, 2 c*), the next axis up. */
export function reciprocalAxisView(ub: Mat3Flat, which: 0 | 1 | 2): ViewDirection {
  const axes = reciprocalAxes(ub);
  const d = unit(axes[which]);
  return { direction: d, up: upFor(d, axes[(which + 1) % 3]) };
}

/** Along the zone axis [uvw] (a direct-space direction: the reciprocal plane perpendicular to it faces the viewer). */
export function zoneView(ub: Mat3Flat, uvw: Vec3): ViewDirection {
  const [a, b, c] = directAxes(ub);
  const t: Vec3 = [a[0] * uvw[0] + b[0] * uvw[1] + c[0] * uvw[2], a[1] * uvw[0] + b[1] * uvw[1] + c[1] * uvw[2], a[2] * uvw[0] + b[2] * uvw[1] + c[2] * uvw[2]];
  if (norm(t) === 0) throw new Error('[0 0 0] is not a direction');
  const d = unit(t);
  return { direction: d, up: upFor(d, reciprocalAxes(ub)[1]) };
}

/** Along the normal of the lattice plane (hkl), i.e. along UB·h. */
export function planeNormalView(ub: Mat3Flat, hkl: Vec3): ViewDirection {
  const g = nodeOf(ub, ...hkl);
  if (norm(g) === 0) throw new Error('(0 0 0) is not a plane');
  const d = unit(g);
  return { direction: d, up: upFor(d, reciprocalAxes(ub)[1]) };
}

/** A reciprocal layer: the plane perpendicular to the zone axis [uvw] at layer m (hk0 = [001], layer 0). */
export interface SectionSpec {
  uvw: Vec3;
  layer: number;
  /** Full slab thickness as a fraction of the layer spacing (0 < t ≤ 1). */
  thickness: number;
}

/** The named sections crystallographers check absences on. */
export const NAMED_SECTIONS: Record<string, Vec3> = { hk0: [0, 0, 1], h0l: [0, 1, 0], '0kl': [1, 0, 0] };

export interface SectionFrame {
  /** Unit normal (along the zone axis), in-plane unit axes e1, e2 (e1 along the first reciprocal axis in the plane). */
  normal: Vec3;
  e1: Vec3;
  e2: Vec3;
  /** Distance of the layer from the origin and the layer spacing 1/|t|, Å⁻¹. */
  offsetInvA: number;
  spacingInvA: number;
  halfThicknessInvA: number;
}

/** The layer's frame; e1 along the shortest reciprocal axis that lies in the plane (a* for hk0 and h0l, b* for 0kl). */
export function sectionFrame(ub: Mat3Flat, s: SectionSpec): SectionFrame {
  const [a, b, c] = directAxes(ub);
  const t: Vec3 = [a[0] * s.uvw[0] + b[0] * s.uvw[1] + c[0] * s.uvw[2], a[1] * s.uvw[0] + b[1] * s.uvw[1] + c[1] * s.uvw[2], a[2] * s.uvw[0] + b[2] * s.uvw[1] + c[2] * s.uvw[2]];
  const len = norm(t);
  if (!(len > 0)) throw new Error('[0 0 0] is not a zone axis');
  const normal = scale(t, 1 / len);
  // The reciprocal axes in the plane (h·uvw = 0 for the axis h): the first of them, else any in-plane vector.
  const recip = reciprocalAxes(ub);
  const inPlane = recip.filter((_, i) => s.uvw[i] === 0);
  const first = inPlane[0] ?? cross(normal, Math.abs(normal[2]) < 0.9 ? [0, 0, 1] : [1, 0, 0]);
  const e1 = unit([first[0] - normal[0] * dot(first, normal), first[1] - normal[1] * dot(first, normal), first[2] - normal[2] * dot(first, normal)]);
  return { normal, e1, e2: cross(normal, e1), offsetInvA: s.layer / len, spacingInvA: 1 / len, halfThicknessInvA: (Math.min(1, Math.max(0.01, s.thickness)) * 0.5) / len };
}

/** Points within the slab, as indices and in-plane coordinates (u along e1, v along e2), Å⁻¹. */
export function sectionPoints(q: Float32Array, f: SectionFrame): { index: Int32Array; u: Float32Array; v: Float32Array } {
  const idx: number[] = [];
  const n = q.length / 3;
  for (let i = 0; i < n; i++) {
    const p: Vec3 = [q[3 * i], q[3 * i + 1], q[3 * i + 2]];
    if (Math.abs(dot(p, f.normal) - f.offsetInvA) <= f.halfThicknessInvA) idx.push(i);
  }
  const index = Int32Array.from(idx);
  const u = new Float32Array(index.length);
  const v = new Float32Array(index.length);
  index.forEach((i, k) => {
    const p: Vec3 = [q[3 * i], q[3 * i + 1], q[3 * i + 2]];
    u[k] = dot(p, f.e1);
    v[k] = dot(p, f.e2);
  });
  return { index, u, v };
}

/** Every lattice node UB·h within qMax (h ≠ 0 included up to `maxIndex` per axis): hkl and the vector. */
export function latticeNodes(ub: Mat3Flat, qMaxInvA: number, maxIndex = Infinity): Array<{ hkl: Vec3; g: Vec3 }> {
  const [as, bs, cs] = reciprocalAxes(ub);
  const lim = [as, bs, cs].map((x) => Math.min(maxIndex, Math.ceil(qMaxInvA / Math.max(1e-6, norm(x) * sinToOthers(x, as, bs, cs)))));
  const out: Array<{ hkl: Vec3; g: Vec3 }> = [];
  for (let h = -lim[0]; h <= lim[0]; h++) {
    for (let k = -lim[1]; k <= lim[1]; k++) {
      for (let l = -lim[2]; l <= lim[2]; l++) {
        const g = nodeOf(ub, h, k, l);
        if (norm(g) <= qMaxInvA) out.push({ hkl: [h, k, l], g });
      }
    }
  }
  return out;
}

/** The lattice nodes of the layer within qMax: hkl and in-plane coordinates. */
export function sectionNodes(ub: Mat3Flat, f: SectionFrame, qMaxInvA: number): Array<{ hkl: Vec3; u: number; v: number }> {
  return latticeNodes(ub, qMaxInvA)
    .filter(({ g }) => Math.abs(dot(g, f.normal) - f.offsetInvA) <= f.halfThicknessInvA)
    .map(({ hkl, g }) => ({ hkl, u: dot(g, f.e1), v: dot(g, f.e2) }));
}

/** How far apart the lattice planes of one reciprocal axis are, relative to its length (so the loop bounds cover qMax). */
function sinToOthers(x: Vec3, as: Vec3, bs: Vec3, cs: Vec3): number {
  const others = x === as ? [bs, cs] : x === bs ? [as, cs] : [as, bs];
  const n = unit(cross(others[0], others[1]));
  return Math.max(0.05, Math.abs(dot(unit(x), n)));
}

/**
 * The point nearest a screen position within `maxPx`, from positions already projected to the screen (2 per point,
 * NaN for hidden ones); −1 when none.
 */
export function nearestOnScreen(screen: Float32Array, x: number, y: number, maxPx: number): number {
  let best = -1;
  let bestD = maxPx * maxPx;
  for (let i = 0; i < screen.length / 2; i++) {
    const dx = screen[2 * i] - x;
    const dy = screen[2 * i + 1] - y;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/**
 * Screen positions (CSS px from the top left) of points under a 4 × 4 view-projection matrix (column-major, as
 * WebGL and vtk.js keep it), 2 per point.
 */
export function projectToScreen(q: Float32Array, m: ArrayLike<number>, width: number, height: number, out = new Float32Array((q.length / 3) * 2)): Float32Array {
  for (let i = 0; i < q.length / 3; i++) {
    const x = q[3 * i];
    const y = q[3 * i + 1];
    const z = q[3 * i + 2];
    const w = m[3] * x + m[7] * y + m[11] * z + m[15];
    const nx = (m[0] * x + m[4] * y + m[8] * z + m[12]) / w;
    const ny = (m[1] * x + m[5] * y + m[9] * z + m[13]) / w;
    out[2 * i] = ((nx + 1) / 2) * width;
    out[2 * i + 1] = ((1 - ny) / 2) * height;
  }
  return out;
}

/**
 * Three picked points as a proposed basis: their vectors as a*, b*, c* (made right-handed), and the direct cell they
 * imply (Å, degrees) — what the indexing service takes as a known cell.
 */
export function basisFromPoints(p: [Vec3, Vec3, Vec3]): { ub: number[]; cell: { a: number; b: number; c: number; alpha: number; beta: number; gamma: number } } {
  const [a, b] = p;
  let c = p[2];
  const vol = dot(a, cross(b, c));
  if (Math.abs(vol) < 1e-9 * norm(a) * norm(b) * norm(c) || !Number.isFinite(vol)) throw new Error('the three points are coplanar: they span no cell');
  if (vol < 0) c = scale(c, -1);
  const ub = [a[0], b[0], c[0], a[1], b[1], c[1], a[2], b[2], c[2]];
  const [da, db, dc] = directAxes(ub);
  const ang = (x: Vec3, y: Vec3): number => (Math.acos(Math.max(-1, Math.min(1, dot(x, y) / (norm(x) * norm(y))))) * 180) / Math.PI;
  return { ub, cell: { a: norm(da), b: norm(db), c: norm(dc), alpha: ang(db, dc), beta: ang(da, dc), gamma: ang(da, db) } };
}
