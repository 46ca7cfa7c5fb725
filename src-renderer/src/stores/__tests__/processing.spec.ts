// The processing store against main's real services on the tiny store series: forms become the contract's
// parameters (empty fields left out), peaks are searched and shown per frame, a click with the remove tool where
// there is no peak is logged, a malformed known cell is refused before anything runs, and a lattice search on five
// coarse tilts ends with its statements in the log rather than a made-up cell.
import { describe, expect, it } from 'vitest';
import { parseCell, useProcessingStore } from '../processing';
import { useSeriesStore } from '../series';
import { storeFixture } from './fixture';
import { logged, openTrackAndExtract } from './flows';

const fx = storeFixture();

const extracted = (): Promise<void> => openTrackAndExtract(fx.manifest());

describe('processing store', () => {
  it('reads a known cell as six numbers and says what is wrong otherwise', () => {
    expect(parseCell('')).toBeNull();
    expect(parseCell('5.4, 5.1 9.2 90 90 120')).toEqual({ a: 5.4, b: 5.1, c: 9.2, alpha: 90, beta: 90, gamma: 120 });
    expect(() => parseCell('5.4 5.1 9.2')).toThrow(/six numbers/);
    expect(() => parseCell('5.4 5.1 9.2 90 90 x')).toThrow(/six numbers/);
  });

  it('searches peaks with the form parameters, shows the frame, refuses edits and cells that make no sense', async () => {
    await extracted();
    const p = useProcessingStore();
    p.peakForm.radiusPx = 1.5;
    p.peakForm.minIOverSigma = 4;
    await p.runPeaks();
    expect(p.current?.peaks?.params).toEqual({ radiusPx: 1.5, minIOverSigma: 4 });
    expect(p.current!.peaks!.radiusPx).toBe(1.5);
    expect(p.framePeaks?.frame).toBe(useSeriesStore().active!.tilt);
    expect(p.framePeaks!.x.length).toBe(p.current!.peaks!.perFrame[p.framePeaks!.frame]);
    p.tool = 'remove';
    await p.editAt(0.2, 0.3);
    expect(logged('error').at(-1)).toMatch(/no peak within/);
    p.latticeForm.knownCell = '5 5 5';
    await p.runLattice();
    expect(logged('error').at(-1)).toMatch(/six numbers/);
    expect(p.current!.lattice).toBeNull();
    p.latticeForm.knownCell = '';
    p.latticeForm.axisDeg = 400;
    await p.runLattice();
    expect(logged('error').at(-1)).toMatch(/axisDeg/);
  });

  it('ends a lattice search on five coarse tilts with its statements, never a silent cell', async () => {
    await extracted();
    const p = useProcessingStore();
    p.latticeForm.rockingCentres = true;
    p.latticeForm.maxMisfitDeg = 1.5;
    await p.runLattice();
    const l = p.current!.lattice!;
    expect(l.params).toEqual({ rockingCentres: true, maxMisfitDeg: 1.5 });
    expect(l.statements.length).toBeGreaterThan(0);
    if (l.status === 'failed') expect(logged('error').some((m) => l.statements.some((st) => m.includes(st.message)))).toBe(true);
    // Switching objects and back re-reads main's state.
    await p.refresh();
    expect(p.current!.lattice!.status).toBe(l.status);
  });
});
