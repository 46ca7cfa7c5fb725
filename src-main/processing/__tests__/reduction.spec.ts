// Scaling, merging and the symmetry ranking on simulated reflection sets whose truth is known by construction:
// Wilson-random intensities with the symmetry and absences of a chosen space group, measured with noise.
import { describe, expect, it } from 'vitest';
import { bMatrix, type Cell } from '../../crystallography/lattice';
import { isSystematicallyAbsent, spaceGroup } from '../../crystallography/space-groups';
import type { Mat3 } from '../../crystallography/math3';
import { integrateReflections } from '../integrate';
import { mergeReflections, mergingStatistics } from '../merge';
import { mergedGroupFiles, mergeParticles, type ParticleReflections } from '../merge-particles';
import { canonicalHkl, fitErrorModel, groupEquivalents, scaleReflections } from '../scale-merge';
import { hklInSetting, latticeSettings, millerLaueOps, rankLaueClasses, rankSpaceGroups } from '../space-group-ranking';
import { rng } from '../../../tests/helpers/rng';

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** All hkl with d ≥ dMin of a cell, q = B·h. */
function reflections(cell: Cell, dMin: number): Array<{ h: [number, number, number]; d: number }> {
  const b = bMatrix(cell);
  const out: Array<{ h: [number, number, number]; d: number }> = [];
  const n = Math.ceil(Math.max(cell.a, cell.b, cell.c) / dMin);
  for (let h = -n; h <= n; h++)
    for (let k = -n; k <= n; k++)
      for (let l = -n; l <= n; l++) {
        if (!h && !k && !l) continue;
        const q = Math.hypot(...[0, 1, 2].map((i) => b[i][0] * h + b[i][1] * k + b[i][2] * l));
        if (q <= 1 / dMin) out.push({ h: [h, k, l], d: 1 / q });
      }
  return out;
}

/**
 * Merged-looking data of space group `sgNumber` seen in our setting: the group's standard axes = ours · p, so a
 * reflection h of ours is pᵀh in the group's; absent ones carry only noise.
 */
function simulateMerged(cell: Cell, sgNumber: number, p: Mat3, seed: number): { hkl: Int32Array; dA: Float64Array; intensity: Float64Array; sigma: Float64Array } {
  const sg = spaceGroup(sgNumber);
  const ops = millerLaueOps(sg);
  const r = rng(seed);
  const truth = new Map<string, number>();
  const seen = new Set<string>();
  const rows: number[][] = [];
  for (const { h, d } of reflections(cell, 0.9)) {
    const hs = hklInSetting(p, ...h);
    const key = canonicalHkl(ops, ...hs).join(',');
    if (!truth.has(key)) truth.set(key, -Math.log(r() + 1e-12) * 100);
    const ourKey = canonicalHkl(ops.map((w) => w), ...h).join(',');
    if (seen.has(ourKey)) continue;
    seen.add(ourKey);
    const absent = isSystematicallyAbsent(sg, ...hs);
    const sigma = 3;
    rows.push([...h, d, (absent ? 0 : truth.get(key)!) + sigma * gauss(r), sigma]);
  }
  return {
    hkl: Int32Array.from(rows.flatMap((x) => x.slice(0, 3))),
    dA: Float64Array.from(rows, (x) => x[3]),
    intensity: Float64Array.from(rows, (x) => x[4]),
    sigma: Float64Array.from(rows, (x) => x[5]),
  };
}

const I3: Mat3 = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

describe('space group from absences, in the settings our cell may have', () => {
  it('offers the six axis permutations of an orthorhombic cell and the monoclinic cell choices with b kept', () => {
    expect(latticeSettings('oP').map((s) => s.label)).toHaveLength(6);
    const mono = latticeSettings('mP', { beta: 95 });
    expect(mono[0]!.label).toBe('a,b,c');
    expect(mono.map((s) => s.label)).toContain('a,b,a+c');
    // A C-centred cell keeps a C, A or I centring in every setting it offers.
    expect(new Set(latticeSettings('mC', { beta: 103 }).map((s) => s.centring))).toEqual(new Set(['C', 'A', 'I']));
  });

  it('finds Pnma when our orthorhombic axes are its (b, c, a) — the Pbnm of the literature', () => {
    const cell: Cell = { a: 5.5, b: 7.7, c: 5.4, alpha: 90, beta: 90, gamma: 90 };
    // Pnma's standard axes are (c, a, b) of ours: new a = our c, new b = our a, new c = our b.
    const p: Mat3 = [
      [0, 1, 0],
      [0, 0, 1],
      [1, 0, 0],
    ];
    const merged = simulateMerged(cell, 62, p, 7);
    const laue = rankLaueClasses(merged.hkl, merged.dA, merged.intensity, new Uint8Array(merged.dA.length).fill(1), 'oP').laue.find((c) => c.chosen)!;
    expect(laue.laue).toBe('mmm');
    const ranked = rankSpaceGroups(merged, laue, 'oP', cell);
    expect(ranked[0]!.number).toBe(62);
    expect(ranked[0]!.setting).toBe('c,a,b');
    expect(ranked[0]!.nViolations).toBe(0);
  });

  it('finds P2₁/c from P2₁/n data and names the setting that makes it P2₁/c', () => {
    const cell: Cell = { a: 7.1, b: 9.3, c: 8.2, alpha: 90, beta: 92, gamma: 90 };
    // P2₁/n is P2₁/c with the cell (a, b, a + c)... written here as data whose c glide is along a + c of ours.
    const p: Mat3 = [
      [1, 0, 1],
      [0, 1, 0],
      [0, 0, 1],
    ];
    const merged = simulateMerged(cell, 14, p, 11);
    const laue = rankLaueClasses(merged.hkl, merged.dA, merged.intensity, new Uint8Array(merged.dA.length).fill(1), 'mP').laue.find((c) => c.chosen)!;
    const ranked = rankSpaceGroups(merged, laue, 'mP', cell);
    expect(ranked[0]!.number).toBe(14);
    const pOut = ranked[0]!.p;
    // The setting found makes the same absences as the one simulated (it may differ by a lattice symmetry).
    for (let i = 0; i < merged.dA.length; i++) {
      const h = [merged.hkl[3 * i]!, merged.hkl[3 * i + 1]!, merged.hkl[3 * i + 2]!] as const;
      expect(isSystematicallyAbsent(spaceGroup(14), ...hklInSetting(pOut, ...h))).toBe(isSystematicallyAbsent(spaceGroup(14), ...hklInSetting(p, ...h)));
    }
  });

  it('tells 4/m from 4/mmm by the operators the intensities obey', () => {
    const cell: Cell = { a: 6, b: 6, c: 9, alpha: 90, beta: 90, gamma: 90 };
    const m = simulateMerged(cell, 83, I3, 3); // P4/m: 4/m symmetry only
    const laue = rankLaueClasses(m.hkl, m.dA, m.intensity, new Uint8Array(m.dA.length).fill(1), 'tP');
    expect(laue.laue.find((c) => c.chosen)!.laue).toBe('4/m');
    expect(laue.laue.find((c) => c.laue === '4/mmm')!.verdict).toBe('rejected');
  });
});

describe('scaling and merging', () => {
  /** Unmerged observations of P2/m-symmetric data, each reflection measured on two frames of a tilt series. */
  function observations(fade: (t: number) => number, seed: number): Parameters<typeof scaleReflections>[0] & { truth: Float64Array } {
    const r = rng(seed);
    const cell: Cell = { a: 6, b: 7, c: 8, alpha: 90, beta: 100, gamma: 90 };
    const ops = millerLaueOps(spaceGroup(10));
    const truthOf = new Map<string, number>();
    const hkl: number[] = [];
    const dA: number[] = [];
    const truth: number[] = [];
    const obsR: number[] = [];
    const obsF: number[] = [];
    const obsC: number[] = [];
    const obsS: number[] = [];
    const nFrames = 60;
    for (const { h, d } of reflections(cell, 1.2)) {
      const key = canonicalHkl(ops, ...h).join(',');
      if (!truthOf.has(key)) truthOf.set(key, -Math.log(r() + 1e-12) * 1000);
      const t = truthOf.get(key)!;
      const rr = dA.length;
      hkl.push(...h);
      dA.push(d);
      truth.push(t);
      const f0 = Math.floor(r() * (nFrames - 1));
      for (const f of [f0, f0 + 1]) {
        const share = f === f0 ? 0.6 : 0.4;
        const sigma = Math.sqrt(t * share + 25);
        obsR.push(rr);
        obsF.push(f);
        obsC.push(t * share * fade(f) + sigma * gauss(r));
        obsS.push(sigma);
      }
    }
    return {
      hkl: Int32Array.from(hkl),
      dA: Float64Array.from(dA),
      use: new Uint8Array(dA.length).fill(1),
      obsReflection: Int32Array.from(obsR),
      obsFrame: Int32Array.from(obsF),
      obsContribution: Float64Array.from(obsC),
      obsSigma: Float64Array.from(obsS),
      nFrames,
      anglesDeg: Array.from({ length: nFrames }, (_, f) => -30 + f),
      truth: Float64Array.from(truth),
    };
  }

  const rFactor = (i: Float64Array, t: Float64Array): number => {
    let k = 0;
    let kk = 0;
    for (let j = 0; j < i.length; j++) {
      k += i[j]! * t[j]!;
      kk += t[j]! * t[j]!;
    }
    k /= kk;
    let num = 0;
    let den = 0;
    for (let j = 0; j < i.length; j++) {
      num += Math.abs(i[j]! - k * t[j]!);
      den += Math.abs(i[j]!);
    }
    return num / den;
  };

  it('recovers a dose-fading frame scale and brings the intensities back to the truth', () => {
    const inp = observations((f) => Math.exp(-f / 40), 5);
    const ops = millerLaueOps(spaceGroup(10));
    const plain = scaleReflections(inp, { laueOps: ops });
    const scaled = scaleReflections(inp, { laueOps: ops, frameScales: true });
    expect(scaled.frameScale[59]! / scaled.frameScale[0]!).toBeGreaterThan(0.15);
    expect(scaled.frameScale[59]! / scaled.frameScale[0]!).toBeLessThan(0.4); // truth exp(−59/40) = 0.23
    expect(rFactor(scaled.intensity, inp.truth)).toBeLessThan(0.6 * rFactor(plain.intensity, inp.truth));
  });

  it('keeps unit scales where the beam did not fade (the fitted scales do not cross-validate)', () => {
    const inp = observations(() => 1, 9);
    const scaled = scaleReflections(inp, { laueOps: millerLaueOps(spaceGroup(10)), frameScales: true });
    expect(Math.max(...scaled.frameScale) / Math.min(...scaled.frameScale)).toBeLessThan(1.1);
  });

  it('fits the error model that made the deviations', () => {
    const r = rng(2);
    const n = 3000;
    const unique = new Int32Array(n);
    const intensity = new Float64Array(n);
    const sigma = new Float64Array(n);
    const truth = Array.from({ length: n / 3 }, () => -Math.log(r() + 1e-12) * 500);
    for (let i = 0; i < n; i++) {
      unique[i] = Math.floor(i / 3);
      const t = truth[unique[i]!]!;
      sigma[i] = Math.sqrt(t + 10);
      // Real deviations: 1.5 × (σ² + (0.1 I)²)^½.
      intensity[i] = t + 1.5 * Math.sqrt(sigma[i]! ** 2 + (0.1 * t) ** 2) * gauss(r);
    }
    const em = fitErrorModel(intensity, sigma, unique, n / 3);
    expect(em.a).toBeGreaterThan(1.3);
    expect(em.a).toBeLessThan(1.7);
    expect(em.b).toBeGreaterThan(0.06);
    expect(em.b).toBeLessThan(0.14);
  });

  it('counts completeness against every reflection the Laue group allows, and gives Rint 0 and CC½ 1 for exact data', () => {
    const cell: Cell = { a: 5, b: 6, c: 7, alpha: 90, beta: 90, gamma: 90 };
    const ops = millerLaueOps(spaceGroup(47)); // mmm
    const all = reflections(cell, 1);
    const hkl = Int32Array.from(all.flatMap((x) => x.h));
    const dA = Float64Array.from(all, (x) => x.d);
    const truth = new Map<string, number>();
    const intensity = Float64Array.from(all, (x, i) => {
      const k = canonicalHkl(ops, ...x.h).join(',');
      if (!truth.has(k)) truth.set(k, 10 + (i % 17));
      return truth.get(k)!;
    });
    const sigma = new Float64Array(all.length).fill(1);
    const use = new Uint8Array(all.length).fill(1);
    const { unique, keys } = groupEquivalents(hkl, use, ops);
    const merged = mergeReflections(dA, intensity, sigma, unique, keys);
    const stats = mergingStatistics({ dA, intensity, sigma, unique, merged }, bMatrix(cell), ops, () => true);
    expect(stats.overall.completeness).toBeCloseTo(1, 6);
    expect(stats.overall.nPossible).toBe(keys.length);
    expect(stats.overall.rInt).toBeCloseTo(0, 9);
    expect(stats.overall.ccHalf).toBeCloseTo(1, 6);
    // mmm: a general reflection has 8 equivalents, one on a mirror plane 4.
    expect(stats.overall.multiplicity).toBeGreaterThan(5);
  });
});

describe('several particles merged into one data set', () => {
  /** A particle's unmerged data of a P4/m structure: a random part of the reflections, its own scale and indexing. */
  function particle(name: string, truth: (h: [number, number, number]) => number, scale: number, w: Mat3, seed: number, cell: Cell): ParticleReflections {
    const r = rng(seed);
    const hkl: number[] = [];
    const intensity: number[] = [];
    const sigma: number[] = [];
    // Half of the unique reflections, a different half per particle (as different orientations sample them).
    const ops = millerLaueOps(spaceGroup(83));
    const picked = new Map<string, boolean>();
    for (const { h } of reflections(cell, 1.1)) {
      const key = canonicalHkl(ops, ...h).join(',');
      if (!picked.has(key)) picked.set(key, r() < 0.5);
      if (!picked.get(key)) continue;
      const t = truth(h) * scale;
      const s = Math.sqrt(t + 4);
      // The particle indexed its lattice the other way round: its h is W·(ours).
      const hw = [0, 1, 2].map((i) => w[i][0] * h[0] + w[i][1] * h[1] + w[i][2] * h[2]);
      hkl.push(...hw);
      intensity.push(t + s * gauss(r));
      sigma.push(s);
    }
    return { name, cell, spaceGroupNumber: 83, hkl: Int32Array.from(hkl), intensity: Float64Array.from(intensity), sigma: Float64Array.from(sigma) };
  }

  it('reindexes, scales and merges the particles that belong, and says why the others do not', () => {
    const cell: Cell = { a: 6, b: 6, c: 8.5, alpha: 90, beta: 90, gamma: 90 };
    const ops = millerLaueOps(spaceGroup(83));
    const values = new Map<string, number>();
    const r = rng(21);
    const truth = (h: [number, number, number]): number => {
      const k = canonicalHkl(ops, ...h).join(',');
      if (!values.has(k)) values.set(k, -Math.log(r() + 1e-12) * 400);
      return values.get(k)!;
    };
    const swap: Mat3 = [
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, -1],
    ]; // a twofold of 4/mmm that is not in 4/m: the indexing ambiguity of a tetragonal lattice
    const other = rng(5);
    const a = particle('A', truth, 1, I3, 1, cell);
    const b = particle('B', truth, 0.4, swap, 2, cell);
    const c = particle('C', () => -Math.log(other() + 1e-12) * 400, 1, I3, 3, cell);
    const d = particle('D', truth, 1, I3, 4, { ...cell, c: 9.2 });
    const m = mergeParticles([a, b, c, d]);
    const [pa, pb, pc, pd] = m.particles;
    expect(pa!.accepted && pb!.accepted).toBe(true);
    expect(pb!.reindex).not.toBe('h,k,l');
    expect(pb!.scale!).toBeGreaterThan(2.3);
    expect(pb!.scale!).toBeLessThan(2.7);
    expect(pb!.cc!).toBeGreaterThan(0.9);
    expect(pc!.accepted).toBe(false);
    expect(pc!.reason).toMatch(/correlate/);
    expect(pd!.accepted).toBe(false);
    expect(pd!.reason).toMatch(/cell differs/);
    // Two halves of the data make a more complete set than either.
    const alone = mergeParticles([a]);
    expect(m.statistics.overall.completeness).toBeGreaterThan(alone.statistics.overall.completeness + 0.15);
    expect(m.statistics.overall.rInt!).toBeLessThan(0.15);
    const files = mergedGroupFiles(m, { name: 'AB', wavelengthA: 0.0251, cellEsd: [0.001, 0.001, 0.001, 0, 0, 0], composition: [{ element: 'Ti', count: 2 }] });
    expect(files.hkl.split('\n').filter((l) => l.endsWith('   2')).length).toBeGreaterThan(50); // particle B's batch
    expect(files.ins).toMatch(/^TITL AB: 2 particles merged in P 4\/m/);
  });
});

describe('integration respects the detector mask and the direct beam', () => {
  it('leaves out the disks on masked pixels and near the beam, and refuses a mask of the wrong size', () => {
    const n = 64;
    const nF = 11;
    const input = {
      frames: new Float32Array(nF * n * n).fill(2),
      detectorShape: [n, n] as const,
      anglesDeg: Array.from({ length: nF }, (_, f) => -5 + f),
      beamCentres: Array.from({ length: 2 * nF }, () => 32),
      included: new Uint8Array(nF).fill(1),
      wavelengthA: 0.0251,
      reciprocalPixelInvA: 0.02,
    };
    const model = { ub: bMatrix({ a: 5, b: 6, c: 7, alpha: 90, beta: 90, gamma: 90 }), axisDeg: 10, beamCentres: input.beamCentres, rockingWidthInvA: 0.003 };
    const open = integrateReflections(input, model, { radiusPx: 2 });
    const mask = new Uint8Array(n * n);
    for (let i = 0; i < n * n; i++) if (i % n < 32) mask[i] = 1; // the left half masked
    const masked = integrateReflections(input, model, { radiusPx: 2, mask });
    // About half the observations go.
    expect(masked.observations.x.length).toBeLessThan(0.7 * open.observations.x.length);
    // No observation of the masked run lies on the masked half.
    for (let i = 0; i < masked.observations.x.length; i++) expect(masked.observations.x[i]! - 3).toBeGreaterThan(31);
    // None near the beam either.
    for (let i = 0; i < open.observations.x.length; i++) expect(Math.hypot(open.observations.x[i]! - 32, open.observations.y[i]! - 32)).toBeGreaterThanOrEqual(6);
    expect(() => integrateReflections(input, model, { radiusPx: 2, mask: new Uint8Array(10) })).toThrow(/mask.*10 pixels/);
  });
});
