// `tracked virtual SERIES --detector … --out FILE`: virtual images of every tilt, headless.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { DetectorRequest } from '../../src-shared/contract';
import { InputError, ParameterError } from '../../src-shared/errors';
import { writeVirtualStackH5 } from '../io/write-virtual';
import { startPassWorkers } from './pass-start';
import { encodeTiffPages } from '../io/export/tiff';
import { writeFileAtomic } from '../io/atomic';
import { SeriesSessions } from '../services/series-session';
import { computeVirtual, virtualStack } from '../services/virtual-job';
import { createProgress } from './progress';

/** Parses `bf:R`, `adf:RIN,ROUT`, `mask:FILE`, `com`, `variance`, `sum` (radii in detector pixels). */
export function parseDetector(text: string): DetectorRequest {
  const [kind, rest = ''] = text.split(/:(.*)/s, 2) as [string, string?];
  const nums = rest.split(',').filter(Boolean).map(Number);
  const bad = (why: string): never => {
    throw new ParameterError('--detector', `${text}: ${why}`);
  };
  switch (kind) {
    case 'bf':
      if (nums.length !== 1 || !(nums[0]! > 0)) bad('give bf:RADIUS with a positive radius in detector pixels');
      return { kind: 'disk', radius: nums[0]!, name: 'bf' };
    case 'adf':
      if (nums.length !== 2 || !(nums[0]! >= 0) || !(nums[1]! > nums[0]!)) bad('give adf:RIN,ROUT with 0 ≤ RIN < ROUT');
      return { kind: 'annulus', rIn: nums[0]!, rOut: nums[1]!, name: 'adf' };
    case 'mask':
      if (!rest) bad('give mask:FILE (.npy float/uint8 2D array, or raw float32 .f32 of the detector size)');
      return { kind: 'mask', mask: readMask(rest), name: 'mask' };
    case 'com':
      return { kind: 'com', name: 'com' };
    case 'variance':
      return { kind: 'variance', name: 'variance' };
    case 'sum':
      return { kind: 'sum', name: 'sum' };
    default:
      return bad('unknown detector (bf, adf, mask, com, variance, sum)');
  }
}

/** Reads a detector mask: NumPy .npy (2D, bool/uint8/float32/float64, C order) or raw little-endian float32. */
export function readMask(path: string): Float32Array<ArrayBuffer> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new InputError(path, 'mask file not found');
  }
  if (extname(path).toLowerCase() !== '.npy') {
    if (bytes.length % 4 !== 0) throw new InputError(path, `raw float32 mask has ${bytes.length} bytes, not a multiple of 4`);
    const raw = new Float32Array(bytes.length / 4);
    new Uint8Array(raw.buffer).set(bytes);
    return raw;
  }
  if (bytes.subarray(0, 6).toString('latin1') !== '\x93NUMPY') throw new InputError(path, 'not a .npy file (bad magic)');
  if (bytes.length < 12) throw new InputError(path, `truncated .npy header (${bytes.length} bytes)`);
  const major = bytes[6]!;
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const dataStart = (major === 1 ? 10 : 12) + headerLen;
  if (dataStart > bytes.length) throw new InputError(path, `truncated .npy header (says ${headerLen} bytes, the file has ${bytes.length})`);
  const header = bytes.subarray(major === 1 ? 10 : 12, dataStart).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) throw new InputError(path, 'Fortran-order .npy is not supported; save with np.ascontiguousarray');
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1]?.split(',').map((x) => x.trim()).filter(Boolean).map(Number) ?? [];
  if (shape.length !== 2) throw new InputError(path, `mask must be 2D, found shape (${shape.join(', ')})`);
  if (shape.some((d) => !Number.isInteger(d) || d < 1 || d > 65_536)) throw new InputError(path, `mask shape (${shape.join(', ')}) is not two positive sizes`);
  const n = shape[0]! * shape[1]!;
  const body = bytes.subarray(dataStart);
  const out = new Float32Array(n);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const need = (size: number): void => {
    if (body.length < n * size) throw new InputError(path, `truncated: ${body.length} data bytes for ${n} values of ${size} bytes`);
  };
  switch (descr) {
    case '|b1':
    case '|u1':
      need(1);
      for (let i = 0; i < n; i++) out[i] = body[i]!;
      break;
    case '<f4':
      need(4);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case '<f8':
      need(8);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    default:
      throw new InputError(path, `unsupported .npy dtype ${descr ?? '?'} (use bool, uint8, float32 or float64)`);
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(out[i]!)) throw new InputError(path, `mask value ${i} is not finite`);
  return out;
}

export interface VirtualCommandOptions {
  detector: string[];
  out: string;
  dataset?: string;
  scanShape?: [number, number];
  startDeg?: number;
  stepDeg?: number;
}

/** Runs the virtual-imaging pass over a series and writes every output; returns a summary for stdout. */
export async function runVirtualCommand(seriesPath: string, opts: VirtualCommandOptions): Promise<Record<string, unknown>> {
  const detectors = (opts.detector.length ? opts.detector : ['bf:8', 'adf:12,60']).map(parseDetector);
  const ext = extname(opts.out).toLowerCase();
  if (!['.h5', '.hdf5', '.tif', '.tiff'].includes(ext)) {
    throw new ParameterError('--out', `${opts.out}: write .h5 (one dataset [tilt, ry, rx] per output) or .tif (one page per tilt; one file per output)`);
  }
  // Started by the command line before it loaded this module; here for other callers.
  await startPassWorkers(seriesPath);
  const sessions = new SeriesSessions();
  const summary = await sessions.openSeries(seriesPath, {
    ...(opts.scanShape ? { scanShape: opts.scanShape } : {}),
    ...(opts.startDeg !== undefined ? { startDeg: opts.startDeg } : {}),
    ...(opts.stepDeg !== undefined ? { stepDeg: opts.stepDeg } : {}),
  });
  const progress = createProgress('virtual');
  try {
    const v = await computeVirtual(sessions, summary.seriesId, detectors, { progress: (d, t, s) => progress.update(d, t, s) }, { imagesOnly: true });
    progress.stop();
    const stacks: Record<string, Float32Array> = {};
    for (const o of v.outputs) stacks[o.name] = virtualStack(sessions, summary.seriesId, o.name).stack;
    const describe: Record<string, string> = {};
    for (const o of v.outputs) {
      const d = detectors.find((x) => x.name !== undefined && o.name.startsWith(x.name));
      describe[o.name] = d ? JSON.stringify(d, (k, val: unknown) => (k === 'mask' ? '(mask)' : val)) : o.kind;
    }
    const [ny, nx] = summary.scanShape;
    if (ext === '.tif' || ext === '.tiff') {
      const names = Object.keys(stacks);
      const files: string[] = [];
      for (const name of names) {
        // One output keeps the given name; several get _<output> before the extension.
        const file = names.length === 1 ? opts.out : `${opts.out.slice(0, -ext.length)}_${name}${ext}`;
        const pages = summary.anglesDeg.map((a, t) => ({
          data: stacks[name]!.subarray(t * ny * nx, (t + 1) * ny * nx),
          width: nx,
          height: ny,
          description: `${describe[name]} | tilt ${t + 1} | ${a} deg`,
        }));
        await writeFileAtomic(file, encodeTiffPages(pages, 'trackED'));
        files.push(file);
      }
      return { out: files, nTilts: summary.nTilts, scanShape: summary.scanShape, outputs: v.outputs.map((o) => o.name), bytesRead: v.bytesRead, seconds: v.seconds, throughputMBs: v.bytesRead / 1e6 / v.seconds, warnings: v.warnings };
    }
    await writeVirtualStackH5(opts.out, {
      stacks,
      nTilts: summary.nTilts,
      ny,
      nx,
      anglesDeg: summary.anglesDeg,
      detectors: describe,
      attrs: { series: summary.source },
    });
    return {
      out: opts.out,
      nTilts: summary.nTilts,
      scanShape: summary.scanShape,
      outputs: v.outputs.map((o) => o.name),
      bytesRead: v.bytesRead,
      seconds: v.seconds,
      throughputMBs: v.bytesRead / 1e6 / v.seconds,
      warnings: v.warnings,
    };
  } finally {
    progress.stop();
    await sessions.closeAll();
  }
}
