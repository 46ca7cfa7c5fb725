// Several particles of one series merged into one data set (the multi-particle case of 4D-STEM tomography): each
// particle's reflections (unmerged, in its space group's standard setting) are checked against a reference particle
// (the one most others agree with) —
// same space group, cells within tolerance — brought onto the reference's indexing where the lattice allows more than
// one (the holohedry's operators outside the Laue group: the choice whose intensities correlate best with the
// reference's), scaled by least squares on the unique reflections both hold, and merged. Each particle keeps its
// number as the HKLF batch, so SHELXL can refine a scale per particle (BASF) on top of ours.
import type { ParticleMergeReport } from '../../src-shared/processing';
import { dInvA, type Cell } from '../crystallography/lattice';
import type { Mat3 } from '../crystallography/math3';
import { isSystematicallyAbsent, spaceGroup, type SpaceGroup } from '../crystallography/space-groups';
import { bMatrix } from '../crystallography/lattice';
import { correlation } from '../crystallography/bravais';
import { mergeReflections, mergingStatistics, type MergedReflections, type MergingStatistics } from './merge';
import { canonicalHkl, groupEquivalents } from './scale-merge';
import { millerLaueOps } from './space-group-ranking';
import { formatHklf4, formatIns, formatReflnCif, type InsSfacFit } from '../io/export';
import { shelxLattSymm } from '../crystallography/space-groups';
import { formulaUnits, type CompositionEntry } from './reflection-export';

export interface ParticleReflections {
  name: string;
  /** Cell of the reflections' setting (the space group's standard setting). */
  cell: Cell;
  spaceGroupNumber: number;
  /** esds of a, b, c, α, β, γ in that setting, where known. */
  cellEsd?: number[];
  /** Unmerged reflections: hkl (3 per reflection), intensity, σ. */
  hkl: Int32Array;
  intensity: Float64Array;
  sigma: Float64Array;
}

export interface ParticleMergeOptions {
  /** Largest relative difference of a, b, c (%) and of the angles (degrees) for a particle to join (default 2, 1.5). */
  maxLengthDiffPct?: number;
  maxAngleDiffDeg?: number;
  /** Lowest correlation of intensities with the reference (default 0.5) and fewest common reflections to judge it (5). */
  minCc?: number;
  minCommon?: number;
}

/** One particle's outcome: joined or why not, scale, reindexing and agreement with the reference (the report's shape). */
export type ParticleOutcome = Omit<ParticleMergeReport, 'objectId' | 'reference'>;

export interface ParticleMergeResult {
  referenceName: string;
  /** Its place in the input. */
  referenceIndex: number;
  spaceGroup: SpaceGroup;
  cell: Cell;
  particles: ParticleOutcome[];
  /** The joined unmerged reflections (scaled, reindexed), the particle (1-based, in input order) of each. */
  hkl: Int32Array;
  intensity: Float64Array;
  sigma: Float64Array;
  particle: Int32Array;
  merged: MergedReflections;
  statistics: MergingStatistics;
}

/** The holohedry's reference group per crystal system (the lattice's full point symmetry, −1 included). */
const HOLOHEDRY: Record<string, number> = { Triclinic: 2, Monoclinic: 10, Orthorhombic: 47, Tetragonal: 123, Trigonal: 191, Hexagonal: 191, Cubic: 221 };

const apply = (w: Mat3, h: number, k: number, l: number): [number, number, number] => [
  w[0][0] * h + w[0][1] * k + w[0][2] * l,
  w[1][0] * h + w[1][1] * k + w[1][2] * l,
  w[2][0] * h + w[2][1] * k + w[2][2] * l,
];

function opText(w: Mat3): string {
  const names = ['h', 'k', 'l'];
  return w.map((row) => row.map((c, j) => (c ? `${c > 0 ? '+' : '-'}${Math.abs(c) === 1 ? '' : Math.abs(c)}${names[j]}` : '')).join('').replace(/^\+/, '') || '0').join(',');
}

/** Weighted means per unique reflection (canonical key) of one particle's data under W. */
function meansOf(p: ParticleReflections, w: Mat3, laue: Mat3[]): Map<string, { I: number; s: number }> {
  const acc = new Map<string, { num: number; den: number }>();
  for (let r = 0; r < p.intensity.length; r++) {
    if (!(p.sigma[r] > 0) || !Number.isFinite(p.intensity[r])) continue;
    const key = canonicalHkl(laue, ...apply(w, p.hkl[3 * r], p.hkl[3 * r + 1], p.hkl[3 * r + 2])).join(',');
    const wt = 1 / p.sigma[r] ** 2;
    const a = acc.get(key) ?? { num: 0, den: 0 };
    a.num += wt * p.intensity[r];
    a.den += wt;
    acc.set(key, a);
  }
  return new Map([...acc].map(([k, a]) => [k, { I: a.num / a.den, s: 1 / Math.sqrt(a.den) }]));
}

function cellDiff(a: Cell, b: Cell): { lengthPct: number; angleDeg: number } {
  const l = Math.max(...(['a', 'b', 'c'] as const).map((k) => (Math.abs(a[k] - b[k]) / b[k]) * 100));
  const g = Math.max(...(['alpha', 'beta', 'gamma'] as const).map((k) => Math.abs(a[k] - b[k])));
  return { lengthPct: l, angleDeg: g };
}

/** How one particle joins the reference: its reindexing, scale and agreement, or why it does not. */
function judge(p: ParticleReflections, ref: ParticleReflections, refMeans: Map<string, { I: number; s: number }>, laue: Mat3[], o: Required<ParticleMergeOptions>): ParticleOutcome & { w: Mat3 } {
  const diff = cellDiff(p.cell, ref.cell);
  const base = { name: p.name, scale: null, reindex: 'h,k,l', nCommon: 0, cc: null, r: null, cellDiff: diff };
  const I3: Mat3 = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  if (p.spaceGroupNumber !== ref.spaceGroupNumber) return { ...base, accepted: false, reason: `space group ${spaceGroup(p.spaceGroupNumber).hm} differs from the reference's ${spaceGroup(ref.spaceGroupNumber).hm}`, w: I3 };
  if (diff.lengthPct > o.maxLengthDiffPct || diff.angleDeg > o.maxAngleDiffDeg) {
    return { ...base, accepted: false, reason: `cell differs from the reference's by ${diff.lengthPct.toFixed(2)} % / ${diff.angleDeg.toFixed(2)}° (limits ${o.maxLengthDiffPct} %, ${o.maxAngleDiffDeg}°)`, w: I3 };
  }
  const holo = millerLaueOps(spaceGroup(spaceGroup(ref.spaceGroupNumber).centring === 'R' ? 166 : HOLOHEDRY[spaceGroup(ref.spaceGroupNumber).crystalSystem]));
  let best: { w: Mat3; cc: number; n: number; xs: number[]; ys: number[]; ws: number[] } | null = null;
  for (const w of holo) {
    const m = meansOf(p, w, laue);
    const xs: number[] = [];
    const ys: number[] = [];
    const ws: number[] = [];
    for (const [k, v] of m) {
      const r = refMeans.get(k);
      if (!r) continue;
      xs.push(v.I);
      ys.push(r.I);
      ws.push(1 / (r.s * r.s + v.s * v.s));
    }
    const cc = xs.length >= 3 ? correlation(xs, ys) : NaN;
    if (!best || (Number.isFinite(cc) && !(best.cc >= cc))) best = { w, cc, n: xs.length, xs, ys, ws };
  }
  const b = best!;
  const common = { nCommon: b.n, reindex: opText(b.w), cc: Number.isFinite(b.cc) ? b.cc : null };
  if (b.n < o.minCommon) return { ...base, ...common, accepted: false, reason: `only ${b.n} unique reflections in common with the reference (at least ${o.minCommon} needed to scale)`, w: b.w };
  if (!(b.cc >= o.minCc)) return { ...base, ...common, accepted: false, reason: `its intensities correlate with the reference's at CC ${b.cc.toFixed(2)} (below ${o.minCc}): another crystal or another structure`, w: b.w };
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.n; i++) {
    num += b.ws[i] * b.xs[i] * b.ys[i];
    den += b.ws[i] * b.xs[i] * b.xs[i];
  }
  const scale = num / den;
  let rn = 0;
  let rd = 0;
  for (let i = 0; i < b.n; i++) {
    rn += Math.abs(b.ys[i] - scale * b.xs[i]);
    rd += Math.abs(b.ys[i]);
  }
  return { ...base, ...common, accepted: true, reason: '', scale, r: rd > 0 ? rn / rd : null, w: b.w };
}

/**
 * Merge particles onto the one with the most reflections. Returns every particle's outcome (accepted or why not) and
 * the joined data with its merging statistics.
 */
export function mergeParticles(particles: ParticleReflections[], options: ParticleMergeOptions = {}): ParticleMergeResult {
  if (!particles.length) throw new Error('mergeParticles: no particles');
  const o: Required<ParticleMergeOptions> = { maxLengthDiffPct: 2, maxAngleDiffDeg: 1.5, minCc: 0.5, minCommon: 5, ...options };
  const I3: Mat3 = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  // The reference: the particle most others agree with (an odd one out must not become it), then the one with most data.
  const support = particles.map((cand) => {
    const laueC = millerLaueOps(spaceGroup(cand.spaceGroupNumber));
    const means = meansOf(cand, I3, laueC);
    return particles.reduce((n, p) => n + (p !== cand && judge(p, cand, means, laueC, o).accepted ? 1 : 0), 0);
  });
  const refIndex = particles.reduce((best, p, i) => (support[i] > support[best] || (support[i] === support[best] && p.intensity.length > particles[best].intensity.length) ? i : best), 0);
  const ref = particles[refIndex];
  const sg = spaceGroup(ref.spaceGroupNumber);
  const laue = millerLaueOps(sg);
  const refMeans = meansOf(ref, I3, laue);
  const outcomes = particles.map((p, i) => (i === refIndex ? { name: p.name, accepted: true, reason: '', scale: 1, reindex: 'h,k,l', nCommon: refMeans.size, cc: 1, r: 0, cellDiff: { lengthPct: 0, angleDeg: 0 }, w: I3 } : judge(p, ref, refMeans, laue, o)));
  const hkl: number[] = [];
  const intensity: number[] = [];
  const sigma: number[] = [];
  const source: number[] = [];
  particles.forEach((p, i) => {
    const out = outcomes[i];
    if (!out.accepted || out.scale === null) return;
    for (let r = 0; r < p.intensity.length; r++) {
      if (!(p.sigma[r] > 0) || !Number.isFinite(p.intensity[r])) continue;
      hkl.push(...apply(out.w, p.hkl[3 * r], p.hkl[3 * r + 1], p.hkl[3 * r + 2]));
      intensity.push(p.intensity[r] * out.scale);
      sigma.push(p.sigma[r] * out.scale);
      source.push(i + 1);
    }
  });
  const hklArr = Int32Array.from(hkl);
  const dA = Float64Array.from(intensity, (_, r) => 1 / dInvA(ref.cell, [hkl[3 * r], hkl[3 * r + 1], hkl[3 * r + 2]]));
  const use = new Uint8Array(intensity.length).fill(1);
  const { unique, keys } = groupEquivalents(hklArr, use, laue);
  const inten = Float64Array.from(intensity);
  const sig = Float64Array.from(sigma);
  const merged = mergeReflections(dA, inten, sig, unique, keys);
  const statistics = mergingStatistics({ dA, intensity: inten, sigma: sig, unique, merged }, bMatrix(ref.cell), laue, (h, k, l) => !isSystematicallyAbsent(sg, h, k, l));
  return {
    referenceName: ref.name,
    referenceIndex: refIndex,
    spaceGroup: sg,
    cell: ref.cell,
    particles: outcomes.map(({ w: _w, ...rest }) => rest),
    hkl: hklArr,
    intensity: inten,
    sigma: sig,
    particle: Int32Array.from(source),
    merged,
    statistics,
  };
}

/** The merged group's files: NAME.hkl (batch = particle), NAME.ins (with a composition) and NAME.cif. */
export function mergedGroupFiles(
  m: ParticleMergeResult,
  o: { name: string; wavelengthA: number; cellEsd: number[]; composition?: CompositionEntry[] },
): { hkl: string; ins: string | null; cif: string; sfacFits: InsSfacFit[] } {
  const rows = Array.from(m.particle, (p, r) => ({ h: m.hkl[3 * r], k: m.hkl[3 * r + 1], l: m.hkl[3 * r + 2], intensity: m.intensity[r], sigma: m.sigma[r], batch: p }));
  const { text: hkl, scale } = formatHklf4(rows);
  const [ea, eb, ec, eal, ebe, ega] = o.cellEsd;
  const merged = [];
  for (let u = 0; u < m.merged.intensity.length; u++) {
    if (!Number.isFinite(m.merged.intensity[u])) continue;
    merged.push({ h: m.merged.hkl[3 * u], k: m.merged.hkl[3 * u + 1], l: m.merged.hkl[3 * u + 2], intensity: m.merged.intensity[u] * scale, sigma: m.merged.sigma[u] * scale });
  }
  const cif = formatReflnCif({
    name: o.name.replace(/[^A-Za-z0-9_.-]/g, '_'),
    cell: m.cell,
    cellEsd: { a: ea, b: eb, c: ec, alpha: eal, beta: ebe, gamma: ega },
    wavelengthA: o.wavelengthA,
    spaceGroupHM: m.spaceGroup.hm,
    unmerged: rows.map((r) => ({ h: r.h, k: r.k, l: r.l, intensity: r.intensity * scale, sigma: r.sigma * scale, frame: r.batch })),
    merged,
  });
  if (!o.composition?.length) return { hkl, ins: null, cif, sfacFits: [] };
  const { latt, symm } = shelxLattSymm(m.spaceGroup);
  const nAccepted = m.particles.filter((p) => p.accepted).length;
  const ins = formatIns({ title: `${o.name}: ${nAccepted} particles merged in ${m.spaceGroup.hm.replace(/ :.*$/, '')}`, wavelengthA: o.wavelengthA, cell: m.cell, cellEsd: o.cellEsd, z: formulaUnits(o.composition), latt, symm, composition: o.composition });
  return { hkl, ins: ins.text, cif, sfacFits: ins.sfacFits };
}

/** A particle's reflections read back from its HKLF 4 file (as `tracked run` wrote it), with its cell and group. */
export function particleFromHklf(name: string, text: string, cell: Cell, spaceGroupNumber: number): ParticleReflections {
  const hkl: number[] = [];
  const intensity: number[] = [];
  const sigma: number[] = [];
  for (const line of text.split('\n')) {
    if (line.length < 28) continue;
    const h = [0, 4, 8].map((c) => Number(line.slice(c, c + 4)));
    if (h.some((v) => !Number.isInteger(v))) throw new Error(`${name}: cannot read "${line.trim()}" as an HKLF 4 record`);
    if (!h[0] && !h[1] && !h[2]) break;
    hkl.push(...h);
    intensity.push(Number(line.slice(12, 20)));
    sigma.push(Number(line.slice(20, 28)));
  }
  return { name, cell, spaceGroupNumber, hkl: Int32Array.from(hkl), intensity: Float64Array.from(intensity), sigma: Float64Array.from(sigma) };
}
