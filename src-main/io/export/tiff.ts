import { NATIVE_LITTLE_ENDIAN } from '../../../src-shared/pixels';
// A minimal baseline TIFF writer for one grey-scale frame: little-endian, uncompressed, one sample per pixel,
// 32-bit IEEE float (SampleFormat 3) or 16-bit unsigned (SampleFormat 1), strips of about 64 KiB.
//
// Why not a package: utif2 (already a dev dependency) encodes only 8-bit RGBA images (`encodeImage`); its lower-level
// `encode` serialises IFDs alone — big-endian, into a fixed 20 kB buffer — and leaves placing the pixel data at a
// matching offset to the caller. Writing the handful of baseline tags here is shorter and makes the float vs
// unsigned and bit-depth tags explicit, which is what PETS2, Fiji and tifffile look at. utif2 stays the independent
// decoder in the tests.

export interface TiffOptions {
  /** ImageDescription (tag 270), ASCII: what the frame is and, for 16-bit, the scale used. */
  description?: string;
  /** Software (tag 305). */
  software?: string;
}

// Tag types: SHORT = 3, LONG = 4, ASCII = 2.
interface Entry {
  tag: number;
  type: 2 | 3 | 4;
  values: number[] | string;
}

const STRIP_TARGET_BYTES = 64 << 10;

/** Encodes `data` (row-major, width × height) as a TIFF file image. */
export function encodeTiff(data: Float32Array | Uint16Array, width: number, height: number, opts: TiffOptions = {}): Uint8Array {
  return encodeTiffPages([{ data, width, height, ...(opts.description ? { description: opts.description } : {}) }], opts.software);
}

export interface TiffPage {
  data: Float32Array | Uint16Array;
  width: number;
  height: number;
  description?: string;
}

/** Encodes several frames as one multi-page TIFF (an image stack, e.g. the virtual image of every tilt). */
export function encodeTiffPages(pages: readonly TiffPage[], software?: string): Uint8Array {
  if (pages.length === 0) throw new RangeError('a TIFF needs at least one page');
  // Each page: IFD | out-of-line values | pixel data, 4-byte aligned; IFDs chained through their next-IFD field.
  const blocks: Uint8Array[] = [];
  let offset = 8;
  const nextFields: number[] = [];
  for (const page of pages) {
    const { bytes, nextField } = encodePage(page, software, offset);
    blocks.push(bytes);
    nextFields.push(offset + nextField);
    offset += bytes.length;
  }
  const out = new Uint8Array(offset);
  const dv = new DataView(out.buffer);
  out[0] = 0x49; // 'I'
  out[1] = 0x49;
  dv.setUint16(2, 42, true);
  dv.setUint32(4, 8, true);
  let at = 8;
  blocks.forEach((b, i) => {
    out.set(b, at);
    at += b.length;
    dv.setUint32(nextFields[i]!, i + 1 < blocks.length ? at : 0, true);
  });
  return out;
}

/** One page placed at absolute file offset `base`; returns its bytes and where its next-IFD field is. */
function encodePage(page: TiffPage, software: string | undefined, base: number): { bytes: Uint8Array; nextField: number } {
  const { data, width, height } = page;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad TIFF size ${width}×${height}`);
  if (data.length !== width * height) throw new RangeError(`TIFF data has ${data.length} values for ${width}×${height}`);
  const isFloat = data instanceof Float32Array;
  const bps = isFloat ? 4 : 2;
  const rowBytes = width * bps;
  const rowsPerStrip = Math.max(1, Math.min(height, Math.floor(STRIP_TARGET_BYTES / rowBytes)));
  const nStrips = Math.ceil(height / rowsPerStrip);

  const entries: Entry[] = [
    { tag: 256, type: 4, values: [width] },
    { tag: 257, type: 4, values: [height] },
    { tag: 258, type: 3, values: [bps * 8] },
    { tag: 259, type: 3, values: [1] }, // no compression
    { tag: 262, type: 3, values: [1] }, // BlackIsZero
    ...(page.description ? [{ tag: 270, type: 2 as const, values: ascii(page.description) }] : []),
    { tag: 273, type: 4, values: new Array<number>(nStrips).fill(0) }, // strip offsets, filled below
    { tag: 277, type: 3, values: [1] },
    { tag: 278, type: 4, values: [rowsPerStrip] },
    { tag: 279, type: 4, values: Array.from({ length: nStrips }, (_, i) => Math.min(rowsPerStrip, height - i * rowsPerStrip) * rowBytes) },
    { tag: 284, type: 3, values: [1] }, // chunky (one sample anyway)
    ...(software ? [{ tag: 305, type: 2 as const, values: ascii(software) }] : []),
    { tag: 339, type: 3, values: [isFloat ? 3 : 1] }, // SampleFormat: IEEE float or unsigned integer
  ];

  const ifdBytes = 2 + entries.length * 12 + 4;
  let extra = ifdBytes;
  const outOfLine = new Map<Entry, number>();
  for (const e of entries) {
    const size = valueBytes(e);
    if (size > 4) {
      outOfLine.set(e, extra);
      extra += size + (size & 1);
    }
  }
  // Pixel data 4-byte aligned in the file (base is always a multiple of 4).
  const dataStart = (extra + 3) & ~3;
  const stripOffsets = entries.find((e) => e.tag === 273)!.values as number[];
  for (let i = 0; i < nStrips; i++) stripOffsets[i] = base + dataStart + i * rowsPerStrip * rowBytes;

  const total = (dataStart + data.length * bps + 3) & ~3;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let o = 0;
  dv.setUint16(o, entries.length, true);
  o += 2;
  for (const e of entries) {
    const count = typeof e.values === 'string' ? e.values.length : e.values.length;
    dv.setUint16(o, e.tag, true);
    dv.setUint16(o + 2, e.type, true);
    dv.setUint32(o + 4, count, true);
    const local = outOfLine.get(e);
    if (local !== undefined) {
      dv.setUint32(o + 8, base + local, true);
      writeValues(dv, local, e);
    } else writeValues(dv, o + 8, e);
    o += 12;
  }
  const nextField = o;
  dv.setUint32(o, 0, true);

  if (NATIVE_LITTLE_ENDIAN) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataStart);
  } else if (isFloat) {
    for (let i = 0; i < data.length; i++) dv.setFloat32(dataStart + 4 * i, data[i]!, true);
  } else {
    for (let i = 0; i < data.length; i++) dv.setUint16(dataStart + 2 * i, data[i]!, true);
  }
  return { bytes: out, nextField };
}

/** ASCII with the terminating NUL TIFF requires; non-ASCII characters become '?'. */
function ascii(s: string): string {
  return `${s.replace(/[^\x20-\x7e\n\t]/g, '?')}\0`;
}

function valueBytes(e: Entry): number {
  if (typeof e.values === 'string') return e.values.length;
  return e.values.length * (e.type === 3 ? 2 : 4);
}

function writeValues(dv: DataView, at: number, e: Entry): void {
  if (typeof e.values === 'string') {
    for (let i = 0; i < e.values.length; i++) dv.setUint8(at + i, e.values.charCodeAt(i));
    return;
  }
  e.values.forEach((v, i) => {
    if (e.type === 3) dv.setUint16(at + 2 * i, v, true);
    else dv.setUint32(at + 4 * i, v, true);
  });
}

/**
 * One scale for a whole frame series (so relative intensities between frames survive): the largest value maps to
 * `maxValue` (default 60000, leaving head-room below 65535 so that nothing real looks like an overflow).
 */
export function uint16Scale(frames: Float32Array, maxValue = 60000): number {
  let max = 0;
  for (let i = 0; i < frames.length; i++) if (frames[i] > max) max = frames[i];
  return max > 0 ? maxValue / max : 1;
}

/** Converts float data to uint16 with `scale` (a new array; the input is not touched). */
export function toUint16(data: Float32Array, scale: number, maxValue = 65535): { data: Uint16Array; clippedNegative: number; clippedHigh: number } {
  const out = new Uint16Array(data.length);
  let neg = 0;
  let high = 0;
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(data[i] * scale);
    if (v < 0 || Number.isNaN(v)) {
      if (v < 0) neg++;
      out[i] = 0;
    } else if (v > maxValue) {
      high++;
      out[i] = maxValue;
    } else out[i] = v;
  }
  return { data: out, clippedNegative: neg, clippedHigh: high };
}
