// The 230 space groups derived from their Hall symbols, against cctbx: every operator, the centring, centrosymmetry,
// point group, Laue class and crystal system of shared/ref/spacegroups.json (cctbx sgtbx); absences derived by hand
// for P21/c, Pbca, Fd-3m and I41/amd; then one Debian python3-cctbx process (it must be installed: .ci/run does) for
// the operators of all 530 settings sgtbx knows, systematic absences within |h|,|k|,|l| ≤ 4, ε, multiplicity and
// centricity of every group, and SHELX LATT/SYMM read back by iotbx.shelx as the same group in the same setting.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ParameterError } from '../../../src-shared/errors';
import { PYTHON } from '../../../tests/helpers/cell-error';
import { SHARED_REF } from '../../../tests/helpers/paths';
import type { Mat3, Vec3 } from '../math3';
import { SPACE_GROUP_SYMBOLS } from '../space-group-symbols';
import {
  allSpaceGroups,
  asymmetricUnitIndex,
  epsilon,
  equivalentIndices,
  hallSymbolOperators,
  isCentric,
  isSystematicallyAbsent,
  laueGroupOps,
  multiplicity,
  pointGroupOps,
  shelxLattSymm,
  spaceGroup,
  spaceGroupsOf,
  type CrystalSystem,
  type SpaceGroup,
} from '../space-groups';
import { parseSymop, type SymOp } from '../symmetry';

interface RefGroup {
  number: number;
  hm: string;
  hall: string;
  laue: string;
  pointGroup: string;
  centring: string;
  centrosymmetric: boolean;
  crystalSystem: string;
  order: number;
  operators: string[];
}
const REF = (JSON.parse(readFileSync(join(SHARED_REF, 'spacegroups.json'), 'utf8')) as { groups: RefGroup[] }).groups;

/** An operator as exact text: integer rotation, translation in 24ths reduced mod 1. */
function opKey(op: { rotation: Mat3; translation: Vec3 }): string {
  const t = op.translation.map((v) => (((Math.round(v * 24) % 24) + 24) % 24));
  return `${op.rotation.map((r) => r.join(',')).join(';')}|${t.join(',')}`;
}
const opSet = (ops: readonly (SymOp | string)[]): Set<string> => new Set(ops.map((o) => opKey(typeof o === 'string' ? parseSymop(o) : o)));

const within = (r: number): Array<[number, number, number]> => {
  const out: Array<[number, number, number]> = [];
  for (let h = -r; h <= r; h++) for (let k = -r; k <= r; k++) for (let l = -r; l <= r; l++) if (h || k || l) out.push([h, k, l]);
  return out;
};

describe('space groups from Hall symbols vs cctbx (shared/ref/spacegroups.json)', () => {
  it("the generated table holds cctbx's 230 reference settings, symbols only", () => {
    expect(SPACE_GROUP_SYMBOLS.map((r) => r[0])).toEqual(REF.map((g) => g.number));
    expect(SPACE_GROUP_SYMBOLS.map((r) => [r[1], r[2]])).toEqual(REF.map((g) => [g.hm, g.hall.trim()]));
    expect(SPACE_GROUP_SYMBOLS.every((r) => r.length === 3)).toBe(true);
  });

  it.each(REF.map((g) => [g.number, g.hm, g] as const))('%i %s: operators, centring, classes', (n, _hm, g) => {
    const sg = spaceGroup(n);
    expect(sg.operators.length).toBe(g.order);
    expect(opSet(sg.operators)).toEqual(opSet(g.operators));
    expect({ ...sg, operators: undefined }).toEqual({
      number: g.number,
      hm: g.hm,
      hall: g.hall.trim(),
      operators: undefined,
      centring: g.centring,
      centrosymmetric: g.centrosymmetric,
      pointGroup: g.pointGroup,
      laue: g.laue,
      crystalSystem: g.crystalSystem,
      order: g.order,
    });
    expect(sg.operators[0]!.text).toBe('x,y,z');
    // Each operator's text reads back as itself; translations lie in [0, 1).
    for (const op of sg.operators) {
      expect(opKey(parseSymop(op.text))).toBe(opKey(op));
      expect(op.translation.every((v) => v >= 0 && v < 1)).toBe(true);
    }
  });

  it('is cached and frozen', () => {
    const sg = spaceGroup(225);
    expect(spaceGroup('Fm-3m')).toBe(sg);
    expect(Object.isFrozen(sg) && Object.isFrozen(sg.operators) && Object.isFrozen(sg.operators[1]!.rotation)).toBe(true);
  });
});

describe('Hall symbol parser', () => {
  it("reads Hall's origin shift in 12ths and sgtbx's x,y,z form alike", () => {
    const a = hallSymbolOperators('P 31 2 (0 0 4)');
    expect(opSet(a)).toEqual(opSet(hallSymbolOperators(' P 31 2 (x,y,z+1/3)')));
    expect(opSet(a)).toEqual(opSet(['x,y,z', '-y,x-y,z+1/3', '-x+y,-x,z+2/3', '-y,-x,-z+2/3', 'x,x-y,-z', '-x+y,y,-z+1/3']));
  });

  it('reads non-reference settings: P21/n, R3 on rhombohedral axes, −1 off the origin, a change of basis that turns the axes', () => {
    expect(opSet(hallSymbolOperators('-P 2yn'))).toEqual(opSet(['x,y,z', '-x+1/2,y+1/2,-z+1/2', '-x,-y,-z', 'x+1/2,-y+1/2,z+1/2']));
    expect(opSet(hallSymbolOperators('P 3*'))).toEqual(opSet(['x,y,z', 'z,x,y', 'y,z,x']));
    expect(opSet(hallSymbolOperators('P 1 -1n'))).toEqual(opSet(['x,y,z', '-x+1/2,-y+1/2,-z+1/2']));
    expect(opSet(hallSymbolOperators('P 2y (z,x,y)'))).toEqual(opSet(['x,y,z', '-x,-y,z']));
  });

  it('refuses what is not a Hall symbol with ParameterError', () => {
    for (const bad of ['', 'Q 2', 'P 5', 'P 2q', 'P 2 2 3 -1n 2', 'P 4 3', 'P 2 (x,y)', 'P 2 (2x,y,z)', 'P 2 (x,y,z']) {
      expect(() => hallSymbolOperators(bad), bad).toThrow(ParameterError);
    }
  });
});

describe('spaceGroup lookup', () => {
  it('takes numbers and Hermann–Mauguin symbols with or without blanks, in any case', () => {
    const cases: Array<[number | string, number]> = [
      [14, 14], ['14', 14], ['P21/c', 14], ['P 1 21/c 1', 14], ['p21/C', 14], ['P2_1/c', 14], ['Pbca', 61], ['P n m a', 62],
      ['Fm-3m', 225], ['F m -3 m', 225], ['Fd-3m', 227], ['Fd-3m:2', 227], ['I41/amd', 141], ['R-3m', 166], ['R 3 :H', 146],
      ['P2', 3], ['Cc', 9], ['C2/c', 15], ['P1', 1], ['P-1', 2], ['P6_3/mmc', 194], ['P3112', 151], ['P3121', 152],
    ];
    for (const [q, n] of cases) expect(spaceGroup(q).number, String(q)).toBe(n);
  });

  it("finds every group by its own symbol, with and without blanks and origin/axes suffix, and no spelling names two", () => {
    for (const sg of allSpaceGroups()) {
      expect(spaceGroup(sg.hm).number).toBe(sg.number);
      expect(spaceGroup(sg.hm.replace(/\s+/g, '')).number).toBe(sg.number);
      expect(spaceGroup(sg.hm.replace(/\s*:.*$/, '').toUpperCase()).number).toBe(sg.number);
    }
  });

  it('refuses anything else with a ParameterError that says what it wants', () => {
    for (const bad of [0, 231, 1.5, Number.NaN, '', 'X', 'P 1 1 21/b', 'Fd-3m:1', 'R3:R', 'P21/c/m']) {
      expect(() => spaceGroup(bad), String(bad)).toThrow(ParameterError);
    }
    expect(() => spaceGroup('Pxyz')).toThrow(/'Pxyz' is not a Hermann–Mauguin symbol.*P21\/c/);
    expect(() => spaceGroup(231)).toThrow(/1–230/);
  });
});

describe('systematic absences, derived by hand', () => {
  const check = (q: string, expected: (h: number, k: number, l: number) => boolean): void => {
    const sg = spaceGroup(q);
    for (const [h, k, l] of within(6)) expect(isSystematicallyAbsent(sg, h, k, l), `${q} ${h} ${k} ${l}`).toBe(expected(h, k, l));
    expect(isSystematicallyAbsent(sg, 0, 0, 0)).toBe(false);
  };
  const odd = (v: number): boolean => Math.abs(v) % 2 === 1;
  const mod4 = (v: number): number => ((v % 4) + 4) % 4;

  it('P21/c: h0l with l odd, 0k0 with k odd', () => {
    check('P21/c', (h, k, l) => (k === 0 && odd(l)) || (h === 0 && l === 0 && odd(k)));
    const sg = spaceGroup(14);
    expect([isSystematicallyAbsent(sg, 1, 0, 1), isSystematicallyAbsent(sg, 1, 0, 2), isSystematicallyAbsent(sg, 0, 3, 0)]).toEqual([true, false, true]);
  });

  it('Pbca: 0kl k odd, h0l l odd, hk0 h odd', () => {
    check('Pbca', (h, k, l) => (h === 0 && odd(k)) || (k === 0 && odd(l)) || (l === 0 && odd(h)));
  });

  it('Fd-3m (origin 2): F centring; 0kl with k+l ≠ 4n (and cyclic)', () => {
    check('Fd-3m', (h, k, l) => {
      if (odd(h + k) || odd(h + l)) return true;
      return (h === 0 && mod4(k + l) !== 0) || (k === 0 && mod4(h + l) !== 0) || (l === 0 && mod4(h + k) !== 0);
    });
  });

  it('I41/amd (origin 2): I centring; hk0 h or k odd; hhl 2h+l ≠ 4n', () => {
    check('I41/amd', (h, k, l) => odd(h + k + l) || (l === 0 && (odd(h) || odd(k))) || (Math.abs(h) === Math.abs(k) && mod4(2 * h + l) !== 0));
  });
});

describe('reciprocal-space symmetry', () => {
  it('equivalents under the Laue group, their count, and one representative for all of them', () => {
    const p21c = spaceGroup('P21/c');
    expect(new Set(equivalentIndices(p21c, 1, 2, 3).map(String))).toEqual(new Set(['1,2,3', '-1,2,-3', '-1,-2,-3', '1,-2,3']));
    const m3m = spaceGroup('Fm-3m');
    expect([multiplicity(m3m, 1, 2, 3), multiplicity(m3m, 1, 0, 0), multiplicity(m3m, 1, 1, 1), multiplicity(m3m, 1, 1, 0)]).toEqual([48, 6, 8, 12]);
    expect(asymmetricUnitIndex(m3m, -1, -3, 2)).toEqual([3, 2, 1]);
    for (const sg of [p21c, m3m, spaceGroup('P321'), spaceGroup('P312'), spaceGroup('R-3'), spaceGroup('P-62m')]) {
      for (const [h, k, l] of within(3)) {
        const rep = asymmetricUnitIndex(sg, h, k, l);
        for (const [a, b, c] of equivalentIndices(sg, h, k, l)) expect(asymmetricUnitIndex(sg, a, b, c)).toEqual(rep);
      }
    }
    // Rotations may be given instead of a group.
    expect(multiplicity(laueGroupOps('4/mmm'), 1, 2, 3)).toBe(16);
  });

  it('ε counts the point-group rotations that fix hkl; centric reflections', () => {
    const sg = spaceGroup('P21/c');
    expect([epsilon(sg, 0, 1, 0), epsilon(sg, 1, 0, 1), epsilon(sg, 1, 1, 1)]).toEqual([2, 2, 1]);
    expect(epsilon(spaceGroup('P4'), 0, 0, 1)).toBe(4);
    expect([isCentric(spaceGroup('P2'), 1, 0, 1), isCentric(spaceGroup('P2'), 1, 1, 1), isCentric(sg, 1, 1, 1)]).toEqual([true, false, true]);
  });

  it("Laue groups: a class's conventional orientation, or a group's own (P312 and P321 differ)", () => {
    const sizes = (['-1', '2/m', 'mmm', '4/m', '4/mmm', '-3', '-3m', '6/m', '6/mmm', 'm-3', 'm-3m'] as const).map((c) => laueGroupOps(c).length);
    expect(sizes).toEqual([2, 4, 8, 8, 16, 6, 12, 12, 24, 24, 48]);
    const rot = (ops: Mat3[]): Set<string> => new Set(ops.map((r) => r.map(String).join(';')));
    expect(rot(laueGroupOps(spaceGroup('P321')))).toEqual(rot(laueGroupOps('-3m')));
    expect(rot(laueGroupOps(spaceGroup('P312')))).not.toEqual(rot(laueGroupOps('-3m')));
    expect(pointGroupOps(spaceGroup('P21/c')).length).toBe(4);
    expect(() => laueGroupOps('4mm' as never)).toThrow(ParameterError);
  });

  it('space groups by Laue class and centring', () => {
    expect(spaceGroupsOf('2/m', 'P')).toEqual([3, 4, 6, 7, 10, 11, 13, 14]);
    expect(spaceGroupsOf('2/m', 'C')).toEqual([5, 8, 9, 12, 15]);
    expect(spaceGroupsOf('m-3', 'F')).toEqual([196, 202, 203]);
    expect(spaceGroupsOf('m-3m', 'F')).toEqual([209, 210, 216, 219, 225, 226, 227, 228]);
    expect(spaceGroupsOf('-3m', 'R')).toEqual([155, 160, 161, 166, 167]);
    expect(spaceGroupsOf('mmm', 'A')).toEqual([38, 39, 40, 41]);
    const total = allSpaceGroups().length;
    expect(total).toBe(230);
  });
});

describe('SHELX LATT and SYMM', () => {
  it('writes the familiar ones', () => {
    expect(shelxLattSymm(spaceGroup('P1'))).toEqual({ latt: -1, symm: [] });
    expect(shelxLattSymm(spaceGroup('P-1'))).toEqual({ latt: 1, symm: [] });
    expect(shelxLattSymm(spaceGroup('P21/c'))).toEqual({ latt: 1, symm: ['-X, 1/2+Y, 1/2-Z'] });
    expect(shelxLattSymm(spaceGroup('C2/c'))).toEqual({ latt: 7, symm: ['-X, Y, 1/2-Z'] });
    expect(new Set(shelxLattSymm(spaceGroup('P212121')).symm)).toEqual(new Set(['1/2-X, -Y, 1/2+Z', '-X, 1/2+Y, 1/2-Z', '1/2+X, 1/2-Y, -Z']));
    expect(shelxLattSymm(spaceGroup('R-3')).latt).toBe(3);
  });

  it('refuses a centrosymmetric group whose inversion centre is off the origin (SHELX puts it at the origin)', () => {
    const shifted: SpaceGroup = { ...spaceGroup('P-1'), hm: 'P -1 (origin at 1/4,1/4,1/4)', operators: hallSymbolOperators('P 1 -1n') };
    expect(() => shelxLattSymm(shifted)).toThrow(/not at the origin/);
  });

  it('lists one operator per coset of centring (and −1 at the origin, for centrosymmetric groups) for all 230', () => {
    const code: Record<string, number> = { P: 1, I: 2, R: 3, F: 4, A: 5, B: 6, C: 7 };
    const centred: Record<string, number> = { P: 1, A: 2, B: 2, C: 2, I: 2, R: 3, F: 4 };
    for (const sg of allSpaceGroups()) {
      const { latt, symm } = shelxLattSymm(sg);
      expect(latt).toBe((sg.centrosymmetric ? 1 : -1) * code[sg.centring]!);
      expect(symm.length + 1).toBe(sg.order / centred[sg.centring]! / (sg.centrosymmetric ? 2 : 1));
      for (const s of symm) expect(s).toMatch(/^[-+0-9/XYZ]+(, [-+0-9/XYZ]+){2}$/);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// cctbx cross-checks, one python process for everything.

const CELLS: Record<CrystalSystem, string> = {
  Triclinic: '5.1 6.2 7.3 81 86 77',
  Monoclinic: '5.1 6.2 7.3 90 103 90',
  Orthorhombic: '5.1 6.2 7.3 90 90 90',
  Tetragonal: '5.1 5.1 7.3 90 90 90',
  Trigonal: '5.1 5.1 7.3 90 90 120',
  Hexagonal: '5.1 5.1 7.3 90 90 120',
  Cubic: '5.1 5.1 5.1 90 90 90',
};

function minimalIns(sg: SpaceGroup): string {
  const { latt, symm } = shelxLattSymm(sg);
  return [`TITL ${sg.hm}`, `CELL 0.0251 ${CELLS[sg.crystalSystem]}`, 'ZERR 4 0 0 0 0 0 0', `LATT ${latt}`, ...symm.map((s) => `SYMM ${s}`), 'SFAC C', 'UNIT 1', 'HKLF 4', 'END', ''].join('\n');
}

const CCTBX = `
import json, sys
from cctbx import sgtbx
from iotbx.shelx import crystal_symmetry_from_ins
args = json.load(sys.stdin)
def grid(r):
    return [(h, k, l) for h in range(-r, r + 1) for k in range(-r, r + 1) for l in range(-r, r + 1) if (h, k, l) != (0, 0, 0)]
absence_grid, stats_grid = grid(args["absenceRange"]), grid(args["statsRange"])
groups = []
for n in range(1, 231):
    sg = sgtbx.space_group_info(n).group()
    back = crystal_symmetry_from_ins.extract_from(file_name=args["ins"][n - 1])
    groups.append({
        "absent": [list(h) for h in absence_grid if sg.is_sys_absent(h)],
        "epsilon": [sg.epsilon(h) for h in stats_grid],
        "multiplicity": [sg.multiplicity(h, False) for h in stats_grid],
        "centric": [sg.is_centric(h) for h in stats_grid],
        "insNumber": back.space_group_info().type().number(),
        "insSameGroup": back.space_group() == sg,
    })
settings = []
for s in sgtbx.space_group_symbol_iterator():
    g = sgtbx.space_group(s.hall())
    settings.append({"hall": s.hall(), "hm": s.universal_hermann_mauguin(), "ops": [str(op) for op in g]})
print(json.dumps({"groups": groups, "settings": settings}))
`;

interface CctbxGroup {
  absent: number[][];
  epsilon: number[];
  multiplicity: number[];
  centric: boolean[];
  insNumber: number;
  insSameGroup: boolean;
}

describe('cross-checked by cctbx (python3-cctbx)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tracked-sg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const groups = allSpaceGroups();
  const ins = groups.map((sg) => {
    const file = join(dir, `sg${sg.number}.ins`);
    writeFileSync(file, minimalIns(sg));
    return file;
  });
  const ABSENCE_RANGE = 4;
  const STATS_RANGE = 2;
  const py = spawnSync(PYTHON, ['-c', CCTBX], { input: JSON.stringify({ ins, absenceRange: ABSENCE_RANGE, statsRange: STATS_RANGE }), encoding: 'utf8', maxBuffer: 256 << 20 });
  const ref = py.status === 0 ? (JSON.parse(py.stdout) as { groups: CctbxGroup[]; settings: Array<{ hall: string; hm: string; ops: string[] }> }) : null;

  it('cctbx is installed (apt-get install -y python3-cctbx; .ci/run does)', () => {
    expect(py.status, py.stderr).toBe(0);
  });

  it('the operators of all 530 settings sgtbx knows, from their Hall symbols', () => {
    expect(ref).not.toBeNull();
    expect(ref!.settings.length).toBe(530);
    for (const s of ref!.settings) expect(opSet(hallSymbolOperators(s.hall)), `${s.hm} '${s.hall}'`).toEqual(opSet(s.ops));
  });

  it(`systematic absences within |h|,|k|,|l| ≤ ${ABSENCE_RANGE} for all 230`, () => {
    expect(ref).not.toBeNull();
    groups.forEach((sg, i) => {
      const ours = within(ABSENCE_RANGE).filter(([h, k, l]) => isSystematicallyAbsent(sg, h, k, l)).map(String);
      expect(ours, sg.hm).toEqual(ref!.groups[i]!.absent.map(String));
    });
  });

  it(`ε, multiplicity and centricity within |h|,|k|,|l| ≤ ${STATS_RANGE} for all 230`, () => {
    expect(ref).not.toBeNull();
    const hkls = within(STATS_RANGE);
    groups.forEach((sg, i) => {
      const r = ref!.groups[i]!;
      expect(hkls.map(([h, k, l]) => epsilon(sg, h, k, l)), sg.hm).toEqual(r.epsilon);
      expect(hkls.map(([h, k, l]) => multiplicity(sg, h, k, l)), sg.hm).toEqual(r.multiplicity);
      expect(hkls.map(([h, k, l]) => isCentric(sg, h, k, l)), sg.hm).toEqual(r.centric);
    });
  });

  it('SHELX LATT/SYMM of all 230 read back by iotbx.shelx as the same group in the same setting', () => {
    expect(ref).not.toBeNull();
    groups.forEach((sg, i) => {
      expect(ref!.groups[i]!.insNumber, sg.hm).toBe(sg.number);
      expect(ref!.groups[i]!.insSameGroup, `${sg.hm}\n${minimalIns(sg)}`).toBe(true);
    });
  });
});
