// The Reciprocal space tab's geometry against hand-computed values: a monoclinic UB built from its cell, the beam
// direction at a tilt, zone and plane-normal views, the hk0 layer of a primitive cell and picking on screen.
import { describe, expect, it } from 'vitest';
import {
  basisFromPoints,
  beamView,
  directAxes,
  dot,
  NAMED_SECTIONS,
  nearestOnScreen,
  norm,
  planeNormalView,
  projectToScreen,
  reciprocalAxisView,
  sectionFrame,
  sectionNodes,
  sectionPoints,
  zoneView,
  type Vec3,
} from '../geometry';

// Monoclinic a = 5, b = 6, c = 7 Å, β = 100°: direct axes a along x, b along y, c in the xz plane.
const beta = (100 * Math.PI) / 180;
const A: Vec3[] = [
  [5, 0, 0],
  [0, 6, 0],
  [7 * Math.cos(beta), 0, 7 * Math.sin(beta)],
];
const V = dot(A[0]!, [A[1]![1] * A[2]![2] - A[1]![2] * A[2]![1], A[1]![2] * A[2]![0] - A[1]![0] * A[2]![2], A[1]![0] * A[2]![1] - A[1]![1] * A[2]![0]]);
// a* = (b × c)/V etc., written out by hand.
const as: Vec3 = [(6 * 7 * Math.sin(beta)) / V, 0, (-6 * 7 * Math.cos(beta)) / V];
const bs: Vec3 = [0, 1 / 6, 0];
const cs: Vec3 = [0, 0, (5 * 6) / V];
const UB = [as[0], bs[0], cs[0], as[1], bs[1], cs[1], as[2], bs[2], cs[2]];

const close = (a: Vec3, b: Vec3, d = 9): void => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, d));

describe('reciprocal geometry', () => {
  it('recovers the direct axes from UB', () => {
    const [a, b, c] = directAxes(UB);
    close(a, A[0]!);
    close(b, A[1]!);
    close(c, A[2]!);
  });

  it('looks along the beam: +Z at tilt 0, turned back by the tilt about the axis', () => {
    const v0 = beamView(0, 0);
    close(v0.direction, [0, 0, 1]);
    close(v0.up, [0, -1, 0]);
    // Axis along +X, tilt 30°: the crystal saw the beam along Rᵀ·Z = (0, sin 30°, cos 30°).
    close(beamView(0, 30).direction, [0, Math.sin(Math.PI / 6), Math.cos(Math.PI / 6)]);
    // Axis along +Y: a tilt about y turns Z towards −x in the crystal frame.
    close(beamView(90, 30).direction, [-Math.sin(Math.PI / 6), 0, Math.cos(Math.PI / 6)]);
  });

  it('views along a*, the zone [010] and the plane normal (001)', () => {
    const va = reciprocalAxisView(UB, 0);
    expect(dot(va.direction, va.up)).toBeCloseTo(0, 12);
    close(va.direction, as.map((x) => x / norm(as)) as Vec3);
    close(zoneView(UB, [0, 1, 0]).direction, [0, 1, 0]);
    // (001) normal = c* = along z here; the zone [001] is the c axis, tilted by β − 90° from it.
    close(planeNormalView(UB, [0, 0, 1]).direction, [0, 0, 1]);
    close(zoneView(UB, [0, 0, 1]).direction, [Math.cos(beta), 0, Math.sin(beta)]);
    expect(() => zoneView(UB, [0, 0, 0])).toThrow(/not a direction/);
  });

  it('cuts the hk0 layer: its nodes are the l = 0 ones, at their in-plane distances', () => {
    const f = sectionFrame(UB, { uvw: NAMED_SECTIONS['hk0']!, layer: 0, thickness: 0.5 });
    expect(f.spacingInvA).toBeCloseTo(1 / 7, 12);
    const nodes = sectionNodes(UB, f, 0.45);
    expect(nodes.length).toBeGreaterThan(10);
    for (const n of nodes) {
      expect(n.hkl[2]).toBe(0);
      expect(Math.hypot(n.u, n.v)).toBeCloseTo(Math.hypot(n.hkl[0] * norm(as), n.hkl[1] / 6), 9);
    }
    // Every (h, k, 0) within 0.45 Å⁻¹ is there: |g|² = h²|a*|² + k²/36 (a* ⊥ b*).
    let expected = 0;
    for (let h = -5; h <= 5; h++) for (let k = -5; k <= 5; k++) if (Math.hypot(h * norm(as), k / 6) <= 0.45) expected++;
    expect(nodes.length).toBe(expected);
    // Layer 1 holds l = 1 only.
    const f1 = sectionFrame(UB, { uvw: [0, 0, 1], layer: 1, thickness: 0.5 });
    expect(sectionNodes(UB, f1, 0.45).every((n) => n.hkl[2] === 1)).toBe(true);
    // Points: (1,0,0) and (0,1,0) are in hk0, (0,0,1) is not.
    const q = Float32Array.from([...as, ...bs, ...cs]);
    const p = sectionPoints(q, f);
    expect(Array.from(p.index)).toEqual([0, 1]);
    expect(p.u[0]).toBeCloseTo(norm(as), 6);
    expect(Math.abs(p.v[1]!)).toBeCloseTo(1 / 6, 6);
  });

  it('projects to the screen and picks the nearest point', () => {
    // Identity view-projection: x, y in −1…1 map onto the canvas, y up.
    const m = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    const s = projectToScreen(Float32Array.from([0, 0, 0, 1, 1, 0, -1, -1, 0]), m, 200, 100);
    expect(Array.from(s)).toEqual([100, 50, 200, 0, 0, 100]);
    expect(nearestOnScreen(s, 195, 4, 10)).toBe(1);
    expect(nearestOnScreen(s, 150, 25, 10)).toBe(-1);
  });

  it('proposes a cell from three picked reciprocal vectors', () => {
    const { cell } = basisFromPoints([as, bs, cs]);
    expect(cell.a).toBeCloseTo(5, 9);
    expect(cell.b).toBeCloseTo(6, 9);
    expect(cell.c).toBeCloseTo(7, 9);
    expect(cell.beta).toBeCloseTo(100, 9);
    expect(cell.alpha).toBeCloseTo(90, 9);
    expect(() => basisFromPoints([as, bs, [as[0] + bs[0], as[1] + bs[1], as[2] + bs[2]]])).toThrow(/coplanar/);
  });
});
