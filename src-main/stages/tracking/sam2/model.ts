// Loading a user's SAM2 model folder: find the encoder/decoder pair and its layout, open onnxruntime sessions on the
// best available execution provider, and check every input/output name, rank, static dim and dtype against the
// layout, naming file, tensor, expected and found for each mismatch.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, sep } from 'node:path';
import ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { InputError } from '../../../../src-shared/errors';
import {
  AmbiguousModelsError,
  LAYOUTS,
  type DecoderOutput,
  type DecoderPrompt,
  type Sam2Features,
  type Sam2Layout,
  type TensorSpec,
} from './layouts';

export type Sam2Provider = 'cpu' | 'cuda' | 'dml';

export interface Sam2LoadOptions {
  /** 'auto' (default): CUDA / DirectML when this onnxruntime-node lists them and they start, else CPU. */
  providers?: 'auto' | Sam2Provider[];
  /** Where the "CUDA unavailable, using CPU" kind of line goes (default console.warn). */
  log?: (line: string) => void;
  /** ORT intra-op threads (default: ORT's choice). */
  threads?: number;
}

export interface Sam2Model {
  folder: string;
  layout: Sam2Layout;
  encoderFile: string;
  decoderFile: string;
  /** The execution provider the sessions were created with. */
  provider: Sam2Provider;
  /** Runs the encoder on a preprocessed 3·size² NCHW image. */
  encode(image: Float32Array): Promise<Sam2Features>;
  decode(features: Sam2Features, prompt: DecoderPrompt): Promise<DecoderOutput>;
  release(): Promise<void>;
}

type ValueMetadata = InferenceSession.ValueMetadata;

/** Every .onnx file under `folder`, up to two levels deep (onnx-community keeps its files in onnx/), '/'-separated. */
function listOnnx(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory() && depth < 2 && !name.startsWith('.')) walk(p, depth + 1);
      else if (st?.isFile() && name.toLowerCase().endsWith('.onnx')) out.push(relative(folder, p).split(sep).join('/'));
    }
  };
  walk(folder, 0);
  return out.sort();
}

/** Which layout and files a folder holds, by file names (samexporter first). Throws InputError naming what is missing. */
export function findModelFiles(folder: string): { layout: Sam2Layout; encoder: string; decoder: string } {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new InputError(folder, 'the SAM2 model folder does not exist or is not a folder');
  const files = listOnnx(folder);
  for (const layout of LAYOUTS) {
    let pair: { encoder: string; decoder: string } | null;
    try {
      pair = layout.findFiles(files);
    } catch (e) {
      if (e instanceof AmbiguousModelsError) {
        throw new InputError(folder, `holds several ${layout.title} SAM2 models (${e.candidates.join(', ')}); choose a folder with one encoder/decoder pair`);
      }
      throw e;
    }
    if (pair) return { layout, encoder: join(folder, pair.encoder), decoder: join(folder, pair.decoder) };
  }
  const encoders = files.filter((f) => /encoder/i.test(f));
  const decoders = files.filter((f) => /decoder/i.test(f));
  const found = files.length ? `found ${files.join(', ')}` : 'found no .onnx file';
  const half =
    encoders.length && !decoders.length
      ? ` There is an encoder (${encoders.join(', ')}) but no decoder.`
      : decoders.length && !encoders.length
        ? ` There is a decoder (${decoders.join(', ')}) but no encoder.`
        : '';
  throw new InputError(
    folder,
    `no SAM2 encoder/decoder pair: expected ${LAYOUTS.map((l) => `${l.title}: ${l.expectedFiles}`).join('; or ')}; ${found}.${half}`,
    { files },
  );
}

function fmtShape(s: readonly (number | string)[]): string {
  return `[${s.join(',')}]`;
}

/**
 * Mismatches between what a session reports and the layout's spec, one line each: missing / unexpected inputs,
 * missing outputs, dtype, rank and static dims. Symbolic dims in the spec accept anything; a symbolic dim in the
 * file where the spec is static is accepted too (a dynamic export is more general), and a file that reports no
 * shape at all is not held against it (ORT reports [] when the shape is unknown).
 */
export function checkTensors(kind: 'input' | 'output', found: readonly ValueMetadata[], spec: readonly TensorSpec[]): string[] {
  const problems: string[] = [];
  const byName = new Map(found.map((m) => [m.name, m]));
  for (const s of spec) {
    const m = byName.get(s.name);
    if (!m) {
      problems.push(`${kind} '${s.name}' missing (the file has ${kind}s ${found.map((f) => `'${f.name}'`).join(', ') || 'none'})`);
      continue;
    }
    if (!m.isTensor) {
      problems.push(`${kind} '${s.name}': expected a ${s.dtype} tensor, found a non-tensor value`);
      continue;
    }
    if (m.type !== s.dtype) problems.push(`${kind} '${s.name}': expected dtype ${s.dtype}, found ${m.type}`);
    const shape = m.shape;
    if (shape.length === 0) continue;
    if (shape.length !== s.shape.length) {
      problems.push(`${kind} '${s.name}': expected rank ${s.shape.length} ${fmtShape(s.shape)}, found rank ${shape.length} ${fmtShape(shape)}`);
      continue;
    }
    s.shape.forEach((d, i) => {
      const f = shape[i];
      if (typeof d === 'number' && typeof f === 'number' && f >= 0 && f !== d) {
        problems.push(`${kind} '${s.name}': expected shape ${fmtShape(s.shape)}, found ${fmtShape(shape)} (dim ${i} is ${f}, not ${d})`);
      }
    });
  }
  if (kind === 'input') {
    const known = new Set(spec.map((s) => s.name));
    for (const m of found) if (!known.has(m.name)) problems.push(`input '${m.name}' is not part of this layout (nothing would feed it)`);
  }
  return problems;
}

/** Validates a session against one side of a layout; throws InputError(file, every mismatch). */
export function validateSession(file: string, role: 'encoder' | 'decoder', session: InferenceSession, layout: Sam2Layout): void {
  const spec = layout[role];
  const problems = [...checkTensors('input', session.inputMetadata, spec.inputs), ...checkTensors('output', session.outputMetadata, spec.outputs)];
  if (problems.length) {
    throw new InputError(file, `does not match the ${layout.title} SAM2 ${role} layout: ${problems.join('; ')}`, { layout: layout.id, role, problems });
  }
}

/**
 * Whether onnxruntime-node's CUDA provider library sits beside its binding. The npm package lists 'cuda' as a
 * backend even when its CUDA download was skipped (`onnxruntime-node-install=skip`, as offline installs must);
 * trying it then only makes onnxruntime print a native error before falling back.
 */
export function cudaProviderInstalled(): boolean {
  try {
    const req = createRequire(import.meta.url);
    const root = dirname(req.resolve('onnxruntime-node/package.json'));
    const dir = join(root, 'bin', 'napi-v6', process.platform, process.arch);
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    return existsSync(join(dir, lib));
  } catch {
    return false;
  }
}

/** Execution providers to try, best first; always ends with CPU. */
export function providerCandidates(pref: 'auto' | Sam2Provider[] = 'auto'): Sam2Provider[] {
  if (pref !== 'auto') return pref.includes('cpu') ? [...pref] : [...pref, 'cpu'];
  const listed = new Set(ort.listSupportedBackends().map((b) => b.name));
  const out: Sam2Provider[] = [];
  // DirectML is Windows-only; ORT silently drops an unknown provider elsewhere, so asking for it would only make us
  // report a provider that is not in use.
  if (listed.has('cuda') && (process.platform === 'linux' || process.platform === 'win32') && cudaProviderInstalled()) out.push('cuda');
  if (listed.has('dml') && process.platform === 'win32') out.push('dml');
  out.push('cpu');
  return out;
}

async function openSession(file: string, provider: Sam2Provider, threads: number | undefined): Promise<InferenceSession> {
  return ort.InferenceSession.create(file, {
    executionProviders: provider === 'cpu' ? ['cpu'] : [provider, 'cpu'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3, // errors only: the real exports trigger harmless initializer warnings
    ...(threads ? { intraOpNumThreads: threads } : {}),
  });
}

function loadFailure(file: string, e: unknown): InputError {
  const msg = e instanceof Error ? e.message : String(e);
  const data = `${file}_data`;
  const hint = /external|\.onnx_data|data file|No such file/i.test(msg) && !existsSync(data) ? ` (is its external-data file ${basename(data)} missing?)` : '';
  return new InputError(file, `onnxruntime cannot load this model: ${msg}${hint}`);
}

/**
 * Opens the encoder on the first provider that starts (logging each fallback), then the decoder on the same one.
 * A provider that onnxruntime lists but cannot start (e.g. CUDA without its libraries) costs one failed create.
 */
async function openPair(encoder: string, decoder: string, opts: Sam2LoadOptions): Promise<{ enc: InferenceSession; dec: InferenceSession; provider: Sam2Provider }> {
  const log = opts.log ?? ((line: string) => console.warn(line));
  const candidates = providerCandidates(opts.providers);
  let lastError: unknown;
  for (const provider of candidates) {
    let enc: InferenceSession;
    try {
      enc = await openSession(encoder, provider, opts.threads);
    } catch (e) {
      lastError = e;
      if (provider === 'cpu') break;
      log(`[sam2] ${provider.toUpperCase()} execution provider unavailable (${(e instanceof Error ? e.message : String(e)).split('\n')[0]}); falling back`);
      continue;
    }
    try {
      const dec = await openSession(decoder, provider, opts.threads);
      if (provider !== 'cpu') log(`[sam2] using the ${provider.toUpperCase()} execution provider`);
      return { enc, dec, provider };
    } catch (e) {
      await enc.release();
      throw loadFailure(decoder, e);
    }
  }
  throw loadFailure(encoder, lastError);
}

/** Finds, opens and validates the SAM2 model in `folder`. */
export async function loadSam2Model(folder: string, opts: Sam2LoadOptions = {}): Promise<Sam2Model> {
  const { layout, encoder, decoder } = findModelFiles(folder);
  const { enc, dec, provider } = await openPair(encoder, decoder, opts);
  try {
    validateSession(encoder, 'encoder', enc, layout);
    validateSession(decoder, 'decoder', dec, layout);
  } catch (e) {
    await Promise.all([enc.release(), dec.release()]);
    throw e;
  }
  return {
    folder,
    layout,
    encoderFile: encoder,
    decoderFile: decoder,
    provider,
    async encode(image) {
      return layout.encoderOutputs(await enc.run(layout.encoderFeed(image)));
    },
    async decode(features, prompt) {
      if (!prompt.box && prompt.points.length === 0) throw new InputError(decoder, 'a decoder call needs a box or at least one point');
      return layout.decoderOutputs(await dec.run(layout.decoderFeed(features, prompt)));
    },
    async release() {
      await Promise.all([enc.release(), dec.release()]);
    },
  };
}

/** Loads, validates and releases: what the "choose model folder" dialog calls to say "OK" or what is wrong. */
export async function validateSam2Folder(
  folder: string,
  opts: Sam2LoadOptions = {},
): Promise<{ layout: Sam2Layout['id']; encoderFile: string; decoderFile: string; provider: Sam2Provider }> {
  const m = await loadSam2Model(folder, opts);
  await m.release();
  return { layout: m.layout.id, encoderFile: m.encoderFile, decoderFile: m.decoderFile, provider: m.provider };
}
