// Joint frame-to-frame assignment: objects (rows) × candidate regions (columns), solved as one linear sum
// assignment (Hungarian / Munkres, the `munkres` package) so two objects can never take the same region and the
// globally cheapest set of matches wins, which is what prevents identity switches between neighbours.
import { munkres } from 'munkres';

/** Cost of a pair the gate forbids; large but finite, as the solver needs finite numbers. */
export const FORBIDDEN = 1e9;

/**
 * Best assignment for `cost[i][k]` (objects × candidates; use FORBIDDEN for gated-out pairs). Each object may
 * instead stay unmatched at `missCost` (a dummy column per object), so a lost object does not grab a poor match.
 * Returns, per object, the matched candidate index or −1.
 */
export function assignObjects(cost: number[][], missCost: number): number[] {
  const n = cost.length;
  if (n === 0) return [];
  const m = cost[0].length;
  // Columns: m real candidates, then n dummies where only dummy i is open to object i.
  const matrix: number[][] = cost.map((row, i) => {
    if (row.length !== m) throw new Error('assignObjects: ragged cost matrix');
    const full = new Array<number>(m + n).fill(FORBIDDEN);
    for (let k = 0; k < m; k++) full[k] = Number.isFinite(row[k]) ? Math.min(row[k], FORBIDDEN) : FORBIDDEN;
    full[m + i] = missCost;
    return full;
  });
  const result = new Array<number>(n).fill(-1);
  for (const [i, k] of munkres(matrix)) {
    if (k < m && matrix[i][k] < FORBIDDEN) result[i] = k;
  }
  return result;
}
