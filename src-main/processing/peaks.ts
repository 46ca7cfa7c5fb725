// Peak search on one extracted frame (a summed 3D ED pattern): a pure function over the frame's pixels.
//
// 1. Background in two parts. The support film's rings and the particle's diffuse halo are round about the direct
//    beam: their azimuthal median per 1-px radius (a reflection covers a few degrees of a ring, so the median does
//    not see it) is subtracted first. What is left varies slowly across the frame (the film is not uniform, the halo
//    not quite round): its median over overlapping blocks, interpolated, is the second part.
// 2. Noise: per block, 1.4826 × the median absolute deviation of the background-subtracted pixels — counting noise
//    on summed counts, whatever the data's units.
// 3. Candidates: local maxima of the 3×3 sum of the background-subtracted frame that stand a few noise levels above
//    it, strongest first, none within `minSeparationPx` of a stronger one.
// 4. Each candidate is integrated over a disk of `radiusPx` (re-centred once on its centroid): intensity = Σ
//    (pixel − background), σ² = Σ max(pixel, 0)·gain for counts plus the disk's share of the background's
//    uncertainty, the sub-pixel centroid of the positive part. Kept when I/σ ≥ `minIOverSigma`.
// Excluded: within `excludeRadiusPx` of the beam, outside the d* range, disks that leave the detector or touch a
// masked pixel.
import { ParameterError, throwIfAborted } from '../../src-shared/errors';
import { upsampleBlocks } from '../kernels/image/upsample';
import { medianInPlace } from '../kernels/select';

export interface PeakSearchOptions {
  /** Direct-beam centre [cx, cy], detector pixels (pixel centres at integers). */
  beamCentre: readonly [number, number];
  /** Å⁻¹ per detector pixel (for the d* limits). */
  reciprocalPixelInvA: number;
  /** Integration disk radius, pixels (a reflection's disk and its blur). */
  radiusPx: number;
  /** Keep peaks with I/σ at least this (default 5). */
  minIOverSigma?: number;
  /** No two peaks closer than this, pixels (default 2 × radiusPx). */
  minSeparationPx?: number;
  /** Pixels around the beam centre that are never peaks (default 2 × radiusPx + 2). */
  excludeRadiusPx?: number;
  /** Resolution limits in d* (Å⁻¹): peaks between them (default 0.05 … everything on the detector). */
  dStarMinInvA?: number;
  dStarMaxInvA?: number;
  /** Pixels to ignore (bad pixels, beam stop): nqy·nqx, non-zero = masked. */
  mask?: Uint8Array;
  /** Counts per pixel unit (1 for summed counts); sets the counting-noise part of σ. */
  gain?: number;
  /** At most this many peaks per frame, strongest first (default 500). */
  maxPeaks?: number;
  /**
   * Integrate at these positions (peaks a person added by hand) instead of searching: each disk is re-centred on
   * its centroid, and kept whatever its I/σ (a person judged it).
   */
  positions?: ReadonlyArray<readonly [number, number]>;
}

export interface FramePeak {
  /** Sub-pixel centroid, detector pixels. */
  x: number;
  y: number;
  /** Background-subtracted intensity in the disk, and its σ. */
  intensity: number;
  sigma: number;
  /** Local background per pixel under the peak. */
  background: number;
  /** Standard uncertainty of the centroid, px (the larger of x and y): the refinement's weight. */
  positionSigmaPx: number;
}

/** The azimuthal median per 1-px radius bin about (cx, cy); bins with too few pixels take their neighbours'. */
function radialMedian(frame: Float32Array, nqy: number, nqx: number, cx: number, cy: number): Float64Array {
  const rMax = Math.ceil(Math.hypot(Math.max(cx, nqx - 1 - cx), Math.max(cy, nqy - 1 - cy))) + 1;
  const bins: number[][] = Array.from({ length: rMax + 1 }, () => []);
  for (let y = 0; y < nqy; y++) {
    for (let x = 0; x < nqx; x++) {
      const v = frame[y * nqx + x];
      if (Number.isFinite(v)) bins[Math.round(Math.hypot(x - cx, y - cy))].push(v);
    }
  }
  const out = new Float64Array(rMax + 1).fill(NaN);
  bins.forEach((b, r) => {
    if (b.length < 3) return;
    out[r] = medianInPlace(b);
  });
  // Fill empty bins from the nearest filled ones.
  let last = NaN;
  for (let r = 0; r <= rMax; r++) if (Number.isNaN(out[r])) out[r] = last; else last = out[r];
  last = NaN;
  for (let r = rMax; r >= 0; r--) if (Number.isNaN(out[r])) out[r] = last; else last = out[r];
  for (let r = 0; r <= rMax; r++) if (Number.isNaN(out[r])) out[r] = 0;
  return out;
}

const median = medianInPlace;

/**
 * Per block of `g` pixels: the median of `img` over the block and its neighbours (a 3g window) and the noise
 * (1.4826 × MAD) there, bilinearly interpolated to every pixel. Masked pixels do not count.
 */
function blockBackground(img: Float64Array, nqy: number, nqx: number, g: number, mask?: Uint8Array): { level: Float64Array; noise: Float64Array } {
  const by = Math.ceil(nqy / g);
  const bx = Math.ceil(nqx / g);
  const lev = new Float64Array(by * bx);
  const noi = new Float64Array(by * bx);
  const vals: number[] = [];
  for (let j = 0; j < by; j++) {
    for (let i = 0; i < bx; i++) {
      vals.length = 0;
      for (let y = Math.max(0, (j - 1) * g); y < Math.min(nqy, (j + 2) * g); y++) {
        for (let x = Math.max(0, (i - 1) * g); x < Math.min(nqx, (i + 2) * g); x++) {
          const k = y * nqx + x;
          if (!mask?.[k]) vals.push(img[k]);
        }
      }
      const m = median(vals);
      lev[j * bx + i] = m;
      const dev = vals.map((v) => Math.abs(v - m));
      noi[j * bx + i] = 1.4826 * median(dev);
    }
  }
  const level = new Float64Array(nqy * nqx);
  const noise = new Float64Array(nqy * nqx);
  upsampleBlocks(lev, bx, by, g, nqx, nqy, level);
  upsampleBlocks(noi, bx, by, g, nqx, nqy, noise);
  // A block without unmasked pixels has no median (NaN): no background and no noise there.
  for (let k = 0; k < level.length; k++) {
    level[k] ||= 0;
    noise[k] ||= 0;
  }
  return { level, noise };
}

/**
 * The windowed centroid (SExtractor's XWIN): x ← x + 2·Σ wᵢvᵢ(xᵢ − x) / Σ wᵢvᵢ with a Gaussian window wᵢ of the
 * spot's own width (σ = r / 2.12, the beam's profile when r = 1.8 × HWHM), iterated. For a symmetric spot it
 * converges on its centre like a profile fit, with far less noise than the plain first moment over the disk (whose
 * edge pixels carry background noise at full weight). Its σ by propagating each pixel's variance.
 */
function windowedCentroid(
  p: FramePeak,
  c: { frame: Float32Array; bgAt: (k: number) => number; noise: Float64Array; gain: number; r: number; nqx: number; nqy: number },
): FramePeak {
  const { frame, bgAt, noise, gain, r, nqx, nqy } = c;
  const ri = Math.ceil(r);
  const sw = Math.max(0.5, r / 2.12);
  let x = p.x;
  let y = p.y;
  let varX = p.positionSigmaPx ** 2;
  let varY = varX;
  for (let it = 0; it < 12; it++) {
    const x0 = Math.round(x);
    const y0 = Math.round(y);
    if (x0 - ri < 0 || y0 - ri < 0 || x0 + ri >= nqx || y0 + ri >= nqy) return p;
    let sv = 0;
    let dx = 0;
    let dy = 0;
    let vx = 0;
    let vy = 0;
    for (let yy = y0 - ri; yy <= y0 + ri; yy++) {
      for (let xx = x0 - ri; xx <= x0 + ri; xx++) {
        const d2 = (xx - x) ** 2 + (yy - y) ** 2;
        if (d2 > r * r) continue;
        const k = yy * nqx + xx;
        const w = Math.exp(-d2 / (2 * sw * sw));
        const v = frame[k] - bgAt(k);
        sv += w * v;
        dx += w * v * (xx - x);
        dy += w * v * (yy - y);
        const var1 = Math.max(Math.max(frame[k], 0) * gain, noise[k] * noise[k]);
        vx += (w * (xx - x)) ** 2 * var1;
        vy += (w * (yy - y)) ** 2 * var1;
      }
    }
    if (!(sv > 0)) return p;
    const stepX = (2 * dx) / sv;
    const stepY = (2 * dy) / sv;
    if (Math.hypot(stepX, stepY) > r) return p;
    x += stepX;
    y += stepY;
    varX = (4 * vx) / (sv * sv);
    varY = (4 * vy) / (sv * sv);
    if (Math.hypot(stepX, stepY) < 1e-3) break;
  }
  return { ...p, x, y, positionSigmaPx: Math.sqrt(Math.max(varX, varY)) };
}

/** Peaks of one frame (nqy·nqx, row-major); see the module header. Never mutates the frame. */
export function findPeaks(frame: Float32Array, shape: readonly [number, number], o: PeakSearchOptions, signal?: AbortSignal): FramePeak[] {
  const [nqy, nqx] = shape;
  const n = nqy * nqx;
  if (frame.length !== n) throw new ParameterError('frame', `has ${frame.length} pixels, expected ${nqy}×${nqx}`);
  if (!(o.radiusPx > 0)) throw new ParameterError('radiusPx', `must be > 0 pixels, got ${o.radiusPx}`);
  if (!(o.reciprocalPixelInvA > 0)) throw new ParameterError('reciprocalPixelInvA', `must be > 0, got ${o.reciprocalPixelInvA}`);
  const [cx, cy] = o.beamCentre;
  if (!Number.isFinite(cx) || !Number.isFinite(cy)) throw new ParameterError('beamCentre', 'is not known for this frame');
  const r = o.radiusPx;
  const minIs = o.minIOverSigma ?? 5;
  const sep = o.minSeparationPx ?? 2 * r;
  const exclude = o.excludeRadiusPx ?? 2 * r + 2;
  const dMin = (o.dStarMinInvA ?? 0.05) / o.reciprocalPixelInvA;
  const dMax = o.dStarMaxInvA !== undefined ? o.dStarMaxInvA / o.reciprocalPixelInvA : Infinity;
  const gain = o.gain ?? 1;
  const maxPeaks = o.maxPeaks ?? 500;

  // 1–2. Background (radial median + slow residual) and noise.
  const radial = radialMedian(frame, nqy, nqx, cx, cy);
  const resid = new Float64Array(n);
  for (let y = 0; y < nqy; y++) {
    for (let x = 0; x < nqx; x++) {
      const d = Math.hypot(x - cx, y - cy);
      const k = Math.min(radial.length - 2, Math.floor(d));
      const t = d - k;
      resid[y * nqx + x] = frame[y * nqx + x] - ((1 - t) * radial[k] + t * radial[k + 1]);
    }
  }
  throwIfAborted(signal);
  const block = Math.max(6, Math.round(3 * r));
  const { level, noise } = blockBackground(resid, nqy, nqx, block, o.mask);
  const bgAt = (k: number): number => {
    const x = k % nqx;
    const y = (k - x) / nqx;
    const d = Math.hypot(x - cx, y - cy);
    const j = Math.min(radial.length - 2, Math.floor(d));
    return (1 - (d - j)) * radial[j] + (d - j) * radial[j + 1] + level[k];
  };

  // 3. Candidates: local maxima of the 3×3 sum of the residual above its own noise.
  const sum3 = new Float64Array(n);
  for (let y = 1; y < nqy - 1; y++) {
    for (let x = 1; x < nqx - 1; x++) {
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += resid[(y + dy) * nqx + x + dx] - level[(y + dy) * nqx + x + dx];
      sum3[y * nqx + x] = s;
    }
  }
  const cands: number[] = [];
  for (let y = 1; y < nqy - 1; y++) {
    for (let x = 1; x < nqx - 1; x++) {
      const k = y * nqx + x;
      const s = sum3[k];
      if (!(s > 3 * 3 * Math.max(noise[k], 1e-12))) continue;
      let isMax = true;
      for (let dy = -1; dy <= 1 && isMax; dy++) for (let dx = -1; dx <= 1; dx++) if ((dx || dy) && sum3[k + dy * nqx + dx] > s) isMax = false;
      if (!isMax) continue;
      const d = Math.hypot(x - cx, y - cy);
      if (d < exclude || d < dMin || d > dMax) continue;
      cands.push(k);
    }
  }
  cands.sort((a, b) => sum3[b] - sum3[a]);
  throwIfAborted(signal);

  // 4. Integration, centroid, I/σ, separation.
  const peaks: FramePeak[] = [];
  const ri = Math.ceil(r);
  const integrate = (px: number, py: number): FramePeak | null => {
    const x0 = Math.round(px);
    const y0 = Math.round(py);
    if (x0 - ri < 0 || y0 - ri < 0 || x0 + ri >= nqx || y0 + ri >= nqy) return null;
    let I = 0;
    let varI = 0;
    let wsum = 0;
    let sx = 0;
    let sy = 0;
    let bsum = 0;
    let m = 0;
    let noiseSum = 0;
    // Σ var, Σ var·x, Σ var·x², same in y: the centroid's variance Σ (x − x̄)² var / W² without a second pass.
    let v0 = 0;
    let vx = 0;
    let vxx = 0;
    let vy = 0;
    let vyy = 0;
    for (let y = y0 - ri; y <= y0 + ri; y++) {
      for (let x = x0 - ri; x <= x0 + ri; x++) {
        if ((x - px) ** 2 + (y - py) ** 2 > r * r) continue;
        const k = y * nqx + x;
        if (o.mask?.[k]) return null;
        const b = bgAt(k);
        const v = frame[k] - b;
        I += v;
        const counting = Math.max(frame[k], 0) * gain;
        varI += counting;
        noiseSum += noise[k] * noise[k];
        const vk = Math.max(counting, noise[k] * noise[k]);
        v0 += vk;
        vx += vk * x;
        vxx += vk * x * x;
        vy += vk * y;
        vyy += vk * y * y;
        bsum += b;
        m++;
        // Every pixel weighs by its background-subtracted value, negative ones too: clipping them at zero would
        // pull the centroid towards the disk's centre on a flat noise floor.
        wsum += v;
        sx += v * x;
        sy += v * y;
      }
    }
    if (!m || !(wsum > 0)) return null;
    // Counting noise of the pixels (counts) or, where the data are not counts, the measured scatter — whichever is
    // larger; plus the uncertainty of a background taken from a block of pixels (about m of them).
    const sigma = Math.sqrt(Math.max(varI, noiseSum) + noiseSum / m);
    const cxk = sx / wsum;
    const cyk = sy / wsum;
    const varX = (vxx - 2 * cxk * vx + cxk * cxk * v0) / (wsum * wsum);
    const varY = (vyy - 2 * cyk * vy + cyk * cyk * v0) / (wsum * wsum);
    return { x: cxk, y: cyk, intensity: I, sigma, background: bsum / m, positionSigmaPx: Math.sqrt(Math.max(varX, varY, 0)) };
  };
  const windowed = (p: FramePeak): FramePeak => windowedCentroid(p, { frame, bgAt, noise, gain, r, nqx, nqy });
  const starts: Array<[number, number]> = o.positions
    ? o.positions.map(([x, y]) => [x, y])
    : cands.map((k) => [k % nqx, (k - (k % nqx)) / nqx]);
  for (const [x, y] of starts) {
    if (peaks.length >= maxPeaks) break;
    let p = integrate(x, y);
    // Re-centre the disk on the centroid until it stays put.
    for (let it = 0; it < 4 && p; it++) {
      const q = integrate(p.x, p.y);
      if (!q || Math.hypot(q.x - p.x, q.y - p.y) > r) break;
      const moved = Math.hypot(q.x - p.x, q.y - p.y);
      p = q;
      if (moved < 0.01) break;
    }
    if (o.positions) {
      if (p) peaks.push(windowed(p));
      continue;
    }
    if (!p || !(p.intensity / p.sigma >= minIs)) continue;
    if (peaks.some((q) => Math.hypot(q.x - p!.x, q.y - p!.y) < sep)) continue;
    peaks.push(windowed(p));
  }
  return peaks;
}
