// Pre/postprocessing numbers: normalisation, resize, crop mapping round trips, prompt transform, logits resampling.
import { describe, expect, it } from 'vitest';
import { ParameterError } from '../../../../../src-shared/errors';
import { cropAround, fromFrame, toFrame, wholeImageCrop } from '../geometry';
import { samexporterLayout } from '../layouts';
import { iou, maskStats } from '../masks';
import { BACKGROUND_LOGIT, bestMask, lowResToMask, maskToLowRes, preprocessCrop, promptToModel, resampleLowRes, stackIntensity } from '../preprocess';

const spec = samexporterLayout.preprocess;
const S = 1024;
const plane = S * S;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

describe('crop geometry', () => {
  it('maps pixel centres exactly and round-trips', () => {
    // Whole 64-px image: pixel 0's centre is at model 7.5 (its 16 model pixels span 0…15), pixel 63's at 1015.5.
    expect(toFrame(0, 0, 64, S)).toBe(7.5);
    expect(toFrame(63, 0, 64, S)).toBe(1015.5);
    expect(toFrame(-0.5, 0, 64, S)).toBe(-0.5); // edges onto edges
    for (const [x, o, side] of [
      [13.25, 5, 24],
      [0, -8, 32],
      [63.4, 40, 46],
    ]) {
      expect(fromFrame(toFrame(x, o, side, S), o, side, S)).toBeCloseTo(x, 12);
      expect(fromFrame(toFrame(x, o, side, 256), o, side, 256)).toBeCloseTo(x, 12);
    }
  });

  it('crops a square around the box with margin, quantised, inside the image', () => {
    // 6-px box: max(min 24, 3·6) = 24, rounded up the ⌈2^(k/2)⌉ ladder (…, 23, 32, 46, …) to 32.
    const c = cropAround({ x0: 30, y0: 30, x1: 35, y1: 35 }, 128, 128);
    expect(c.side).toBe(32);
    expect(c.x0).toBeLessThanOrEqual(30);
    expect(c.x0 + c.side - 1).toBeGreaterThanOrEqual(35);
    expect(c.x0 % 4).toBe(0); // origin on the side/8 grid
    // A one-pixel move of the box gives the same crop (embedding cache hits on re-tracking).
    expect(cropAround({ x0: 29, y0: 30, x1: 34, y1: 35 }, 128, 128)).toEqual(c);
    // 20-px box: 60 → 64; near the corner: shifted inside the image.
    expect(cropAround({ x0: 0, y0: 100, x1: 19, y1: 119 }, 128, 128)).toEqual({ x0: 0, y0: 64, side: 64 });
    // As large as the image: the whole image, SAM2's own convention.
    expect(cropAround({ x0: 10, y0: 10, x1: 40, y1: 40 }, 64, 64)).toEqual(wholeImageCrop(64, 64));
  });
});

describe('preprocessing', () => {
  it('scales intensity by stack percentiles', () => {
    const data = Float32Array.from({ length: 1001 }, (_, i) => i);
    const s = stackIntensity(data, 10, 90);
    expect(s.lo).toBe(100);
    expect(s.hi).toBe(900);
    expect(() => stackIntensity(data, 50, 40)).toThrow(ParameterError);
    expect(stackIntensity(new Float32Array(10).fill(3)).hi).toBe(4); // flat: no division by zero
  });

  it('replicates grey into 3 channels with ImageNet mean/std and pads with zeros', () => {
    const img = new Float32Array(16 * 16).fill(0.6);
    // Crop hanging 8 px off the left/top edge: a third of the model frame is padding.
    const out = preprocessCrop(img, 16, 16, { x0: -8, y0: -8, side: 24 }, { lo: 0, hi: 1, invert: false }, spec);
    expect(out.length).toBe(3 * plane);
    const inside = 800 * S + 800;
    for (let c = 0; c < 3; c++) {
      expect(out[c * plane + inside]).toBeCloseTo((0.6 - MEAN[c]) / STD[c], 5);
      expect(out[c * plane + 10 * S + 800]).toBe(0); // row 10 ↔ y ≈ −7.6: outside the image
      expect(out[c * plane + 800 * S + 10]).toBe(0);
    }
    const inv = preprocessCrop(img, 16, 16, { x0: 0, y0: 0, side: 16 }, { lo: 0, hi: 2, invert: true }, spec);
    expect(inv[inside]).toBeCloseTo((1 - 0.3 - MEAN[0]) / STD[0], 5);
  });

  it('resizes bilinearly with half-pixel centres (cv2.resize INTER_LINEAR)', () => {
    // Horizontal ramp value = column index, scaled to [0, 1] over 0…31.
    const n = 32;
    const img = Float32Array.from({ length: n * n }, (_, i) => i % n);
    const crop = { x0: 4, y0: 0, side: 16 };
    const out = preprocessCrop(img, n, n, crop, { lo: 0, hi: n - 1, invert: false }, spec);
    for (const X of [0, 31, 32, 100, 511, 777, 1023]) {
      const src = Math.min(Math.max(fromFrame(X, crop.x0, crop.side, S), 0), n - 1);
      const g = src / (n - 1);
      expect(out[500 * S + X]).toBeCloseTo((g - MEAN[0]) / STD[0], 4);
    }
    // Model pixel 31 ends exactly at pixel 4's centre … so (31.5 / 64) − 0.5 + 4 = 3.99: interpolated, not nearest.
    expect(fromFrame(31, 4, 16, S)).toBeCloseTo(3.9921875, 9);
  });
});

describe('prompts and postprocessing', () => {
  it('puts the box first and maps prompts into the crop frame', () => {
    const crop = { x0: 10, y0: 20, side: 32 };
    const p = promptToModel({ points: [{ x: 26, y: 36, label: 1 }, { x: 12, y: 22, label: 0 }], box: { x0: 20, y0: 30, x1: 30, y1: 40 } }, crop, spec, null);
    expect(p.box).toEqual([toFrame(20, 10, 32, S), toFrame(30, 20, 32, S), toFrame(30, 10, 32, S), toFrame(40, 20, 32, S)]);
    expect(p.points[0]).toEqual({ x: (26.5 - 10) * 32 - 0.5, y: (36.5 - 20) * 32 - 0.5, label: 1 });
    expect(p.points[1].label).toBe(0);
    expect(bestMask({ lowRes: new Float32Array(3), iou: Float32Array.from([0.2, 0.9, 0.5]), nMasks: 3 })).toBe(1);
  });

  it('upsamples low-res logits onto the image grid of the crop and thresholds at 0', () => {
    // A disc of radius 5 image px centred on (40.3, 22.7), drawn as signed-distance logits in the 256 frame.
    const crop = { x0: 28, y0: 10, side: 24 };
    const scale = 256 / crop.side;
    const cu = toFrame(40.3, crop.x0, crop.side, 256);
    const cv = toFrame(22.7, crop.y0, crop.side, 256);
    const low = new Float32Array(256 * 256);
    for (let v = 0; v < 256; v++) for (let u = 0; u < 256; u++) low[v * 256 + u] = 5 * scale - Math.hypot(u - cu, v - cv);
    const { mask, area } = lowResToMask(low, 256, crop, 64, 64);
    let agree = 0;
    let total = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const d = Math.hypot(x - 40.3, y - 22.7);
        if (Math.abs(d - 5) < 0.05) continue; // on the boundary either answer is right
        total++;
        if (mask[y * 64 + x] === (d < 5 ? 1 : 0)) agree++;
      }
    }
    expect(agree).toBe(total);
    expect(area).toBe(mask.reduce((a, b) => a + b, 0));
    // Nothing outside the crop.
    expect(mask[5 * 64 + 40]).toBe(0);
  });

  it('moves logits between crops: identity, a shift, and background where the old crop did not reach', () => {
    const low = 256;
    const a = { x0: 10, y0: 10, side: 32 };
    const prev = Float32Array.from({ length: low * low }, (_, i) => Math.sin(i % low / 20) + Math.cos(Math.floor(i / low) / 15));
    const same = resampleLowRes(prev, low, a, a, 0, 0);
    for (const i of [0, 1000, 40000, 65535]) expect(same[i]).toBeCloseTo(prev[i], 4);
    // Shift by exactly one image pixel = 8 low-res pixels in this crop.
    const shifted = resampleLowRes(prev, low, a, a, 1, 0);
    expect(shifted[100 * low + 108]).toBeCloseTo(prev[100 * low + 100], 4);
    expect(shifted[100 * low + 3]).toBe(BACKGROUND_LOGIT);
  });

  it('turns a user mask into ±6.9 logits and back into the same mask', () => {
    const nx = 48;
    const m = new Uint8Array(nx * nx);
    for (let y = 0; y < nx; y++) for (let x = 0; x < nx; x++) if ((x - 20) ** 2 / 36 + (y - 25) ** 2 / 16 <= 1) m[y * nx + x] = 1;
    const crop = cropAround(maskStats(m, nx, nx)!, nx, nx);
    const logits = maskToLowRes(m, nx, nx, crop, 256);
    expect(Math.max(...logits)).toBeCloseTo(Math.log(999), 3);
    expect(Math.min(...logits)).toBeCloseTo(-Math.log(999), 3);
    expect(iou(lowResToMask(logits, 256, crop, nx, nx).mask, m)).toBe(1);
  });
});
