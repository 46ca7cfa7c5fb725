// Marker-based watershed (Meyer's flooding with a priority queue) and the h-maxima markers used to split touching
// particles: on the distance transform of a binary mask, each particle is a hill and two touching particles are
// two hills joined by a saddle at the neck. Regional maxima of the h-maxima transform keep only hills that rise
// more than h above every saddle, so a particle's rough rim (±1 px bumps in the distance map) does not split it
// while a real neck does.
import { checkImage, checkNonNegative, neighbours8, type ImageLike } from './util';

/**
 * Binary min-heap keyed by (priority, insertion order). The insertion order breaks ties first-in-first-out, so a
 * plateau of equal elevation is flooded evenly from all sides instead of by whichever marker happened to be
 * pushed last (which would move the split line).
 */
export class MinHeap {
  private pri: Float64Array;
  private ord: Float64Array;
  private val: Int32Array;
  private n = 0;
  private counter = 0;

  constructor(capacity = 1024) {
    this.pri = new Float64Array(capacity);
    this.ord = new Float64Array(capacity);
    this.val = new Int32Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  private less(a: number, b: number): boolean {
    return this.pri[a] < this.pri[b] || (this.pri[a] === this.pri[b] && this.ord[a] < this.ord[b]);
  }

  private swap(a: number, b: number): void {
    const p = this.pri[a];
    this.pri[a] = this.pri[b];
    this.pri[b] = p;
    const o = this.ord[a];
    this.ord[a] = this.ord[b];
    this.ord[b] = o;
    const v = this.val[a];
    this.val[a] = this.val[b];
    this.val[b] = v;
  }

  push(priority: number, value: number): void {
    if (this.n === this.pri.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.pri = grow(this.pri, (k) => new Float64Array(k));
      this.ord = grow(this.ord, (k) => new Float64Array(k));
      this.val = grow(this.val, (k) => new Int32Array(k));
    }
    let i = this.n++;
    this.pri[i] = priority;
    this.ord[i] = this.counter++;
    this.val[i] = value;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes and returns the value with the smallest priority; undefined when empty. */
  pop(): number | undefined {
    if (this.n === 0) return undefined;
    const top = this.val[0];
    this.n--;
    if (this.n > 0) {
      this.pri[0] = this.pri[this.n];
      this.ord[0] = this.ord[this.n];
      this.val[0] = this.val[this.n];
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.n && this.less(l, m)) m = l;
        if (r < this.n && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * Floods `elevation` from the labelled `markers` (0 = unlabelled), lowest elevation first, 8-connected, within
 * `mask` when given (pixels outside it stay 0; so do mask pixels not connected to any marker). Every labelled
 * pixel takes the label of the neighbour that reached it first; there is no watershed-line label.
 */
export function watershed(
  elevation: ImageLike,
  markers: Int32Array,
  nx: number,
  ny: number,
  mask?: Uint8Array,
): Int32Array {
  checkImage(elevation, nx, ny, 'elevation');
  checkImage(markers, nx, ny, 'markers');
  if (mask) checkImage(mask, nx, ny, 'mask');
  const n = nx * ny;
  const labels = new Int32Array(n);
  const heap = new MinHeap(Math.max(16, n >> 2));
  for (let i = 0; i < n; i++) {
    if (markers[i] > 0 && (!mask || mask[i])) {
      labels[i] = markers[i];
      heap.push(elevation[i], i);
    }
  }
  const nb = new Int32Array(8);
  for (let i = heap.pop(); i !== undefined; i = heap.pop()) {
    const l = labels[i];
    const k = neighbours8(i, nx, ny, nb);
    for (let m = 0; m < k; m++) {
      const j = nb[m];
      if (labels[j] || (mask && !mask[j])) continue;
      labels[j] = l;
      heap.push(elevation[j], j);
    }
  }
  return labels;
}

/**
 * Grayscale reconstruction by dilation of `marker` under `mask` (marker ≤ mask pointwise; clipped if not),
 * 8-connected, by Vincent's (1993) hybrid algorithm: one raster and one anti-raster sweep, then a FIFO for the
 * pixels that can still change.
 */
export function reconstructByDilation(marker: ImageLike, mask: ImageLike, nx: number, ny: number): Float64Array {
  checkImage(marker, nx, ny, 'marker');
  checkImage(mask, nx, ny, 'mask');
  const n = nx * ny;
  const J = new Float64Array(n);
  for (let i = 0; i < n; i++) J[i] = Math.min(marker[i], mask[i]);
  // Raster order: neighbours already visited are the upper row and the left pixel.
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const i = y * nx + x;
      let m = J[i];
      if (x > 0 && J[i - 1] > m) m = J[i - 1];
      if (y > 0) {
        const u = i - nx;
        if (J[u] > m) m = J[u];
        if (x > 0 && J[u - 1] > m) m = J[u - 1];
        if (x < nx - 1 && J[u + 1] > m) m = J[u + 1];
      }
      J[i] = Math.min(m, mask[i]);
    }
  }
  const fifo = new Int32Array(n);
  const queued = new Uint8Array(n);
  let head = 0;
  let tail = 0;
  let queuedCount = 0;
  for (let y = ny - 1; y >= 0; y--) {
    for (let x = nx - 1; x >= 0; x--) {
      const i = y * nx + x;
      let m = J[i];
      if (x < nx - 1 && J[i + 1] > m) m = J[i + 1];
      if (y < ny - 1) {
        const d = i + nx;
        if (J[d] > m) m = J[d];
        if (x > 0 && J[d - 1] > m) m = J[d - 1];
        if (x < nx - 1 && J[d + 1] > m) m = J[d + 1];
      }
      J[i] = Math.min(m, mask[i]);
      // Would a later-scanned (in raster order) neighbour still rise from this pixel? Then queue it.
      const check = (q: number): boolean => J[q] < J[i] && J[q] < mask[q];
      let push = false;
      if (x < nx - 1 && check(i + 1)) push = true;
      if (y < ny - 1) {
        const d = i + nx;
        if (check(d) || (x > 0 && check(d - 1)) || (x < nx - 1 && check(d + 1))) push = true;
      }
      if (push && !queued[i]) {
        queued[i] = 1;
        fifo[tail] = i;
        tail = (tail + 1) % n;
        queuedCount++;
      }
    }
  }
  // Each pixel is in the ring at most once (the queued flag), so n slots suffice; count, not head === tail,
  // tells full from empty.
  const nb = new Int32Array(8);
  while (queuedCount > 0) {
    const p = fifo[head];
    head = (head + 1) % n;
    queuedCount--;
    queued[p] = 0;
    const k = neighbours8(p, nx, ny, nb);
    for (let m = 0; m < k; m++) {
      const q = nb[m];
      if (J[q] < J[p] && J[q] !== mask[q]) {
        J[q] = Math.min(J[p], mask[q]);
        if (!queued[q]) {
          queued[q] = 1;
          fifo[tail] = q;
          tail = (tail + 1) % n;
          queuedCount++;
        }
      }
    }
  }
  return J;
}

/**
 * Markers from the h-maxima transform: regional maxima of reconstruct(f − h under f), labelled 1..count
 * (8-connected plateaus). Only pixels with mask ≠ 0 (when a mask is given) can be markers, and pixels outside
 * the mask are treated as −∞ so the background never forms a maximum.
 */
export function hMaximaMarkers(
  f: ImageLike,
  nx: number,
  ny: number,
  h: number,
  mask?: Uint8Array,
): { labels: Int32Array; count: number } {
  checkImage(f, nx, ny, 'f');
  checkNonNegative(h, 'h');
  if (mask) checkImage(mask, nx, ny, 'mask');
  const n = nx * ny;
  const g = new Float64Array(n);
  let lo = Infinity;
  for (let i = 0; i < n; i++) if ((!mask || mask[i]) && f[i] < lo) lo = f[i];
  // Outside the mask: well below every value inside, but finite so the reconstruction arithmetic stays exact.
  const floor = Number.isFinite(lo) ? lo - 2 * h - 1 : 0;
  for (let i = 0; i < n; i++) g[i] = !mask || mask[i] ? f[i] : floor;
  const shifted = new Float64Array(n);
  for (let i = 0; i < n; i++) shifted[i] = g[i] - h;
  const rec = reconstructByDilation(shifted, g, nx, ny);
  const labels = new Int32Array(n);
  const visited = new Uint8Array(n);
  const stack = new Int32Array(n);
  const plateau = new Int32Array(n);
  const nb = new Int32Array(8);
  let count = 0;
  for (let start = 0; start < n; start++) {
    if (visited[start] || (mask && !mask[start])) continue;
    const v = rec[start];
    let top = 0;
    let size = 0;
    let isMax = true;
    visited[start] = 1;
    stack[top++] = start;
    while (top > 0) {
      const i = stack[--top];
      plateau[size++] = i;
      const k = neighbours8(i, nx, ny, nb);
      for (let m = 0; m < k; m++) {
        const j = nb[m];
        if (mask && !mask[j]) continue;
        if (rec[j] > v) isMax = false;
        else if (rec[j] === v && !visited[j]) {
          visited[j] = 1;
          stack[top++] = j;
        }
      }
    }
    if (isMax) {
      count++;
      for (let k = 0; k < size; k++) labels[plateau[k]] = count;
    }
  }
  return { labels, count };
}
