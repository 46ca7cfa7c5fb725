// Compact mask diffs for the wire and the project journal: the pixels a stroke set to 1 and those it set
// to 0, each as run-length pairs [start, length, start, length, …] over the flat index x + y*nx. A brush
// stroke on a 512×512 frame becomes a few hundred numbers instead of 262 144 bytes.

export interface MaskRuns {
  /** Runs of pixels that become 1. */
  set: Uint32Array<ArrayBuffer>;
  /** Runs of pixels that become 0. */
  clear: Uint32Array<ArrayBuffer>;
}

/** The runs that turn `before` into `after` (same length, values 0/1). */
export function diffMask(before: Uint8Array, after: Uint8Array): MaskRuns {
  if (before.length !== after.length) throw new Error(`mask sizes differ: ${before.length} vs ${after.length}`);
  const set: number[] = [];
  const clear: number[] = [];
  let i = 0;
  const n = after.length;
  while (i < n) {
    const a = after[i]! ? 1 : 0;
    const b = before[i]! ? 1 : 0;
    if (a === b) {
      i++;
      continue;
    }
    const start = i;
    // Extend while the change is the same kind (both 0→1 or both 1→0).
    while (i < n && (after[i]! ? 1 : 0) === a && (before[i]! ? 1 : 0) === b) i++;
    (a ? set : clear).push(start, i - start);
  }
  return { set: Uint32Array.from(set), clear: Uint32Array.from(clear) };
}

/** Applies runs to `mask` in place; throws on runs outside it. Returns the number of pixels written. */
export function applyMaskRunsInPlace(mask: Uint8Array, runs: MaskRuns): number {
  let written = 0;
  const write = (pairs: Uint32Array, value: 0 | 1): void => {
    if (pairs.length % 2 !== 0) throw new Error('mask runs must come in [start, length] pairs');
    for (let k = 0; k < pairs.length; k += 2) {
      const start = pairs[k]!;
      const end = start + pairs[k + 1]!;
      if (end > mask.length) throw new Error(`mask run ${start}+${pairs[k + 1]} is outside the ${mask.length}-pixel frame`);
      mask.fill(value, start, end);
      written += end - start;
    }
  };
  write(runs.clear, 0);
  write(runs.set, 1);
  return written;
}

/** The inverse diff (for undo). */
export function invertRuns(runs: MaskRuns): MaskRuns {
  return { set: runs.clear, clear: runs.set };
}

export function isEmptyRuns(runs: MaskRuns): boolean {
  return runs.set.length === 0 && runs.clear.length === 0;
}
