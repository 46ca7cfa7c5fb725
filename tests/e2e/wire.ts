// The e2e harness's WebSocket framing. JSON text frames for plain messages; when a message carries
// ArrayBuffers or typed arrays it goes as one binary frame:
//   [u32 LE header length][header JSON, UTF-8][zero padding to 8][buffer 0][pad][buffer 1]…
// with each buffer replaced in the header by { "__buf": index, "type": constructor name }.

type BufferLike = ArrayBuffer | ArrayBufferView;
const VIEW_TYPES = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
} as const;
type ViewName = keyof typeof VIEW_TYPES;

interface BufferRef {
  __buf: number;
  type: ViewName | 'ArrayBuffer';
}

function isBufferRef(v: unknown): v is BufferRef {
  return typeof v === 'object' && v !== null && typeof (v as BufferRef).__buf === 'number' && 'type' in v;
}

function strip(value: unknown, buffers: BufferLike[]): unknown {
  if (value instanceof ArrayBuffer) {
    buffers.push(value);
    return { __buf: buffers.length - 1, type: 'ArrayBuffer' } satisfies BufferRef;
  }
  if (ArrayBuffer.isView(value)) {
    buffers.push(value);
    return { __buf: buffers.length - 1, type: value.constructor.name as ViewName } satisfies BufferRef;
  }
  if (Array.isArray(value)) return value.map((v) => strip(v, buffers));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = strip(v, buffers);
    return out;
  }
  return value;
}

function restore(value: unknown, buffers: ArrayBuffer[]): unknown {
  if (isBufferRef(value)) {
    const buffer = buffers[value.__buf]!;
    if (value.type === 'ArrayBuffer') return buffer;
    const View = VIEW_TYPES[value.type];
    return View === DataView ? new DataView(buffer) : new (View as new (b: ArrayBuffer) => ArrayBufferView)(buffer);
  }
  if (Array.isArray(value)) return value.map((v) => restore(v, buffers));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = restore(v, buffers);
    return out;
  }
  return value;
}

const pad8 = (n: number): number => (n + 7) & ~7;

/** Encodes a message as a string (no buffers) or one binary frame. */
export function encode(message: unknown): string | Uint8Array {
  const buffers: BufferLike[] = [];
  const header = strip(message, buffers);
  if (buffers.length === 0) return JSON.stringify(header);
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const sizes = buffers.map((b) => b.byteLength);
  let total = pad8(4 + headerBytes.length);
  for (const s of sizes) total += 8 + pad8(s);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes.length, true);
  out.set(headerBytes, 4);
  let offset = pad8(4 + headerBytes.length);
  buffers.forEach((b, i) => {
    // Each buffer is preceded by its byte length as a u64 (low 32 bits used).
    view.setUint32(offset, sizes[i]!, true);
    offset += 8;
    const bytes = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    out.set(bytes, offset);
    offset += pad8(sizes[i]!);
  });
  return out;
}

/** Decodes a text or binary frame made by `encode`. Buffers come back as fresh, aligned ArrayBuffers. */
export function decode(frame: string | ArrayBuffer | Uint8Array): unknown {
  if (typeof frame === 'string') return JSON.parse(frame);
  const bytes = frame instanceof Uint8Array ? frame : new Uint8Array(frame);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true);
  const header: unknown = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength)));
  const buffers: ArrayBuffer[] = [];
  let offset = pad8(4 + headerLength);
  while (offset < bytes.length) {
    const size = view.getUint32(offset, true);
    offset += 8;
    buffers.push(bytes.slice(offset, offset + size).buffer);
    offset += pad8(size);
  }
  return restore(header, buffers);
}
