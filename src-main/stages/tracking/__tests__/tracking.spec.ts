import { describe, expect, it } from 'vitest';
import {
  assignObjects,
  cumulativeDrift,
  detectCandidates,
  estimateDrift,
  parseTargetSpec,
  pickAutoTarget,
  targetFromProbe,
  trackObjects,
  type FrameState,
  type ObjectPrompt,
} from '../index';
import { CancelledError, InputError, ParameterError } from '../../../../src-shared/errors';
import { phaseCorrelate } from '../../../kernels/image';
import { defaultParticles, iouStats, synthStack, type SynthParticle, type SynthStack } from './synthetic';

const base = { nx: 128, ny: 128, nTilts: 31, tiltRangeDeg: 30, driftStep: 0.6, noise: 6, background: 10, seed: 1 };
const scene = synthStack({ ...base, particles: defaultParticles() });
const N = scene.nx * scene.ny;
const MID = 15;
const ALL = Array.from({ length: scene.nTilts }, (_, t) => t);
const input = (s: SynthStack, extra: object = {}) => ({ stack: s.stack, nTilts: s.nTilts, ny: s.ny, nx: s.nx, ...extra });
/** One positive click on particle k's projected centre on frame t. */
const click = (s: SynthStack, k: number, t = MID, objectId = k + 1): ObjectPrompt => ({
  objectId,
  tilt: t,
  points: [{ x: Math.round(s.centres[k][t].x), y: Math.round(s.centres[k][t].y), positive: true }],
});
const frameOf = (a: Uint8Array, t: number): Uint8Array => a.subarray(t * N, (t + 1) * N);

describe('detectCandidates', () => {
  it('lists every particle once, splits the touching pair, and marks isolation', () => {
    const img = scene.stack.subarray(MID * N, (MID + 1) * N);
    const copy = img.slice();
    const det = detectCandidates(img, scene.nx, scene.ny);
    expect(img).toEqual(copy);
    expect(det.candidates).toHaveLength(4);
    // Each particle's centre lies in a different candidate.
    const ids = scene.centres.map((c) => det.labels[Math.round(c[MID].y) * scene.nx + Math.round(c[MID].x)]);
    expect(new Set(ids).size).toBe(4);
    expect(ids.every((l) => l > 0)).toBe(true);
    const byId = (l: number) => det.candidates.find((c) => c.id === l)!;
    expect(byId(ids[0]).isolated).toBe(true);
    expect(byId(ids[1]).isolated).toBe(false);
    expect(byId(ids[2]).isolated).toBe(false);
    for (const c of det.candidates) {
      expect(c.score).toBeGreaterThan(0.3);
      expect(c.compactness).toBeGreaterThan(0.6);
    }
  });

  it('bright field with invert finds the same particles; an empty image has none', () => {
    const bf = synthStack({ ...base, nTilts: 3, particles: defaultParticles(), brightField: true });
    const det = detectCandidates(bf.stack.subarray(N, 2 * N), bf.nx, bf.ny, { invert: true });
    expect(det.candidates).toHaveLength(4);
    expect(detectCandidates(new Float32Array(N).fill(5), scene.nx, scene.ny).candidates).toEqual([]);
  });
});

describe("threshold 'noise'", () => {
  it('keeps a faint crystal beside one a hundred times brighter, which a histogram threshold (Li) loses', () => {
    const nx = 64;
    const rand = (() => {
      let x = 7;
      return () => ((x = (x * 48271) % 2147483647) / 2147483647);
    })();
    const img = new Float32Array(nx * nx);
    const faint = new Uint8Array(nx * nx);
    for (let y = 0; y < nx; y++) {
      for (let x = 0; x < nx; x++) {
        const i = y * nx + x;
        img[i] = 10 + 2 * (rand() + rand() + rand() - 1.5);
        if ((x - 24) ** 2 + (y - 32) ** 2 <= 64) img[i] += 2000; // a crystal in a strong reflection
        if ((x - 40) ** 2 + (y - 32) ** 2 <= 49) {
          img[i] += 20; // its faint neighbour, touching it
          faint[i] = 1;
        }
      }
    }
    const found = (method: 'noise' | 'li'): number => {
      const d = detectCandidates(img, nx, nx, { threshold: method });
      let hit = 0;
      for (let i = 0; i < faint.length; i++) if (faint[i] && d.foreground[i]) hit++;
      return hit / faint.reduce((a, b) => a + b, 0);
    };
    expect(found('noise')).toBeGreaterThan(0.8);
    expect(found('li')).toBeLessThan(0.2);
    const d = detectCandidates(img, nx, nx);
    expect(d.candidates.length).toBe(2);
  });
});

describe('assignment and drift', () => {
  it('assigns jointly, leaves an object unmatched rather than taking a poor match, respects the gate', () => {
    // Greedy would give object 0 candidate 0 (cost 1) and object 1 candidate 1 (cost 10); jointly 2 + 2 is better.
    expect(assignObjects([[1, 2], [2, 10]], 100)).toEqual([1, 0]);
    expect(assignObjects([[5, 6]], 1.5)).toEqual([-1]);
    expect(assignObjects([[1e9, 0.5], [0.2, 1e9]], 1.5)).toEqual([1, 0]);
    expect(assignObjects([[Infinity]], 1.5)).toEqual([-1]);
    expect(assignObjects([], 1)).toEqual([]);
  });

  it('recovers the field drift of rigidly moving particles to sub-pixel accuracy', () => {
    const rigid = defaultParticles().map((p) => ({ ...p, z: 0, wobble: 0, x: p.x * 0.9 }));
    const s = synthStack({ ...base, nTilts: 12, tiltRangeDeg: 0, particles: rigid, driftStep: 1.2, seed: 4 });
    const d = estimateDrift(s.nTilts, s.nx, s.ny, (t) => s.stack.subarray(t * N, (t + 1) * N));
    const cum = cumulativeDrift(d);
    for (let t = 1; t < s.nTilts; t++) {
      expect(Math.abs(cum.x[t] - s.driftX[t])).toBeLessThan(0.25);
      expect(Math.abs(cum.y[t] - s.driftY[t])).toBeLessThan(0.25);
      expect(d.peak[t]).toBeGreaterThan(0.3);
    }
    // The correlation kernel itself on a pair from this stack.
    const r = phaseCorrelate(s.stack.subarray(0, N), s.stack.subarray(N, 2 * N), s.nx, s.ny);
    expect(r.dx).toBeCloseTo(s.driftX[1], 0);
  });
});

describe('trackObjects on a synthetic tilt series', () => {
  it.each([0, 1, 2, 3])('follows particle %i from one click on the middle tilt (IoU mean ≥ 0.85, worst ≥ 0.6)', async (k) => {
    const res = await trackObjects(input(scene), [click(scene, k)]);
    const o = res.objects[0];
    expect(o.error).toBeUndefined();
    expect(o.stops).toEqual([]);
    expect(o.frameState.every((s) => s === 'tracked')).toBe(true);
    const st = iouStats(o.masks, scene.truth[k], N, ALL);
    expect(st.mean).toBeGreaterThanOrEqual(0.85);
    expect(st.min).toBeGreaterThanOrEqual(0.6);
    // Never on a neighbour: on every frame the mask overlaps its own particle more than any other.
    for (const t of ALL) {
      const own = iouStats(o.masks, scene.truth[k], N, [t]).mean;
      for (let j = 0; j < scene.truth.length; j++) if (j !== k) expect(iouStats(o.masks, scene.truth[j], N, [t]).mean).toBeLessThan(own);
    }
    // Quality: present on tracked frames, unflagged almost everywhere on this clean series.
    const q = o.quality.filter((x) => x !== null);
    expect(q.length).toBe(scene.nTilts - 1);
    expect(q.filter((x) => x!.flagged).length).toBeLessThanOrEqual(4);
    expect(q.every((x) => x!.iouWithPrediction! > 0.5 && x!.contrast! > 3)).toBe(true);
  });

  it('tracks several objects at once without identity switches, and reports progress', async () => {
    const seen: [number, number][] = [];
    const res = await trackObjects(input(scene), [0, 1, 2, 3].map((k) => click(scene, k)), {}, { onProgress: (d, t) => seen.push([d, t]) });
    expect(res.objects.map((o) => o.objectId)).toEqual([1, 2, 3, 4]);
    res.objects.forEach((o, k) => {
      const st = iouStats(o.masks, scene.truth[k], N, ALL);
      expect(st.mean).toBeGreaterThanOrEqual(0.85);
      for (const t of ALL) {
        const own = st.per[t];
        for (let j = 0; j < 4; j++) if (j !== k) expect(iouStats(o.masks, scene.truth[j], N, [t]).mean).toBeLessThan(own);
      }
    });
    // Masks of different objects never overlap.
    for (let i = 0; i < scene.nTilts * N; i++) expect(res.objects.reduce((s, o) => s + o.masks[i], 0)).toBeLessThanOrEqual(1);
    const total = seen[0][1];
    expect(seen.map((s) => s[0])).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(res.drift.dx).toHaveLength(scene.nTilts);
  });

  it('never writes edited or locked frames, skips excluded ones, and uses edits as anchors', async () => {
    const k = 1;
    const masks = new Uint8Array(scene.nTilts * N);
    const frameState: FrameState[] = new Array<FrameState>(scene.nTilts).fill('empty');
    // An "edited" frame holding a deliberately odd mask (a square on the particle) and a locked copy of the truth.
    const edited = frameOf(masks, 5);
    const c = scene.centres[k][5];
    for (let y = Math.round(c.y) - 3; y <= Math.round(c.y) + 3; y++) for (let x = Math.round(c.x) - 3; x <= Math.round(c.x) + 3; x++) edited[y * scene.nx + x] = 1;
    frameState[5] = 'edited';
    frameOf(masks, 24).set(frameOf(scene.truth[k], 24));
    frameState[24] = 'locked';
    frameState[12] = 'excluded';
    frameOf(masks, 12)[7] = 1; // whatever an excluded frame holds stays
    // A stale 'tracked' frame from an earlier run may be replaced.
    frameState[20] = 'tracked';
    const before = masks.slice();
    const res = await trackObjects(input(scene, { existing: [{ objectId: 2, masks, frameState }] }), [click(scene, k)]);
    const o = res.objects[0];
    expect(masks).toEqual(before); // the caller's arrays are not mutated
    expect(o.frameState[5]).toBe('edited');
    expect(o.frameState[24]).toBe('locked');
    expect(o.frameState[12]).toBe('excluded');
    for (const t of [5, 12, 24]) expect(frameOf(o.masks, t)).toEqual(frameOf(before, t));
    expect(o.quality[5]).toBeNull();
    const rest = ALL.filter((t) => ![5, 12, 24].includes(t));
    expect(rest.every((t) => o.frameState[t] === 'tracked')).toBe(true);
    expect(iouStats(o.masks, scene.truth[k], N, rest).mean).toBeGreaterThanOrEqual(0.85);
  });

  it('an object with only a locked frame (no prompt) is tracked from it', async () => {
    const masks = new Uint8Array(scene.nTilts * N);
    const frameState: FrameState[] = new Array<FrameState>(scene.nTilts).fill('empty');
    frameOf(masks, 8).set(frameOf(scene.truth[0], 8));
    frameState[8] = 'locked';
    const res = await trackObjects(input(scene, { existing: [{ objectId: 7, masks, frameState }] }), []);
    expect(res.objects[0].objectId).toBe(7);
    expect(iouStats(res.objects[0].masks, scene.truth[0], N, ALL).mean).toBeGreaterThanOrEqual(0.85);
  });

  it('stops a particle that leaves the field of view, keeps the others, and honours direction and maxFrames', async () => {
    // Far above the tilt axis: it sweeps ~4 px per tilt and leaves through the right edge at about +20°.
    const leaving: SynthParticle = { x: 30, y: 10, z: 120, a: 6, b: 5, wobble: 0.05, theta: 0.8, intensity: 50 };
    const s = synthStack({ ...base, particles: [defaultParticles()[0], leaving], driftStep: 0.3, seed: 3 });
    const res = await trackObjects(input(s), [click(s, 0), click(s, 1)]);
    const [stay, gone] = res.objects;
    expect(stay.stops).toEqual([]);
    expect(iouStats(stay.masks, s.truth[0], N, ALL).mean).toBeGreaterThanOrEqual(0.85);
    expect(gone.stops).toHaveLength(1);
    expect(gone.stops[0].direction).toBe('forward');
    expect(gone.stops[0].reason).toMatch(/left the field of view/);
    const exit = gone.stops[0].tilt;
    // It was followed until (nearly) fully out, and nothing was written after.
    const inside = ALL.filter((t) => t < exit);
    expect(iouStats(gone.masks, s.truth[1], N, inside.filter((t) => t < exit - 3)).mean).toBeGreaterThanOrEqual(0.85);
    for (let t = exit; t < s.nTilts; t++) {
      expect(gone.frameState[t]).toBe('empty');
      // Not silently empty: every tilt after it left is flagged with why.
      expect(gone.quality[t]).toMatchObject({ flagged: true, reason: expect.stringMatching(/field of view/) });
    }
    expect(iouStats(gone.masks, s.truth[1], N, ALL.filter((t) => t <= MID)).min).toBeGreaterThanOrEqual(0.6);

    const fwd = await trackObjects(input(s), [click(s, 0)], { direction: 'forward', maxFrames: 5 });
    const o = fwd.objects[0];
    const tracked = ALL.filter((t) => o.frameState[t] === 'tracked');
    expect(tracked).toEqual([15, 16, 17, 18, 19, 20]);
    expect(o.stops).toEqual([{ tilt: 21, direction: 'forward', reason: expect.stringMatching(/maxFrames/) }]);
  });

  it('bright field (invert) tracks as well as dark field', async () => {
    const bf = synthStack({ ...base, particles: defaultParticles(), brightField: true });
    const res = await trackObjects(input(bf, { invert: true }), [click(bf, 1)]);
    const st = iouStats(res.objects[0].masks, bf.truth[1], N, ALL);
    expect(st.mean).toBeGreaterThanOrEqual(0.85);
    expect(st.min).toBeGreaterThanOrEqual(0.6);
  });

  it('bridges a blank tilt with gap memory and re-acquires the particle', async () => {
    const stack = scene.stack.slice();
    stack.fill(10, 20 * N, 21 * N);
    const res = await trackObjects({ ...input(scene), stack }, [click(scene, 0)]);
    const o = res.objects[0];
    expect(o.frameState[20]).toBe('empty');
    expect(o.quality[20]).toMatchObject({ flagged: true, reason: expect.stringMatching(/empty frame/) });
    expect(o.stops).toEqual([]);
    expect(iouStats(o.masks, scene.truth[0], N, ALL.filter((t) => t !== 20)).min).toBeGreaterThanOrEqual(0.6);
  });

  it('bad prompts stop only their object; bad input and cancellation throw', async () => {
    const res = await trackObjects(input(scene), [
      { objectId: 1, tilt: MID, points: [{ x: 500, y: 3, positive: true }] },
      click(scene, 0, MID, 2),
      { objectId: 3, tilt: 99, points: [{ x: 3, y: 3, positive: true }] },
      { objectId: 4, tilt: MID, points: [{ x: 2, y: 120, positive: true }] }, // background, no particle near
    ]);
    // Tilts as the app numbers them (1-based), with the 0-based index the prompt carried.
    expect(res.objects[0].error).toMatch(new RegExp(`on tilt ${MID + 1} \\(index ${MID}\\) is outside the 128×128 image`));
    expect(res.objects[2].error).toMatch(/not a tilt index/);
    expect(res.objects[3].error).toMatch(/no particle under or within/);
    expect(iouStats(res.objects[1].masks, scene.truth[0], N, ALL).mean).toBeGreaterThanOrEqual(0.85);
    expect(res.objects[0].frameState.every((s) => s === 'empty')).toBe(true);

    await expect(trackObjects({ ...input(scene), stack: new Float32Array(scene.nTilts * N) }, [click(scene, 0)])).rejects.toThrow(InputError);
    await expect(trackObjects({ ...input(scene), stack: new Float32Array(10) }, [click(scene, 0)])).rejects.toThrow(ParameterError);
    await expect(trackObjects(input(scene), [click(scene, 0)], { maxGap: -1 })).rejects.toThrow(ParameterError);
    const ac = new AbortController();
    const p = trackObjects(input(scene), [click(scene, 0)], {}, { signal: ac.signal, onProgress: (d) => d === 35 && ac.abort() });
    await expect(p).rejects.toThrow(CancelledError);
  });
});

describe('whole-field tracking, channels and the never-empty rule', () => {
  it('tracks the touching neighbour as a neighbour of its own: labelled on every tilt, never inside the mask', async () => {
    const res = await trackObjects(input(scene), [click(scene, 1)]);
    const o = res.objects[0];
    expect(iouStats(o.masks, scene.truth[1], N, ALL).mean).toBeGreaterThanOrEqual(0.85);
    const nb = res.neighbours!;
    // The touching particle 2 is one neighbour label on (nearly) every tilt; the other particles are neighbours too.
    const labelOf2 = (t: number): number => nb.labels[t * N + Math.round(scene.centres[2][t].y) * scene.nx + Math.round(scene.centres[2][t].x)];
    const l2 = labelOf2(MID);
    expect(l2).toBeGreaterThan(0);
    expect(ALL.filter((t) => labelOf2(t) === l2).length).toBeGreaterThanOrEqual(scene.nTilts - 2);
    const only2 = Uint8Array.from(nb.labels, (l) => (l === l2 ? 1 : 0));
    expect(iouStats(only2, scene.truth[2], N, ALL).mean).toBeGreaterThanOrEqual(0.8);
    for (let i = 0; i < nb.labels.length; i++) if (o.masks[i]) expect(nb.labels[i]).toBe(0);
    expect(nb.neighbours.length).toBeGreaterThanOrEqual(3);
    expect(nb.neighbours.every((x) => x.tilts > 0 && x.meanAreaPx > 0)).toBe(true);
  });

  it('keeps a particle that fades out of the image for a few tilts: the prediction, flagged — never an empty tilt', async () => {
    const stack = scene.stack.slice();
    // Particle 0 fades into the background on tilts 18–20 (its crystal is off every reflection the image sees).
    for (const t of [18, 19, 20]) {
      for (let i = 0; i < N; i++) if (scene.truth[0][t * N + i]) stack[t * N + i] = 10 + (stack[t * N + i] - 10 - 50) * 0.05;
    }
    const res = await trackObjects({ ...input(scene), stack }, [click(scene, 0)]);
    const o = res.objects[0];
    expect(o.stops).toEqual([]);
    for (const t of [18, 19, 20]) {
      expect(o.frameState[t]).toBe('tracked');
      expect(o.quality[t]).toMatchObject({ flagged: true, reason: expect.stringMatching(/prediction/) });
      expect(iouStats(o.masks, scene.truth[0], N, [t]).mean).toBeGreaterThan(0.6);
    }
    expect(iouStats(o.masks, scene.truth[0], N, ALL.filter((t) => t < 18 || t > 20)).mean).toBeGreaterThanOrEqual(0.85);
  });

  it('segments in several virtual images together: a particle dark in one is found in the other', async () => {
    // Channel A (dark field) loses particle 0 on tilts 5–25; channel B (bright field, inverted) always shows it.
    const bf = synthStack({ ...base, particles: defaultParticles(), brightField: true });
    const adf = scene.stack.slice();
    for (let t = 5; t <= 25; t++) for (let i = 0; i < N; i++) if (scene.truth[0][t * N + i]) adf[t * N + i] = 10 + 6 * Math.sin(i);
    const channels = [
      { stack: adf, invert: false },
      { stack: bf.stack, invert: true },
    ];
    const both = await trackObjects({ ...input(scene), stack: adf, channels }, [click(scene, 0)]);
    expect(iouStats(both.objects[0].masks, scene.truth[0], N, ALL).mean).toBeGreaterThanOrEqual(0.85);
    const alone = await trackObjects({ ...input(scene), stack: adf }, [click(scene, 0)]);
    expect(iouStats(alone.objects[0].masks, scene.truth[0], N, ALL).mean).toBeLessThan(0.7);
    await expect(trackObjects({ ...input(scene), channels: [{ stack: new Float32Array(5), invert: false }] }, [click(scene, 0)])).rejects.toThrow(/channels/);
  });
});

describe('targets', () => {
  it('auto picks the largest isolated crystal on the middle tilt; a probe picks the particle under it', () => {
    const auto = pickAutoTarget(input(scene));
    expect(auto.tilt).toBe(MID);
    const p0 = scene.centres[0][MID];
    expect(Math.hypot(auto.candidate.x - p0.x, auto.candidate.y - p0.y)).toBeLessThan(1.5);
    expect(auto.note).toMatch(/largest isolated crystal/);
    expect(auto.prompt.points).toHaveLength(1);

    const c2 = scene.centres[2][7];
    const probe = targetFromProbe(input(scene), Math.round(c2.x), Math.round(c2.y), 7);
    expect(Math.hypot(probe.candidate.x - c2.x, probe.candidate.y - c2.y)).toBeLessThan(1.5);
    expect(probe.prompt).toEqual({ objectId: 1, tilt: 7, points: [{ x: Math.round(c2.x), y: Math.round(c2.y), positive: true }] });
    expect(() => targetFromProbe(input(scene), 2, 120, 7)).toThrow(/no particle/);
    expect(() => targetFromProbe(input(scene), 200, 5, 7)).toThrow(ParameterError);
    expect(() => targetFromProbe(input(scene), 5, 5, 31)).toThrow(ParameterError);
    expect(() => pickAutoTarget({ ...input(scene), stack: new Float32Array(scene.nTilts * N) })).toThrow(InputError);
  });

  it('parses --target specs', () => {
    expect(parseTargetSpec('auto')).toEqual({ kind: 'auto' });
    expect(parseTargetSpec(' 31,40@20 ')).toEqual({ kind: 'probe', x: 31, y: 40, tilt: 20 });
    expect(() => parseTargetSpec('31;40@2')).toThrow(ParameterError);
    expect(() => parseTargetSpec('31,40')).toThrow(ParameterError);
  });
});
