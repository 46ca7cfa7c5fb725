// The handles of the detector rings on the mean pattern: where each is drawn and which one a pointer grabs. Only a
// handle moves the detector (a click elsewhere on the pattern changes nothing): the centre handle moves the rings,
// a ring's handle sets its radius.

export type DetectorHandle = 'centre' | 'bfRadius' | 'adfInner' | 'adfOuter';

export interface RingRadii {
  bfRadius: number;
  adfInner: number;
  adfOuter: number;
}

/** Directions (radians from +x, y down) of the ring handles: apart, so rings of close radii keep separate handles. */
const ANGLE: Record<Exclude<DetectorHandle, 'centre'>, number> = { bfRadius: 0, adfInner: Math.PI / 3, adfOuter: -Math.PI / 4 };

/** Where each handle is drawn, detector pixels. */
export function handlePositions(radii: RingRadii, centre: readonly [number, number]): Record<DetectorHandle, [number, number]> {
  const at = (k: Exclude<DetectorHandle, 'centre'>): [number, number] => [centre[0] + radii[k] * Math.cos(ANGLE[k]), centre[1] + radii[k] * Math.sin(ANGLE[k])];
  return { centre: [centre[0], centre[1]], bfRadius: at('bfRadius'), adfInner: at('adfInner'), adfOuter: at('adfOuter') };
}

/** Handle radius in detector pixels for a detector of this size: visible, and small against the rings. */
export function handleSize(detectorShape: readonly [number, number]): number {
  return Math.max(1.2, Math.min(detectorShape[0], detectorShape[1]) * 0.02);
}

/** The handle within `tolerancePx` of (x, y), the nearest when several are; null: none (the drag does nothing). */
export function pickHandle(radii: RingRadii, centre: readonly [number, number], x: number, y: number, tolerancePx: number): DetectorHandle | null {
  let best: DetectorHandle | null = null;
  let bestD = tolerancePx;
  for (const [k, [hx, hy]] of Object.entries(handlePositions(radii, centre)) as Array<[DetectorHandle, [number, number]]>) {
    const d = Math.hypot(x - hx, y - hy);
    if (d <= bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** The radius a ring handle dragged to (x, y) sets: half-pixel steps, the rings kept ordered (BF any, ADF inner < outer). */
export function draggedRadii(radii: RingRadii, handle: Exclude<DetectorHandle, 'centre'>, centre: readonly [number, number], x: number, y: number): RingRadii {
  const v = Math.max(0.5, Math.round(Math.hypot(x - centre[0], y - centre[1]) * 2) / 2);
  const next = { ...radii };
  if (handle === 'bfRadius') next.bfRadius = v;
  if (handle === 'adfInner') next.adfInner = Math.min(v, radii.adfOuter - 0.5);
  if (handle === 'adfOuter') next.adfOuter = Math.max(v, radii.adfInner + 0.5);
  return next;
}
