// The kill test's model of a project (kill.spec.ts, kill-driver.ts): a project reduced to checksums, and the
// operations the driver announces, so the test can say which states a killed driver may leave on disk.
//
// A frame's checksum covers its mask bytes and its FrameState; an object is its name, flags and one checksum per
// tilt; the auto-detected neighbours are one checksum of their labels (or null).
import type { Project } from '../../src-main/services/project';

/** FNV-1a over bytes, then over the characters of `tag`. */
export function checksum(bytes: ArrayBufferView, tag = ''): number {
  const b = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface ObjectState {
  name: string;
  visible: boolean;
  enabled: boolean;
  /** One checksum per tilt (mask + state). */
  sums: number[];
}

export interface ProjectState {
  objects: Map<number, ObjectState>;
  neighbours: number | null;
}

/**
 * One driver operation as announced before it runs (an "intent" line) and confirmed after (an "ack" line). `sums` are
 * the frames' checksums after the operation, `[tilt, checksum]`; `sum` the neighbours' checksum; a create's id is
 * known only from its ack (or, for one the kill cut short, from the reloaded project by its unique name).
 */
export interface KillOp {
  seq: number;
  op: 'create' | 'edit' | 'frames' | 'update' | 'delete' | 'nb';
  id?: number;
  name?: string;
  sums?: Array<[number, number]>;
  visible?: boolean;
  enabled?: boolean;
  sum?: number | null;
}

/** The neighbours' checksum; none and all-zero labels are the same (a project saves "none" as zeros). */
export function neighboursSum(labels: Uint16Array | null | undefined): number | null {
  return labels && labels.some((v) => v !== 0) ? checksum(labels) : null;
}

/** The checksums of a loaded project. */
export function snapshot(p: Project): ProjectState {
  const n = p.frameSize;
  const objects = new Map<number, ObjectState>();
  for (const o of p.objects.values()) {
    const sums = Array.from({ length: p.nTilts }, (_, t) => checksum(o.masks.subarray(t * n, (t + 1) * n), o.frameState[t]));
    objects.set(o.id, { name: o.name, visible: o.visible, enabled: o.enabled, sums });
  }
  return { objects, neighbours: neighboursSum(p.neighbours?.labels) };
}

function clone(s: ProjectState): ProjectState {
  const objects = new Map<number, ObjectState>();
  for (const [id, o] of s.objects) objects.set(id, { ...o, sums: [...o.sums] });
  return { objects, neighbours: s.neighbours };
}

/** `s` after `op` (a new state); a create takes `createdId`, and an empty object's frames `emptySum`. */
export function applyOp(s: ProjectState, op: KillOp, nTilts: number, emptySum: number, createdId?: number): ProjectState {
  const next = clone(s);
  const o = op.id !== undefined ? next.objects.get(op.id) : undefined;
  switch (op.op) {
    case 'create':
      if (createdId !== undefined) next.objects.set(createdId, { name: op.name!, visible: true, enabled: true, sums: new Array<number>(nTilts).fill(emptySum) });
      break;
    case 'edit':
    case 'frames':
      for (const [t, sum] of op.sums ?? []) if (o) o.sums[t] = sum;
      break;
    case 'update':
      if (o) Object.assign(o, { visible: op.visible, enabled: op.enabled });
      break;
    case 'delete':
      next.objects.delete(op.id!);
      break;
    case 'nb':
      next.neighbours = op.sum ?? null;
      break;
  }
  return next;
}

/** What differs between an expected and an actual state, one line each ([] when equal). */
export function differences(expected: ProjectState, actual: ProjectState): string[] {
  const out: string[] = [];
  for (const [id, e] of expected.objects) {
    const a = actual.objects.get(id);
    if (!a) {
      out.push(`object ${id} (${e.name}) is missing`);
      continue;
    }
    if (a.name !== e.name || a.visible !== e.visible || a.enabled !== e.enabled) out.push(`object ${id}: name/flags ${a.name}/${a.visible}/${a.enabled}, expected ${e.name}/${e.visible}/${e.enabled}`);
    e.sums.forEach((sum, t) => {
      if (a.sums[t] !== sum) out.push(`object ${id} tilt ${t}: frame checksum ${a.sums[t]}, expected ${sum}`);
    });
  }
  for (const [id, a] of actual.objects) if (!expected.objects.has(id)) out.push(`object ${id} (${a.name}) should not exist`);
  if (expected.neighbours !== actual.neighbours) out.push(`neighbours checksum ${actual.neighbours}, expected ${expected.neighbours}`);
  return out;
}
