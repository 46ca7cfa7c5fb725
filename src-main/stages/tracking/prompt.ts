// Turning a user's prompt (clicks and/or a box on one frame) into that frame's mask, using the frame's candidate
// segmentation: a positive click selects the candidate under it (or the nearest within a few pixels: clicks land
// on particle edges); a negative click inside the same candidate splits it by a watershed seeded at the clicks;
// a box restricts the mask to itself.
import { watershed } from '../../kernels/image';
import { splitElevation, type FrameAnalysis } from './segment';
import type { ObjectPrompt } from './types';

/** How far (px) a click on background may be from a particle and still select it. */
export const SNAP_RADIUS = 5;

export type PromptMask = { mask: Uint8Array; error?: undefined } | { mask?: undefined; error: string };

/** The label under (x, y), or of the nearest labelled pixel within SNAP_RADIUS; 0 when none. */
export function labelNear(labels: Int32Array, nx: number, ny: number, x: number, y: number): number {
  const ix = Math.round(x);
  const iy = Math.round(y);
  if (labels[iy * nx + ix]) return labels[iy * nx + ix];
  let best = 0;
  let bestD = Infinity;
  for (let dy = -SNAP_RADIUS; dy <= SNAP_RADIUS; dy++) {
    for (let dx = -SNAP_RADIUS; dx <= SNAP_RADIUS; dx++) {
      const xx = ix + dx;
      const yy = iy + dy;
      const d = dx * dx + dy * dy;
      if (xx < 0 || yy < 0 || xx >= nx || yy >= ny || d > SNAP_RADIUS * SNAP_RADIUS || d >= bestD) continue;
      const l = labels[yy * nx + xx];
      if (l) {
        best = l;
        bestD = d;
      }
    }
  }
  return best;
}

/**
 * A tilt as people read it (1-based, as the app's slider and timeline number tilts) with the index the prompt
 * carries (0-based, as `--target X,Y@TILT` takes it), so a message reads right from either side.
 */
export const tiltName = (t: number): string => `tilt ${t + 1} (index ${t})`;

/** Checks a prompt's geometry against the image; returns a user-facing reason when it cannot be used. */
export function promptProblem(p: ObjectPrompt, nTilts: number, nx: number, ny: number): string | undefined {
  if (!Number.isInteger(p.tilt) || p.tilt < 0 || p.tilt >= nTilts) {
    return `prompt index ${p.tilt} is not a tilt index (0..${nTilts - 1}: tilts 1..${nTilts})`;
  }
  for (const q of p.points) {
    if (!Number.isFinite(q.x) || !Number.isFinite(q.y) || Math.round(q.x) < 0 || Math.round(q.y) < 0 || Math.round(q.x) >= nx || Math.round(q.y) >= ny) {
      return `prompt point (${q.x}, ${q.y}) on ${tiltName(p.tilt)} is outside the ${nx}×${ny} image`;
    }
  }
  if (p.box) {
    const [x0, y0, x1, y1] = p.box;
    if (![x0, y0, x1, y1].every(Number.isFinite) || x1 < x0 || y1 < y0) {
      return `prompt box on ${tiltName(p.tilt)} is not a box (x0 ≤ x1, y0 ≤ y1)`;
    }
    if (x1 < 0 || y1 < 0 || x0 > nx - 1 || y0 > ny - 1) {
      return `prompt box on ${tiltName(p.tilt)} is outside the ${nx}×${ny} image`;
    }
  }
  if (!p.points.some((q) => q.positive) && !p.box) {
    return `prompt on ${tiltName(p.tilt)} has neither a positive point nor a box`;
  }
  return undefined;
}

/**
 * Mask of the prompted particle on an analysed frame whose foreground was split into `labels` (one region per
 * candidate). Returns `{ error }` with a reason the user can act on when nothing can be selected.
 */
export function maskFromPrompt(a: FrameAnalysis, labels: Int32Array, p: ObjectPrompt): PromptMask {
  const { nx, ny } = a;
  if (!a.hasContent) return { error: `${tiltName(p.tilt)} has no particles (empty or constant virtual image)` };
  const positives = p.points.filter((q) => q.positive);
  const negatives = p.points.filter((q) => !q.positive);
  const selected = new Set<number>();
  for (const q of positives) {
    const l = labelNear(labels, nx, ny, q.x, q.y);
    if (!l) return { error: `no particle under or within ${SNAP_RADIUS} px of prompt point (${q.x}, ${q.y}) on ${tiltName(p.tilt)}` };
    selected.add(l);
  }
  const box = p.box
    ? {
        x0: Math.max(0, Math.ceil(p.box[0])),
        y0: Math.max(0, Math.ceil(p.box[1])),
        x1: Math.min(nx - 1, Math.floor(p.box[2])),
        y1: Math.min(ny - 1, Math.floor(p.box[3])),
      }
    : null;
  const inBox = (i: number): boolean => {
    if (!box) return true;
    const x = i % nx;
    const y = (i - x) / nx;
    return x >= box.x0 && x <= box.x1 && y >= box.y0 && y <= box.y1;
  };
  if (selected.size === 0 && box) {
    // Box only: the candidates mostly inside the box, else the one with most pixels inside it.
    const total = new Map<number, number>();
    const inside = new Map<number, number>();
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (!l) continue;
      total.set(l, (total.get(l) ?? 0) + 1);
      if (inBox(i)) inside.set(l, (inside.get(l) ?? 0) + 1);
    }
    let best = 0;
    let bestN = 0;
    for (const [l, n] of inside) {
      if (n >= 0.5 * (total.get(l) ?? 0)) selected.add(l);
      if (n > bestN) {
        bestN = n;
        best = l;
      }
    }
    if (selected.size === 0 && best) selected.add(best);
    if (selected.size === 0) return { error: `no particle inside the prompt box on ${tiltName(p.tilt)}` };
  }
  let mask = new Uint8Array(nx * ny);
  for (let i = 0; i < labels.length; i++) if (selected.has(labels[i]) && inBox(i)) mask[i] = 1;
  // Negative clicks inside the selection: split it between the positive and negative clicks.
  const inside = negatives.filter((q) => mask[Math.round(q.y) * nx + Math.round(q.x)]);
  if (inside.length) {
    if (positives.length === 0) return { error: `negative prompt points on ${tiltName(p.tilt)} need a positive point in the same particle` };
    const markers = new Int32Array(nx * ny);
    for (const q of positives) markers[Math.round(q.y) * nx + Math.round(q.x)] = 1;
    for (const q of inside) markers[Math.round(q.y) * nx + Math.round(q.x)] = 2;
    const split = watershed(splitElevation(a.ridge), markers, nx, ny, mask);
    mask = Uint8Array.from(split, (l) => (l === 1 ? 1 : 0));
  }
  let area = 0;
  for (let i = 0; i < mask.length; i++) area += mask[i];
  if (area === 0) return { error: `the prompt on ${tiltName(p.tilt)} selects no pixels` };
  return { mask };
}
