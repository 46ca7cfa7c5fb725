// The app's reflections service on a synthetic particle, through the same sessions and worker pool the app uses:
// peaks → lattice → integration (a job on the pool, cancellable) → preview → the files written into a folder. The
// files must read back (our HKLF reader, cctbx's, gemmi for both CIFs), the preview must be their first lines, a bad
// space group or composition and a folder that is an input file of the series are refused with a sentence, and a
// new peak search or lattice drops the reflections.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, ParameterError } from '../../src-shared/errors';
import { diffMask } from '../../src-shared/mask-runs';
import { particleFromHklf } from '../../src-main/processing/merge-particles';
import { SeriesSessions } from '../../src-main/services/series-session';
import { findCandidates, runTracking } from '../../src-main/services/tracking-job';
import { computeVirtual } from '../../src-main/services/virtual-job';
import { runExtractionJob } from '../../src-main/services/extraction-job';
import { processingSummary, runLatticeSearch, runPeakSearch } from '../../src-main/services/processing-job';
import { reciprocalCloud } from '../../src-main/services/reciprocal-job';
import { exportReflections, previewReflections, PREVIEW_LINES, runIntegration } from '../../src-main/services/reflections-job';
import { synthesize } from '../../src-main/synth/index';
import { PYTHON, readTruth, type TruthJson } from '../helpers/cell-error';

let dir: string;
let sessions: SeriesSessions;
let seriesId: string;
let objectId: number;
/** A second object on the same particle (its frames nearly the same data): a group that must merge with CC near 1. */
let twinId: number;
let truth: TruthJson;
let manifest: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tracked-reflections-svc-'));
  // Fine steps (0.5° over 40°), so most rocking curves are sampled on two or more frames.
  const s = await synthesize({ preset: 'single-isolated', size: { scanShape: [32, 32], detectorShape: [96, 96], nTilts: 81, tiltStepDeg: 0.5 }, outDir: join(dir, 'series'), seed: 11 });
  truth = readTruth(join(dir, 'series'));
  manifest = join(dir, 'series', s.manifest);
  sessions = new SeriesSessions({ projectDir: () => join(dir, 'project'), checkpointDelayMs: -1 });
  seriesId = (await sessions.openSeries(manifest)).seriesId;
  await computeVirtual(sessions, seriesId, [{ kind: 'annulus', rIn: 8, rOut: 45, name: 'adf' }]);
  const [c] = await findCandidates(sessions, seriesId, 40, 'adf');
  const project = await sessions.project(seriesId);
  objectId = project.create('brookite 1').id;
  project.setPrompt(objectId, { tilt: 40, points: [{ x: c!.x, y: c!.y, positive: true }] });
  await runTracking(sessions, { seriesId, objectIds: [objectId], fromTilt: 40, direction: 'both', image: 'adf', tracker: 'classical' });
  // The twin holds the same masks (the tracker would split one particle between two prompts on it).
  const tracked = project.get(objectId);
  const frameSize = tracked.masks.length / tracked.frameState.length;
  twinId = project.create('brookite 2').id;
  const empty = new Uint8Array(frameSize);
  project.setFrames(
    twinId,
    tracked.frameState.map((state, tilt) => ({ tilt, runs: diffMask(empty, tracked.masks.subarray(tilt * frameSize, (tilt + 1) * frameSize)), state, quality: null })),
  );
  await runExtractionJob(sessions, { seriesId, background: false, ringWidth: 2 });
}, 300_000);
afterAll(async () => {
  await sessions?.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

const ids = (): { seriesId: string; objectId: number } => ({ seriesId, objectId });

describe('reflections service', () => {
  it('refuses to integrate before a lattice, and a space group that names none', async () => {
    await expect(runIntegration(sessions, { ...ids(), params: {} })).rejects.toThrow(/find the lattice first/);
    await expect(runIntegration(sessions, { ...ids(), params: { spaceGroup: 'P 7' } })).rejects.toThrow(/not a Hermann–Mauguin symbol/);
    await expect(runIntegration(sessions, { ...ids(), params: { spaceGroup: 231 } })).rejects.toBeInstanceOf(ParameterError);
    expect(() => previewReflections(sessions, { ...ids(), name: 'x' })).toThrow(/integrate brookite 1 first/);
  });

  it('integrates on the pool with progress: statistics per shell, the Laue class and space group of the truth', async () => {
    await runPeakSearch(sessions, { ...ids(), params: {} });
    const l = (await runLatticeSearch(sessions, { ...ids(), params: {} })).lattice!;
    expect(l.status).toBe('indexed');
    const seen: Array<[number, number]> = [];
    const summary = await runIntegration(sessions, { ...ids(), params: {} }, { progress: (d, t) => seen.push([d, t]) });
    expect(seen).toEqual([
      [0, 1],
      [1, 1],
    ]);
    const r = summary.integration!;
    expect(r.status).toBe('integrated');
    expect(r.params).toEqual({});
    expect(r.nUnique).toBeGreaterThan(40);
    expect(r.shells.length).toBeGreaterThan(3);
    expect(r.shells.reduce((a, s) => a + s.nUnique, 0)).toBe(r.nUnique);
    expect(r.ccHalf!).toBeGreaterThan(0.8);
    expect(r.laue.chosen).toBe('mmm');
    expect(r.laue.candidates.filter((c) => c.chosen)).toHaveLength(1);
    expect(r.spaceGroup.candidates.length).toBeGreaterThan(1);
    expect(r.spaceGroup.hm.replace(/ /g, '')).toBe(truth.particles[0]!.spaceGroup.replace(/ /g, ''));
    expect(r.cell!.a).toBeGreaterThan(1);
    expect(processingSummary(sessions, seriesId, objectId)!.integration!.nUnique).toBe(r.nUnique);
    // The Reciprocal space tab's cloud: indexed peaks sit on their nodes UB·h — within 0.4 of the closest node spacing of
    // the true cell (an Ewald-sphere point is off its node by the excitation error, along the beam).
    const cloud = reciprocalCloud(sessions, seriesId, objectId);
    expect(cloud.axisSource).toBe('refined');
    const ub = cloud.ub!;
    const t = truth.particles[0]!.cell;
    let onNode = 0;
    let indexed = 0;
    for (let i = 0; i < cloud.frame.length; i++) {
      if (!cloud.label[i]) continue;
      indexed++;
      const [h, k, l] = [cloud.hkl[3 * i]!, cloud.hkl[3 * i + 1]!, cloud.hkl[3 * i + 2]!];
      const g = [0, 1, 2].map((r) => ub[3 * r]! * h + ub[3 * r + 1]! * k + ub[3 * r + 2]! * l);
      const dq = Math.hypot(cloud.q[3 * i]! - g[0]!, cloud.q[3 * i + 1]! - g[1]!, cloud.q[3 * i + 2]! - g[2]!);
      if (dq < 0.4 / Math.max(t.a, t.b, t.c)) onNode++;
    }
    expect(indexed).toBeGreaterThan(100);
    expect(onNode / indexed).toBeGreaterThan(0.95);
  }, 120_000);

  it('previews the first lines of each file without writing, and refuses what makes no sense', () => {
    const p = previewReflections(sessions, { ...ids(), name: 'brookite', composition: 'Ti8 O16' });
    expect(p.files.map((f) => f.fileName)).toEqual(['brookite.hkl', 'brookite.ins', 'brookite.cif', 'brookite.cif_pets']);
    for (const f of p.files) {
      expect(f.head.length).toBe(Math.min(PREVIEW_LINES, f.totalLines));
      expect(f.bytes).toBeGreaterThan(100);
    }
    expect(p.files[1]!.head[0]).toMatch(/^TITL brookite in P b c a/);
    expect(p.statements.some((s) => s.code === 'sfac-fit' && s.message.includes('Ti'))).toBe(true);
    // Without a composition there is no .ins, and a statement says why.
    const bare = previewReflections(sessions, { ...ids(), name: 'brookite' });
    expect(bare.files.map((f) => f.kind)).toEqual(['hkl', 'cif', 'cifPets']);
    expect(bare.statements.map((s) => s.code)).toContain('no-composition');
    // The merged .hkl holds fewer records: one per unique reflection.
    const merged = previewReflections(sessions, { ...ids(), name: 'brookite', merged: true });
    expect(merged.nHkl).toBeLessThan(p.nHkl);
    expect(() => previewReflections(sessions, { ...ids(), name: 'brookite', composition: 'Ti8 Xx16' })).toThrow(/"Xx" is not an element symbol/);
    expect(() => previewReflections(sessions, { ...ids(), name: 'brookite', spaceGroup: 'P212121' })).toThrow(/merged in P b c a; integrate again with P 21 21 21/);
    expect(readdirSync(dir).filter((f) => /\.(hkl|ins|cif|cif_pets)$/.test(f))).toEqual([]);
  });

  it('writes NAME.hkl/.ins/.cif/.cif_pets atomically; they read back in our reader, cctbx and gemmi', async () => {
    const out = join(dir, 'out', 'reflections');
    const preview = previewReflections(sessions, { ...ids(), name: 'brookite', composition: 'Ti8 O16', batches: true });
    const res = await exportReflections(sessions, { ...ids(), folder: out, name: 'brookite', composition: 'Ti8 O16', batches: true });
    expect(res.folder).toBe(out);
    expect(readdirSync(out).sort()).toEqual(['brookite.cif', 'brookite.cif_pets', 'brookite.hkl', 'brookite.ins']);
    for (const f of res.files) expect(statSync(f.path).size).toBe(f.bytes);
    for (const f of preview.files) expect(readFileSync(join(out, f.fileName), 'utf8').split('\n').slice(0, f.head.length)).toEqual(f.head);
    const hkl = readFileSync(join(out, 'brookite.hkl'), 'utf8');
    const lines = hkl.trimEnd().split('\n');
    expect(lines.at(-1)!.slice(0, 12)).toBe('   0   0   0');
    expect(lines[0]!.length).toBe(32);
    const r = processingSummary(sessions, seriesId, objectId)!.integration!;
    const parsed = particleFromHklf('brookite', hkl, r.cell!, r.spaceGroup.number);
    expect(parsed.intensity.length).toBe(preview.nHkl);
    expect(parsed.sigma.every((s) => s > 0)).toBe(true);
    const py = spawnSync(
      PYTHON,
      [
        '-c',
        `import gemmi, sys, json
from iotbx.shelx import crystal_symmetry_from_ins, hklf
out = {}
for p in sys.argv[1:3]:
    b = gemmi.cif.read_file(p).sole_block()
    out[p.rsplit('.', 1)[1]] = {'refln': len(b.find_loop('_refln_index_h')), 'zone': len(b.find_loop('_diffrn_zone_axis_id'))}
cs = crystal_symmetry_from_ins.extract_from(sys.argv[3])
ma = hklf.reader(file_name=sys.argv[4]).as_miller_arrays(crystal_symmetry=cs)[0]
out['ins'] = {'sg': str(cs.space_group_info()), 'cell': list(cs.unit_cell().parameters())}
out['hkl'] = {'n': ma.size()}
print(json.dumps(out))`,
        join(out, 'brookite.cif'),
        join(out, 'brookite.cif_pets'),
        join(out, 'brookite.ins'),
        join(out, 'brookite.hkl'),
      ],
      { encoding: 'utf8' },
    );
    expect(py.status, py.stderr).toBe(0);
    const back = JSON.parse(py.stdout) as { cif: { refln: number }; cif_pets: { refln: number; zone: number }; ins: { sg: string; cell: number[] }; hkl: { n: number } };
    expect(back.cif.refln).toBeGreaterThan(40);
    expect(back.cif_pets.zone).toBeGreaterThan(30);
    expect(back.hkl.n).toBe(preview.nHkl);
    expect(back.ins.sg.replace(/ /g, '')).toBe('Pbca');
    expect(back.ins.cell[0]).toBeCloseTo(r.cell!.a, 3);
    // Nothing temporary left behind.
    expect(readdirSync(out).some((f) => f.startsWith('.'))).toBe(false);
  }, 60_000);

});

describe('reflections service: groups and folders', () => {
  it('merges two particles into one group: per-particle scale, CC and R; batch = particle; no .cif_pets', async () => {
    const twin = { seriesId, objectId: twinId };
    expect(() => previewReflections(sessions, { ...ids(), name: 'pair', mergeWith: [twinId] })).toThrow(/integrate brookite 2 first/);
    await runPeakSearch(sessions, { ...twin, params: {} });
    expect((await runLatticeSearch(sessions, { ...twin, params: {} })).lattice!.status).toBe('indexed');
    // Integrated on the first half of the tilts only: the group must be more complete than either part.
    const half = await runIntegration(sessions, { ...twin, params: { tilts: { first: 1, last: 41 } } });
    const alone = processingSummary(sessions, seriesId, objectId)!.integration!;
    expect(half.integration!.params).toEqual({ tilts: { first: 1, last: 41 } });
    expect(half.integration!.nUnique).toBeLessThan(alone.nUnique);
    await expect(runIntegration(sessions, { ...twin, params: { tilts: { first: 1, last: 500 } } })).rejects.toThrow(/the series has 81 tilts; tilt 500 does not exist/);
    const p = previewReflections(sessions, { ...ids(), name: 'pair', composition: 'Ti8 O16', mergeWith: [twinId] });
    const g = p.group!;
    expect(g.particles.map((q) => q.name)).toEqual(['brookite 1', 'brookite 2']);
    expect(g.particles.map((q) => q.objectId)).toEqual([objectId, twinId]);
    expect(g.particles.filter((q) => q.reference)).toHaveLength(1);
    for (const q of g.particles) {
      expect(q.accepted).toBe(true);
      expect(q.cc!).toBeGreaterThan(0.95);
      expect(q.scale!).toBeGreaterThan(0.8);
      expect(q.scale!).toBeLessThan(1.25);
    }
    // Unique reflections the files hold (absences left out): the group has those of the whole particle.
    const uniqueAlone = previewReflections(sessions, { ...ids(), name: 'x', merged: true }).nHkl;
    expect(g.overall.nUnique).toBeGreaterThanOrEqual(uniqueAlone);
    expect(previewReflections(sessions, { ...ids(), name: 'pair', merged: true, mergeWith: [twinId] }).nHkl).toBeGreaterThanOrEqual(uniqueAlone);
    expect(g.spaceGroup.replace(/ /g, '')).toBe('Pbca');
    expect(p.files.map((f) => f.kind)).toEqual(['hkl', 'ins', 'cif']);
    expect(p.statements.map((s) => s.code)).toContain('group-no-cif-pets');
    const out = join(dir, 'out', 'group');
    const res = await exportReflections(sessions, { ...ids(), folder: out, name: 'pair', composition: 'Ti8 O16', mergeWith: [twinId] });
    expect(res.group!.particles).toHaveLength(2);
    const batches = new Set(readFileSync(join(out, 'pair.hkl'), 'utf8').trimEnd().split('\n').slice(0, -1).map((l) => Number(l.slice(28, 32))));
    expect([...batches].sort()).toEqual([1, 2]);
    expect(readFileSync(join(out, 'pair.ins'), 'utf8')).toMatch(/^TITL pair: 2 particles merged in P b c a/);
  }, 120_000);

  it('refuses a folder that is an input file of the series, a relative one, and a file', async () => {
    const tilt0 = join(dir, 'series', readdirSync(join(dir, 'series')).find((f) => f.endsWith('.h5'))!);
    await expect(exportReflections(sessions, { ...ids(), folder: tilt0, name: 'x' })).rejects.toThrow(/is an input file of this series: raw data are never written to/);
    await expect(exportReflections(sessions, { ...ids(), folder: manifest, name: 'x' })).rejects.toThrow(/input file of this series/);
    await expect(exportReflections(sessions, { ...ids(), folder: 'out/here', name: 'x' })).rejects.toThrow(/not an absolute path/);
    await expect(exportReflections(sessions, { ...ids(), folder: join(dir, 'out', 'reflections', 'brookite.hkl'), name: 'x' })).rejects.toThrow(/is a file, not a folder/);
    expect(existsSync(join(dir, 'out', 'here'))).toBe(false);
  });

  it('integrates with a given group and frame scales; cancels; drops the reflections when the lattice changes', async () => {
    const given = await runIntegration(sessions, { ...ids(), params: { spaceGroup: 61, frameScales: true, dMinA: 1.2 } });
    expect(given.integration!.spaceGroup.given).toBe(true);
    expect(given.integration!.params).toEqual({ spaceGroup: 61, frameScales: true, dMinA: 1.2 });
    expect(given.integration!.dMinA).toBeGreaterThanOrEqual(1.19);
    const ac = new AbortController();
    const job = runIntegration(sessions, { ...ids(), params: {} }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(job).rejects.toBeInstanceOf(CancelledError);
    // The cancelled run left the last result as it was.
    expect(processingSummary(sessions, seriesId, objectId)!.integration!.params).toEqual({ spaceGroup: 61, frameScales: true, dMinA: 1.2 });
    await runLatticeSearch(sessions, { ...ids(), params: {} });
    expect(processingSummary(sessions, seriesId, objectId)!.integration).toBeNull();
    expect(() => previewReflections(sessions, { ...ids(), name: 'x' })).toThrow(/integrate brookite 1 first/);
  }, 120_000);
});
