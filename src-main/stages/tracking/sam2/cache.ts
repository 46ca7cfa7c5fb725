// A byte-budgeted LRU for encoder outputs. Keyed by frame index + crop box: propagation re-visits the same frames
// (backward after forward, re-tracking after an edit), and quantised crops (geometry.cropAround) make those visits
// hit. A real SAM2 encoder output is ~17 MB (32·256² + 64·128² + 256·64² floats), so the budget is in bytes.

export class LruCache<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onEvict?: (value: V) => void,
  ) {}

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, value: V, bytes: number): void {
    const old = this.map.get(key);
    if (old) {
      this.map.delete(key);
      this.used -= old.bytes;
    }
    if (bytes > this.maxBytes) return; // would evict everything and still not fit
    this.map.set(key, { value, bytes });
    this.used += bytes;
    for (const [k, e] of this.map) {
      if (this.used <= this.maxBytes) break;
      this.map.delete(k);
      this.used -= e.bytes;
      this.onEvict?.(e.value);
    }
  }

  clear(): void {
    for (const e of this.map.values()) this.onEvict?.(e.value);
    this.map.clear();
    this.used = 0;
  }

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.used;
  }
}
