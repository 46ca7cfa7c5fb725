// `tracked synth` and `tracked demo`.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ParameterError } from '../../src-shared/errors';
import { PRESET_NAMES, SIZE_NAMES, synthesize, type PresetName, type SizeName, type SynthSummary } from '../synth/index';
import { createProgress } from './progress';
import { runPipeline, type RunReport } from './run';
import { h5lib } from '../io/h5';

/** '5 × brookite_TiO2 rod' rather than the same words five times. */
function describeParticles(particles: ReadonlyArray<{ structure: string; shape: string }>): string {
  const counts = new Map<string, number>();
  for (const p of particles) {
    const key = `${p.structure.replace(/\.cif$/i, '')} ${p.shape}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (n > 1 ? `${n} × ${k}` : k)).join(', ');
}

/** IoU per tilt of the run's first object against the true particle it overlaps most. */
async function compareWithTruth(truthFile: string, masksFile: string): Promise<{ particle: string; meanIou: number; worstIou: number } | null> {
  const h5 = await h5lib();
  const truth = new h5.File(truthFile, 'r');
  const run = new h5.File(masksFile, 'r');
  try {
    const tracked = run.keys().map((k) => run.get(k)).find((d): d is InstanceType<typeof h5.Dataset> => d instanceof h5.Dataset);
    if (!tracked?.shape) return null;
    const [nTilts, ny, nx] = tracked.shape as [number, number, number];
    const n = ny * nx;
    const mine = tracked.value as Uint8Array;
    let best: { particle: string; ious: number[]; overlap: number } | null = null;
    for (const key of truth.keys()) {
      const ds = truth.get(key);
      if (!(ds instanceof h5.Dataset)) continue;
      const t = ds.value as Uint8Array;
      const ious: number[] = [];
      let overlap = 0;
      for (let k = 0; k < nTilts; k++) {
        let inter = 0;
        let union = 0;
        for (let i = k * n; i < (k + 1) * n; i++) {
          if (mine[i] && t[i]) inter++;
          if (mine[i] || t[i]) union++;
        }
        overlap += inter;
        ious.push(union ? inter / union : 1);
      }
      if (!best || overlap > best.overlap) best = { particle: key.replace('object_', ''), ious, overlap };
    }
    if (!best) return null;
    return { particle: best.particle, meanIou: best.ious.reduce((a, b) => a + b, 0) / best.ious.length, worstIou: Math.min(...best.ious) };
  } finally {
    truth.close();
    run.close();
  }
}

export async function runSynthCommand(opts: { preset: string; size: string; out: string; seed?: number; mib?: boolean }): Promise<SynthSummary> {
  if (!(PRESET_NAMES as readonly string[]).includes(opts.preset)) {
    throw new ParameterError('--preset', `unknown preset '${opts.preset}' (use ${PRESET_NAMES.join(', ')})`);
  }
  if (!(SIZE_NAMES as readonly string[]).includes(opts.size)) {
    throw new ParameterError('--size', `unknown size '${opts.size}' (use ${SIZE_NAMES.join(', ')})`);
  }
  const progress = createProgress(`synth ${opts.preset}`);
  try {
    return await synthesize(
      {
        preset: opts.preset as PresetName,
        size: opts.size as SizeName,
        outDir: resolve(opts.out),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
        ...(opts.mib ? { mib: true } : {}),
      },
      { onProgress: (d, t, s) => progress.update(d, t, s) },
    );
  } finally {
    progress.stop();
  }
}

/** Makes the small agglomerate and runs every pipeline stage that exists; returns the printed summary. */
/** The demo's processing, integration and files, in a few lines. */
function processingLines(r: RunReport): string[] {
  const l = r.lattice;
  const i = r.integration;
  const cell = (c: { a: number; b: number; c: number; alpha: number; beta: number; gamma: number }): string =>
    `${c.a.toFixed(3)} ${c.b.toFixed(3)} ${c.c.toFixed(3)} Å, ${c.alpha.toFixed(2)} ${c.beta.toFixed(2)} ${c.gamma.toFixed(2)}°`;
  const out = [
    l?.status === 'indexed' && l.cell
      ? `7. lattice            ${l.bravais} ${cell(l.cell)}, ${((l.indexedFraction ?? 0) * 100).toFixed(0)} % of ${l.nPeaks} peaks indexed (run/peaks.json)`
      : `7. lattice            none: ${l?.statements[0]?.message ?? 'not processed'}`,
  ];
  if (i) {
    out.push(
      `8. reflections        ${i.nReflections} integrated over their rocking curves, ${i.nUnique} unique to ${i.dMinA} Å; Rint ${i.rInt?.toFixed(3)}, CC½ ${i.ccHalf?.toFixed(3)}, ⟨I/σ⟩ ${i.meanIOverSigma}`,
      `                      ${i.spaceGroup.hm} (Laue ${i.laue.chosen}) → run/${r.files['hkl'] as string}, run/${r.files['ins'] as string}, run/${r.files['cif'] as string}, run/${r.files['cifPets'] as string}`,
    );
  }
  return out;
}

export async function runDemo(opts: { out?: string; seed?: number }): Promise<string> {
  const out = resolve(opts.out ?? join(tmpdir(), 'tracked-demo'));
  mkdirSync(out, { recursive: true });
  const lines: string[] = [];
  const t0 = performance.now();
  const synth = await runSynthCommand({ preset: 'brookite-agglomerate', size: 'fine', out: join(out, 'series'), seed: opts.seed ?? 1 });
  lines.push(
    `trackED demo — ${out}`,
    '',
    `1. synthetic series   ${synth.preset}: ${synth.nTilts} tilts, scan ${synth.scanShape.join('×')}, detector ${synth.detectorShape.join('×')}, ` +
      `${synth.particles.length} particles (${describeParticles(synth.particles)})`,
    `                      ${(synth.bytesWritten / 1e6).toFixed(1)} MB in ${synth.seconds.toFixed(1)} s (${Math.round(synth.probePositionsPerSecond)} probe positions/s)`,
  );
  const manifest = join(out, 'series', synth.manifest);
  const run = join(out, 'run');
  const r = await runPipeline(manifest, { out: run, target: 'auto', reflections: { composition: 'Ti8 O16' } });
  const o = r.objects[0]!;
  lines.push(
    `2. virtual images     bf, adf, com, variance for every tilt → run/virtual.tiff, run/virtual.h5 (${r.timingsS['virtual']!.toFixed(1)} s)`,
    `3. target             ${r.target.note}: probe (${r.target.x}, ${r.target.y})`,
    `4. tracking           ${o.framesTracked} of ${r.series.nTilts} tilts tracked, ${o.framesFlagged} flagged, mean area ${o.meanAreaPx.toFixed(1)} probe positions (${r.timingsS['tracking']!.toFixed(1)} s)` +
      (o.stopped ? `\n                      stopped: ${o.stopped}` : ''),
    `5. extraction         ${o.probesExtracted} patterns summed, mean purity ${(o.meanPurity * 100).toFixed(1)} % (${r.timingsS['extraction']!.toFixed(1)} s)`,
    `6. exports            run/${(r.files['pts2'] as string[])[0]} + frames/ (PETS2), smv/ (DIALS, XDS), extracted.h5, masks/, report.json`,
  );
  lines.push(...processingLines(r));
  const check = await compareWithTruth(join(out, 'series', 'truth', 'masks.h5'), join(run, 'masks', 'masks.h5'));
  if (check) {
    lines.push(
      `9. against the truth  tracked masks vs particle ${check.particle}'s true masks: mean IoU ${check.meanIou.toFixed(3)}, worst tilt ${check.worstIou.toFixed(3)}`,
    );
  }
  for (const w of r.warnings) lines.push(`                      note: ${w}`);
  lines.push('', `ground truth in ${join(out, 'series', 'truth')}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return lines.join('\n');
}
