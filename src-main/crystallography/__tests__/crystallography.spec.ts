import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bMatrix,
  cellVolumeA3,
  det3,
  detectorToLab,
  directMatrix,
  dSpacingA,
  electronScatteringFactorA,
  electronWavelengthA,
  enumerateReflections,
  excitationErrorInvA,
  goniometerRotation,
  matMul,
  matVec,
  parseCif,
  parseSymop,
  prepareStructureFactorModel,
  projectToDetector,
  readCifFile,
  reciprocalCell,
  structureFactor,
  tabulatedElements,
  transpose,
  unitCellAtoms,
  loadBundledStructure,
  type Vec3,
} from '..';
import { InputError } from '../../../src-shared/errors';
import { SHARED_REF } from '../../../tests/helpers/paths';
import { niggliReduce } from '../reduction';

const REF = SHARED_REF;

interface SfRef {
  structure: string;
  dMinA: number;
  reflections: [number, number, number, number, number][];
}

describe('structure factors vs cctbx (shared/ref/sf_*.json)', () => {
  for (const name of ['brookite_TiO2', 'CsPbBr3_cubic', 'beta_Ga2O3']) {
    it(`${name}: |F|² within 0.5% for every listed reflection, d within 1e-4 Å`, () => {
      const ref = JSON.parse(readFileSync(join(REF, `sf_${name}.json`), 'utf8')) as SfRef;
      const structure = readCifFile(join(REF, 'structures', ref.structure));
      const model = prepareStructureFactorModel(structure);
      expect(ref.reflections.length).toBeGreaterThan(20);
      let worst = 0;
      let checked = 0;
      for (const [h, k, l, f2ref, dRef] of ref.reflections) {
        const f = structureFactor(model, h, k, l);
        expect(Math.abs(1 / f.dInvA - dRef)).toBeLessThan(1e-4);
        // Relative error, with an absolute floor for reflections that are systematically (near) zero.
        const err = Math.abs(f.f2 - f2ref) / Math.max(f2ref, 1e-3);
        worst = Math.max(worst, Math.abs(f.f2 - f2ref) > 1e-5 ? err : 0);
        if (Math.abs(f.f2 - f2ref) > 1e-5) expect(err, `${h} ${k} ${l}: ${f.f2} vs ${f2ref}`).toBeLessThan(0.005);
        checked++;
      }
      expect(checked).toBe(ref.reflections.length);
      expect(worst).toBeLessThan(0.005);
    });
  }

  it('Friedel mates are equal and systematic absences vanish (Pbca: 0kl, k odd)', () => {
    const model = prepareStructureFactorModel(readCifFile(join(REF, 'structures', 'brookite_TiO2.cif')));
    const a = structureFactor(model, 1, 2, 3).f2;
    expect(structureFactor(model, -1, -2, -3).f2).toBeCloseTo(a, 9);
    expect(structureFactor(model, 0, 1, 2).f2).toBeLessThan(1e-12);
    expect(structureFactor(model, 1, 0, 1).f2).toBeLessThan(1e-12); // h0l, l odd
    expect(structureFactor(model, 1, 1, 0).f2).toBeLessThan(1e-12); // hk0, h odd
  });
});

describe('relativistic wavelength', () => {
  it.each([
    [80, 0.04176],
    [120, 0.03349],
    [200, 0.02508],
    [300, 0.01969],
  ])('%s kV → %s Å', (kv, lam) => {
    expect(Math.abs(electronWavelengthA(kv) - lam)).toBeLessThan(1e-5);
  });
  it('rejects absurd voltages', () => {
    expect(() => electronWavelengthA(-1)).toThrow(/voltageKV/);
    expect(() => electronWavelengthA(Number.NaN)).toThrow(/voltageKV/);
  });
});

describe('Peng scattering factors', () => {
  const ref = JSON.parse(readFileSync(join(REF, 'electron_scattering_peng.json'), 'utf8')) as {
    elements: Record<string, { f_at_s: Record<string, number> }>;
  };
  it('cover every element of the reference table', () => {
    expect(tabulatedElements().sort()).toEqual(Object.keys(ref.elements).sort());
  });
  it('match every spot-check value f(s), s = 0 … 2 Å⁻¹', () => {
    let n = 0;
    for (const [el, { f_at_s }] of Object.entries(ref.elements)) {
      for (const [s, f] of Object.entries(f_at_s)) {
        expect(electronScatteringFactorA(el, Number(s)), `${el} s=${s}`).toBeCloseTo(f, 4);
        n++;
      }
    }
    expect(n).toBeGreaterThan(600);
  });
});

describe('lattice maths', () => {
  const ga = { a: 12.214, b: 3.0371, c: 5.7981, alpha: 90, beta: 103.83, gamma: 90 };
  it('B (Busing–Levy) has a* along x, b* in xy, and BᵀB = G*', () => {
    const b = bMatrix(ga);
    const r = reciprocalCell(ga);
    expect(b[1][0]).toBe(0);
    expect(b[2][0]).toBe(0);
    expect(b[2][1]).toBe(0);
    expect(b[0][0]).toBeCloseTo(r.a, 12);
    expect(b[2][2]).toBeCloseTo(1 / ga.c, 12);
    // a* = 1/(a sinβ) for monoclinic b-unique
    expect(r.a).toBeCloseTo(1 / (ga.a * Math.sin((ga.beta * Math.PI) / 180)), 12);
    expect(r.beta).toBeCloseTo(180 - ga.beta, 9);
    // Direct vectors from A = B^-T have the cell's lengths and angles.
    const a = directMatrix(ga);
    const col = (j: number): Vec3 => [a[0][j], a[1][j], a[2][j]];
    const len = (v: Vec3): number => Math.hypot(...v);
    expect(len(col(0))).toBeCloseTo(ga.a, 9);
    expect(len(col(1))).toBeCloseTo(ga.b, 9);
    expect(len(col(2))).toBeCloseTo(ga.c, 9);
    const cosBeta = (col(0)[0] * col(2)[0] + col(0)[1] * col(2)[1] + col(0)[2] * col(2)[2]) / (ga.a * ga.c);
    expect((Math.acos(cosBeta) * 180) / Math.PI).toBeCloseTo(ga.beta, 9);
    expect(det3(a)).toBeCloseTo(cellVolumeA3(ga), 6);
  });
  it('d-spacings: orthorhombic closed form, monoclinic (h0l)', () => {
    const br = { a: 9.184, b: 5.447, c: 5.145, alpha: 90, beta: 90, gamma: 90 };
    expect(dSpacingA(br, [1, 2, 3])).toBeCloseTo(1 / Math.sqrt(1 / 9.184 ** 2 + 4 / 5.447 ** 2 + 9 / 5.145 ** 2), 12);
    // β-Ga2O3 (2 0 -1): 1/d² = (h²/a² + l²/c² − 2hl cosβ/(ac)) / sin²β
    const sb = Math.sin((ga.beta * Math.PI) / 180);
    const cb = Math.cos((ga.beta * Math.PI) / 180);
    const expected = 1 / Math.sqrt((4 / ga.a ** 2 + 1 / ga.c ** 2 + (2 * 2 * cb) / (ga.a * ga.c)) / (sb * sb));
    expect(dSpacingA(ga, [2, 0, -1])).toBeCloseTo(expected, 10);
  });
  it('enumerates the full sphere to d_min with Friedel mates', () => {
    const list = enumerateReflections(ga, 1.0);
    for (let i = 0; i < list.count; i++) expect(list.dInvA[i]).toBeLessThanOrEqual(1 + 1e-9);
    // Count: lattice points in the sphere ≈ V·(4/3)π q³.
    const expected = cellVolumeA3(ga) * (4 / 3) * Math.PI;
    expect(list.count).toBeGreaterThan(expected * 0.85);
    expect(list.count).toBeLessThan(expected * 1.15);
    expect(list.count % 2).toBe(0);
  });
});

describe('symmetry and CIF reading', () => {
  it('parses operators with rational translations in any order', () => {
    const op = parseSymop(" '1/2-x, y+1/2 , -Z+0.5' ");
    expect(op.rotation).toEqual([
      [-1, 0, 0],
      [0, 1, 0],
      [0, 0, -1],
    ]);
    expect(op.translation).toEqual([0.5, 0.5, 0.5]);
    expect(parseSymop('x-y,x,z+1/6').rotation[0]).toEqual([1, -1, 0]);
    expect(() => parseSymop('x,y')).toThrow();
    expect(() => parseSymop('x,x,z')).toThrow(/determinant/);
  });
  it('expands the asymmetric unit to the full cell (Z from the formula)', () => {
    const br = readCifFile(join(REF, 'structures', 'brookite_TiO2.cif'));
    const atoms = unitCellAtoms(br);
    expect(atoms.filter((a) => a.element === 'Ti')).toHaveLength(8);
    expect(atoms.filter((a) => a.element === 'O')).toHaveLength(16);
    const cs = unitCellAtoms(readCifFile(join(REF, 'structures', 'CsPbBr3_cubic.cif')));
    expect(cs.map((a) => a.element).sort()).toEqual(['Br', 'Br', 'Br', 'Cs', 'Pb']);
    const gao = unitCellAtoms(readCifFile(join(REF, 'structures', 'beta_Ga2O3.cif')));
    expect(gao.filter((a) => a.element === 'Ga')).toHaveLength(8);
    expect(gao.filter((a) => a.element === 'O')).toHaveLength(12);
  });
  it('reads uncertainties, quotes, B_iso, comments and text fields', () => {
    const cif = `# test
data_test
_cell_length_a 5.4558(3)
_cell_length_b '5.4558(3)'
_cell_length_c 5.4558
_cell_angle_alpha 90
_cell_angle_beta 90.0(0)
_cell_angle_gamma 90
_publ_section_title
;
 A title, with 'quotes'
;
_symmetry_space_group_name_H-M 'F m -3 m'
loop_
_symmetry_equiv_pos_as_xyz
'x, y, z'
"x+1/2, y+1/2, z"
'x+1/2, y, z+1/2'
'x, y+1/2, z+1/2'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
_atom_site_B_iso_or_equiv
Si1 Si4+ 0 0 0 1.0 0.5(1)   # a comment
`;
    const s = parseCif(cif, 'test.cif');
    expect(s.cell.a).toBe(5.4558);
    expect(s.cell.b).toBe(5.4558);
    expect(s.spaceGroup).toBe('F m -3 m');
    expect(s.atoms[0]!.element).toBe('Si');
    expect(s.atoms[0]!.uIsoA2).toBeCloseTo(0.5 / (8 * Math.PI * Math.PI), 12);
    expect(unitCellAtoms(s)).toHaveLength(4);
  });
  it('throws InputError naming the file for missing cell or unknown element', () => {
    const noCell = 'data_x\n_cell_length_a 5\nloop_\n_atom_site_label\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nO1 0 0 0\n';
    expect(() => parseCif(noCell, 'bad.cif')).toThrow(InputError);
    expect(() => parseCif(noCell, 'bad.cif')).toThrow(/bad\.cif.*_cell_length_b/);
    const badEl =
      'data_x\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\nloop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nQ1 Qq 0 0 0\n';
    expect(() => parseCif(badEl, 'el.cif')).toThrow(/el\.cif.*unknown element 'Qq'/);
    expect(() => parseCif('hello', 'x.txt')).toThrow(/x\.txt.*data_/);
  });
  it('bundled preset structures load from resources/', () => {
    const s = loadBundledStructure('beta_Ga2O3.cif');
    expect(s.cell.beta).toBeCloseTo(103.83, 6);
  });
});

describe('diffraction geometry (ARCHITECTURE §4)', () => {
  const lam = electronWavelengthA(200);
  const K = 1 / lam;
  it('excitation error: zero on the sphere, positive inside, ≈ −g_z for small g', () => {
    const geom = { wavelengthA: lam, reciprocalPixelInvA: 0.01, beamCentre: [64, 64] as const };
    const q = detectorToLab(geom, 64 + 80, 64 - 30); // a point on the Ewald sphere
    expect(Math.abs(excitationErrorInvA(q, lam))).toBeLessThan(1e-12);
    expect(excitationErrorInvA([q[0], q[1], q[2] + 0.001], lam)).toBeLessThan(0); // outside
    expect(excitationErrorInvA([q[0], q[1], q[2] - 0.001], lam)).toBeGreaterThan(0); // inside
    // Curvature: at 200 kV and |g| = 1 Å⁻¹ in the plane, the sphere is 0.0125 Å⁻¹ away along z.
    expect(excitationErrorInvA([1, 0, 0], lam)).toBeCloseTo(-1 / (2 * K), 12);
    expect(1 / (2 * K)).toBeCloseTo(0.01254, 4);
  });
  it('projection to the detector inverts detectorToLab', () => {
    const geom = { wavelengthA: lam, reciprocalPixelInvA: 0.0195, beamCentre: [63.6, 64.3] as const };
    const q = detectorToLab(geom, 100.25, 20.5);
    const p = projectToDetector(geom, q);
    expect(p.qx).toBeCloseTo(100.25, 10);
    expect(p.qy).toBeCloseTo(20.5, 10);
    expect(p.q[2]).toBeCloseTo(q[2], 12);
  });
  it('goniometer rotation: right-handed about the in-plane axis, q_lab = R·UB·h', () => {
    const r = goniometerRotation(90, 90); // axis +Y, +90°: +Z → +X
    const z = matVec(r, [0, 0, 1]);
    expect(z[0]).toBeCloseTo(1, 12);
    expect(z[2]).toBeCloseTo(0, 12);
    const r2 = goniometerRotation(30, 17);
    expect(det3(r2)).toBeCloseTo(1, 12);
    const axis: Vec3 = [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6), 0];
    const ax = matVec(r2, axis);
    expect(ax[0]).toBeCloseTo(axis[0], 12);
    expect(ax[1]).toBeCloseTo(axis[1], 12);
    const rrT = matMul(r2, transpose(r2));
    expect(rrT[0][0]).toBeCloseTo(1, 12);
    expect(rrT[0][1]).toBeCloseTo(0, 12);
  });
});

describe('Niggli reduction (Křivý–Gruber with epsilon comparisons)', () => {
  const ref = JSON.parse(readFileSync(join(SHARED_REF, 'niggli.json'), 'utf8')) as { cases: Array<{ input: number[]; niggli: number[]; volume: number }> };
  it('reduces the 60 random settings to the cells cctbx gives, keeping the volume and an integer unimodular transform', () => {
    expect(ref.cases).toHaveLength(60);
    for (const c of ref.cases) {
      const [a, b, cc, alpha, beta, gamma] = c.input;
      const basis = directMatrix({ a: a!, b: b!, c: cc!, alpha: alpha!, beta: beta!, gamma: gamma! });
      const r = niggliReduce(basis);
      const got = [r.cell.a, r.cell.b, r.cell.c, r.cell.alpha, r.cell.beta, r.cell.gamma];
      got.forEach((v, k) => expect(v, `${c.input} → ${c.niggli}`).toBeCloseTo(c.niggli[k]!, 3));
      expect(Math.abs(det3(r.basis))).toBeCloseTo(c.volume, 2);
      expect(Math.abs(det3(r.transform))).toBeCloseTo(1, 9);
      for (const row of r.transform) for (const x of row) expect(Number.isInteger(Math.round(x * 1e9) / 1e9)).toBe(true);
    }
  });
  it('refuses a flat basis', () => {
    expect(() => niggliReduce([[1, 0, 1], [0, 1, 1], [0, 0, 0]])).toThrow(/3D lattice/);
  });
});
