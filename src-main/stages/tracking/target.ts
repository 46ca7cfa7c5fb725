// Choosing what to track without a click: `--target auto` (the largest isolated crystal on the middle tilt) and
// `--target X,Y@TILT` (the particle under a probe position on a given tilt). Both return a one-click prompt, so
// the tracker treats them exactly like a user's click.
import { ParameterError, InputError } from '../../../src-shared/errors';
import { labelNear, SNAP_RADIUS, tiltName } from './prompt';
import { detectCandidates, type Candidate, type ChannelFrame } from './segment';
import type { ObjectPrompt, SegmentationOptions, TrackChannel } from './types';

export interface StackRef {
  stack: Float32Array;
  nTilts: number;
  ny: number;
  nx: number;
  invert?: boolean;
  /** Several virtual images to segment in together (as TrackInput.channels); `stack` alone when absent. */
  channels?: TrackChannel[];
}

export interface TargetChoice {
  /** Tilt index the prompt is on. */
  tilt: number;
  candidate: Candidate;
  /** A one-click prompt (object id 1) on the candidate's innermost pixel. */
  prompt: ObjectPrompt;
  /** Why this candidate (for logs and the report). */
  note: string;
}

export type TargetSpec = { kind: 'auto' } | { kind: 'all' } | { kind: 'probe'; x: number; y: number; tilt: number };

/** Parses `auto`, `all` or `X,Y@TILT` (column, row, 0-based tilt index). */
export function parseTargetSpec(spec: string): TargetSpec {
  const s = spec.trim();
  if (s === 'auto') return { kind: 'auto' };
  if (s === 'all') return { kind: 'all' };
  const m = /^(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)@(-?\d+)$/.exec(s);
  if (!m) throw new ParameterError('target', `expected 'auto', 'all' or X,Y@TILT (e.g. 31,40@20), got '${spec}'`);
  return { kind: 'probe', x: Number(m[1]), y: Number(m[2]), tilt: Number(m[3]) };
}

function frameOf(ref: StackRef, t: number): ChannelFrame[] {
  const n = ref.nx * ref.ny;
  const channels = ref.channels?.length ? ref.channels : [{ stack: ref.stack, invert: ref.invert ?? false }];
  for (const c of channels) {
    if (c.stack.length !== ref.nTilts * n) {
      throw new ParameterError('stack', `expected ${ref.nTilts}×${ref.ny}×${ref.nx} values, got ${c.stack.length}`);
    }
  }
  return channels.map((c) => ({ data: c.stack.subarray(t * n, (t + 1) * n), invert: c.invert }));
}

function promptFor(c: Candidate, tilt: number): ObjectPrompt {
  return { objectId: 1, tilt, points: [{ x: c.innerX, y: c.innerY, positive: true }] };
}

/**
 * The largest isolated crystal on the middle tilt: among candidates that touch neither the image edge nor another
 * particle, the one with the largest area × compactness (so a big ragged clump does not beat a clean crystal).
 * Falls back to touching candidates, then to edge ones, saying so in `note`. InputError when there is none.
 */
export function pickAutoTarget(ref: StackRef, options: Partial<SegmentationOptions> = {}): TargetChoice {
  const tilt = Math.floor(ref.nTilts / 2);
  const det = detectCandidates(frameOf(ref, tilt), ref.nx, ref.ny, options);
  if (!det.candidates.length) {
    throw new InputError('virtual image', `no particle found on the middle tilt (${tilt}) to pick as the target`);
  }
  const rank = (c: Candidate): number => c.area * c.compactness;
  const tiers: [string, (c: Candidate) => boolean][] = [
    ['largest isolated crystal', (c) => c.isolated && !c.touchesBorder],
    ['no isolated crystal: largest crystal touching a neighbour', (c) => !c.touchesBorder],
    ['every crystal touches the image edge: largest one', () => true],
  ];
  for (const [note, ok] of tiers) {
    const pool = det.candidates.filter(ok);
    if (!pool.length) continue;
    const best = pool.reduce((a, b) => (rank(b) > rank(a) ? b : a));
    return { tilt, candidate: best, prompt: promptFor(best, tilt), note: `${note} on ${tiltName(tilt)} (area ${best.area} px)` };
  }
  throw new InputError('virtual image', 'no particle found'); // unreachable: the last tier accepts all
}

/**
 * Every particle on the middle tilt that lies inside the scan (those cut by its edge only when there is no other),
 * largest first: the targets of `--target all`.
 */
export function pickAllTargets(ref: StackRef, options: Partial<SegmentationOptions> = {}): TargetChoice[] {
  const tilt = Math.floor(ref.nTilts / 2);
  const det = detectCandidates(frameOf(ref, tilt), ref.nx, ref.ny, options);
  const inside = det.candidates.filter((c) => !c.touchesBorder);
  const all = inside.length ? inside : det.candidates;
  // Specks (a few probe positions of noise or a particle's thin end cut off) are no particle to follow.
  const areas = all.map((c) => c.area).sort((a, b) => a - b);
  const floor = Math.max(6, 0.2 * (areas[areas.length >> 1] ?? 0));
  const pool = all.filter((c) => c.area >= floor).sort((a, b) => b.area - a.area || a.id - b.id);
  if (!pool.length) throw new InputError('virtual image', `no particle found on the middle tilt (${tilt})`);
  return pool.map((c, k) => ({
    tilt,
    candidate: c,
    prompt: { ...promptFor(c, tilt), objectId: k + 1 },
    note: `particle ${k + 1} of ${pool.length} on ${tiltName(tilt)} (area ${c.area} px${c.isolated ? '' : ', touching a neighbour'})`,
  }));
}

/** The candidate under probe position (x, y) of tilt `tilt` (or the nearest within a few pixels). */
export function targetFromProbe(
  ref: StackRef,
  x: number,
  y: number,
  tilt: number,
  options: Partial<SegmentationOptions> = {},
): TargetChoice {
  if (!Number.isInteger(tilt) || tilt < 0 || tilt >= ref.nTilts) {
    throw new ParameterError('target', `index ${tilt} is not a tilt index (0..${ref.nTilts - 1}: tilts 1..${ref.nTilts})`);
  }
  if (!Number.isFinite(x) || !Number.isFinite(y) || Math.round(x) < 0 || Math.round(y) < 0 || Math.round(x) >= ref.nx || Math.round(y) >= ref.ny) {
    throw new ParameterError('target', `probe position (${x}, ${y}) is outside the ${ref.nx}×${ref.ny} scan`);
  }
  const det = detectCandidates(frameOf(ref, tilt), ref.nx, ref.ny, options);
  const l = labelNear(det.labels, ref.nx, ref.ny, x, y);
  const c = det.candidates.find((k) => k.id === l);
  if (!c) {
    throw new ParameterError('target', `no particle under or within ${SNAP_RADIUS} px of probe position (${x}, ${y}) on ${tiltName(tilt)} (${det.candidates.length} candidates on that tilt)`);
  }
  return {
    tilt,
    candidate: c,
    prompt: { objectId: 1, tilt, points: [{ x: Math.round(x), y: Math.round(y), positive: true }] },
    note: `particle under (${x}, ${y}) on ${tiltName(tilt)} (area ${c.area} px)`,
  };
}
