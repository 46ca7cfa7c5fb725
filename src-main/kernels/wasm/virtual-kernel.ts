/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source: tsc must not type-check it */
// @ts-nocheck: AssemblyScript, not TypeScript (v128, i32, load<T>…). Compiled by `npm run build:wasm`
// (scripts/build-wasm.mjs) into virtual-kernel.generated.ts; tsc and eslint only parse it.
//
// WebAssembly SIMD inner loops of the virtual detectors (the reference is the JS kernel in ../virtual-detectors.ts).
// Raw pointers into this module's memory, all laid out by the JS side (./index.ts); no allocator, no runtime.
//
// For every frame of a block, `processFrames` writes STATS + nLinear float64 into the stats area (the first STATS
// zero when neither F_STATS nor a pattern is asked for: then only the linear detectors' pixels are read):
//   [0] S   Σv
//   [1] Q   Σ(v − K)²          (K = the frame's first pixel, exactly as the JS kernel)
//   [2] SX  Σ x·v
//   [3] SY  Σ y·v
//   [4] K
//   [5 + d] Σ w·v over linear detector d (runs of weight 1 summed exactly, then the weighted pixels in f64)
// and, when asked, adds the frame into the pattern accumulators:
//   uint8/uint16: Σ in uint32 per pixel (the JS side flushes to float64 before 2^32 could be reached),
//                 max in the native type;
//   uint32/float32: Σ in float64 per pixel, max in the native type (float32 max ignores NaN, like `v > m`).
//
// Exactness for integers: Σv, Σv², Σx·v, Σy·v and the weight-1 runs are integer sums (u32 lanes flushed into i64
// well before they could overflow), so they equal the JS kernel's float64 sums bit for bit while those are below 2^53.
// uint32 squares and all float32 maths are float64, as in the JS kernel (summation order differs).

const STATS: i32 = 5;
const F_MEAN: i32 = 1;
const F_MAX: i32 = 2;
// The per-frame stats S, Q, SX, SY, K (sum, variance, COM, the NaN check of float frames). Without it and without
// a pattern there is no dense pass: the frame is read only where a linear detector has pixels.
const F_STATS: i32 = 4;

// dtype codes (must match index.ts)
const U8: i32 = 0;
const U16: i32 = 1;
const U32: i32 = 2;
const F32: i32 = 3;

export function heapBase(): usize {
  return __heap_base;
}

function hsum32u(v: v128): i64 {
  return <i64><u32>i32x4.extract_lane(v, 0) + <i64><u32>i32x4.extract_lane(v, 1) +
    <i64><u32>i32x4.extract_lane(v, 2) + <i64><u32>i32x4.extract_lane(v, 3);
}

function hsum64(v: v128): i64 {
  return i64x2.extract_lane(v, 0) + i64x2.extract_lane(v, 1);
}

function hsumf(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

// Loads that swap big-endian pixels in the register: the frame area is never written.
function ld16(p: usize, swap: bool): v128 {
  const v = v128.load(p);
  return swap ? i8x16.shuffle(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14) : v;
}

function ld32(p: usize, swap: bool): v128 {
  const v = v128.load(p);
  return swap ? i8x16.shuffle(v, v, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12) : v;
}

function px16(p: usize, swap: bool): u16 {
  return swap ? bswap<u16>(load<u16>(p)) : load<u16>(p);
}

function px32(p: usize, swap: bool): u32 {
  return swap ? bswap<u32>(load<u32>(p)) : load<u32>(p);
}

// ── Dense passes: one per dtype. col: per-column scratch for Σx·v (u32 for u8, f64 for u32/f32; uint16 takes Σx·v
// from dot products and needs none).

// uint16 fast path. When every pixel of a row is ≤ FAST_MAX, Σv² and Σdx·v come from i32x4.dot_i16x8_s in i32
// lanes (v < 2^15, so the signed dot is exact), flushed every BLOCK_VECS vectors: a lane then holds at most
// 16 · 2 · 11585² = 4 294 855 200 < 2^32 (read as u32). dx is the column within the block (< 128), so Σdx·v stays
// far smaller, and Σx·v = x0·Σv + Σdx·v. A row with a brighter pixel is summed again exactly (rowSlowU16) and
// its fast sums dropped: counting detectors never take that path, integrating ones only for rows through the beam.
// Compared with the exact i64 pass for every pixel this is ~10 SIMD ops per 8 pixels instead of ~24.
const FAST_MAX: i32 = 11585;
const BLOCK_VECS: i32 = 16;

// Σv, Σv² and Σx·v of one row's SIMD part (pixels [0, vec)), exact in i64: the slow path, for rows with a pixel
// above FAST_MAX. Results in the globals below (AssemblyScript has no tuples; these never leave one call).
let rowQ: i64 = 0;
let rowX: i64 = 0;

function rowSlowU16(row: usize, vec: i32, swap: bool): void {
  let q = i64x2.splat(0);
  let d = i64x2.splat(0);
  let xv = i32x4(0, 1, 2, 3);
  const four = i32x4.splat(4);
  for (let x = 0; x < vec; x += 8) {
    const v = ld16(row + (<usize>x << 1), swap);
    const lo = i32x4.extend_low_i16x8_u(v);
    const hi = i32x4.extend_high_i16x8_u(v);
    q = i64x2.add(q, i64x2.add(i64x2.extmul_low_i32x4_u(lo, lo), i64x2.extmul_high_i32x4_u(lo, lo)));
    q = i64x2.add(q, i64x2.add(i64x2.extmul_low_i32x4_u(hi, hi), i64x2.extmul_high_i32x4_u(hi, hi)));
    d = i64x2.add(d, i64x2.add(i64x2.extmul_low_i32x4_u(lo, xv), i64x2.extmul_high_i32x4_u(lo, xv)));
    xv = i32x4.add(xv, four);
    d = i64x2.add(d, i64x2.add(i64x2.extmul_low_i32x4_u(hi, xv), i64x2.extmul_high_i32x4_u(hi, xv)));
    xv = i32x4.add(xv, four);
  }
  rowQ = hsum64(q);
  rowX = hsum64(d);
}

/** Writes S, Σ(v − K)², SX, SY, K of a uint16 frame (exact integer sums, see the file's header). */
function storeStatsU16(st: usize, S: i64, Q: i64, SX: i64, SY: i64, K: i64, npix: i64): void {
  // Σ(v − K)² = Σv² − 2KΣv + nK², exact in i64 for 16-bit data.
  store<f64>(st, <f64>S);
  store<f64>(st, <f64>(Q - 2 * K * S + npix * K * K), 8);
  store<f64>(st, <f64>SX, 16);
  store<f64>(st, <f64>SY, 24);
  store<f64>(st, <f64>K, 32);
}

function denseU16(fp: usize, nqy: i32, nqx: i32, flags: i32, swap: bool, st: usize, ps: usize, pm: usize): void {
  const doMean = (flags & F_MEAN) != 0;
  const doMax = (flags & F_MAX) != 0;
  const vec = nqx & ~7;
  const limit = i16x8.splat(<i16>FAST_MAX);
  const eight = i16x8.splat(8);
  let S: i64 = 0, Q: i64 = 0, SX: i64 = 0, SY: i64 = 0;
  for (let y = 0; y < nqy; y++) {
    const c0 = <usize>y * <usize>nqx;
    const row = fp + (c0 << 1);
    let rs: i64 = 0, rq: i64 = 0, rx: i64 = 0;
    let mx = i16x8.splat(0);
    let x = 0;
    while (x < vec) {
      const x0 = x;
      const end = min(vec, x + (BLOCK_VECS << 3));
      let s = i32x4.splat(0);
      let q = i32x4.splat(0);
      let d = i32x4.splat(0);
      let dx = i16x8(0, 1, 2, 3, 4, 5, 6, 7);
      for (; x < end; x += 8) {
        const v = ld16(row + (<usize>x << 1), swap);
        mx = i16x8.max_u(mx, v);
        s = i32x4.add(s, i32x4.extadd_pairwise_i16x8_u(v));
        q = i32x4.add(q, i32x4.dot_i16x8_s(v, v));
        d = i32x4.add(d, i32x4.dot_i16x8_s(v, dx));
        dx = i16x8.add(dx, eight);
        if (doMean) {
          const pp = ps + ((c0 + <usize>x) << 2);
          v128.store(pp, i32x4.add(v128.load(pp), i32x4.extend_low_i16x8_u(v)));
          v128.store(pp, i32x4.add(v128.load(pp, 16), i32x4.extend_high_i16x8_u(v)), 16);
        }
        if (doMax) {
          const mp = pm + ((c0 + <usize>x) << 1);
          v128.store(mp, i16x8.max_u(v128.load(mp), v));
        }
      }
      const bs = hsum32u(s);
      rs += bs;
      rq += hsum32u(q);
      rx += <i64>x0 * bs + hsum32u(d);
    }
    if (v128.any_true(i16x8.gt_u(mx, limit))) {
      rowSlowU16(row, vec, swap);
      rq = rowQ;
      rx = rowX;
    }
    for (; x < nqx; x++) {
      const u = px16(row + (<usize>x << 1), swap);
      const w = <i64>u;
      rs += w;
      rq += w * w;
      rx += <i64>x * w;
      if (doMean) {
        const pp = ps + ((c0 + <usize>x) << 2);
        store<u32>(pp, load<u32>(pp) + <u32>u);
      }
      if (doMax) {
        const mp = pm + ((c0 + <usize>x) << 1);
        if (u > load<u16>(mp)) store<u16>(mp, u);
      }
    }
    S += rs;
    Q += rq;
    SX += rx;
    SY += <i64>y * rs;
  }
  storeStatsU16(st, S, Q, SX, SY, <i64>px16(fp, swap), <i64>nqy * <i64>nqx);
}

/**
 * Two uint16 frames side by side: each pattern pixel is loaded and stored once per two frames (the pattern
 * arrays, not the frames, are most of the memory traffic). Per-frame sums as in denseU16.
 */
function denseU16x2(fa: usize, fb: usize, nqy: i32, nqx: i32, flags: i32, swap: bool, sa: usize, sb: usize, ps: usize, pm: usize): void {
  const doMean = (flags & F_MEAN) != 0;
  const doMax = (flags & F_MAX) != 0;
  const vec = nqx & ~7;
  const limit = i16x8.splat(<i16>FAST_MAX);
  const eight = i16x8.splat(8);
  let SA: i64 = 0, QA: i64 = 0, XA: i64 = 0, YA: i64 = 0;
  let SB: i64 = 0, QB: i64 = 0, XB: i64 = 0, YB: i64 = 0;
  for (let y = 0; y < nqy; y++) {
    const c0 = <usize>y * <usize>nqx;
    const ra0 = fa + (c0 << 1);
    const rb0 = fb + (c0 << 1);
    let rsa: i64 = 0, rqa: i64 = 0, rxa: i64 = 0;
    let rsb: i64 = 0, rqb: i64 = 0, rxb: i64 = 0;
    let mxa = i16x8.splat(0);
    let mxb = i16x8.splat(0);
    let x = 0;
    while (x < vec) {
      const x0 = x;
      const end = min(vec, x + (BLOCK_VECS << 3));
      let s1 = i32x4.splat(0), q1 = i32x4.splat(0), d1 = i32x4.splat(0);
      let s2 = i32x4.splat(0), q2 = i32x4.splat(0), d2 = i32x4.splat(0);
      let dx = i16x8(0, 1, 2, 3, 4, 5, 6, 7);
      for (; x < end; x += 8) {
        const va = ld16(ra0 + (<usize>x << 1), swap);
        const vb = ld16(rb0 + (<usize>x << 1), swap);
        mxa = i16x8.max_u(mxa, va);
        mxb = i16x8.max_u(mxb, vb);
        s1 = i32x4.add(s1, i32x4.extadd_pairwise_i16x8_u(va));
        s2 = i32x4.add(s2, i32x4.extadd_pairwise_i16x8_u(vb));
        q1 = i32x4.add(q1, i32x4.dot_i16x8_s(va, va));
        q2 = i32x4.add(q2, i32x4.dot_i16x8_s(vb, vb));
        d1 = i32x4.add(d1, i32x4.dot_i16x8_s(va, dx));
        d2 = i32x4.add(d2, i32x4.dot_i16x8_s(vb, dx));
        dx = i16x8.add(dx, eight);
        if (doMean) {
          // ua + ub < 2^17: add in u32 lanes.
          const pp = ps + ((c0 + <usize>x) << 2);
          const lo = i32x4.add(i32x4.extend_low_i16x8_u(va), i32x4.extend_low_i16x8_u(vb));
          const hi = i32x4.add(i32x4.extend_high_i16x8_u(va), i32x4.extend_high_i16x8_u(vb));
          v128.store(pp, i32x4.add(v128.load(pp), lo));
          v128.store(pp, i32x4.add(v128.load(pp, 16), hi), 16);
        }
        if (doMax) {
          const mp = pm + ((c0 + <usize>x) << 1);
          v128.store(mp, i16x8.max_u(v128.load(mp), i16x8.max_u(va, vb)));
        }
      }
      const bsa = hsum32u(s1);
      const bsb = hsum32u(s2);
      rsa += bsa;
      rsb += bsb;
      rqa += hsum32u(q1);
      rqb += hsum32u(q2);
      rxa += <i64>x0 * bsa + hsum32u(d1);
      rxb += <i64>x0 * bsb + hsum32u(d2);
    }
    if (v128.any_true(i16x8.gt_u(mxa, limit))) {
      rowSlowU16(ra0, vec, swap);
      rqa = rowQ;
      rxa = rowX;
    }
    if (v128.any_true(i16x8.gt_u(mxb, limit))) {
      rowSlowU16(rb0, vec, swap);
      rqb = rowQ;
      rxb = rowX;
    }
    for (; x < nqx; x++) {
      const ua = px16(ra0 + (<usize>x << 1), swap);
      const ub = px16(rb0 + (<usize>x << 1), swap);
      const wa = <i64>ua;
      const wb = <i64>ub;
      rsa += wa;
      rsb += wb;
      rqa += wa * wa;
      rqb += wb * wb;
      rxa += <i64>x * wa;
      rxb += <i64>x * wb;
      if (doMean) {
        const pp = ps + ((c0 + <usize>x) << 2);
        store<u32>(pp, load<u32>(pp) + <u32>ua + <u32>ub);
      }
      if (doMax) {
        const mp = pm + ((c0 + <usize>x) << 1);
        const m = ua > ub ? ua : ub;
        if (m > load<u16>(mp)) store<u16>(mp, m);
      }
    }
    SA += rsa;
    SB += rsb;
    QA += rqa;
    QB += rqb;
    XA += rxa;
    XB += rxb;
    YA += <i64>y * rsa;
    YB += <i64>y * rsb;
  }
  const npix = <i64>nqy * <i64>nqx;
  storeStatsU16(sa, SA, QA, XA, YA, <i64>px16(fa, swap), npix);
  storeStatsU16(sb, SB, QB, XB, YB, <i64>px16(fb, swap), npix);
}

function denseU8(fp: usize, nqy: i32, nqx: i32, flags: i32, st: usize, col: usize, ps: usize, pm: usize): void {
  const doMean = (flags & F_MEAN) != 0;
  const doMax = (flags & F_MAX) != 0;
  const npix = <i64>nqy * <i64>nqx;
  const K = <i64>load<u8>(fp);
  memory.fill(col, 0, <usize>nqx << 2);
  const vec = nqx & ~15;
  let S: i64 = 0;
  let Q: i64 = 0;
  let SY: i64 = 0;
  for (let y = 0; y < nqy; y++) {
    const c0 = <usize>y * <usize>nqx;
    const row = fp + c0;
    let r = i32x4.splat(0);
    let q = i32x4.splat(0);
    let x = 0;
    for (; x < vec; x += 16) {
      const v = v128.load(row + <usize>x);
      const a = i16x8.extend_low_i8x16_u(v);
      const b = i16x8.extend_high_i8x16_u(v);
      r = i32x4.add(r, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v)));
      // 255² + 255² fits an i32 lane; a row of up to 2^17 pixels cannot overflow the lane.
      q = i32x4.add(q, i32x4.add(i32x4.dot_i16x8_s(a, a), i32x4.dot_i16x8_s(b, b)));
      const a0 = i32x4.extend_low_i16x8_u(a);
      const a1 = i32x4.extend_high_i16x8_u(a);
      const b0 = i32x4.extend_low_i16x8_u(b);
      const b1 = i32x4.extend_high_i16x8_u(b);
      const cp = col + (<usize>x << 2);
      v128.store(cp, i32x4.add(v128.load(cp), a0));
      v128.store(cp, i32x4.add(v128.load(cp, 16), a1), 16);
      v128.store(cp, i32x4.add(v128.load(cp, 32), b0), 32);
      v128.store(cp, i32x4.add(v128.load(cp, 48), b1), 48);
      if (doMean) {
        const pp = ps + ((c0 + <usize>x) << 2);
        v128.store(pp, i32x4.add(v128.load(pp), a0));
        v128.store(pp, i32x4.add(v128.load(pp, 16), a1), 16);
        v128.store(pp, i32x4.add(v128.load(pp, 32), b0), 32);
        v128.store(pp, i32x4.add(v128.load(pp, 48), b1), 48);
      }
      if (doMax) {
        const mp = pm + c0 + <usize>x;
        v128.store(mp, i8x16.max_u(v128.load(mp), v));
      }
    }
    let rs = hsum32u(r);
    let qs = hsum32u(q);
    for (; x < nqx; x++) {
      const u = load<u8>(row + <usize>x);
      const w = <i64>u;
      rs += w;
      qs += w * w;
      store<u32>(col + (<usize>x << 2), load<u32>(col + (<usize>x << 2)) + <u32>u);
      if (doMean) {
        const pp = ps + ((c0 + <usize>x) << 2);
        store<u32>(pp, load<u32>(pp) + <u32>u);
      }
      if (doMax) {
        const mp = pm + c0 + <usize>x;
        if (u > load<u8>(mp)) store<u8>(mp, u);
      }
    }
    S += rs;
    Q += qs;
    SY += <i64>y * rs;
  }
  let SX: i64 = 0;
  for (let x = 0; x < nqx; x++) SX += <i64>x * <i64>load<u32>(col + (<usize>x << 2));
  store<f64>(st, <f64>S);
  store<f64>(st, <f64>(Q - 2 * K * S + npix * K * K), 8);
  store<f64>(st, <f64>SX, 16);
  store<f64>(st, <f64>SY, 24);
  store<f64>(st, <f64>K, 32);
}

function denseU32(fp: usize, nqy: i32, nqx: i32, flags: i32, swap: bool, st: usize, col: usize, ps: usize, pm: usize): void {
  const doMean = (flags & F_MEAN) != 0;
  const doMax = (flags & F_MAX) != 0;
  const Kf = <f64>px32(fp, swap);
  const kv = f64x2.splat(Kf);
  memory.fill(col, 0, <usize>nqx << 3);
  const vec = nqx & ~3;
  let S: i64 = 0;
  let Q: f64 = 0;
  let SY: f64 = 0;
  for (let y = 0; y < nqy; y++) {
    const c0 = <usize>y * <usize>nqx;
    const row = fp + (c0 << 2);
    let r = i64x2.splat(0);
    let q = f64x2.splat(0);
    let x = 0;
    for (; x < vec; x += 4) {
      const v = ld32(row + (<usize>x << 2), swap);
      r = i64x2.add(r, i64x2.add(i64x2.extend_low_i32x4_u(v), i64x2.extend_high_i32x4_u(v)));
      const lo = f64x2.convert_low_i32x4_u(v);
      const hi = f64x2.convert_low_i32x4_u(v128.shuffle<i32>(v, v, 2, 3, 0, 1));
      const dl = f64x2.sub(lo, kv);
      const dh = f64x2.sub(hi, kv);
      q = f64x2.add(q, f64x2.add(f64x2.mul(dl, dl), f64x2.mul(dh, dh)));
      const cp = col + (<usize>x << 3);
      v128.store(cp, f64x2.add(v128.load(cp), lo));
      v128.store(cp, f64x2.add(v128.load(cp, 16), hi), 16);
      if (doMean) {
        const pp = ps + ((c0 + <usize>x) << 3);
        v128.store(pp, f64x2.add(v128.load(pp), lo));
        v128.store(pp, f64x2.add(v128.load(pp, 16), hi), 16);
      }
      if (doMax) {
        const mp = pm + ((c0 + <usize>x) << 2);
        v128.store(mp, i32x4.max_u(v128.load(mp), v));
      }
    }
    let rs = hsum64(r);
    let qs = hsumf(q);
    for (; x < nqx; x++) {
      const u = px32(row + (<usize>x << 2), swap);
      const f = <f64>u;
      rs += <i64>u;
      const d = f - Kf;
      qs += d * d;
      store<f64>(col + (<usize>x << 3), load<f64>(col + (<usize>x << 3)) + f);
      if (doMean) {
        const pp = ps + ((c0 + <usize>x) << 3);
        store<f64>(pp, load<f64>(pp) + f);
      }
      if (doMax) {
        const mp = pm + ((c0 + <usize>x) << 2);
        if (u > load<u32>(mp)) store<u32>(mp, u);
      }
    }
    S += rs;
    Q += qs;
    SY += <f64>y * <f64>rs;
  }
  let SX: f64 = 0;
  for (let x = 0; x < nqx; x++) SX += <f64>x * load<f64>(col + (<usize>x << 3));
  store<f64>(st, <f64>S);
  store<f64>(st, Q, 8);
  store<f64>(st, SX, 16);
  store<f64>(st, SY, 24);
  store<f64>(st, Kf, 32);
}

function denseF32(fp: usize, nqy: i32, nqx: i32, flags: i32, swap: bool, st: usize, col: usize, ps: usize, pm: usize): void {
  const doMean = (flags & F_MEAN) != 0;
  const doMax = (flags & F_MAX) != 0;
  const Kf = <f64>reinterpret<f32>(px32(fp, swap));
  const kv = f64x2.splat(Kf);
  memory.fill(col, 0, <usize>nqx << 3);
  const vec = nqx & ~3;
  let S: f64 = 0;
  let Q: f64 = 0;
  let SY: f64 = 0;
  for (let y = 0; y < nqy; y++) {
    const c0 = <usize>y * <usize>nqx;
    const row = fp + (c0 << 2);
    let r = f64x2.splat(0);
    let q = f64x2.splat(0);
    let x = 0;
    for (; x < vec; x += 4) {
      const v = ld32(row + (<usize>x << 2), swap);
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1));
      r = f64x2.add(r, f64x2.add(lo, hi));
      const dl = f64x2.sub(lo, kv);
      const dh = f64x2.sub(hi, kv);
      q = f64x2.add(q, f64x2.add(f64x2.mul(dl, dl), f64x2.mul(dh, dh)));
      const cp = col + (<usize>x << 3);
      v128.store(cp, f64x2.add(v128.load(cp), lo));
      v128.store(cp, f64x2.add(v128.load(cp, 16), hi), 16);
      if (doMean) {
        const pp = ps + ((c0 + <usize>x) << 3);
        v128.store(pp, f64x2.add(v128.load(pp), lo));
        v128.store(pp, f64x2.add(v128.load(pp, 16), hi), 16);
      }
      if (doMax) {
        // pmax(m, v) = m < v ? v : m: a NaN pixel leaves the max unchanged, like the JS `if (v > m) m = v`.
        const mp = pm + ((c0 + <usize>x) << 2);
        v128.store(mp, f32x4.pmax(v128.load(mp), v));
      }
    }
    let rs = hsumf(r);
    let qs = hsumf(q);
    for (; x < nqx; x++) {
      const u = reinterpret<f32>(px32(row + (<usize>x << 2), swap));
      const f = <f64>u;
      rs += f;
      const d = f - Kf;
      qs += d * d;
      store<f64>(col + (<usize>x << 3), load<f64>(col + (<usize>x << 3)) + f);
      if (doMean) {
        const pp = ps + ((c0 + <usize>x) << 3);
        store<f64>(pp, load<f64>(pp) + f);
      }
      if (doMax) {
        const mp = pm + ((c0 + <usize>x) << 2);
        if (u > load<f32>(mp)) store<f32>(mp, u);
      }
    }
    S += rs;
    Q += qs;
    SY += <f64>y * rs;
  }
  let SX: f64 = 0;
  for (let x = 0; x < nqx; x++) SX += <f64>x * load<f64>(col + (<usize>x << 3));
  store<f64>(st, S);
  store<f64>(st, Q, 8);
  store<f64>(st, SX, 16);
  store<f64>(st, SY, 24);
  store<f64>(st, Kf, 32);
}

// ── Linear detectors. Table: per detector 5 × i32 = nRuns (pairs), runsPtr, nIdx, idxPtr, wPtr.

// Lane masks for a run's last partial vector of uint16: TAIL + 16·n keeps lanes [0, n), n = 1…7. The load before
// the mask reads up to 7 pixels past the run (the next row, frame or the 16 bytes of slack index.ts leaves after
// each frame area); the mask drops them.
const TAIL = memory.data<u16>([
  0, 0, 0, 0, 0, 0, 0, 0,
  0xffff, 0, 0, 0, 0, 0, 0, 0,
  0xffff, 0xffff, 0, 0, 0, 0, 0, 0,
  0xffff, 0xffff, 0xffff, 0, 0, 0, 0, 0,
  0xffff, 0xffff, 0xffff, 0xffff, 0, 0, 0, 0,
  0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0, 0, 0,
  0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0, 0,
  0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0,
], 16);

/**
 * Σ over a uint16 detector's weight-1 runs. One u32x4 accumulator across runs (no per-run horizontal sum), flushed
 * before it could overflow: a vector adds ≤ 2 · 65535 per lane, and it is flushed once 16384 vectors are in it
 * (at most 16384 + 8193 vectors for rows up to 65536 pixels: < 2^32 / 131070).
 */
function runsSumU16(fp: usize, runs: usize, nRuns: i32, swap: bool): i64 {
  let total: i64 = 0;
  let acc = i32x4.splat(0);
  let n: i32 = 0;
  for (let k = 0; k < nRuns; k++) {
    const s = <usize>load<i32>(runs + (<usize>k << 3));
    const e = <usize>load<i32>(runs + (<usize>k << 3), 4);
    let p = s;
    for (; p + 8 <= e; p += 8) acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(ld16(fp + (p << 1), swap)));
    if (p < e) {
      const v = v128.and(ld16(fp + (p << 1), swap), v128.load(TAIL + ((e - p) << 4)));
      acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(v));
    }
    n += <i32>((e - s + 7) >> 3);
    if (n >= 16384) {
      total += hsum32u(acc);
      acc = i32x4.splat(0);
      n = 0;
    }
  }
  return total + hsum32u(acc);
}

function runsSum(dtype: i32, fp: usize, runs: usize, nRuns: i32, swap: bool): f64 {
  if (dtype == F32) {
    let acc = f64x2.splat(0);
    let tail: f64 = 0;
    for (let k = 0; k < nRuns; k++) {
      const s = <usize>load<i32>(runs + (<usize>k << 3));
      const e = <usize>load<i32>(runs + (<usize>k << 3), 4);
      let p = s;
      for (; p + 4 <= e; p += 4) {
        const v = ld32(fp + (p << 2), swap);
        acc = f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1))));
      }
      for (; p < e; p++) tail += <f64>reinterpret<f32>(px32(fp + (p << 2), swap));
    }
    return hsumf(acc) + tail;
  }
  if (dtype == U16) return <f64>runsSumU16(fp, runs, nRuns, swap);
  let total: i64 = 0;
  if (dtype == U8) {
    for (let k = 0; k < nRuns; k++) {
      const s = <usize>load<i32>(runs + (<usize>k << 3));
      const e = <usize>load<i32>(runs + (<usize>k << 3), 4);
      let acc = i32x4.splat(0);
      let p = s;
      for (; p + 16 <= e; p += 16) {
        acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v128.load(fp + p))));
      }
      let t = hsum32u(acc);
      for (; p < e; p++) t += <i64>load<u8>(fp + p);
      total += t;
    }
  } else {
    let acc = i64x2.splat(0);
    for (let k = 0; k < nRuns; k++) {
      const s = <usize>load<i32>(runs + (<usize>k << 3));
      const e = <usize>load<i32>(runs + (<usize>k << 3), 4);
      let p = s;
      for (; p + 4 <= e; p += 4) {
        const v = ld32(fp + (p << 2), swap);
        acc = i64x2.add(acc, i64x2.add(i64x2.extend_low_i32x4_u(v), i64x2.extend_high_i32x4_u(v)));
      }
      for (; p < e; p++) total += <i64>px32(fp + (p << 2), swap);
    }
    total += hsum64(acc);
  }
  return <f64>total;
}

// Pixel p of a frame of T as f64 (T: u8, u16, u32 or f32; the branches fold at compile time, and -O3 inlines it).
function pixel<T>(fp: usize, p: usize, swap: bool): f64 {
  if (sizeof<T>() == 1) return <f64>load<u8>(fp + p);
  if (sizeof<T>() == 2) return <f64>px16(fp + (p << 1), swap);
  if (isFloat<T>()) return <f64>reinterpret<f32>(px32(fp + (p << 2), swap));
  return <f64>px32(fp + (p << 2), swap);
}

/** Σ w·v over a detector's listed (fractionally weighted) pixels, one loop per pixel type: no dispatch per pixel. */
function weightedSumOf<T>(fp: usize, idx: usize, w: usize, n: i32, swap: bool): f64 {
  let a: f64 = 0;
  let b: f64 = 0;
  let k = 0;
  for (; k + 1 < n; k += 2) {
    a += load<f64>(w + (<usize>k << 3)) * pixel<T>(fp, <usize>load<i32>(idx + (<usize>k << 2)), swap);
    b += load<f64>(w + (<usize>k << 3), 8) * pixel<T>(fp, <usize>load<i32>(idx + (<usize>k << 2), 4), swap);
  }
  if (k < n) a += load<f64>(w + (<usize>k << 3)) * pixel<T>(fp, <usize>load<i32>(idx + (<usize>k << 2)), swap);
  return a + b;
}

function weightedSum(dtype: i32, fp: usize, idx: usize, w: usize, n: i32, swap: bool): f64 {
  if (dtype == U16) return weightedSumOf<u16>(fp, idx, w, n, swap);
  if (dtype == U8) return weightedSumOf<u8>(fp, idx, w, n, swap);
  if (dtype == U32) return weightedSumOf<u32>(fp, idx, w, n, swap);
  return weightedSumOf<f32>(fp, idx, w, n, swap);
}

/**
 * Processes `count` frames starting at `ptr`, `stride` bytes apart (frames of nqy × nqx pixels of `dtype`).
 * `swap` ≠ 0: the frames are big-endian; every load swaps in the register (the area is never written).
 * uint16 frames go two at a time through the dense pass (half the pattern traffic). Stats per frame at
 * stats + f × (5 + nLin) × 8.
 */
export function processFrames(
  dtype: i32, ptr: usize, count: i32, stride: usize, nqy: i32, nqx: i32, swap: i32, flags: i32,
  stats: usize, col: usize, ps: usize, pm: usize, lin: usize, nLin: i32,
): void {
  const perFrame = <usize>(STATS + nLin) << 3;
  const sw = swap != 0;
  const dense = (flags & (F_STATS | F_MEAN | F_MAX)) != 0;
  let f = 0;
  while (f < count) {
    const fp = ptr + <usize>f * stride;
    const st = stats + <usize>f * perFrame;
    let n = 1;
    if (!dense) {
      memory.fill(st, 0, <usize>STATS << 3);
    } else if (dtype == U16 && f + 1 < count) {
      denseU16x2(fp, fp + stride, nqy, nqx, flags, sw, st, st + perFrame, ps, pm);
      n = 2;
    } else if (dtype == U16) denseU16(fp, nqy, nqx, flags, sw, st, ps, pm);
    else if (dtype == U8) denseU8(fp, nqy, nqx, flags, st, col, ps, pm);
    else if (dtype == U32) denseU32(fp, nqy, nqx, flags, sw, st, col, ps, pm);
    else denseF32(fp, nqy, nqx, flags, sw, st, col, ps, pm);
    for (let b = 0; b < n; b++) {
      const fb = fp + <usize>b * stride;
      const sb = st + <usize>b * perFrame;
      for (let d = 0; d < nLin; d++) {
        const t = lin + <usize>d * 20;
        const v = runsSum(dtype, fb, <usize>load<i32>(t, 4), load<i32>(t), sw) +
          weightedSum(dtype, fb, <usize>load<i32>(t, 12), <usize>load<i32>(t, 16), load<i32>(t, 8), sw);
        store<f64>(sb + (<usize>(STATS + d) << 3), v);
      }
    }
    f += n;
  }
}
