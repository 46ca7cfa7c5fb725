// What an object's timeline shows per tilt: its state as the user set or the tracker left it, and "check" where a
// tracker signal says the frame deserves a look — flagged by the tracker (low overlap with the prediction, an area
// jump, low contrast, the image edge), an area far from its neighbours' even when the tracker did not flag it, or a
// beam centre that disagrees with the other tilts'. "centre": a tilt whose only signal is its beam centre (the
// detector, not the tracking, needs a look: the fit may sit on a Bragg spot). "lost": the tracker had the object
// and did not find it. A person's edited, locked or excluded frames are theirs: never "check".
import type { FrameQuality, FrameState } from '../../../src-shared/domain';

export type TimelineStatus = FrameState | 'lost' | 'check' | 'centre';

/** Drawing order when several tilts share a pixel: the one that most needs a look wins. */
export const STATUS_PRIORITY: readonly TimelineStatus[] = ['lost', 'check', 'centre', 'edited', 'locked', 'tracked', 'excluded', 'empty'];

/** The statuses that need a person's look: "C" visits them, the Export tab lists them. */
export const NEEDS_A_LOOK: ReadonlySet<TimelineStatus> = new Set<TimelineStatus>(['lost', 'check', 'centre']);

export const STATUS_COLOURS: Readonly<Record<TimelineStatus, string>> = {
  empty: '#2d3340',
  tracked: '#4f8fd6',
  edited: '#43a047',
  locked: '#26a69a',
  excluded: '#4a4f5c',
  lost: '#e53935',
  check: '#fdd835',
  centre: '#b388ff',
};

export const STATUS_LABELS: Readonly<Record<TimelineStatus, string>> = {
  empty: 'empty',
  tracked: 'tracked',
  edited: 'edited',
  locked: 'locked',
  excluded: 'excluded',
  lost: 'lost',
  check: 'to check',
  centre: 'beam centre off',
};

export interface TimelineFrame {
  status: TimelineStatus;
  reasons: string[];
}

export interface TimelineObject {
  frameState: readonly FrameState[];
  areaPx: readonly number[];
  quality: ReadonlyArray<FrameQuality | null>;
}

/** An area this many times its neighbours' median (or less than its inverse) is a jump worth a look. */
export const AREA_JUMP = 1.6;
const AREA_WINDOW = 3;

function neighbourMedianArea(o: TimelineObject, t: number): number | null {
  const near: number[] = [];
  for (let k = t - AREA_WINDOW; k <= t + AREA_WINDOW; k++) {
    if (k === t || k < 0 || k >= o.frameState.length) continue;
    const s = o.frameState[k];
    if ((s === 'tracked' || s === 'edited' || s === 'locked') && (o.areaPx[k] ?? 0) > 0) near.push(o.areaPx[k]!);
  }
  if (near.length < 2) return null;
  near.sort((a, b) => a - b);
  return near[near.length >> 1]!;
}

/**
 * Every tilt's status and why. `beamCentreOutliers`: tilts whose fitted beam centre disagrees with the series'
 * (with why), a signal for every object on those tilts.
 */
export function timelineFrames(o: TimelineObject, beamCentreOutliers: ReadonlyMap<number, string> = new Map()): TimelineFrame[] {
  return o.frameState.map((state, t) => {
    const q = o.quality[t] ?? null;
    const area = o.areaPx[t] ?? 0;
    if (state === 'edited' || state === 'locked' || state === 'excluded') return { status: state, reasons: [] };
    if (state === 'empty') return q?.flagged && area === 0 ? { status: 'lost', reasons: [q.reason ?? 'not found'] } : { status: 'empty', reasons: [] };
    const reasons: string[] = [];
    if (q?.flagged) reasons.push(q.reason ?? 'flagged by the tracker');
    const median = neighbourMedianArea(o, t);
    if (median !== null && area > 0 && (area > AREA_JUMP * median || area < median / AREA_JUMP) && !reasons.some((r) => /area/.test(r))) {
      reasons.push(`area ${area} px against ${median} px on the tilts around it (×${(area / median).toFixed(2)})`);
    }
    if (area === 0) reasons.push('tracked with an empty mask');
    const centre = beamCentreOutliers.get(t);
    if (centre) return { status: reasons.length ? 'check' : 'centre', reasons: [...reasons, centre] };
    return reasons.length ? { status: 'check', reasons } : { status: 'tracked', reasons: [] };
  });
}

export function timelineCounts(frames: readonly TimelineFrame[]): Record<TimelineStatus, number> {
  const counts = Object.fromEntries(STATUS_PRIORITY.map((s) => [s, 0])) as Record<TimelineStatus, number>;
  for (const f of frames) counts[f.status]++;
  return counts;
}

/** The next tilt after `from` (wrapping round) that needs a look (NEEDS_A_LOOK); null when none does. */
export function nextToCheck(frames: readonly TimelineFrame[], from: number): number | null {
  const n = frames.length;
  for (let k = 1; k <= n; k++) {
    const t = (((from + k) % n) + n) % n;
    if (NEEDS_A_LOOK.has(frames[t]!.status)) return t;
  }
  return null;
}

/** The median of the finite centres, x and y apart; null with fewer than 3 (no majority to disagree with). */
export function medianCentre(centres: ReadonlyArray<readonly [number, number] | null>): [number, number] | null {
  const ok = centres.filter((c): c is readonly [number, number] => c !== null && Number.isFinite(c[0]) && Number.isFinite(c[1]));
  if (ok.length < 3) return null;
  const med = (v: number[]): number => v.sort((a, b) => a - b)[v.length >> 1]!;
  return [med(ok.map((c) => c[0])), med(ok.map((c) => c[1]))];
}

/**
 * Tilts whose beam centre lies more than `maxPx` from the series' median centre (a fit that landed on a Bragg spot,
 * or a real descan): per tilt, why.
 */
export function beamCentreOutliers(centres: ReadonlyArray<readonly [number, number] | null>, maxPx = 3): Map<number, string> {
  const out = new Map<number, string>();
  const median = medianCentre(centres);
  if (!median) return out;
  const [mx, my] = median;
  centres.forEach((c, t) => {
    if (!c) return;
    const d = Math.hypot(c[0] - mx, c[1] - my);
    if (d > maxPx) out.set(t, `beam centre (${c[0].toFixed(1)}, ${c[1].toFixed(1)}) is ${d.toFixed(1)} px from the series' (${mx.toFixed(1)}, ${my.toFixed(1)})`);
  });
  return out;
}

/**
 * The status drawn in each of `width` pixel columns for n tilts: every tilt gets its share of the width (never
 * clipped); where several share a column the most urgent shows.
 */
export function timelineColumns(frames: readonly TimelineFrame[], width: number): TimelineStatus[] {
  const n = frames.length;
  const cols: TimelineStatus[] = [];
  for (let x = 0; x < width; x++) {
    const t0 = Math.floor((x * n) / width);
    const t1 = Math.max(t0 + 1, Math.floor(((x + 1) * n) / width));
    let best: TimelineStatus = 'empty';
    for (let t = t0; t < t1 && t < n; t++) if (STATUS_PRIORITY.indexOf(frames[t]!.status) < STATUS_PRIORITY.indexOf(best)) best = frames[t]!.status;
    cols.push(best);
  }
  return cols;
}

/** The tilt under pixel column x of a timeline `width` wide. */
export const tiltAtColumn = (x: number, width: number, n: number): number => Math.min(n - 1, Math.max(0, Math.floor((x * n) / width)));

/** How a tilt is named everywhere: its number as the timeline counts (1-based) of the total, and its angle. */
export function tiltLabel(t: number, nTilts: number, angleDeg?: number): string {
  return `tilt ${t + 1}/${nTilts}${angleDeg === undefined ? '' : ` (${angleDeg.toFixed(2)}°)`}`;
}
