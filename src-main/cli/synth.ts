// `tracked synth` and `tracked demo`.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ParameterError } from '../errors';
import { PRESET_NAMES, SIZE_NAMES, synthesize, type PresetName, type SizeName, type SynthSummary } from '../synth/index';
import { createProgress } from './progress';
import { runVirtualCommand } from './virtual';

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
export async function runDemo(opts: { out?: string; seed?: number }): Promise<string> {
  const out = resolve(opts.out ?? join(tmpdir(), 'tracked-demo'));
  mkdirSync(out, { recursive: true });
  const lines: string[] = [];
  const t0 = performance.now();
  const synth = await runSynthCommand({ preset: 'brookite-agglomerate', size: 'small', out: join(out, 'series'), seed: opts.seed ?? 1 });
  lines.push(
    `trackED demo — ${out}`,
    '',
    `1. synthetic series   ${synth.preset}: ${synth.nTilts} tilts, scan ${synth.scanShape.join('×')}, detector ${synth.detectorShape.join('×')}, ` +
      `${synth.particles.length} particles (${synth.particles.map((p) => `${p.structure} ${p.shape}`).join(', ')})`,
    `                      ${(synth.bytesWritten / 1e6).toFixed(1)} MB in ${synth.seconds.toFixed(1)} s (${Math.round(synth.probePositionsPerSecond)} probe positions/s)`,
  );
  const manifest = join(out, 'series', synth.manifest);
  const virtual = await runVirtualCommand(manifest, { detector: ['bf:6', 'adf:10,60', 'com', 'variance'], out: join(out, 'virtual.h5') });
  lines.push(
    `2. virtual images     ${(virtual.outputs as string[]).join(', ')} for every tilt → virtual.h5`,
    `                      ${((virtual.bytesRead as number) / 1e6).toFixed(1)} MB read at ${(virtual.throughputMBs as number).toFixed(0)} MB/s`,
  );
  for (const w of virtual.warnings as string[]) lines.push(`                      warning: ${w}`);
  lines.push('', `ground truth in ${join(out, 'series', 'truth')}; total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return lines.join('\n');
}
