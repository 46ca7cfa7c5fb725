// Turning the expected pattern of one probe position into detector counts.
//
// The pattern is a sum of independent parts (film rings, diffuse halo, direct beam, one disk per
// reflection), so its Poisson counts are the sum of each part's Poisson counts. That lets each part be
// sampled the cheap way: a smooth part spread over the whole detector (a few hundred counts over 16 k+
// pixels) as a Poisson total placed pixel by pixel from an alias table; a weak disk as a Poisson total
// placed by its cumulative weights; a bright disk (the direct beam) pixel by pixel. Statistically this is
// exactly independent Poisson counts per pixel with the summed mean, at a fraction of the cost of one
// Poisson draw per pixel.
import type { Rng } from './prng';
import type { Stamp } from './pattern';

/** Walker/Vose alias table for O(1) sampling of an index with probability ∝ weight. */
export class AliasTable {
  readonly n: number;
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    this.n = n;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += weights[i]!;
    if (!(sum > 0)) throw new RangeError('AliasTable: weights sum to zero');
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / sum;
      (scaled[i]! < 1 ? small : large).push(i);
    }
    while (small.length && large.length) {
      const s = small.pop()!;
      const l = large.pop()!;
      this.prob[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      (scaled[l]! < 1 ? small : large).push(l);
    }
    for (const i of large) this.prob[i] = 1;
    for (const i of small) this.prob[i] = 1; // round-off leftovers
  }

  sample(rng: Rng): number {
    const i = Math.floor(rng.uniform() * this.n);
    return rng.uniform() < this.prob[i]! ? i : this.alias[i]!;
  }
}

/** Adds Poisson counts of `amp · stamp` (expected counts) into `counts`. */
export function addStampCounts(counts: Uint32Array, stamp: Stamp, amp: number, rng: Rng): void {
  const mean = amp * stamp.total;
  if (mean < 8) {
    // Weak disk: a Poisson total, each count placed by the disk's weights.
    const n = rng.poisson(mean);
    const cum = stamp.cum;
    for (let c = 0; c < n; c++) {
      const u = rng.uniform();
      let m = 0;
      while (m < cum.length - 1 && cum[m]! < u) m++;
      counts[stamp.idx[m]!]!++;
    }
    return;
  }
  const idx = stamp.idx;
  const w = stamp.w;
  for (let m = 0; m < idx.length; m++) counts[idx[m]!]! += rng.poisson(amp * w[m]!);
}

/** Adds Poisson counts of a detector-wide part with `mean` expected counts distributed as `table`. */
export function addSpreadCounts(counts: Uint32Array, table: AliasTable, mean: number, rng: Rng): void {
  const n = rng.poisson(mean);
  for (let c = 0; c < n; c++) counts[table.sample(rng)]!++;
}

/** Adds the expected counts `amp · stamp` into a Float32 frame (noise-free rendering). */
export function addStampExpected(frame: Float32Array, stamp: Stamp, amp: number): void {
  const idx = stamp.idx;
  const w = stamp.w;
  for (let m = 0; m < idx.length; m++) frame[idx[m]!]! += amp * w[m]!;
}
