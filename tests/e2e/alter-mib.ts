// Damage a synthetic series the way real data goes wrong, in its Merlin .mib files (big-endian uint16 frames, each
// after its header), for the curation e2e: a tilt where the particle is gone (every frame replaced by a film-only
// frame: the tracker loses it), a tilt where it looks merged with a copy of itself (each probe position shows the
// more-scattering frame of itself and its neighbour d positions to the left: the mask's area jumps), and a tilt whose
// direct beam sits elsewhere on the detector (every frame shifted: the fitted beam centre is an outlier).
import { readFileSync, writeFileSync } from 'node:fs';

interface MibFrames {
  bytes: Buffer;
  header: number;
  stride: number;
  nq: number;
  count: number;
}

function frames(file: string, nq: number): MibFrames {
  const bytes = readFileSync(file);
  const header = Number(bytes.subarray(0, 64).toString('latin1').split(',')[2]);
  const stride = header + nq * nq * 2;
  return { bytes, header, stride, nq, count: Math.floor(bytes.length / stride) };
}

const pixel = (m: MibFrames, f: number, p: number): number => m.bytes.readUInt16BE(f * m.stride + m.header + 2 * p);

/** Counts outside the central disk of radius nq/5 (the frame's scattering), per frame. */
function scattering(m: MibFrames): Float64Array {
  const out = new Float64Array(m.count);
  const c = (m.nq - 1) / 2;
  for (let f = 0; f < m.count; f++) {
    for (let p = 0; p < m.nq * m.nq; p++) {
      const y = Math.floor(p / m.nq) - c;
      const x = (p % m.nq) - c;
      if (x * x + y * y > (m.nq / 5) ** 2) out[f] += pixel(m, f, p);
    }
  }
  return out;
}

function copyFrame(m: MibFrames, from: Buffer, f: number, to: number): void {
  from.copy(m.bytes, to * m.stride + m.header, f * m.stride + m.header, f * m.stride + m.stride);
}

/** Every frame replaced by the least-scattering one (film only): the particle is gone from this tilt. */
export function removeParticle(file: string, nq: number): void {
  const m = frames(file, nq);
  const s = scattering(m);
  let film = 0;
  for (let f = 1; f < m.count; f++) if (s[f]! < s[film]!) film = f;
  const src = Buffer.from(m.bytes);
  for (let f = 0; f < m.count; f++) copyFrame(m, src, film, f);
  writeFileSync(file, m.bytes);
}

/**
 * Each probe position shows the more-scattering of its own frame and the frame `shift` positions to its left, with
 * `shift` about 0.8 of the particle's width (from the data): the particle and a copy beside it, one blob ~1.8× as
 * large. Returns the shift used.
 */
export function mergeWithCopy(file: string, nq: number, scanWidth: number, factor = 0.8, diagonal = false): number {
  const m = frames(file, nq);
  const s = scattering(m);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of s) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  let x0 = scanWidth;
  let x1 = -1;
  for (let f = 0; f < m.count; f++) {
    if (s[f]! > (lo + hi) / 2) {
      x0 = Math.min(x0, f % scanWidth);
      x1 = Math.max(x1, f % scanWidth);
    }
  }
  const shift = Math.max(1, Math.round(factor * (x1 - x0 + 1)));
  const src = Buffer.from(m.bytes);
  const step = diagonal ? shift * scanWidth + shift : shift;
  for (let f = 0; f < m.count; f++) {
    const x = f % scanWidth;
    if (x >= shift && f >= step && s[f - step]! > s[f]!) copyFrame(m, src, f - step, f);
  }
  writeFileSync(file, m.bytes);
  return shift;
}

/** Every frame's pixels moved `dx` detector pixels to the right (wrapping round): the direct beam with them. */
export function shiftBeam(file: string, nq: number, dx: number): void {
  const m = frames(file, nq);
  const row = Buffer.alloc(nq * 2);
  for (let f = 0; f < m.count; f++) {
    for (let y = 0; y < nq; y++) {
      const at = f * m.stride + m.header + y * nq * 2;
      for (let x = 0; x < nq; x++) row.writeUInt16BE(m.bytes.readUInt16BE(at + 2 * x), 2 * ((x + dx) % nq));
      row.copy(m.bytes, at);
    }
  }
  writeFileSync(file, m.bytes);
}

/**
 * The particle grown by `radius` probe positions on every side (each probe position shows the most-scattering frame
 * within that distance): on this tilt it covers about twice the probe positions it covers on the others.
 */
export function growParticle(file: string, nq: number, scanWidth: number, radius: number): void {
  const m = frames(file, nq);
  const s = scattering(m);
  const src = Buffer.from(m.bytes);
  const rows = Math.floor(m.count / scanWidth);
  for (let f = 0; f < m.count; f++) {
    const x = f % scanWidth;
    const y = Math.floor(f / scanWidth);
    let best = f;
    for (let dy = -radius; dy <= radius; dy++) {
      for (let dx = -radius; dx <= radius; dx++) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx < 0 || yy < 0 || xx >= scanWidth || yy >= rows || dx * dx + dy * dy > radius * radius) continue;
        const g = yy * scanWidth + xx;
        if (s[g]! > s[best]!) best = g;
      }
    }
    if (best !== f) copyFrame(m, src, best, f);
  }
  writeFileSync(file, m.bytes);
}
