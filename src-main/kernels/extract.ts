// Extraction kernels: pure functions over typed arrays (the ExtractedSeries of src-shared/domain.ts; row-major indices).
//
// The hot path is `accumulateFrames`: for a block of consecutive frames it adds every frame into the sum of each
// *target* that claims the frame's probe position. A target is an accumulator: an object's mask at one tilt, or the
// background ring around it. Which targets claim which probe is precomputed once per tilt as a compact list
// (`TargetMap`, CSR layout), so one pass over the frame bytes serves every object at once.
//
// Accumulators are Float64: integer data sums exactly up to 2^53 (a 256×256 uint16 pattern summed over 10^6 probes
// is < 2^37), and float data loses nothing that Float32 output would keep. The conversion to Float32 happens once, in
// `finishPattern`.
//
// Saturation: a pixel that reached the detector's saturation level in any frame summed into a target carries a wrong
// (clipped) value in that sum, so it is flagged for that target and later treated like a bad pixel. The check costs one
// compare per pixel and only runs when a level is given.
//
// `accumulateFramesInto` is the reference and the fallback: the default inner loop for uint8/uint16/uint32/float32 is
// the WebAssembly SIMD kernel (./wasm/extract.ts), which must match it bit for bit.

import type { PixelArray } from '../../src-shared/pixels';
import { ParameterError } from '../../src-shared/errors';
import { extractWasmAvailable, extractWasmSupports } from './wasm/extract';

/** Inner loops of extraction: 'auto' (WebAssembly SIMD where it applies), 'js' (the reference), 'wasm' (required). */
export type ExtractKernelChoice = 'auto' | 'js' | 'wasm';

/** The kernel `choice` resolves to for `dtype` (ParameterError for 'wasm' where it cannot run). */
export function resolveExtractKernel(choice: ExtractKernelChoice | undefined, dtype: string): 'js' | 'wasm' {
  if (choice === 'js') return 'js';
  const ok = extractWasmSupports(dtype) && extractWasmAvailable();
  if (choice === 'wasm' && !ok) {
    throw new ParameterError(
      'kernel',
      extractWasmSupports(dtype) ? 'WebAssembly SIMD is not available in this runtime' : `the wasm extraction kernel does not handle ${dtype}`,
    );
  }
  return ok ? 'wasm' : 'js';
}

/** Which targets claim each probe position of one tilt (CSR: targets of probe p are ids[offsets[p] … offsets[p+1]-1]). */
export interface TargetMap {
  /** ny*nx + 1 entries. */
  offsets: Int32Array;
  /** Target indices, sorted ascending per probe. */
  ids: Int32Array;
  /** Number of targets (accumulators). */
  nTargets: number;
  /**
   * Targets that are objects (as opposed to background rings) are 0 … nObjectTargets-1; a frame claimed by two or
   * more of them is "shared" (counted for purity).
   */
  nObjectTargets: number;
}

/** Per-target accumulators for one tilt. All arrays are owned by the caller and updated in place by the kernel. */
export interface TargetAccumulators {
  /** nTargets * npix sums, target-major. */
  sums: Float64Array;
  /** Frames added into each target. */
  counts: Float64Array;
  /** Per target, the summed total intensity of its frames that other object targets also claim (purity). */
  shared: Float64Array;
  /** nTargets * npix flags: 1 where a summed frame reached the saturation level. Absent when not checking. */
  saturated?: Uint8Array;
}

export function createAccumulators(nTargets: number, npix: number, checkSaturation: boolean): TargetAccumulators {
  return {
    sums: new Float64Array(nTargets * npix),
    counts: new Float64Array(nTargets),
    shared: new Float64Array(nTargets),
    saturated: checkSaturation ? new Uint8Array(nTargets * npix) : undefined,
  };
}

/** Adds `from` into `into` (same shapes): merging partial results of several work units. */
export function mergeAccumulators(into: TargetAccumulators, from: TargetAccumulators): void {
  const a = into.sums;
  const b = from.sums;
  for (let i = 0; i < a.length; i++) a[i] += b[i];
  for (let t = 0; t < into.counts.length; t++) {
    into.counts[t] += from.counts[t];
    into.shared[t] += from.shared[t];
  }
  if (into.saturated && from.saturated) {
    const s = into.saturated;
    const f = from.saturated;
    for (let i = 0; i < s.length; i++) s[i] |= f[i];
  }
}

export interface AccumulateArgs {
  /** `count` frames of `npix` pixels, frame k at element offset k * npix. Never modified. */
  frames: PixelArray;
  /** Flat probe index (ry * nx + rx) of frame 0. */
  start: number;
  count: number;
  npix: number;
  map: TargetMap;
  /** Pixel values ≥ this are saturated (flags into acc.saturated). */
  saturationLevel?: number;
}

/**
 * Adds each frame of the block into every target that claims its probe position (the "…Into" kernel: the only
 * thing it writes is `acc`). Returns the number of frames that at least one target claimed.
 */
export function accumulateFramesInto(args: AccumulateArgs, acc: TargetAccumulators): number {
  const { frames, start, count, npix, map } = args;
  const { offsets, ids, nObjectTargets } = map;
  const sums = acc.sums;
  const level = args.saturationLevel;
  const sat = level !== undefined ? acc.saturated : undefined;
  let used = 0;
  for (let k = 0; k < count; k++) {
    const p = start + k;
    const a = offsets[p];
    const b = offsets[p + 1];
    if (a === b) continue;
    used++;
    const f0 = k * npix;
    // One scan per frame (not per target) decides whether the slower flagging loop is needed at all.
    const flag = sat !== undefined && frameReaches(frames, f0, npix, level as number);
    let nObj = 0;
    for (let j = a; j < b; j++) {
      const t = ids[j];
      if (t < nObjectTargets) nObj++;
      acc.counts[t] += 1;
      const s0 = t * npix;
      if (flag) addFrameCheckingSaturation(sums, s0, frames, f0, npix, sat, level as number);
      else addFrame(sums, s0, frames, f0, npix);
    }
    if (nObj > 1) {
      // Shared probe position: its whole intensity counts against the purity of every object that claims it.
      let total = 0;
      for (let q = 0; q < npix; q++) total += frames[f0 + q];
      for (let j = a; j < b; j++) if (ids[j] < nObjectTargets) acc.shared[ids[j]] += total;
    }
  }
  return used;
}

function addFrame(sums: Float64Array, s0: number, frames: PixelArray, f0: number, npix: number): void {
  // Unrolled by 4: the loop is memory-bound, and fewer bounds checks let V8 keep up with the page cache.
  let q = 0;
  const n4 = npix - (npix & 3);
  for (; q < n4; q += 4) {
    sums[s0 + q] += frames[f0 + q];
    sums[s0 + q + 1] += frames[f0 + q + 1];
    sums[s0 + q + 2] += frames[f0 + q + 2];
    sums[s0 + q + 3] += frames[f0 + q + 3];
  }
  for (; q < npix; q++) sums[s0 + q] += frames[f0 + q];
}

function frameReaches(frames: PixelArray, f0: number, npix: number, level: number): boolean {
  for (let q = 0; q < npix; q++) if (frames[f0 + q] >= level) return true;
  return false;
}

function addFrameCheckingSaturation(
  sums: Float64Array,
  s0: number,
  frames: PixelArray,
  f0: number,
  npix: number,
  sat: Uint8Array,
  level: number,
): void {
  for (let q = 0; q < npix; q++) {
    const v = frames[f0 + q];
    sums[s0 + q] += v;
    if (v >= level) sat[s0 + q] = 1;
  }
}

// ───────────────────────────── target maps, rings ─────────────────────────────

/**
 * The background ring of one object at one tilt: probe positions within `width` probe steps of the mask (Euclidean
 * disc dilation) that are neither in the mask nor in `others` (the union of every other object's mask, so that a
 * neighbouring crystal never counts as support film). Returns a new Uint8Array of ny*nx (1 inside the ring).
 */
export function backgroundRing(mask: Uint8Array, others: Uint8Array | null, ny: number, nx: number, width: number): Uint8Array {
  const ring = new Uint8Array(ny * nx);
  const w = Math.max(0, Math.floor(width));
  if (w === 0) return ring;
  // Disc offsets once; for each mask pixel on the mask's boundary stamp the disc (interior pixels add nothing new).
  const offs: Array<[number, number]> = [];
  for (let dy = -w; dy <= w; dy++) for (let dx = -w; dx <= w; dx++) if (dx * dx + dy * dy <= w * w) offs.push([dy, dx]);
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const i = y * nx + x;
      if (!mask[i]) continue;
      const interior =
        y > 0 && y < ny - 1 && x > 0 && x < nx - 1 && mask[i - 1] && mask[i + 1] && mask[i - nx] && mask[i + nx];
      if (interior) continue;
      for (const [dy, dx] of offs) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
        ring[yy * nx + xx] = 1;
      }
    }
  }
  for (let i = 0; i < ring.length; i++) if (mask[i] || (others && others[i])) ring[i] = 0;
  return ring;
}

/**
 * Builds the target map of one tilt from per-target membership masks (each ny*nx, 1 = claims the probe). The first
 * `nObjectTargets` masks are objects, the rest background rings. A null mask is a target that claims nothing (an
 * object excluded at this tilt), which keeps target indices stable across tilts.
 */
export function buildTargetMap(members: ReadonlyArray<Uint8Array | null>, nObjectTargets: number, nProbes: number): TargetMap {
  const offsets = new Int32Array(nProbes + 1);
  for (const m of members) if (m) for (let p = 0; p < nProbes; p++) if (m[p]) offsets[p + 1]++;
  for (let p = 0; p < nProbes; p++) offsets[p + 1] += offsets[p];
  const ids = new Int32Array(offsets[nProbes]);
  const fill = offsets.slice(0, nProbes);
  members.forEach((m, t) => {
    if (!m) return;
    for (let p = 0; p < nProbes; p++) if (m[p]) ids[fill[p]++] = t;
  });
  return { offsets, ids, nTargets: members.length, nObjectTargets };
}

/**
 * Runs of probe positions that some target claims, as [start, end) pairs, with gaps of at most `maxGap` positions
 * bridged (reading through a short gap costs less than a new read request). Used to read only what the masks need.
 */
export function neededRuns(map: TargetMap, maxGap: number): Array<[number, number]> {
  const n = map.offsets.length - 1;
  const runs: Array<[number, number]> = [];
  let p = 0;
  while (p < n) {
    while (p < n && map.offsets[p] === map.offsets[p + 1]) p++;
    if (p >= n) break;
    const s = p;
    while (p < n && map.offsets[p] !== map.offsets[p + 1]) p++;
    const last = runs[runs.length - 1];
    if (last && s - last[1] <= maxGap) last[1] = p;
    else runs.push([s, p]);
  }
  return runs;
}

// ───────────────────────────── finishing a pattern ─────────────────────────────

/** What to do with excluded (bad or saturated) detector pixels in a summed pattern. */
export type BadPixelMode = 'zero' | 'neighbours';

/**
 * Replaces flagged pixels of `pattern` (in place — it is the caller's own Float64 scratch): 'zero' sets them to 0
 * (PETS2/DIALS then see an obviously dead pixel); 'neighbours' sets each to the mean of its unflagged 8-neighbours
 * (0 when it has none), which keeps a Bragg peak that covers a hot pixel roughly intact. Because the sum is linear,
 * doing this on the summed pattern equals doing it on every frame.
 */
export function fillBadPixelsInPlace(pattern: Float64Array, bad: Uint8Array, nqy: number, nqx: number, mode: BadPixelMode): number {
  let n = 0;
  for (let q = 0; q < bad.length; q++) if (bad[q]) n++;
  if (n === 0) return 0;
  if (mode === 'zero') {
    for (let q = 0; q < bad.length; q++) if (bad[q]) pattern[q] = 0;
    return n;
  }
  // Neighbour means are taken from the unflagged input values only, so the order of filling does not matter.
  const fills: number[] = [];
  for (let y = 0; y < nqy; y++) {
    for (let x = 0; x < nqx; x++) {
      const q = y * nqx + x;
      if (!bad[q]) continue;
      let s = 0;
      let c = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= nqy) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if ((dx === 0 && dy === 0) || xx < 0 || xx >= nqx) continue;
          const r = yy * nqx + xx;
          if (bad[r]) continue;
          s += pattern[r];
          c++;
        }
      }
      fills.push(q, c > 0 ? s / c : 0);
    }
  }
  for (let i = 0; i < fills.length; i += 2) pattern[fills[i]] = fills[i + 1];
  return n;
}

/** Union of a fixed bad-pixel mask and one target's saturation flags (either may be absent); null when both are. */
export function badPixelUnion(fixed: Uint8Array | undefined, saturated: Uint8Array | undefined, npix: number, offset: number): Uint8Array | null {
  if (!fixed && !saturated) return null;
  const out = new Uint8Array(npix);
  if (fixed) out.set(fixed.subarray(0, npix));
  if (saturated) for (let q = 0; q < npix; q++) if (saturated[offset + q]) out[q] = 1;
  return out;
}
