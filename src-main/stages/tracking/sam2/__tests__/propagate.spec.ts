// Propagation on real onnxruntime-node sessions of the stand-in models (tests/fixtures/onnx/sam2-standins.ts): the
// stand-in decoder segments "bright stuff near the positive prompt", so following a drifting blob exercises the
// motion model, crops, prompt transforms, mask_input carry-over and every stop rule for real.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, ParameterError } from '../../../../../src-shared/errors';
import { blobStack, frameIou } from '../../../../../tests/fixtures/onnx/blob-stack';
import { writeStandinFolder, type StandinLayout } from '../../../../../tests/fixtures/onnx/sam2-standins';
import { shiftMask } from '../masks';
import { loadSam2Model, type Sam2Model } from '../model';
import { Sam2Tracker } from '../propagate';
import type { FrameState } from '../types';

const root = mkdtempSync(join(tmpdir(), 'sam2-prop-'));
const models: Partial<Record<StandinLayout, Sam2Model>> = {};
beforeAll(async () => {
  for (const l of ['samexporter', 'onnxruntime', 'onnx-community'] as StandinLayout[]) {
    models[l] = await loadSam2Model(writeStandinFolder(join(root, l), l), { providers: ['cpu'] });
  }
});
afterAll(async () => {
  await Promise.all(Object.values(models).map((m) => m.release()));
  rmSync(root, { recursive: true, force: true });
});

const drift = { nTilts: 15, nx: 64, ny: 64, radius: 4, x: 14, y: 22, vx: 1.5, vy: 0.8 };
const centre = (t: number): { x: number; y: number } => ({ x: drift.x + drift.vx * t, y: drift.y + drift.vy * t });
const click = (t: number) => ({ points: [{ ...centre(t), label: 1 as const }] });

function ious(masks: Uint8Array, truth: Uint8Array, n: number, plane: number): number[] {
  return Array.from({ length: n }, (_, t) => frameIou(masks, truth, t, plane));
}

describe('SAM2 propagation', () => {
  it('follows a drifting particle forward and backward from one click', async () => {
    const tracker = new Sam2Tracker(models.samexporter!);
    const { stack, truth } = blobStack(drift);
    tracker.setImages(stack);
    const progress: number[] = [];
    const { objects, timings } = await tracker.propagate([{ id: 'p', prompts: { 7: click(7) } }], { onProgress: (p) => progress.push(p.done) });
    const o = objects[0];
    const iou = ious(o.masks, truth, drift.nTilts, 64 * 64);
    expect(o.frameState.every((s) => s === 'tracked')).toBe(true);
    expect(o.stops).toEqual([]);
    expect(iou.reduce((a, b) => a + b) / iou.length).toBeGreaterThan(0.85);
    expect(Math.min(...iou)).toBeGreaterThan(0.6);
    for (const q of o.quality) {
      expect(q).not.toBeNull();
      expect(q!.iouWithPrediction).toBeGreaterThan(0.4);
    }
    expect(progress[progress.length - 1]).toBe(drift.nTilts);
    expect(timings.frames).toBe(drift.nTilts);
    expect(timings.encoderMs).toBeGreaterThan(0);
    expect(timings.preprocessMs).toBeGreaterThan(0);
    expect(timings.decoderMs).toBeGreaterThan(0);
    expect(timings.postprocessMs).toBeGreaterThan(0);
  });

  it('stops when the particle leaves the field of view and says so', async () => {
    const tracker = new Sam2Tracker(models.samexporter!);
    const fast = { ...drift, nTilts: 11, x: 40, y: 30, vx: 3, vy: 0 };
    const { stack, truth } = blobStack(fast);
    tracker.setImages(stack);
    const { objects } = await tracker.propagate([{ id: 'p', prompts: { 2: { points: [{ x: 46, y: 30, label: 1 }] } } }]);
    const o = objects[0];
    const stop = o.stops.find((s) => s.direction === 'forward');
    expect(stop?.reason).toBe('left-field-of-view');
    expect(stop!.message).toMatch(/left the field of view/);
    expect(stop!.frame).toBeGreaterThanOrEqual(8); // centre at x = 64 on frame 8: outside
    for (let t = 0; t < stop!.frame; t++) {
      expect(o.frameState[t]).toBe('tracked');
      if (t <= 6) expect(frameIou(o.masks, truth, t, 4096)).toBeGreaterThan(0.7);
    }
    for (let t = stop!.frame; t < fast.nTilts; t++) {
      expect(o.frameState[t]).toBe('empty');
      expect(o.masks.subarray(t * 4096, (t + 1) * 4096).some((v) => v)).toBe(false);
    }
  });

  it('stops with empty-mask when the particle vanishes in mid-field', async () => {
    const tracker = new Sam2Tracker(models.samexporter!);
    const { stack } = blobStack({ ...drift, nTilts: 8 });
    // From frame 5 on the particle is gone (background only).
    for (let t = 5; t < 8; t++) stack.data.fill(0.1, t * 4096, (t + 1) * 4096);
    tracker.setImages(stack);
    const { objects } = await tracker.propagate([{ id: 'p', prompts: { 2: click(2) } }]);
    expect(objects[0].stops).toEqual([expect.objectContaining({ from: 2, direction: 'forward', frame: 5, reason: 'empty-mask' })]);
    expect(objects[0].quality[5]).toMatchObject({ flagged: true, reason: 'the mask came back empty' });
    expect(objects[0].frameState.slice(0, 5)).toEqual(['tracked', 'tracked', 'tracked', 'tracked', 'tracked']);
  });

  it('never overwrites locked or edited frames, anchors on them, and skips excluded ones', async () => {
    const tracker = new Sam2Tracker(models.samexporter!);
    const { stack, truth } = blobStack(drift);
    tracker.setImages(stack);
    const plane = 4096;
    const masks = new Uint8Array(drift.nTilts * plane);
    const frameState = new Array<FrameState>(drift.nTilts).fill('empty');
    // Frame 3: locked with a user mask one pixel off the truth (distinguishable from anything SAM2 would give).
    const userMask = shiftMask(truth.subarray(3 * plane, 4 * plane), 64, 64, 1, 0);
    masks.set(userMask, 3 * plane);
    frameState[3] = 'locked';
    frameState[11] = 'edited'; // edited to "nothing here": must stay empty
    frameState[9] = 'excluded';
    masks.fill(1, 9 * plane, 9 * plane + 10); // whatever an excluded frame holds is left alone
    const { objects } = await tracker.propagate([{ id: 'p', prompts: { 7: click(7) }, masks, frameState }]);
    const o = objects[0];
    expect(o.frameState[3]).toBe('locked');
    expect(Array.from(o.masks.subarray(3 * plane, 4 * plane))).toEqual(Array.from(userMask));
    expect(o.frameState[11]).toBe('edited');
    expect(o.masks.subarray(11 * plane, 12 * plane).some((v) => v)).toBe(false);
    expect(o.frameState[9]).toBe('excluded');
    expect(Array.from(o.masks.subarray(9 * plane, 9 * plane + 12))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    expect(o.quality[3]).toBeNull();
    // The locked frame is a keyframe: frames 0–2 are propagated from it; 12–14 from frame 7 across 9 and 11.
    for (const t of [0, 1, 2, 4, 5, 6, 8, 10, 12, 13, 14]) {
      expect(o.frameState[t]).toBe('tracked');
      expect(frameIou(o.masks, truth, t, plane)).toBeGreaterThan(0.6);
    }
    // The input arrays are not modified.
    expect(frameState[0]).toBe('empty');
  });

});

describe('SAM2 propagation: cancel, embeddings cache, prompts, layouts', () => {
  it('can be cancelled between frames', async () => {
    const tracker = new Sam2Tracker(models.samexporter!);
    tracker.setImages(blobStack(drift).stack);
    const ac = new AbortController();
    let last = 0;
    const p = tracker.propagate([{ id: 'p', prompts: { 7: click(7) } }], {
      signal: ac.signal,
      onProgress: ({ done }) => {
        last = done;
        if (done >= 3) ac.abort();
      },
    });
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(last).toBe(3);
  });

  it('caches encoder embeddings per frame and crop', async () => {
    const tracker = new Sam2Tracker(models.samexporter!);
    const small = { ...drift, nTilts: 6 };
    tracker.setImages(blobStack(small).stack);
    expect(await tracker.encodeFrame(0)).toEqual({ cached: false });
    expect(await tracker.encodeFrame(0)).toEqual({ cached: true });
    const input = [{ id: 'p', prompts: { 2: click(2) } }];
    const first = await tracker.propagate(input);
    expect(first.timings.cacheMisses).toBeGreaterThanOrEqual(small.nTilts);
    const again = await tracker.propagate(input);
    expect(again.timings.cacheMisses).toBe(0);
    expect(again.timings.encoderMs).toBe(0);
    expect(again.timings.cacheHits).toBe(first.timings.cacheMisses + first.timings.cacheHits);
    expect(Array.from(again.objects[0].masks)).toEqual(Array.from(first.objects[0].masks));
    // New images invalidate the cache.
    tracker.setImages(blobStack(small).stack);
    expect(await tracker.encodeFrame(0)).toEqual({ cached: false });
    expect(tracker.cacheStats.entries).toBe(1);
  });

  it('honours negative points and rejects prompts outside the image', async () => {
    const tracker = new Sam2Tracker(models.samexporter!);
    const { stack } = blobStack({ ...drift, nTilts: 1, x: 30, y: 30, vx: 0, vy: 0, neighbour: { x: 40, y: 30, radius: 3 } });
    tracker.setImages(stack);
    const pos = { x: 30, y: 30, label: 1 as const };
    const without = await tracker.segmentFrame(0, { points: [pos] }, { crop: false });
    const withNeg = await tracker.segmentFrame(0, { points: [pos, { x: 40, y: 30, label: 0 }] }, { crop: false });
    expect(without.mask[30 * 64 + 40]).toBe(1); // the stand-in takes the neighbour too…
    expect(withNeg.mask[30 * 64 + 40]).toBe(0); // …unless told not to
    expect(withNeg.mask[30 * 64 + 30]).toBe(1);
    await expect(tracker.segmentFrame(0, { points: [{ x: 70, y: 3, label: 1 }] })).rejects.toThrow(/prompts\[0\]\.points\[0\]: \(70, 3\) is outside the 64×64 image/);
    await expect(tracker.segmentFrame(0, { points: [{ x: 7, y: 3, label: 0 }] })).rejects.toBeInstanceOf(ParameterError);
    await expect(tracker.propagate([{ id: 'p', prompts: { 3: click(3) } }])).rejects.toThrow(/frame 3 is not a tilt index 0…0/);
  });

  it('works on the whole image (no crop) too', async () => {
    const tracker = new Sam2Tracker(models.samexporter!);
    const big = { ...drift, nTilts: 6, radius: 7, x: 20, y: 26 };
    const { stack, truth } = blobStack(big);
    tracker.setImages(stack);
    const { objects } = await tracker.propagate([{ id: 'p', prompts: { 0: { box: { x0: 13, y0: 19, x1: 27, y1: 33 } } } }], { crop: false });
    const iou = ious(objects[0].masks, truth, big.nTilts, 4096);
    expect(Math.min(...iou)).toBeGreaterThan(0.7);
  });

  it.each(['onnxruntime', 'onnx-community'] as StandinLayout[])('follows the particle with the %s layout', async (layout) => {
    const tracker = new Sam2Tracker(models[layout]!);
    const short = { ...drift, nTilts: 7 };
    const { stack, truth } = blobStack(short);
    tracker.setImages(stack);
    const { objects } = await tracker.propagate([{ id: 'p', prompts: { 3: click(3) } }]);
    const iou = ious(objects[0].masks, truth, short.nTilts, 4096);
    expect(objects[0].stops).toEqual([]);
    expect(Math.min(...iou)).toBeGreaterThan(0.6);
    expect(iou.reduce((a, b) => a + b) / iou.length).toBeGreaterThan(0.8);
  });
});
