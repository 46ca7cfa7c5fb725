// The k-th smallest value without sorting (Hoare's selection): medians of detector rings and blocks, of beam-centre
// samples, in linear time where a sort would cost n log n.

/** The k-th smallest value of `c` (0-based); partially reorders `c` so that c[0..k) ≤ c[k] ≤ c[k+1..). */
export function selectInPlace(c: { [i: number]: number; length: number }, k: number): number {
  let lo = 0;
  let hi = c.length - 1;
  while (lo < hi) {
    // Median-of-three pivot keeps sorted and constant patterns linear.
    const mid = (lo + hi) >> 1;
    const a = c[lo], b = c[mid], d = c[hi];
    const pivot = a < b ? (b < d ? b : a < d ? d : a) : a < d ? a : b < d ? d : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (c[i] < pivot) i++;
      while (c[j] > pivot) j--;
      if (i <= j) {
        const t = c[i];
        c[i] = c[j];
        c[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return c[k];
  }
  return c[k];
}

/** The median (upper of the two middle values for an even count); reorders `c`. NaN for none. */
export function medianInPlace(c: { [i: number]: number; length: number }): number {
  return c.length ? selectInPlace(c, c.length >> 1) : NaN;
}
