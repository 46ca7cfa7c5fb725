// The .cif_pets for Jana2020 read by gemmi (Debian's python3-gemmi): every pair item with its value, the measurement
// details, both loops row for row; the same text, byte for byte, as gemmi writes when given the items and number
// formats of `dials.export format=pets` (cell volume from cctbx); the zone axis convention; what cannot be written.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ParameterError } from '../../../../src-shared/errors';
import { PYTHON } from '../../../../tests/helpers/cell-error';
import { bMatrix, directMatrix } from '../../../crystallography/lattice';
import { matMul, matVec, rotationAboutAxis, type Mat3, type Vec3 } from '../../../crystallography/math3';
import { formatCifPets, zoneAxisOf, type CifPetsInput } from '../cif-pets';

const cell = { a: 5.4312, b: 9.1177, c: 7.3046, alpha: 90, beta: 104.47, gamma: 90 };
const ub: Mat3 = matMul(rotationAboutAxis([0.3, -0.5, 0.8], 0.7), bMatrix(cell));
const frames = [-30.25, -29.75, -29.25];
const input: CifPetsInput = {
  name: 'particle_7',
  wavelengthA: 0.025079,
  cell,
  ub,
  omegaDeg: 230.391,
  dStarMaxInvA: 1.8,
  rcWidthInvA: 0.0012,
  mosaicityDeg: 0.21,
  reflectionSizePx: 8,
  geometry: 'continuous',
  virtualFrames: { nMerged: 7, step: 5 },
  zoneAxes: frames.map((alpha, i) => {
    const [u, v, w] = zoneAxisOf(matMul(rotationAboutAxis([1, 0, 0], (alpha * Math.PI) / 180), ub));
    return { id: i + 1, u, v, w, precessionAngleDeg: 0.35, alphaDeg: alpha, betaDeg: 0.0123, omegaDeg: 230.391, scale: 1 };
  }),
  reflections: [
    { h: 1, k: 0, l: 0, intensity: 1234.567, sigma: 12.345, zoneAxisId: 1 },
    { h: -12, k: 7, l: 3, intensity: -4.2, sigma: 3.1, zoneAxisId: 1 },
    { h: 0, k: 0, l: 2, intensity: 98765.4, sigma: 310.9, zoneAxisId: 2 },
    { h: 105, k: -3, l: 1, intensity: 0.004, sigma: 0.5, zoneAxisId: 3 },
  ],
};

const READ = `
import json, sys, gemmi
b = gemmi.cif.read_string(sys.stdin.read()).sole_block()
num = lambda tag: gemmi.cif.as_number(b.find_value(tag))
pairs = ["_cell_length_a", "_cell_length_b", "_cell_length_c", "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma",
         "_cell_volume", "_diffrn_radiation_wavelength"] + ["_diffrn_orient_matrix_UB_%d%d" % (i, j) for i in (1, 2, 3) for j in (1, 2, 3)] + ["_diffrn_pets_omega"]
zone = b.find("_diffrn_zone_axis_", ["id", "u", "v", "w", "precession_angle", "alpha", "beta", "omega", "scale"])
refl = b.find("_refln_", ["index_h", "index_k", "index_l", "intensity_meas", "intensity_sigma", "zone_axis_id"])
print(json.dumps({
  "name": b.name,
  "pairs": {t: num(t) for t in pairs},
  "details": gemmi.cif.as_string(b.find_value("_diffrn_measurement_details")),
  "zone": [[gemmi.cif.as_number(v) for v in r] for r in zone],
  "refl": [[gemmi.cif.as_number(v) for v in r] for r in refl],
  "items": [t for i in b for t in ([i.pair[0]] if i.pair is not None else list(i.loop.tags) if i.loop is not None else [])],
}))
`;

// The file as gemmi writes it from the items and number formats of dials.export format=pets (src/dials/util/export_pets.py).
const DIALS_STYLE = `
import json, sys, gemmi
from cctbx import uctbx
d = json.load(sys.stdin)
doc = gemmi.cif.Document()
b = doc.add_new_block(d["name"])
cell = d["cell"]
values = cell + [uctbx.unit_cell(cell).volume(), d["wavelengthA"]] + [x for row in d["ub"] for x in row] + [d["omegaDeg"]]
tags = ["_cell_length_a", "_cell_length_b", "_cell_length_c", "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma",
        "_cell_volume", "_diffrn_radiation_wavelength"] + ["_diffrn_orient_matrix_UB_%d%d" % (i, j) for i in (1, 2, 3) for j in (1, 2, 3)] + ["_diffrn_pets_omega"]
for t, v in zip(tags, values):
    b.set_pair(t, "%.5f" % v)
b.set_pair("_diffrn_measurement_details", ";\\ndata collection geometry: %s\\ndstarmax: %6.3f\\nRC width: %8.5f\\nmosaicity: %6.3f\\n"
  "rotation axis position: %8.3f\\nreflection size: %8.3f\\nVirtual frame settings: number of merged frames:  %d\\n"
  "                        step between frames:      %d\\n                        sum all intensities:      1\\n;"
  % (d["geometryText"], d["dStarMaxInvA"], d["rcWidthInvA"], d["mosaicityDeg"], d["omegaDeg"], d["reflectionSizePx"], d["virtualFrames"]["nMerged"], d["virtualFrames"]["step"]))
lo = b.init_loop("_diffrn_zone_axis_", ["id", "u", "v", "w", "precession_angle", "alpha", "beta", "omega", "scale"])
for z in d["zoneAxes"]:
    lo.add_row(["%4d" % z["id"]] + ["%8.5f" % z[k] for k in "uvw"] + ["%12.3f" % z["precessionAngleDeg"]] + ["%9.3f" % z[k] for k in ("alphaDeg", "betaDeg", "omegaDeg", "scale")])
li = b.init_loop("_refln_", ["index_h", "index_k", "index_l", "intensity_meas", "intensity_sigma", "zone_axis_id"])
for r in d["reflections"]:
    li.add_row([" %3d" % r["h"], "%3d" % r["k"], "%3d" % r["l"], "%11.2f" % r["intensity"], "%11.2f" % r["sigma"], "%5d" % r["zoneAxisId"]])
sys.stdout.write(doc.as_string())
`;

function python(script: string, stdin: string): string {
  const py = spawnSync(PYTHON, ['-c', script], { input: stdin, encoding: 'utf8' });
  expect(py.status, py.stderr).toBe(0);
  return py.stdout;
}

describe('.cif_pets', () => {
  it('is read by gemmi with every pair item, the measurement details and both loops intact', () => {
    const text = formatCifPets(input);
    const d = JSON.parse(python(READ, text));
    expect(d.name).toBe('particle_7');
    const p = d.pairs as Record<string, number>;
    expect(p._cell_length_a).toBeCloseTo(5.4312, 5);
    expect(p._cell_angle_beta).toBeCloseTo(104.47, 5);
    expect(p._cell_volume).toBeCloseTo(5.4312 * 9.1177 * 7.3046 * Math.sin((104.47 * Math.PI) / 180), 4);
    expect(p._diffrn_radiation_wavelength).toBeCloseTo(0.02508, 6);
    ub.forEach((row, i) => row.forEach((v, j) => expect(p[`_diffrn_orient_matrix_UB_${i + 1}${j + 1}`]).toBeCloseTo(v, 4)));
    expect(p._diffrn_pets_omega).toBeCloseTo(230.391, 5);
    expect(d.details.split('\n')).toEqual([
      '',
      'data collection geometry: continuous rotation',
      'dstarmax:  1.800',
      'RC width:  0.00120',
      'mosaicity:  0.210',
      'rotation axis position:  230.391',
      'reflection size:    8.000',
      'Virtual frame settings: number of merged frames:  7',
      '                        step between frames:      5',
      '                        sum all intensities:      1',
    ]);
    expect(d.zone.length).toBe(3);
    d.zone.forEach((row: number[], i: number) => {
      const z = input.zoneAxes[i]!;
      expect(row).toEqual([z.id, z.u, z.v, z.w, z.precessionAngleDeg, z.alphaDeg, z.betaDeg, z.omegaDeg, z.scale].map((v, k) => expect.closeTo(v, k < 4 ? 4 : 2)));
    });
    expect(d.refl).toEqual([
      [1, 0, 0, 1234.57, 12.35, 1],
      [-12, 7, 3, -4.2, 3.1, 1],
      [0, 0, 2, 98765.4, 310.9, 2],
      [105, -3, 1, 0, 0.5, 3],
    ]);
    expect(d.items).toEqual([
      ...['length_a', 'length_b', 'length_c', 'angle_alpha', 'angle_beta', 'angle_gamma', 'volume'].map((t) => `_cell_${t}`),
      '_diffrn_radiation_wavelength',
      ...[1, 2, 3].flatMap((i) => [1, 2, 3].map((j) => `_diffrn_orient_matrix_UB_${i}${j}`)),
      '_diffrn_pets_omega',
      '_diffrn_measurement_details',
      ...['id', 'u', 'v', 'w', 'precession_angle', 'alpha', 'beta', 'omega', 'scale'].map((t) => `_diffrn_zone_axis_${t}`),
      ...['index_h', 'index_k', 'index_l', 'intensity_meas', 'intensity_sigma', 'zone_axis_id'].map((t) => `_refln_${t}`),
    ]);
  });

  it('is, byte for byte, what gemmi writes from the items and formats of dials.export format=pets', () => {
    for (const c of [input, { ...input, name: 'pets', geometry: 'stepwise' as const, virtualFrames: { nMerged: 1, step: 1 }, omegaDeg: -5.5 }]) {
      const dials = python(DIALS_STYLE, JSON.stringify({ ...c, cell: [c.cell.a, c.cell.b, c.cell.c, c.cell.alpha, c.cell.beta, c.cell.gamma], geometryText: c.geometry === 'continuous' ? 'continuous rotation' : 'precession' }));
      expect(formatCifPets(c)).toBe(dials);
    }
  });

  it('gives the zone axis along the beam, sign inverted (towards the source), largest |component| 1', () => {
    const cubic = bMatrix({ a: 5, b: 5, c: 5, alpha: 90, beta: 90, gamma: 90 });
    expect(zoneAxisOf(cubic)).toEqual([0, 0, 1]);
    expect(zoneAxisOf(cubic, [0, 0, 1])).toEqual([0, 0, -1]);
    // Any orientation, any cell: the direct-lattice vector A·[uvw] points against the beam, scaled to max |uvw| = 1.
    const a = matMul(rotationAboutAxis([0.3, -0.5, 0.8], 0.7), directMatrix(cell));
    for (const beam of [[0, 0, -1], [0.2, -0.1, -1], [1, 2, 3]] as Vec3[]) {
      const uvw = zoneAxisOf(ub, beam);
      expect(Math.max(...uvw.map(Math.abs))).toBeCloseTo(1, 12);
      const r = matVec(a, uvw);
      const cos = -(r[0] * beam[0] + r[1] * beam[1] + r[2] * beam[2]) / Math.hypot(...r) / Math.hypot(...beam);
      expect(cos).toBeCloseTo(1, 10);
    }
    // The same as the PETS frame's third row of UB (beam along −Z), scaled.
    const row = ub[2];
    const m = Math.max(...row.map(Math.abs));
    zoneAxisOf(ub).forEach((v, i) => expect(v).toBeCloseTo(row[i]! / m, 12));
    expect(() => zoneAxisOf(ub, [0, 0, 0])).toThrow(ParameterError);
  });

  it('refuses a reflection on a missing frame and names the field of every non-number', () => {
    const field = (c: CifPetsInput): string => {
      try {
        formatCifPets(c);
      } catch (e) {
        expect(e).toBeInstanceOf(ParameterError);
        return (e as ParameterError).detail.field!;
      }
      throw new Error('did not throw');
    };
    const z0 = input.zoneAxes[0]!;
    const r0 = input.reflections[0]!;
    expect(field({ ...input, reflections: [{ ...r0, zoneAxisId: 9 }] })).toBe('reflections[0].zoneAxisId');
    expect(field({ ...input, reflections: [r0, { ...r0, intensity: NaN }] })).toBe('reflections[1].intensity');
    expect(field({ ...input, reflections: [{ ...r0, sigma: Infinity }] })).toBe('reflections[0].sigma');
    expect(field({ ...input, reflections: [{ ...r0, h: 1.5 }] })).toBe('reflections[0].h');
    expect(field({ ...input, zoneAxes: [{ ...z0, alphaDeg: NaN }] })).toBe('zoneAxes[0].alphaDeg');
    expect(field({ ...input, zoneAxes: [z0, { ...z0 }] })).toBe('zoneAxes[1].id');
    expect(field({ ...input, ub: [ub[0], [ub[1][0], ub[1][1], NaN], ub[2]] })).toBe('ub[1][2]');
    expect(field({ ...input, cell: { ...cell, gamma: NaN } })).toBe('cell.gamma');
    expect(field({ ...input, wavelengthA: NaN })).toBe('wavelengthA');
    expect(field({ ...input, omegaDeg: NaN })).toBe('omegaDeg');
    expect(field({ ...input, mosaicityDeg: NaN })).toBe('mosaicityDeg');
    expect(field({ ...input, virtualFrames: { nMerged: 0, step: 1 } })).toBe('virtualFrames.nMerged');
    expect(field({ ...input, geometry: 'still' as unknown as 'stepwise' })).toBe('geometry');
    expect(field({ ...input, name: 'has space' })).toBe('name');
    expect(field({ ...input, reflections: [] })).toBe('reflections');
  });
});
