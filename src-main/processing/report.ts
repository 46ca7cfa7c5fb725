// What processing leaves behind: `peaks.json` (the peak table) and report.json's `lattice` section (ARCHITECTURE
// §6), built from the pipeline's results. Plain JSON, numbers rounded to what they mean.
import type { Cell } from '../crystallography/lattice';
import { goniometerRotation } from '../crystallography/geometry';
import type { LatticeOutcome, PeakTable, ProcessingFrames } from './pipeline';
import { labVectors } from './reciprocal';
import type { LatticeReport } from '../../src-shared/processing';

const r = (v: number, d: number): number => (Number.isFinite(v) ? Number(v.toFixed(d)) : NaN);
const cellOut = (c: Cell, d = 4): Cell => ({ a: r(c.a, d), b: r(c.b, d), c: r(c.c, d), alpha: r(c.alpha, 3), beta: r(c.beta, 3), gamma: r(c.gamma, 3) });

export interface PeakRecord {
  /** 0-based frame (tilt) index and its angle. */
  frame: number;
  tiltDeg: number;
  /** Detector position, px (pixel centres at integers). */
  x: number;
  y: number;
  /** Reciprocal vector in the crystal frame of tilt 0 (R(α)ᵀ·q, Å⁻¹), and |q|. */
  q: [number, number, number];
  dStarInvA: number;
  I: number;
  sigma: number;
  /** Standard uncertainty of the centroid, px. */
  xySigma: number;
  /** Conventional Miller indices once indexed (null otherwise). */
  hkl: [number, number, number] | null;
  /** A person added this peak. */
  manual?: true;
}

export interface PeaksJson {
  version: 1;
  wavelengthA: number;
  reciprocalPixelInvA: number;
  rotationAxisDeg: number | null;
  radiusPx: number;
  peaks: PeakRecord[];
}

/** The peak table as peaks.json, q with the refined axis (the found one, or 0 when none). */
export function peaksJson(input: ProcessingFrames, table: PeakTable, lattice: LatticeOutcome | null): PeaksJson {
  const axis = lattice?.axis?.refinedDeg ?? null;
  const centres = lattice?.beamCentres ?? input.beamCentres;
  const lab = labVectors(table, { ...input, beamCentres: centres });
  const rots = new Map<number, ReturnType<typeof goniometerRotation>>();
  const peaks: PeakRecord[] = [];
  for (let i = 0; i < table.frame.length; i++) {
    const f = table.frame[i];
    let R = rots.get(f);
    if (!R) rots.set(f, (R = goniometerRotation(axis ?? 0, Number(input.anglesDeg[f]))));
    const [x, y, z] = [lab[3 * i], lab[3 * i + 1], lab[3 * i + 2]];
    const q: [number, number, number] = [0, 1, 2].map((j) => r(R![0][j] * x + R![1][j] * y + R![2][j] * z, 5)) as [number, number, number];
    const h = lattice?.indexed?.[i] ? ([lattice.hkl![3 * i], lattice.hkl![3 * i + 1], lattice.hkl![3 * i + 2]] as [number, number, number]) : null;
    peaks.push({
      frame: f,
      tiltDeg: Number(input.anglesDeg[f]),
      x: r(table.x[i], 3),
      y: r(table.y[i], 3),
      q,
      dStarInvA: r(Math.hypot(x, y, z), 5),
      I: r(table.intensity[i], 2),
      sigma: r(table.sigma[i], 2),
      xySigma: r(table.positionSigmaPx[i], 4),
      hkl: h,
      ...(table.manual[i] ? { manual: true as const } : {}),
    });
  }
  return { version: 1, wavelengthA: input.wavelengthA, reciprocalPixelInvA: input.reciprocalPixelInvA, rotationAxisDeg: axis === null ? null : r(axis, 4), radiusPx: r(table.radiusPx, 3), peaks };
}

export type { LatticeReport };

const orNull = (v: number | undefined, d: number): number | null => (v !== undefined && Number.isFinite(v) ? r(v, d) : null);

export function latticeReport(l: LatticeOutcome, anglesDeg: ArrayLike<number>, maxMisfitDeg: number): LatticeReport {
  const esd = l.cellEsd;
  return {
    status: l.status,
    cell: l.cell && l.status === 'indexed' ? cellOut(l.cell) : null,
    cellEsd: esd && l.status === 'indexed' ? { a: r(esd[0], 5), b: r(esd[1], 5), c: r(esd[2], 5), alpha: r(esd[3], 4), beta: r(esd[4], 4), gamma: r(esd[5], 4) } : null,
    bravais: l.status === 'indexed' ? (l.bravais ?? null) : null,
    ub: l.status === 'indexed' && l.ub ? l.ub.map((row) => row.map((v) => Number(v.toPrecision(8)))) : null,
    rotationAxisDeg: l.status === 'indexed' && l.axis ? r(l.axis.refinedDeg, 4) : null,
    reducedCell: l.reducedCell ? cellOut(l.reducedCell) : null,
    indexedFraction: orNull(l.indexedFraction, 4),
    nPeaks: l.nPeaks,
    rmsdPx: orNull(l.rmsdPx, 4),
    rmsdPhiDeg: orNull(l.rmsdPhiDeg, 4),
    candidates: (l.candidates ?? []).map((c) => ({
      bravais: c.bravais,
      cell: cellOut(c.cell),
      misfitDeg: r(c.misfitDeg, 3),
      cc: orNull(c.evidence.cc, 3),
      nPairs: c.evidence.nPairs,
      verdict: c.verdict,
      chosen: c.chosen,
    })),
    friedel: l.friedel ? { cc: orNull(l.friedel.cc, 3), nPairs: l.friedel.nPairs } : null,
    tolerances: { maxMisfitDeg },
    perFrameRefined: l.perFrameRefined ?? null,
    perFrame: (l.perFrame ?? []).map((f) => [f.frame, Number(anglesDeg[f.frame]), f.nIndexed, orNull(f.rmsdPx, 3), orNull(f.phiResidualDeg, 4), f.outlier]),
    otherLattices: (l.otherLattices ?? []).map((o) => ({ cell: cellOut(o.cell), nPeaks: o.nPeaks })),
    statements: l.statements,
  };
}
