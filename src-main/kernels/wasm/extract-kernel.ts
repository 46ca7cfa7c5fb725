/* eslint-disable @typescript-eslint/ban-ts-comment -- AssemblyScript source: tsc must not type-check it */
// @ts-nocheck: AssemblyScript, not TypeScript (v128, i32, load<T>…). Compiled by `npm run build:wasm`
// (scripts/build-wasm.mjs) into extract-kernel.generated.ts; tsc and eslint only parse it.
//
// WebAssembly SIMD inner loop of the extraction pass (the reference is `accumulateFramesInto` in
// ../../extraction/kernel.ts). Raw pointers into this module's memory, all laid out by the JS side (./extract.ts).
//
// For a block of `count` frames packed `frameBytes` apart, frame k being flat probe index start + k, `accumulate`
// adds each frame into every target that claims its probe (CSR map: targets of probe p are ids[offsets[p] …
// offsets[p+1]-1]), and
//   - counts[t] += 1 per frame added into target t (f64);
//   - a frame claimed by ≥ 2 object targets (t < nObj) adds its total intensity to shared[t] of each (f64);
//   - with the saturation check on, sat[t·npix + q] = 1 where a frame added into t has pixel q ≥ level.
// Sums per target and pixel: uint8/uint16 in u32 (the JS side flushes to float64 before 2^32 could be reached),
// uint32/float32 in f64. Runs of up to 4 consecutive frames with the same targets are summed in registers first, so
// each target's sums are loaded and stored once per run rather than once per frame (integers only: the sum of ≤ 4
// integer frames is exact, so the result equals the JS kernel's frame-by-frame float64 sums bit for bit; float32
// frames go one at a time, in the JS kernel's order, and are bit-equal too).
//
// Big-endian frames (`swap` ≠ 0) are swapped in the registers; the frame area is never written.

// dtype codes (must match extract.ts)
const U8: i32 = 0;
const U16: i32 = 1;
const U32: i32 = 2;
const F32: i32 = 3;

/** Most frames summed in registers before the target sums are touched. */
const GROUP: i32 = 4;

export function heapBase(): usize {
  return __heap_base;
}

function ld16(p: usize, swap: bool): v128 {
  const v = v128.load(p);
  return swap ? i8x16.shuffle(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14) : v;
}

function ld32(p: usize, swap: bool): v128 {
  const v = v128.load(p);
  return swap ? i8x16.shuffle(v, v, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12) : v;
}

function px16(p: usize, swap: bool): u32 {
  return swap ? <u32>bswap<u16>(load<u16>(p)) : <u32>load<u16>(p);
}

function px32(p: usize, swap: bool): u32 {
  return swap ? bswap<u32>(load<u32>(p)) : load<u32>(p);
}

/** Pixel q of the frame at fp as the JS kernel sees it (its float64 value). */
function pixel(dtype: i32, fp: usize, q: usize, swap: bool): f64 {
  if (dtype == U16) return <f64>px16(fp + (q << 1), swap);
  if (dtype == U8) return <f64>load<u8>(fp + q);
  if (dtype == U32) return <f64>px32(fp + (q << 2), swap);
  return <f64>reinterpret<f32>(px32(fp + (q << 2), swap));
}

/** pixel(q) ≥ level, with level given as bits in the dtype's compare domain (u32 value, or f32 bits). */
function reaches(dtype: i32, fp: usize, q: usize, swap: bool, level: u32): bool {
  if (dtype == U16) return px16(fp + (q << 1), swap) >= level;
  if (dtype == U8) return <u32>load<u8>(fp + q) >= level;
  if (dtype == U32) return px32(fp + (q << 2), swap) >= level;
  return reinterpret<f32>(px32(fp + (q << 2), swap)) >= reinterpret<f32>(level);
}

/** Flags pixels q0 … q0+n-1 that reach the level in any of the g frames, for every target of the run. */
function flagSlow(
  dtype: i32, fp: usize, g: i32, fb: usize, q0: usize, n: usize, swap: bool, level: u32,
  tids: usize, nT: i32, sat: usize, npix: usize,
): void {
  for (let j = 0; j < g; j++) {
    const f = fp + <usize>j * fb;
    for (let q = q0; q < q0 + n; q++) {
      if (!reaches(dtype, f, q, swap, level)) continue;
      for (let i = 0; i < nT; i++) store<u8>(sat + <usize>load<i32>(tids + (<usize>i << 2)) * npix + q, 1);
    }
  }
}

// ── One run of g frames (same targets) into every target of the run. tids: the run's target ids (i32), nT of them.

function addU16(
  fp: usize, g: i32, fb: usize, npix: usize, swap: bool, tids: usize, nT: i32, sums: usize,
  check: bool, level: u32, sat: usize,
): void {
  const L = i16x8.splat(<i16>level);
  const vec = npix & ~7;
  const rowBytes = npix << 2;
  let q: usize = 0;
  for (; q < vec; q += 8) {
    const fq = fp + (q << 1);
    const v0 = ld16(fq, swap);
    let lo = i32x4.extend_low_i16x8_u(v0);
    let hi = i32x4.extend_high_i16x8_u(v0);
    let mx = v0;
    for (let j = 1; j < g; j++) {
      const v = ld16(fq + <usize>j * fb, swap);
      lo = i32x4.add(lo, i32x4.extend_low_i16x8_u(v));
      hi = i32x4.add(hi, i32x4.extend_high_i16x8_u(v));
      mx = i16x8.max_u(mx, v);
    }
    if (check && v128.any_true(i16x8.ge_u(mx, L))) flagSlow(U16, fp, g, fb, q, 8, swap, level, tids, nT, sat, npix);
    const off = q << 2;
    for (let i = 0; i < nT; i++) {
      const pp = sums + <usize>load<i32>(tids + (<usize>i << 2)) * rowBytes + off;
      v128.store(pp, i32x4.add(v128.load(pp), lo));
      v128.store(pp, i32x4.add(v128.load(pp, 16), hi), 16);
    }
  }
  for (; q < npix; q++) {
    let s: u32 = 0;
    for (let j = 0; j < g; j++) s += px16(fp + <usize>j * fb + (q << 1), swap);
    if (check) flagSlow(U16, fp, g, fb, q, 1, swap, level, tids, nT, sat, npix);
    for (let i = 0; i < nT; i++) {
      const pp = sums + <usize>load<i32>(tids + (<usize>i << 2)) * rowBytes + (q << 2);
      store<u32>(pp, load<u32>(pp) + s);
    }
  }
}

function addU8(
  fp: usize, g: i32, fb: usize, npix: usize, tids: usize, nT: i32, sums: usize,
  check: bool, level: u32, sat: usize,
): void {
  const L = i8x16.splat(<i8>level);
  const vec = npix & ~15;
  const rowBytes = npix << 2;
  let q: usize = 0;
  for (; q < vec; q += 16) {
    const fq = fp + q;
    const v0 = v128.load(fq);
    let a = i16x8.extend_low_i8x16_u(v0);
    let b = i16x8.extend_high_i8x16_u(v0);
    let mx = v0;
    // ≤ 4 × 255 fits the 16-bit lanes.
    for (let j = 1; j < g; j++) {
      const v = v128.load(fq + <usize>j * fb);
      a = i16x8.add(a, i16x8.extend_low_i8x16_u(v));
      b = i16x8.add(b, i16x8.extend_high_i8x16_u(v));
      mx = i8x16.max_u(mx, v);
    }
    if (check && v128.any_true(i8x16.ge_u(mx, L))) flagSlow(U8, fp, g, fb, q, 16, false, level, tids, nT, sat, npix);
    const a0 = i32x4.extend_low_i16x8_u(a);
    const a1 = i32x4.extend_high_i16x8_u(a);
    const b0 = i32x4.extend_low_i16x8_u(b);
    const b1 = i32x4.extend_high_i16x8_u(b);
    const off = q << 2;
    for (let i = 0; i < nT; i++) {
      const pp = sums + <usize>load<i32>(tids + (<usize>i << 2)) * rowBytes + off;
      v128.store(pp, i32x4.add(v128.load(pp), a0));
      v128.store(pp, i32x4.add(v128.load(pp, 16), a1), 16);
      v128.store(pp, i32x4.add(v128.load(pp, 32), b0), 32);
      v128.store(pp, i32x4.add(v128.load(pp, 48), b1), 48);
    }
  }
  for (; q < npix; q++) {
    let s: u32 = 0;
    for (let j = 0; j < g; j++) s += <u32>load<u8>(fp + <usize>j * fb + q);
    if (check) flagSlow(U8, fp, g, fb, q, 1, false, level, tids, nT, sat, npix);
    for (let i = 0; i < nT; i++) {
      const pp = sums + <usize>load<i32>(tids + (<usize>i << 2)) * rowBytes + (q << 2);
      store<u32>(pp, load<u32>(pp) + s);
    }
  }
}

function addU32(
  fp: usize, g: i32, fb: usize, npix: usize, swap: bool, tids: usize, nT: i32, sums: usize,
  check: bool, level: u32, sat: usize,
): void {
  const L = i32x4.splat(<i32>level);
  const vec = npix & ~3;
  const rowBytes = npix << 3;
  let q: usize = 0;
  for (; q < vec; q += 4) {
    const fq = fp + (q << 2);
    const v0 = ld32(fq, swap);
    // ≤ 4 × (2^32 − 1) < 2^53: exact in f64.
    let lo = f64x2.convert_low_i32x4_u(v0);
    let hi = f64x2.convert_low_i32x4_u(v128.shuffle<i32>(v0, v0, 2, 3, 0, 1));
    let mx = v0;
    for (let j = 1; j < g; j++) {
      const v = ld32(fq + <usize>j * fb, swap);
      lo = f64x2.add(lo, f64x2.convert_low_i32x4_u(v));
      hi = f64x2.add(hi, f64x2.convert_low_i32x4_u(v128.shuffle<i32>(v, v, 2, 3, 0, 1)));
      mx = i32x4.max_u(mx, v);
    }
    if (check && v128.any_true(i32x4.ge_u(mx, L))) flagSlow(U32, fp, g, fb, q, 4, swap, level, tids, nT, sat, npix);
    const off = q << 3;
    for (let i = 0; i < nT; i++) {
      const pp = sums + <usize>load<i32>(tids + (<usize>i << 2)) * rowBytes + off;
      v128.store(pp, f64x2.add(v128.load(pp), lo));
      v128.store(pp, f64x2.add(v128.load(pp, 16), hi), 16);
    }
  }
  for (; q < npix; q++) {
    let s: f64 = 0;
    for (let j = 0; j < g; j++) s += <f64>px32(fp + <usize>j * fb + (q << 2), swap);
    if (check) flagSlow(U32, fp, g, fb, q, 1, swap, level, tids, nT, sat, npix);
    for (let i = 0; i < nT; i++) {
      const pp = sums + <usize>load<i32>(tids + (<usize>i << 2)) * rowBytes + (q << 3);
      store<f64>(pp, load<f64>(pp) + s);
    }
  }
}

/** One float32 frame (never grouped: float64 sums in the JS kernel's order). */
function addF32(
  fp: usize, npix: usize, swap: bool, tids: usize, nT: i32, sums: usize,
  check: bool, level: u32, sat: usize,
): void {
  const L = f32x4.splat(reinterpret<f32>(level));
  const vec = npix & ~3;
  const rowBytes = npix << 3;
  let q: usize = 0;
  for (; q < vec; q += 4) {
    const v = ld32(fp + (q << 2), swap);
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1));
    if (check && v128.any_true(f32x4.ge(v, L))) flagSlow(F32, fp, 1, 0, q, 4, swap, level, tids, nT, sat, npix);
    const off = q << 3;
    for (let i = 0; i < nT; i++) {
      const pp = sums + <usize>load<i32>(tids + (<usize>i << 2)) * rowBytes + off;
      v128.store(pp, f64x2.add(v128.load(pp), lo));
      v128.store(pp, f64x2.add(v128.load(pp, 16), hi), 16);
    }
  }
  for (; q < npix; q++) {
    const s = <f64>reinterpret<f32>(px32(fp + (q << 2), swap));
    if (check) flagSlow(F32, fp, 1, 0, q, 1, swap, level, tids, nT, sat, npix);
    for (let i = 0; i < nT; i++) {
      const pp = sums + <usize>load<i32>(tids + (<usize>i << 2)) * rowBytes + (q << 3);
      store<f64>(pp, load<f64>(pp) + s);
    }
  }
}

/** A frame's total intensity: exact integer sum for integer dtypes, float64 in pixel order for float32 (as JS). */
function frameTotal(dtype: i32, fp: usize, npix: usize, swap: bool): f64 {
  if (dtype == F32) {
    let t: f64 = 0;
    for (let q: usize = 0; q < npix; q++) t += <f64>reinterpret<f32>(px32(fp + (q << 2), swap));
    return t;
  }
  let total: i64 = 0;
  let q: usize = 0;
  if (dtype == U16) {
    // Chunks of 2^14 vectors: each u32 lane gets < 2^15 · 2 · 65535 < 2^32.
    while (q + 8 <= npix) {
      let acc = i32x4.splat(0);
      const end = min<usize>(npix & ~7, q + (8 << 14));
      for (; q < end; q += 8) acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(ld16(fp + (q << 1), swap)));
      total += <i64><u32>i32x4.extract_lane(acc, 0) + <i64><u32>i32x4.extract_lane(acc, 1) +
        <i64><u32>i32x4.extract_lane(acc, 2) + <i64><u32>i32x4.extract_lane(acc, 3);
    }
  } else if (dtype == U8) {
    while (q + 16 <= npix) {
      let acc = i32x4.splat(0);
      const end = min<usize>(npix & ~15, q + (16 << 16));
      for (; q < end; q += 16) acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v128.load(fp + q))));
      total += <i64><u32>i32x4.extract_lane(acc, 0) + <i64><u32>i32x4.extract_lane(acc, 1) +
        <i64><u32>i32x4.extract_lane(acc, 2) + <i64><u32>i32x4.extract_lane(acc, 3);
    }
  } else {
    let acc = i64x2.splat(0);
    for (; q + 4 <= npix; q += 4) {
      const v = ld32(fp + (q << 2), swap);
      acc = i64x2.add(acc, i64x2.add(i64x2.extend_low_i32x4_u(v), i64x2.extend_high_i32x4_u(v)));
    }
    total = i64x2.extract_lane(acc, 0) + i64x2.extract_lane(acc, 1);
  }
  for (; q < npix; q++) total += <i64>pixel(dtype, fp, q, swap);
  return <f64>total;
}

/** Whether probes p and r have the same target list. */
function sameTargets(offsets: usize, ids: usize, p: i32, r: i32): bool {
  const a = load<i32>(offsets + (<usize>p << 2));
  const n = load<i32>(offsets + (<usize>p << 2), 4) - a;
  const b = load<i32>(offsets + (<usize>r << 2));
  if (load<i32>(offsets + (<usize>r << 2), 4) - b != n) return false;
  for (let i = 0; i < n; i++) {
    if (load<i32>(ids + (<usize>(a + i) << 2)) != load<i32>(ids + (<usize>(b + i) << 2))) return false;
  }
  return true;
}

/**
 * Adds `count` frames at ptr (packed frameBytes apart; frame k is probe start + k) into their targets; see the
 * header. `check` ≠ 0 runs the saturation check against `level` (u32 value for integer dtypes, f32 bits for float32:
 * the JS side turns the float64 level into the threshold that gives the same answer in the pixel's own type).
 * Returns the number of frames that at least one target claimed.
 */
export function accumulate(
  dtype: i32, ptr: usize, count: i32, frameBytes: usize, npix: usize, swap: i32,
  offsets: usize, ids: usize, start: i32, nObj: i32,
  sums: usize, counts: usize, shared: usize, sat: usize, check: i32, level: u32,
): i32 {
  const sw = swap != 0;
  const chk = check != 0;
  const maxGroup = dtype == F32 ? 1 : GROUP;
  let used = 0;
  let k = 0;
  while (k < count) {
    const p = start + k;
    const a = load<i32>(offsets + (<usize>p << 2));
    const b = load<i32>(offsets + (<usize>p << 2), 4);
    if (a == b) {
      k++;
      continue;
    }
    let g = 1;
    while (g < maxGroup && k + g < count && sameTargets(offsets, ids, p, p + g)) g++;
    const fp = ptr + <usize>k * frameBytes;
    const tids = ids + (<usize>a << 2);
    const nT = b - a;
    if (dtype == U16) addU16(fp, g, frameBytes, npix, sw, tids, nT, sums, chk, level, sat);
    else if (dtype == U8) addU8(fp, g, frameBytes, npix, tids, nT, sums, chk, level, sat);
    else if (dtype == U32) addU32(fp, g, frameBytes, npix, sw, tids, nT, sums, chk, level, sat);
    else addF32(fp, npix, sw, tids, nT, sums, chk, level, sat);
    let nObjHere = 0;
    for (let i = 0; i < nT; i++) {
      const t = load<i32>(tids + (<usize>i << 2));
      const cp = counts + (<usize>t << 3);
      store<f64>(cp, load<f64>(cp) + <f64>g);
      if (t < nObj) nObjHere++;
    }
    if (nObjHere > 1) {
      // Shared probe positions: each frame's total counts against the purity of every object that claims it.
      for (let j = 0; j < g; j++) {
        const total = frameTotal(dtype, fp + <usize>j * frameBytes, npix, sw);
        for (let i = 0; i < nT; i++) {
          const t = load<i32>(tids + (<usize>i << 2));
          if (t >= nObj) continue;
          const sp = shared + (<usize>t << 3);
          store<f64>(sp, load<f64>(sp) + total);
        }
      }
    }
    used += g;
    k += g;
  }
  return used;
}
