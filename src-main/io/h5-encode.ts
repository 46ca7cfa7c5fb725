// An HDF5 file of named arrays, encoded here rather than through h5wasm: loading and initialising the HDF5 library
// costs ~90 ms of this thread before the first byte is written, which dominated small jobs (a `tracked virtual`
// run on a tiny series spent more time there than on its pass). What these files hold is narrow — groups, contiguous
// little-endian arrays of uint8/uint16/float32/float64, and scalar or 1-D attributes (UTF-8 strings, float64) — and
// it is written in the format HDF5 1.10+ itself writes with libver 'latest' (and h5wasm writes): superblock
// version 2, version-2 object headers with compact links, variable-length UTF-8 strings in one global heap. Every
// reader since HDF5 1.8 (h5py, h5wasm, MATLAB, HDFView) opens it; tests read it back with h5wasm and h5py.
//
// The encoder returns the file as a list of byte chunks in order: the metadata it built and, unchanged, views of
// the caller's arrays (nothing is copied on little-endian hosts), so a large stack costs no second copy.

import { NATIVE_LITTLE_ENDIAN } from '../../src-shared/pixels';
import { swapBytesInPlace } from './util';

export type H5AttrValue = string | number | Float64Array;

export interface H5Array {
  /** Dataset path; groups on the way ('virtual/adf') are created. */
  name: string;
  data: Uint8Array | Uint16Array | Float32Array | Float64Array;
  shape: number[];
  attrs?: Record<string, H5AttrValue>;
}

const UNDEF = 0xffff_ffff_ffff_ffffn;
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** The smallest global heap collection HDF5 writes (H5HG_MINSIZE). */
const GLOBAL_HEAP_MIN = 4096;

const MSG = { dataspace: 0x01, linkInfo: 0x02, datatype: 0x03, fillValue: 0x05, link: 0x06, layout: 0x08, groupInfo: 0x0a, attribute: 0x0c } as const;

// ── Checksum: Bob Jenkins' lookup3 hashlittle, which HDF5 uses for every version-2 structure (H5_checksum_lookup3).

const rot = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** lookup3 hashlittle of `data` with initval 0, as an unsigned 32-bit number. */
export function lookup3(data: Uint8Array): number {
  let length = data.length;
  let a = (0xdeadbeef + length) | 0;
  let b = a;
  let c = a;
  let k = 0;
  const word = (i: number): number => data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
  while (length > 12) {
    a = (a + word(k)) | 0;
    b = (b + word(k + 4)) | 0;
    c = (c + word(k + 8)) | 0;
    a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0;
    length -= 12;
    k += 12;
  }
  if (length === 0) return c >>> 0;
  // The tail, zero-padded to 12 bytes (the reference's fall-through switch).
  const tail = new Uint8Array(12);
  tail.set(data.subarray(k, k + length));
  const t = (i: number): number => tail[i]! | (tail[i + 1]! << 8) | (tail[i + 2]! << 16) | (tail[i + 3]! << 24);
  a = (a + t(0)) | 0;
  b = (b + t(4)) | 0;
  c = (c + t(8)) | 0;
  c ^= b; c = (c - rot(b, 14)) | 0;
  a ^= c; a = (a - rot(c, 11)) | 0;
  b ^= a; b = (b - rot(a, 25)) | 0;
  c ^= b; c = (c - rot(b, 16)) | 0;
  a ^= c; a = (a - rot(c, 4)) | 0;
  b ^= a; b = (b - rot(a, 14)) | 0;
  c ^= b; c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

// ── Little-endian byte building.

class Bytes {
  private readonly out: number[] = [];
  get length(): number {
    return this.out.length;
  }
  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: number | bigint): this {
    const x = BigInt(v);
    return this.u32(Number(x & 0xffff_ffffn)).u32(Number(x >> 32n));
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.out.push(b[i]!);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.out.push(0);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const pad8 = (n: number): number => (n + 7) & ~7;

// ── Messages.

function fixedPointType(size: 1 | 2): Uint8Array {
  return new Bytes().u8(0x10).zeros(3).u32(size).u16(0).u16(8 * size).bytes();
}

function floatType(size: 4 | 8): Uint8Array {
  const [sign, exponentAt, exponentBits, mantissaBits, bias] = size === 4 ? [31, 23, 8, 23, 127] : [63, 52, 11, 52, 1023];
  // Little-endian, no padding, implied leading mantissa bit (0x20).
  return new Bytes().u8(0x11).u8(0x20).u8(sign).u8(0).u32(size).u16(0).u16(8 * size).u8(exponentAt).u8(exponentBits).u8(0).u8(mantissaBits).u32(bias).bytes();
}

/** Variable-length UTF-8 string over unsigned bytes (what h5py and h5wasm write for str attributes). */
function vlenStringType(): Uint8Array {
  return new Bytes().u8(0x19).u8(0x01).u8(0x01).u8(0).u32(16).raw(fixedPointType(1)).bytes();
}

function arrayType(data: H5Array['data']): Uint8Array {
  if (data instanceof Uint8Array) return fixedPointType(1);
  if (data instanceof Uint16Array) return fixedPointType(2);
  return floatType(data instanceof Float32Array ? 4 : 8);
}

function dataspace(dims: readonly number[] | null): Uint8Array {
  if (!dims) return new Bytes().u8(2).u8(0).u8(0).u8(0).bytes();
  const b = new Bytes().u8(2).u8(dims.length).u8(0).u8(1);
  for (const d of dims) b.u64(d);
  return b.bytes();
}

interface Message {
  type: number;
  body: Uint8Array;
}

/** `b`'s bytes followed by their lookup3 checksum (little-endian), as every version-2 structure ends. */
function withChecksum(b: Bytes): Uint8Array {
  return b.u32(lookup3(b.bytes())).bytes();
}

function objectHeader(messages: readonly Message[]): Uint8Array {
  const size = messages.reduce((a, m) => a + 4 + m.body.length, 0);
  // Flags 2: the size of chunk 0 is a 4-byte field; no times, no attribute creation order.
  const b = new Bytes().raw(utf8('OHDR')).u8(2).u8(2).u32(size);
  for (const m of messages) b.u8(m.type).u16(m.body.length).u8(0).raw(m.body);
  return withChecksum(b);
}

// ── The tree of groups and datasets.

interface GroupNode {
  kind: 'group';
  children: Map<string, GroupNode | DatasetNode>;
  attrs: Record<string, H5AttrValue>;
  address: number;
  size: number;
}

interface DatasetNode {
  kind: 'dataset';
  array: H5Array;
  attrs: Record<string, H5AttrValue>;
  address: number;
  size: number;
  dataAddress: number;
}

function buildTree(arrays: readonly H5Array[], fileAttrs: Record<string, H5AttrValue>): GroupNode {
  const root: GroupNode = { kind: 'group', children: new Map(), attrs: fileAttrs, address: 0, size: 0 };
  for (const a of arrays) {
    const parts = a.name.split('/').filter(Boolean);
    if (parts.length === 0) throw new Error(`HDF5 dataset name '${a.name}' is empty`);
    const count = a.shape.reduce((p, d) => p * d, 1);
    if (a.shape.some((d) => !Number.isInteger(d) || d < 0) || count !== a.data.length) {
      throw new Error(`HDF5 dataset ${a.name}: shape [${a.shape.join(', ')}] does not hold its ${a.data.length} values`);
    }
    let g = root;
    for (const p of parts.slice(0, -1)) {
      let next = g.children.get(p);
      if (!next) g.children.set(p, (next = { kind: 'group', children: new Map(), attrs: {}, address: 0, size: 0 }));
      if (next.kind !== 'group') throw new Error(`HDF5 path ${a.name}: '${p}' is a dataset, not a group`);
      g = next;
    }
    const leaf = parts[parts.length - 1]!;
    if (g.children.has(leaf)) throw new Error(`HDF5 path ${a.name} is given twice`);
    g.children.set(leaf, { kind: 'dataset', array: a, attrs: a.attrs ?? {}, address: 0, size: 0, dataAddress: 0 });
  }
  return root;
}

function walk(g: GroupNode, visit: (n: GroupNode | DatasetNode) => void): void {
  visit(g);
  for (const c of g.children.values()) {
    if (c.kind === 'group') walk(c, visit);
    else visit(c);
  }
}

/** The global heap: every string attribute value once, with its object index. */
class GlobalHeap {
  address = 0;
  readonly index = new Map<string, number>();
  private readonly values: Uint8Array[] = [];
  add(s: string): void {
    if (this.index.has(s)) return;
    this.values.push(utf8(s));
    this.index.set(s, this.values.length);
  }
  get size(): number {
    if (this.values.length === 0) return 0;
    const used = 16 + this.values.reduce((a, v) => a + 16 + pad8(v.length), 0);
    // Room for the free-space object that closes the collection.
    return Math.max(GLOBAL_HEAP_MIN, used + 16);
  }
  encode(): Uint8Array {
    const size = this.size;
    const b = new Bytes().raw(utf8('GCOL')).u8(1).zeros(3).u64(size);
    this.values.forEach((v, i) => b.u16(i + 1).u16(0).u32(0).u64(v.length).raw(v).zeros(pad8(v.length) - v.length));
    const free = size - b.length;
    b.u16(0).u16(0).u32(0).u64(free).zeros(free - 16);
    return b.bytes();
  }
  length(s: string): number {
    return this.values[this.index.get(s)! - 1]!.length;
  }
}

function attributeMessages(attrs: Record<string, H5AttrValue>, heap: GlobalHeap): Message[] {
  return Object.entries(attrs).map(([name, v]) => {
    const nameBytes = utf8(name);
    let type: Uint8Array;
    let space: Uint8Array;
    let data: Uint8Array;
    if (typeof v === 'string') {
      type = vlenStringType();
      space = dataspace(null);
      data = new Bytes().u32(heap.length(v)).u64(heap.address).u32(heap.index.get(v)!).bytes();
    } else if (typeof v === 'number') {
      type = floatType(8);
      space = dataspace(null);
      data = littleEndianBytes(Float64Array.of(v));
    } else {
      type = floatType(8);
      space = dataspace([v.length]);
      data = littleEndianBytes(v);
    }
    // Version 3: name (null-terminated, UTF-8), datatype, dataspace and the value, unpadded.
    const body = new Bytes().u8(3).u8(0).u16(nameBytes.length + 1).u16(type.length).u16(space.length).u8(1)
      .raw(nameBytes).u8(0).raw(type).raw(space).raw(data).bytes();
    return { type: MSG.attribute, body };
  });
}

function groupHeader(g: GroupNode, heap: GlobalHeap): Uint8Array {
  const messages: Message[] = [
    // Link info: no creation order, no dense storage (every link is a message in this header).
    { type: MSG.linkInfo, body: new Bytes().u8(0).u8(0).u64(UNDEF).u64(UNDEF).bytes() },
    { type: MSG.groupInfo, body: new Bytes().u8(0).u8(0).bytes() },
  ];
  for (const [name, child] of g.children) {
    const n = utf8(name);
    if (n.length > 0xffff) throw new Error(`HDF5 link name too long (${n.length} bytes)`);
    const wide = n.length > 0xff;
    // Version 1; flags: the name's length in 1 or 2 bytes, its character set given (UTF-8); a hard link.
    const b = new Bytes().u8(1).u8(0x10 | (wide ? 1 : 0)).u8(1);
    if (wide) b.u16(n.length);
    else b.u8(n.length);
    messages.push({ type: MSG.link, body: b.raw(n).u64(child.address).bytes() });
  }
  return objectHeader([...messages, ...attributeMessages(g.attrs, heap)]);
}

function datasetHeader(d: DatasetNode, heap: GlobalHeap): Uint8Array {
  const bytes = d.array.data.byteLength;
  return objectHeader([
    { type: MSG.dataspace, body: dataspace(d.array.shape) },
    { type: MSG.datatype, body: arrayType(d.array.data) },
    // Version 3: space allocated late, fill value written only if set (none is): the data below is the dataset.
    { type: MSG.fillValue, body: new Bytes().u8(3).u8(0x0a).bytes() },
    // Version 3, contiguous.
    { type: MSG.layout, body: new Bytes().u8(3).u8(1).u64(bytes > 0 ? d.dataAddress : UNDEF).u64(bytes).bytes() },
    ...attributeMessages(d.attrs, heap),
  ]);
}

/** The array's bytes in little-endian order: a view on little-endian hosts, a swapped copy elsewhere. */
function littleEndianBytes(a: H5Array['data']): Uint8Array {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (NATIVE_LITTLE_ENDIAN || a.BYTES_PER_ELEMENT === 1) return view;
  const out = new Uint8Array(view);
  swapBytesInPlace(out, a.BYTES_PER_ELEMENT);
  return out;
}

/**
 * The HDF5 file holding `arrays` (groups created on the way) and `fileAttrs` on the root group, as byte chunks in
 * file order. Throws on an empty name, a path given twice, a dataset where a group is needed, or a shape that does
 * not match the data.
 */
export function encodeH5(arrays: readonly H5Array[], fileAttrs: Record<string, H5AttrValue> = {}): Uint8Array[] {
  const root = buildTree(arrays, fileAttrs);
  const heap = new GlobalHeap();
  const nodes: Array<GroupNode | DatasetNode> = [];
  walk(root, (n) => {
    nodes.push(n);
    for (const v of Object.values(n.attrs)) if (typeof v === 'string') heap.add(v);
  });
  // Sizes do not depend on addresses (all 8 bytes), so one pass sizes every header, the next places them.
  const encode = (n: GroupNode | DatasetNode): Uint8Array => (n.kind === 'group' ? groupHeader(n, heap) : datasetHeader(n, heap));
  for (const n of nodes) n.size = encode(n).length;
  let at = 48;
  heap.address = heap.size > 0 ? at : 0;
  at += heap.size;
  for (const n of nodes) {
    n.address = at;
    at += n.size;
  }
  at = pad8(at);
  const metaEnd = at;
  for (const n of nodes) {
    if (n.kind !== 'dataset') continue;
    n.dataAddress = at;
    at = pad8(at + n.array.data.byteLength);
  }
  const chunks = [withChecksum(new Bytes().raw(SIGNATURE).u8(2).u8(8).u8(8).u8(0).u64(0).u64(UNDEF).u64(at).u64(root.address))];
  if (heap.size > 0) chunks.push(heap.encode());
  for (const n of nodes) chunks.push(encode(n));
  let written = chunks.reduce((a, c) => a + c.length, 0);
  chunks.push(new Uint8Array(metaEnd - written));
  written = metaEnd;
  for (const n of nodes) {
    if (n.kind !== 'dataset') continue;
    const data = littleEndianBytes(n.array.data);
    chunks.push(data);
    written += data.length;
    if (pad8(written) > written) chunks.push(new Uint8Array(pad8(written) - written));
    written = pad8(written);
  }
  return chunks;
}
