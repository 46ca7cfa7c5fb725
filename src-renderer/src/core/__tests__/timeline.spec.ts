import { describe, expect, it } from 'vitest';
import type { FrameQuality, FrameState } from '../../../../src-shared/domain';
import { beamCentreOutliers, nextToCheck, tiltAtColumn, timelineColumns, timelineCounts, timelineFrames } from '../timeline';

const q = (flagged: boolean, reason?: string): FrameQuality => ({ flagged, ...(reason ? { reason } : {}) });

describe('timeline', () => {
  // 10 tilts: tracked at ~50 px, one lost, one flagged, one doubled in area but not flagged, a person's edit and lock.
  const states: FrameState[] = ['tracked', 'tracked', 'empty', 'tracked', 'tracked', 'tracked', 'edited', 'locked', 'tracked', 'excluded'];
  const areas = [50, 52, 0, 49, 104, 51, 60, 50, 48, 0];
  const quality = [null, q(false), q(true, 'no candidate within the gate'), q(true, 'low overlap with prediction (IoU 0.31)'), q(false), null, null, null, q(false), null];
  const o = { frameState: states, areaPx: areas, quality };

  it('gives every tilt one status, with why', () => {
    const f = timelineFrames(o, new Map([[8, 'beam centre 9 px off'], [3, 'beam centre 5 px off']]));
    expect(f.map((x) => x.status)).toEqual(['tracked', 'tracked', 'lost', 'check', 'check', 'tracked', 'edited', 'locked', 'centre', 'excluded']);
    expect(f[2]!.reasons).toEqual(['no candidate within the gate']);
    expect(f[4]!.reasons[0]).toMatch(/area 104 px against 5\d px/);
    // The beam centre alone: its own status; with a tracker signal too: to check, both reasons given.
    expect(f[8]!.reasons).toEqual(['beam centre 9 px off']);
    expect(f[3]!.reasons).toEqual(['low overlap with prediction (IoU 0.31)', 'beam centre 5 px off']);
    expect(timelineCounts(f)).toEqual({ lost: 1, check: 2, centre: 1, edited: 1, locked: 1, tracked: 3, excluded: 1, empty: 0 });
  });

  it('visits every lost and flagged tilt in turn, wrapping round', () => {
    const f = timelineFrames(o, new Map([[8, 'x']]));
    const visited: number[] = [];
    let t = 5;
    for (let k = 0; k < 4; k++) visited.push((t = nextToCheck(f, t)!));
    expect(visited).toEqual([8, 2, 3, 4]);
    expect(nextToCheck(timelineFrames({ frameState: ['tracked'], areaPx: [3], quality: [null] }), 0)).toBeNull();
  });

  it('draws every tilt at any width: the most urgent status where several share a column', () => {
    const f = timelineFrames(o);
    const wide = timelineColumns(f, 100);
    expect(wide.slice(20, 30).every((s) => s === 'lost')).toBe(true);
    expect(new Set(wide)).toEqual(new Set(f.map((x) => x.status)));
    const narrow = timelineColumns(f, 4);
    expect(narrow).toEqual(['tracked', 'lost', 'edited', 'locked']); // tilts 0–1, 2–4, 5–6, 7–9
    expect(tiltAtColumn(0, 100, 10)).toBe(0);
    expect(tiltAtColumn(99, 100, 10)).toBe(9);
    expect(tiltAtColumn(25, 100, 10)).toBe(2);
    // 361 tilts in 200 columns: no tilt is lost from view — a lost one anywhere shows.
    const many = Array.from({ length: 361 }, (_, t) => ({ status: t === 300 ? ('lost' as const) : ('tracked' as const), reasons: [] }));
    expect(timelineColumns(many, 200).filter((s) => s === 'lost')).toHaveLength(1);
  });

  it('finds beam centres that disagree with the series', () => {
    const c: Array<[number, number] | null> = [[48, 48], [48.4, 47.8], null, [60, 30], [47.9, 48.2]];
    const out = beamCentreOutliers(c);
    expect([...out.keys()]).toEqual([3]);
    expect(out.get(3)).toMatch(/21\.\d px from the series/);
  });
});
