// One file for structured results with typed arrays (an extraction, a processing state): the project keeps what
// took minutes to compute, and a person's decisions, across restarts. JSON alone would turn NaN into null and cost
// a third more space for the arrays (base64), so the arrays go into a binary section after the JSON.
//
// Layout (little-endian):
//   0   'TRKR'                 magic
//   4   u32 format version     (RESULTS_FORMAT_VERSION)
//   8   u32 JSON byte length   n
//   12  u32 binary byte length m
//   16  JSON (UTF-8, n bytes): the value, each typed array replaced by { "$typed": name, "at": offset, "n": length }
//       and each non-finite number by { "$num": "NaN" | "Infinity" | "-Infinity" }
//   16 + n, padded to 8: the binary section (m bytes; each array 8-byte aligned)
//   end − 32: SHA-256 of everything before it
// A file that fails any check (magic, lengths, checksum, JSON, a reference out of bounds) is an InputError that
// names the file: the caller treats the results as absent, never as half-read.
import { createHash } from 'node:crypto';
import { InputError } from '../../src-shared/errors';

export const RESULTS_FORMAT_VERSION = 1;
const MAGIC = 0x524b5254; // 'TRKR' read as a little-endian u32
const HEADER_BYTES = 16;
const HASH_BYTES = 32;

const TYPED = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
} as const;
type TypedName = keyof typeof TYPED;
type AnyTyped = InstanceType<(typeof TYPED)[TypedName]>;

const align8 = (n: number): number => (n + 7) & ~7;

function typedName(v: unknown): TypedName | null {
  if (!ArrayBuffer.isView(v) || v instanceof DataView) return null;
  const name = v.constructor.name as TypedName;
  return name in TYPED ? name : null;
}

/** The value as bytes (see the layout above). Plain data only: objects, arrays, strings, numbers, booleans, null, typed arrays. */
export function encodeResults(value: unknown): Uint8Array {
  const arrays: AnyTyped[] = [];
  let binaryBytes = 0;
  const json = JSON.stringify(value, (key: string, v: unknown) => {
    const name = typedName(v);
    if (name) {
      const a = v as AnyTyped;
      const at = binaryBytes;
      arrays.push(a);
      binaryBytes = align8(binaryBytes + a.byteLength);
      return { $typed: name, at, n: a.length };
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
    if (v instanceof Map || v instanceof Set || typeof v === 'function') throw new TypeError(`results hold a ${typeof v === 'function' ? 'function' : v.constructor.name} at "${key}"`);
    return v;
  });
  const jsonBytes = Buffer.from(json ?? 'null', 'utf8');
  const binStart = align8(HEADER_BYTES + jsonBytes.length);
  const total = binStart + binaryBytes + HASH_BYTES;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, RESULTS_FORMAT_VERSION, true);
  view.setUint32(8, jsonBytes.length, true);
  view.setUint32(12, binaryBytes, true);
  out.set(jsonBytes, HEADER_BYTES);
  let at = binStart;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at = align8(at + a.byteLength);
  }
  out.set(createHash('sha256').update(out.subarray(0, total - HASH_BYTES)).digest(), total - HASH_BYTES);
  return out;
}

/** The value encodeResults wrote; an InputError naming `file` for anything that is not such a file, intact. */
export function decodeResults(bytes: Uint8Array, file: string): unknown {
  const bad = (why: string): InputError => new InputError(file, `not a readable trackED results file (${why})`);
  if (bytes.length < HEADER_BYTES + HASH_BYTES) throw bad(`${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw bad('wrong signature');
  const version = view.getUint32(4, true);
  if (version !== RESULTS_FORMAT_VERSION) throw bad(`format version ${version}; this trackED reads ${RESULTS_FORMAT_VERSION}`);
  const jsonLength = view.getUint32(8, true);
  const binaryLength = view.getUint32(12, true);
  const binStart = align8(HEADER_BYTES + jsonLength);
  if (binStart + binaryLength + HASH_BYTES !== bytes.length) throw bad(`its sections add up to ${binStart + binaryLength + HASH_BYTES} bytes, the file has ${bytes.length} (cut short?)`);
  const digest = createHash('sha256').update(bytes.subarray(0, bytes.length - HASH_BYTES)).digest();
  if (!digest.equals(Buffer.from(bytes.buffer, bytes.byteOffset + bytes.length - HASH_BYTES, HASH_BYTES))) throw bad('checksum mismatch');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + HEADER_BYTES, jsonLength).toString('utf8'));
  } catch {
    throw bad('its header is not JSON');
  }
  return revive(parsed, bytes, binStart, binaryLength, bad);
}

function revive(v: unknown, bytes: Uint8Array, binStart: number, binaryLength: number, bad: (why: string) => InputError): unknown {
  if (Array.isArray(v)) return v.map((x) => revive(x, bytes, binStart, binaryLength, bad));
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if (typeof o['$num'] === 'string') {
    const n = Number(o['$num']);
    if (!Number.isNaN(n) || o['$num'] === 'NaN') return n;
    throw bad(`a number written as ${JSON.stringify(o['$num'])}`);
  }
  if (typeof o['$typed'] === 'string') {
    const name = o['$typed'] as TypedName;
    const at = o['at'];
    const n = o['n'];
    if (!(name in TYPED) || !Number.isInteger(at) || !Number.isInteger(n) || (at as number) < 0 || (n as number) < 0) throw bad('a malformed array reference');
    const Ctor = TYPED[name];
    const byteLength = (n as number) * Ctor.BYTES_PER_ELEMENT;
    if ((at as number) % 8 !== 0 || (at as number) + byteLength > binaryLength) throw bad(`an array of ${n as number} ${name} elements beyond the data`);
    // A copy: the caller may keep these arrays while the file's buffer goes.
    const copy = new Uint8Array(byteLength);
    copy.set(bytes.subarray(binStart + (at as number), binStart + (at as number) + byteLength));
    return new Ctor(copy.buffer);
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = revive(x, bytes, binStart, binaryLength, bad);
  return out;
}
