// The SHELX .ins for electron data read back by Debian's python3-cctbx. What cctbx reads:
//   - iotbx.shelx.crystal_symmetry_from_ins: CELL (and the wavelength in it) and the space group LATT + SYMM make;
//   - the iotbx.shelx lexer (command_stream): every instruction with its numbers, `=` continuations joined — ZERR,
//     the long-form SFAC (label + 14 numbers), UNIT, L.S., LIST, FMAP, PLAN, WGHT, FVAR, HKLF;
//   - iotbx.shelx.instruction_parser: WGHT and HKLF as SHELXL means them.
// What it cannot: the atom parser behind cctbx.xray.structure.from_shelx (and smtbx) raises NotImplementedError on
// the long SFAC form, so the SFAC numbers are also read by an independent tokenizer here and f(s) = Σ aᵢ exp(−bᵢs²) + c
// evaluated from them is compared with our fit and with cctbx's own Peng (ITC C 4.3.2.2) table.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fitSfac, sfacValue } from '../../../crystallography/sfac-fit';
import { formatIns, insInstruction, type InsInput } from '../shelx-ins';
import { ParameterError } from '../../../../src-shared/errors';
import { PYTHON } from '../../../../tests/helpers/cell-error';

const S = [0, 0.1, 0.25, 0.5, 1, 1.5, 2];

const READ = `
import io, json, math, sys
import iotbx.shelx as shelx
from iotbx import builders
from iotbx.shelx import crystal_symmetry_from_ins
from cctbx import sgtbx
from cctbx.eltbx import e_scattering
import cctbx.xray
content, expected_sg = sys.stdin.read(), sys.argv[1]
ins_file = lambda: io.StringIO(content)
S = ${JSON.stringify(S)}
cs = crystal_symmetry_from_ins.extract_from(file=ins_file())
g = cs.space_group()
commands = {}
for command, _ in shelx.command_stream(file=ins_file()):
    commands.setdefault(command[0], []).append([a if isinstance(a, float) else str(a) for a in command[-1]])
b = builders.crystal_symmetry_builder()
ins = shelx.instruction_parser(shelx.crystal_symmetry_parser(shelx.command_stream(file=ins_file()), b).filtered_commands())
ins.parse()
try:
    cctbx.xray.structure.from_shelx(file=ins_file())
    structure = "read"
except NotImplementedError as e:
    structure = "NotImplementedError: " + str(e)
# Independent reading of SFAC: join ' =' continuations, split, label + 14 numbers.
text, joined = content.splitlines(), []
for line in text:
    if joined and joined[-1].endswith("="):
        joined[-1] = joined[-1][:-1] + " " + line.strip()
    else:
        joined.append(line)
sfac = {}
for line in joined:
    w = line.split()
    if w and w[0] == "SFAC":
        nums = [float(x) for x in w[2:]]
        a, bb, c = nums[0:8:2], nums[1:8:2], nums[8]
        f = lambda s: sum(ai * math.exp(-bi * s * s) for ai, bi in zip(a, bb)) + c
        peng = e_scattering.ito_vol_c_2011_table_4_3_2_2_entry_as_gaussian(w[1])
        sfac[w[1]] = {"n": len(nums), "tail": nums[9:], "f": [f(s) for s in S], "peng": [peng.at_stol(s) for s in S]}
print(json.dumps({
    "cell": list(cs.unit_cell().parameters()),
    "sg": g.type().lookup_symbol(),
    "same_group": g == sgtbx.space_group_info(expected_sg).group(),
    "order_z": g.order_z(), "centric": g.is_centric(),
    "commands": commands,
    "wght": ins.instructions["wght"]["a"], "hklf": ins.instructions["hklf"]["n"],
    "structure": structure,
    "sfac": sfac,
}))
`;

interface ReadBack {
  cell: number[];
  sg: string;
  same_group: boolean;
  order_z: number;
  centric: boolean;
  commands: Record<string, Array<Array<number | string>>>;
  wght: number;
  hklf: number;
  structure: string;
  sfac: Record<string, { n: number; tail: number[]; f: number[]; peng: number[] }>;
}

function readBack(text: string, spaceGroup: string): ReadBack {
  const py = spawnSync(PYTHON, ['-c', READ, spaceGroup], { input: text, encoding: 'utf8' });
  expect(py.status, py.stderr).toBe(0);
  return JSON.parse(py.stdout) as ReadBack;
}

const cases: Array<{ sg: string; input: InsInput; order: number; centric: boolean }> = [
  {
    sg: 'P b c a',
    order: 8,
    centric: true,
    input: {
      title: 'brookite TiO2 in Pbca',
      wavelengthA: 0.025079,
      cell: { a: 9.166, b: 5.436, c: 5.135, alpha: 90, beta: 90, gamma: 90 },
      cellEsd: [0.0012, 0.0008, 0.0009, 0, 0, 0],
      z: 8,
      latt: 1,
      symm: ['1/2-X, -Y, 1/2+Z', '-X, 1/2+Y, 1/2-Z', '1/2+X, 1/2-Y, -Z'],
      composition: [
        { element: 'Ti', count: 8 },
        { element: 'O', count: 16 },
      ],
    },
  },
  {
    sg: 'P 1 21/c 1',
    order: 4,
    centric: true,
    input: {
      title: 'a P21/c test = with ! odd characters',
      wavelengthA: 0.019687,
      cell: { a: 5.2144, b: 9.1012, c: 7.3033, alpha: 90, beta: 104.52, gamma: 90 },
      cellEsd: [0.0005, 0.0009, 0.0007, 0, 0.011, 0],
      z: 4,
      latt: 1,
      symm: ['-X, 1/2+Y, 1/2-Z'],
      composition: [
        { element: 'C', count: 24 },
        { element: 'H', count: 16 },
        { element: 'N', count: 4 },
        { element: 'Br', count: 4 },
      ],
    },
  },
  {
    sg: 'C 1 c 1',
    order: 4,
    centric: false,
    input: {
      title: 'non-centrosymmetric Cc',
      wavelengthA: 0.033492,
      cell: { a: 11.52, b: 6.031, c: 9.884, alpha: 90, beta: 112.3, gamma: 90 },
      cellEsd: [0.002, 0.001, 0.002, 0, 0.02, 0],
      z: 4,
      latt: -7,
      symm: ['X, -Y, 1/2+Z'],
      composition: [
        { element: 'Pb', count: 4 },
        { element: 'Cs', count: 4 },
        { element: 'Br', count: 12 },
      ],
    },
  },
];

describe('SHELX .ins for electron data', () => {
  it.each(cases)('$sg: cctbx reads the cell, the space group from LATT/SYMM, UNIT and every instruction', ({ sg, input, order, centric }) => {
    const { text, sfacFits } = formatIns(input);
    const lines = text.trimEnd().split('\n');
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    lines.forEach((l, i) => {
      if (l.endsWith(' =')) expect(lines[i + 1]).toMatch(/^ +\S/);
    });
    expect(lines.at(-1)).toBe('END');
    expect(lines.at(-2)).toBe('HKLF 4');
    const back = readBack(text, sg);
    const { a, b, c, alpha, beta, gamma } = input.cell;
    back.cell.forEach((v, i) => expect(v).toBeCloseTo([a, b, c, alpha, beta, gamma][i]!, 4));
    expect(back.sg).toBe(sg);
    expect(back.same_group).toBe(true);
    expect(back.order_z).toBe(order);
    expect(back.centric).toBe(centric);
    const cmd = back.commands;
    expect(cmd.TITL![0]![0]).not.toMatch(/[=!]/);
    expect(cmd.CELL![0]![0]).toBeCloseTo(input.wavelengthA, 6);
    expect(cmd.ZERR![0]).toEqual([input.z, ...input.cellEsd].map((v) => expect.closeTo(v, 4)));
    expect(cmd.LATT).toEqual([[input.latt]]);
    expect(cmd.SYMM!.length).toBe(input.symm.length);
    expect(cmd.SFAC!.map((s) => s[0])).toEqual(input.composition.map((e) => e.element));
    expect(cmd.SFAC!.every((s) => s.length === 15)).toBe(true);
    expect(cmd.UNIT).toEqual([input.composition.map((e) => e.count)]);
    for (const [k, v] of [['L.S.', 10], ['LIST', 4], ['FMAP', 2], ['PLAN', 10], ['WGHT', 0.1], ['FVAR', 1], ['HKLF', 4]] as const) expect(cmd[k], k).toEqual([[v]]);
    expect(back.wght).toBeCloseTo(0.1, 6);
    expect(back.hklf).toBe(4);
    expect(sfacFits.map((f) => f.element)).toEqual(input.composition.map((e) => e.element));
  });

  it('writes SFAC numbers that give the refitted f(s), within the reported error of cctbx’s Peng table', () => {
    const { text, sfacFits } = formatIns(cases[2]!.input);
    const back = readBack(text, cases[2]!.sg);
    // The atom parser behind xray.structure.from_shelx cannot take the long SFAC form; the lexer above can.
    expect(back.structure).toMatch(/^(read|NotImplementedError)/);
    for (const { element, maxRelativeError } of sfacFits) {
      const s = back.sfac[element]!;
      expect(s.n, element).toBe(14);
      const fit = fitSfac(element);
      S.forEach((x, i) => {
        expect(s.f[i]! / sfacValue(fit, x), `${element} s=${x}`).toBeCloseTo(1, 4);
        expect(Math.abs(s.f[i]! / s.peng[i]! - 1), `${element} s=${x} vs Peng`).toBeLessThan(maxRelativeError + 2e-4);
      });
      expect(maxRelativeError).toBeLessThan(0.01);
    }
    expect(back.sfac.Pb!.tail).toEqual([0, 0, 0, 1.46, 207.2]);
    expect(back.sfac.Cs!.tail).toEqual([0, 0, 0, 2.44, 132.91]);
    expect(text).toMatch(/^REM SFAC Pb: 4 Gaussians \+ c refitted to Peng, max error \d\.\d\d % for s up to 2\/A$/m);
  });

  it('continues a long UNIT instruction with = so that cctbx still reads every number', () => {
    const words = ['UNIT', ...Array.from({ length: 24 }, (_, i) => (1000 + i + 0.25).toFixed(2))];
    const lines = insInstruction(words);
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.every((l) => l.length <= 80)).toBe(true);
    const input = {
      ...cases[0]!.input,
      composition: ['H', 'C', 'N', 'O', 'F', 'Na', 'Mg', 'Al', 'Si', 'P', 'S', 'Cl', 'K', 'Ca', 'Ti', 'Fe'].map((element, i) => ({ element, count: 1000.5 + i })),
    };
    const { text } = formatIns(input);
    expect(text).toMatch(/^UNIT .* =\n {4}\d/m);
    const back = readBack(text, 'P b c a');
    expect(back.commands.UNIT).toEqual([input.composition.map((e) => e.count)]);
    expect(back.commands.SFAC!.length).toBe(16);
  });

  it('refuses what a SHELX file cannot say', () => {
    const base = cases[0]!.input;
    const field = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(ParameterError);
        return (e as ParameterError).detail.field!;
      }
      throw new Error('did not throw');
    };
    expect(field(() => formatIns({ ...base, composition: [{ element: 'Xx', count: 1 }] }))).toBe('composition[0].element');
    expect(field(() => formatIns({ ...base, composition: [{ element: 'Cf', count: 1 }] }))).toBe('composition[0].element');
    expect(field(() => formatIns({ ...base, composition: [{ element: 'Ti', count: 0 }] }))).toBe('composition[0].count');
    expect(field(() => formatIns({ ...base, composition: [{ element: 'O', count: 2 }, { element: 'Ti', count: -1 }] }))).toBe('composition[1].count');
    expect(field(() => formatIns({ ...base, composition: [{ element: 'O', count: 2 }, { element: 'o', count: 1 }] }))).toBe('composition[1].element');
    expect(field(() => formatIns({ ...base, composition: [] }))).toBe('composition');
    expect(field(() => formatIns({ ...base, cell: { ...base.cell, b: NaN } }))).toBe('cell.b');
    expect(field(() => formatIns({ ...base, cellEsd: [0.001, 0.001, 0.001] }))).toBe('cellEsd');
    expect(field(() => formatIns({ ...base, wavelengthA: NaN }))).toBe('wavelengthA');
    expect(field(() => formatIns({ ...base, z: 0 }))).toBe('z');
    expect(field(() => formatIns({ ...base, latt: 8 }))).toBe('latt');
    expect(field(() => formatIns({ ...base, symm: ['X, Y'] }))).toBe('symm[0]');
    expect(field(() => formatIns({ ...base, symm: ['1/2-X, -Y, 1/2+Q'] }))).toBe('symm[0]');
    expect(field(() => formatIns({ ...base, hklf: 5 as unknown as 4 }))).toBe('hklf');
  });
});
