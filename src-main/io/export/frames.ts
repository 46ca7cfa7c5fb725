// Extracted frames as TIFF files, `0001.tif`… (ARCHITECTURE §6): one file per extracted tilt, numbered by tilt index
// (tilt t → frame t+1), so that frame numbers mean the same tilt in frames/, smv/ and every report even when some
// tilts were excluded. Each file is written atomically (temp + rename).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { throwIfAborted } from '../../../src-shared/errors';
import { writeFileAtomicSync } from '../atomic';

import { encodeTiff, toUint16, uint16Scale } from './tiff';
import type { ExtractedSeries } from '../../../src-shared/domain';

export interface FrameFile {
  /** File name inside the folder, e.g. `0007.tif`. */
  file: string;
  tiltIndex: number;
  angleDeg: number;
}

export interface WrittenFrames {
  dir: string;
  files: FrameFile[];
  depth: 'float32' | 'uint16';
  /** uint16 only: stored = round(value · scale). 1 for float32. */
  scale: number;
  /** uint16 only: negative pixels written as 0. */
  clippedNegative: number;
  /** Largest stored value (for a processor's saturation limit). */
  maxStored: number;
}

/** `0001`-style frame number of tilt index t. */
export function frameNumber(t: number, digits = 4): string {
  return String(t + 1).padStart(digits, '0');
}

/** Tilts that carry an extracted frame. */
export function extractedTilts(s: ExtractedSeries): number[] {
  const out: number[] = [];
  for (let t = 0; t < s.nTilts; t++) if (s.included[t]) out.push(t);
  return out;
}

export interface TiffFramesOptions {
  depth?: 'float32' | 'uint16';
  /** uint16: the value the brightest pixel of the series maps to (default 60000). */
  maxValue?: number;
  signal?: AbortSignal;
}

/** Writes the extracted tilts of `s` into `dir` (created if needed). */
export function writeTiffFrames(s: ExtractedSeries, dir: string, opts: TiffFramesOptions = {}): WrittenFrames {
  const depth = opts.depth ?? 'float32';
  mkdirSync(dir, { recursive: true });
  const [nqy, nqx] = s.detectorShape;
  const npix = nqy * nqx;
  const tilts = extractedTilts(s);
  let scale = 1;
  if (depth === 'uint16') {
    // The scale is taken over the extracted frames only (excluded ones are zero and do not matter).
    let max = 0;
    for (const t of tilts) {
      const f = s.frames.subarray(t * npix, (t + 1) * npix);
      for (let q = 0; q < npix; q++) if (f[q] > max) max = f[q];
    }
    scale = uint16Scale(Float32Array.of(max), opts.maxValue ?? 60000);
  }
  const files: FrameFile[] = [];
  let clippedNegative = 0;
  let maxStored = 0;
  for (const t of tilts) {
    throwIfAborted(opts.signal);
    const frame = s.frames.subarray(t * npix, (t + 1) * npix);
    const file = `${frameNumber(t)}.tif`;
    const what = `trackED ${s.statistic} of ${s.probeCount[t]} patterns; object ${s.objectId} '${s.name}'; tilt ${t}; angleDeg ${s.anglesDeg[t]}`;
    let bytes: Uint8Array;
    if (depth === 'uint16') {
      const u = toUint16(frame, scale);
      clippedNegative += u.clippedNegative;
      for (let q = 0; q < npix; q++) if (u.data[q] > maxStored) maxStored = u.data[q];
      bytes = encodeTiff(u.data, nqx, nqy, { description: `${what}; uint16 = round(value * ${scale.toPrecision(9)})`, software: 'trackED' });
    } else {
      for (let q = 0; q < npix; q++) if (frame[q] > maxStored) maxStored = frame[q];
      bytes = encodeTiff(frame, nqx, nqy, { description: what, software: 'trackED' });
    }
    writeFileAtomicSync(join(dir, file), bytes);
    files.push({ file, tiltIndex: t, angleDeg: s.anglesDeg[t] });
  }
  return { dir, files, depth, scale, clippedNegative, maxStored };
}
