// Quantum Detectors Merlin .mib (+ .hdr) reader (FORMATS §2). A .mib file is a sequence of
// frames, each an ASCII header (size given in the header itself, NUL-padded) followed by big-endian
// pixels (U08/U16/U32), or bit-packed "raw" counters (R64) in 64-bit words with reversed byte order.
// Processed frames are streamed with plain fs reads (DirectLayout kind 'mib'); raw frames are read the
// same way and unpacked here. Every frame header that passes through a read is checked against the
// first one, so a corrupt or mixed-depth frame fails that read with an InputError naming it.

import { open, readFile, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { InputError, UnsupportedError, throwIfAborted } from '../../src-shared/errors.js';
import { DirectFrameReader, checkRange } from './direct.js';
import type { DirectLayout, FourDSource, ScanShapeOrigin } from './types.js';
import { decideScanShape, readExactly } from './util.js';
import { type PixelArray, type PixelDType, allocPixels } from '../../src-shared/pixels';
import type { Calibration } from '../../src-shared/domain';

export interface MibChipDacs {
  /** Chip type label in the header, e.g. "3RX" (Medipix3RX). */
  chipType: string;
  dacs: number[];
}

/** Every field of a Merlin per-frame header. */
export interface MibFrameHeader {
  /** "MQ1". */
  id: string;
  /** 1-based frame counter. */
  sequence: number;
  /** Header size in bytes = offset of the pixel data from the frame start. */
  headerBytes: number;
  chips: number;
  /** Pixel columns as written (raw quad: 4 chips in a row, e.g. 1024). */
  width: number;
  /** Pixel rows as written. */
  height: number;
  /** "U08", "U16", "U32", "R64" (or "U01"). */
  pixelType: string;
  /** e.g. "1x1", "2x2", "Nx1", "2x2G" (leading spaces removed). */
  sensorLayout: string;
  /** Enabled chips, hex bit mask. */
  chipSelect: number;
  /** Local acquisition time, e.g. "2021-04-15 14:43:47.008505". */
  timestampLocal: string;
  /** Shutter (exposure) time, seconds. */
  shutterS: number;
  counter: number;
  colourMode: number;
  gainMode: number;
  /** Thresholds 0–7, keV. */
  thresholdsKeV: number[];
  chipDacs: MibChipDacs[];
  /** Extended header id ("MQ1A"), when present. */
  extendedId?: string;
  /** UTC timestamp with ns resolution, e.g. "2021-04-15T13:43:47.008505401Z". */
  timestampUtc?: string;
  /** Exposure from the extended header, ns. */
  exposureNs?: number;
  /** Counter depth in bits: 1, 6, 12 or 24. */
  counterDepth: number;
}

/** A Merlin frame header must start with this. */
const MAGIC = 'MQ1,';

function int(file: string, field: string, s: string | undefined): number {
  const v = Number((s ?? '').trim());
  if (!Number.isInteger(v)) throw new InputError(file, `MIB header field "${field}" is not an integer ("${s ?? ''}")`);
  return v;
}

/** Parses a Merlin frame header (the bytes of one header, NUL padding included). */
export function parseMibHeader(file: string, bytes: Uint8Array): MibFrameHeader {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  if (!text.startsWith(MAGIC)) throw new InputError(file, 'not a Merlin .mib frame header (does not start with "MQ1,")');
  const nul = text.indexOf('\0');
  const parts = (nul >= 0 ? text.slice(0, nul) : text).split(',');
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length < 22) throw new InputError(file, `MIB header has only ${parts.length} fields (cut short, or header size wrong)`);
  const headerBytes = int(file, 'header size', parts[2]);
  const h: MibFrameHeader = {
    id: parts[0]!,
    sequence: int(file, 'sequence number', parts[1]),
    headerBytes,
    chips: int(file, 'number of chips', parts[3]),
    width: int(file, 'width', parts[4]),
    height: int(file, 'height', parts[5]),
    pixelType: parts[6]!.trim().toUpperCase(),
    sensorLayout: parts[7]!.trim(),
    chipSelect: parseInt(parts[8]!.trim(), 16),
    timestampLocal: parts[9]!.trim(),
    shutterS: Number(parts[10]),
    counter: Number(parts[11]),
    colourMode: Number(parts[12]),
    gainMode: Number(parts[13]),
    thresholdsKeV: parts.slice(14, 22).map(Number),
    chipDacs: [],
    counterDepth: 0,
  };
  const ext = parts.indexOf('MQ1A', 22);
  const dacEnd = ext >= 0 ? ext : parts.length - 1;
  for (let i = 22; i < dacEnd; i++) {
    const t = parts[i]!.trim();
    if (!/^\d+$/.test(t)) h.chipDacs.push({ chipType: t, dacs: [] });
    else h.chipDacs[h.chipDacs.length - 1]?.dacs.push(Number(t));
  }
  if (ext >= 0) {
    h.extendedId = 'MQ1A';
    h.timestampUtc = parts[ext + 1]?.trim();
    const ns = /^(\d+)ns$/.exec(parts[ext + 2]?.trim() ?? '');
    if (ns) h.exposureNs = Number(ns[1]);
    h.counterDepth = int(file, 'counter depth', parts[ext + 3]);
  } else {
    // Older firmware: no extended header; the counter depth is the last field.
    h.counterDepth = int(file, 'counter depth', parts[parts.length - 1]);
  }
  if (h.headerBytes < MAGIC.length || h.headerBytes > 1 << 20) throw new InputError(file, `MIB header size ${h.headerBytes} is not plausible`);
  if (nul < 0 && bytes.length >= h.headerBytes) {
    // Fields filling the whole header with no NUL padding means the size field is too small.
    throw new InputError(file, `MIB header text runs to the end of the ${h.headerBytes}-byte header (header size field wrong?)`);
  }
  if (h.width <= 0 || h.height <= 0) throw new InputError(file, `MIB frame size ${h.width}×${h.height} is not plausible`);
  return h;
}

/** Parses a Merlin .hdr acquisition header ("Key:\tValue" lines between "HDR," and "End"). */
export function parseHdr(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('HDR') || line.startsWith('End')) continue;
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const k = line.slice(0, tab).trim().replace(/:$/, '');
    out[k] = line.slice(tab + 1).replace(/\0/g, '').trim();
  }
  return out;
}

/** What the file holds per frame and how it becomes pixels. */
interface MibGeometry {
  raw: boolean;
  dtype: PixelDType;
  /** Bytes of pixel data per frame in the file. */
  dataBytes: number;
  /** Output frame [rows, cols]. */
  detectorShape: [number, number];
  quad: boolean;
}

/** Works out the frame geometry from the first header (errors for combinations not supported). */
export function mibGeometry(file: string, h: MibFrameHeader): MibGeometry {
  const W = h.width;
  const H = h.height;
  const layout = h.sensorLayout.replace(/G$/i, '');
  switch (h.pixelType) {
    case 'U08':
      return { raw: false, dtype: 'uint8', dataBytes: W * H, detectorShape: [H, W], quad: false };
    case 'U16':
      return { raw: false, dtype: 'uint16', dataBytes: 2 * W * H, detectorShape: [H, W], quad: false };
    case 'U32':
      return { raw: false, dtype: 'uint32', dataBytes: 4 * W * H, detectorShape: [H, W], quad: false };
    case 'R64': {
      const quad = h.chips === 4 && layout === '2x2';
      if (h.chips > 1 && !quad) throw new UnsupportedError(`${file}: raw MIB with ${h.chips} chips in layout ${h.sensorLayout} is not supported (only 1x1 and 2x2)`, { file });
      const d = h.counterDepth;
      if (d === 24 && quad) throw new UnsupportedError(`${file}: 24-bit raw MIB from a quad (2x2) detector is not supported`, { file });
      // Raw 24-bit frames are two 12-bit frames one after the other; the header counts both in the width.
      const cols = d === 24 ? W / 2 : W;
      const px = cols * H;
      const dataBytes = d === 1 ? px / 8 : d === 6 ? px : d === 12 ? 2 * px : d === 24 ? 4 * px : NaN;
      if (!Number.isInteger(dataBytes)) throw new InputError(file, `raw MIB counter depth ${d} is not 1, 6, 12 or 24`);
      const dtype: PixelDType = d <= 6 ? 'uint8' : d === 12 ? 'uint16' : 'uint32';
      // Quad raw: 4 chips in a row (e.g. 1024×256) become a 2×2 mosaic (512×512).
      const detectorShape: [number, number] = quad ? [2 * H, cols / 2] : [H, cols];
      return { raw: true, dtype, dataBytes, detectorShape, quad };
    }
    case 'U01':
      throw new UnsupportedError(`${file}: MIB pixel type U01 (bit-packed processed data) is not supported; 1-bit data saved as U08 is`, { file });
    default:
      throw new InputError(file, `unknown MIB pixel type "${h.pixelType}"`);
  }
}

/**
 * Unpacks `npx` raw pixels of counter depth 1, 6 or 12 from `inp` into `out[at…]` (reversed when `flip`).
 * Raw data come as 64-bit words with their bytes reversed: 1-bit pixels 64 per word (LSB first within
 * each byte), 6-bit pixels one per byte reversed in groups of 8, 12-bit pixels as big-endian u16
 * reversed in groups of 4 (LiberTEM's decode_r1_swap / decode_r6_swap / decode_r12_swap).
 */
export function decodeRawSegment(depth: number, inp: Uint8Array, npx: number, out: Uint8Array | Uint16Array | Uint32Array, at: number, flip: boolean): void {
  const put = flip ? (i: number, v: number) => (out[at + npx - 1 - i] = v) : (i: number, v: number) => (out[at + i] = v);
  if (depth === 1) {
    for (let stripe = 0; stripe < npx / 64; stripe++) {
      for (let byte = 0; byte < 8; byte++) {
        const b = inp[(stripe + 1) * 8 - (byte + 1)]!;
        const base = 64 * stripe + 8 * byte;
        for (let bit = 0; bit < 8; bit++) put(base + bit, (b >> bit) & 1);
      }
    }
  } else if (depth === 6) {
    for (let i = 0; i < npx; i++) put(((i >> 3) + 1) * 8 - (i & 7) - 1, inp[i]!);
  } else if (depth === 12) {
    for (let i = 0; i < npx; i++) put(((i >> 2) + 1) * 4 - (i & 3) - 1, (inp[2 * i]! << 8) | inp[2 * i + 1]!);
  } else {
    throw new RangeError(`raw depth ${depth}`);
  }
}

/** Decodes one raw frame (the bytes after its header) into `out[at…]`. */
export function decodeRawFrame(h: MibFrameHeader, g: MibGeometry, data: Uint8Array, out: Uint8Array | Uint16Array | Uint32Array, at: number): void {
  const d = h.counterDepth;
  const [rows, cols] = g.detectorShape;
  if (d === 24) {
    // Most significant 12 bits first, then the least significant 12 bits, each a 12-bit raw frame.
    const half = data.length / 2;
    const hi = new Uint16Array(rows * cols);
    const lo = new Uint16Array(rows * cols);
    decodeRawSegment(12, data.subarray(0, half), rows * cols, hi, 0, false);
    decodeRawSegment(12, data.subarray(half), rows * cols, lo, 0, false);
    for (let i = 0; i < rows * cols; i++) out[at + i] = hi[i]! * 4096 + lo[i]!;
    return;
  }
  const bytesPerPx = d === 1 ? 1 / 8 : d === 6 ? 1 : 2;
  if (!g.quad) {
    decodeRawSegment(d, data, rows * cols, out, at, false);
    return;
  }
  // Quad: each raw row holds one row of each chip in the order [4 | 3 | 2 | 1]. The top half of the
  // mosaic (chips 1, 2) is raw rows 0…H−1 as stored; the bottom half (chips 3, 4) is flipped in x and y.
  const H = rows / 2;
  const seg = cols / 2; // pixels per chip row
  const segBytes = seg * bytesPerPx;
  const rawRowBytes = 4 * segBytes;
  for (let y = 0; y < rows; y++) {
    const top = y < H;
    const ry = top ? y : rows - 1 - y;
    const rowStart = ry * rawRowBytes;
    const left = top ? 3 : 1;
    const right = top ? 2 : 0;
    decodeRawSegment(d, data.subarray(rowStart + left * segBytes, rowStart + (left + 1) * segBytes), seg, out, at + y * cols, !top);
    decodeRawSegment(d, data.subarray(rowStart + right * segBytes, rowStart + (right + 1) * segBytes), seg, out, at + y * cols + seg, !top);
  }
}

/** Nanoseconds since the epoch of a "…T13:43:47.008505401Z" timestamp, or null. */
export function parseUtcNs(ts: string | undefined): bigint | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(ts ?? '');
  if (!m) return null;
  const ms = Date.parse(`${m[1]}Z`);
  if (!Number.isFinite(ms)) return null;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * Scan line length from per-frame timestamps: at the end of a scan line the fly-back makes one gap
 * longer than the rest (rosettasciio's heuristic: first gap above the mean gap). Accepted only when
 * the longer gaps recur exactly every `w` frames; undefined when the cadence is uniform.
 */
export function lineLengthFromTimestamps(ns: bigint[]): number | undefined {
  if (ns.length < 3) return undefined;
  const gaps: number[] = [];
  for (let i = 1; i < ns.length; i++) gaps.push(Number(ns[i]! - ns[i - 1]!));
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const long = gaps.map((g, i) => (g > mean ? i : -1)).filter((i) => i >= 0);
  if (long.length === 0 || long.length === gaps.length) return undefined;
  const w = long[0]! + 1;
  if (w < 2) return undefined;
  for (let i = 0; i < gaps.length; i++) {
    if ((gaps[i]! > mean) !== ((i + 1) % w === 0)) return undefined;
  }
  return w;
}

export interface MibOpenOptions {
  scanShape?: [number, number];
}

/** The header fields that must be the same in every frame of a file. */
function invariantKey(h: MibFrameHeader): string {
  return [h.headerBytes, h.chips, h.width, h.height, h.pixelType, h.sensorLayout, h.counterDepth].join(',');
}

function describeDifference(a: MibFrameHeader, b: MibFrameHeader): string {
  if (a.counterDepth !== b.counterDepth || a.pixelType !== b.pixelType) {
    return `mixed bit depths: counter depth ${b.counterDepth} (${b.pixelType}) where frame 0 has ${a.counterDepth} (${a.pixelType})`;
  }
  const diffs: string[] = [];
  if (a.headerBytes !== b.headerBytes) diffs.push(`header size ${b.headerBytes} vs ${a.headerBytes}`);
  if (a.width !== b.width || a.height !== b.height) diffs.push(`frame size ${b.width}×${b.height} vs ${a.width}×${a.height}`);
  if (a.chips !== b.chips || a.sensorLayout !== b.sensorLayout) diffs.push(`chips ${b.chips} ${b.sensorLayout} vs ${a.chips} ${a.sensorLayout}`);
  return diffs.join(', ');
}

class MibSource implements FourDSource {
  readonly format = 'MIB';
  readonly direct?: DirectLayout;
  private reader: Promise<DirectFrameReader> | null = null;
  private fh: Promise<FileHandle> | null = null;
  private closed = false;

  constructor(
    readonly path: string,
    readonly scanShape: [number, number],
    readonly scanShapeFrom: ScanShapeOrigin,
    readonly detectorShape: [number, number],
    readonly dtype: PixelDType,
    readonly calibration: Calibration,
    readonly warnings: string[],
    readonly metadata: Record<string, unknown>,
    private readonly first: MibFrameHeader,
    private readonly geom: MibGeometry,
    private readonly stride: number,
  ) {
    if (!geom.raw) {
      this.direct = { kind: 'mib', offset: first.headerBytes, frameStrideBytes: stride, littleEndian: false, frameBytes: geom.dataBytes };
    }
  }

  /** Rejects a frame whose header is not a Merlin header or differs from frame 0. */
  checkFrameHeader = (bytes: Uint8Array, index: number): void => {
    let h: MibFrameHeader;
    try {
      h = parseMibHeader(this.path, bytes);
    } catch (e) {
      throw new InputError(this.path, `frame ${index} (byte ${index * this.stride}) has a corrupt header: ${e instanceof InputError ? e.message.slice(this.path.length + 2) : String(e)}`, {
        frame: index,
      });
    }
    if (invariantKey(h) !== invariantKey(this.first)) {
      throw new InputError(this.path, `frame ${index}: ${describeDifference(this.first, h)}`, { frame: index });
    }
  };

  async readFrames(start: number, count: number, signal?: AbortSignal): Promise<PixelArray> {
    if (this.closed) throw new InputError(this.path, 'source is closed');
    const nFrames = this.scanShape[0] * this.scanShape[1];
    checkRange(start, count, nFrames);
    if (this.direct) {
      this.reader ??= DirectFrameReader.open({ path: this.path, direct: this.direct, dtype: this.dtype, detectorShape: this.detectorShape, nFrames }, this.checkFrameHeader);
      return (await this.reader).read(start, count, signal);
    }
    // Raw: read frame by frame (header + packed data) and unpack.
    this.fh ??= open(this.path, 'r');
    const fh = await this.fh;
    const [r, c] = this.detectorShape;
    const out = allocPixels(this.dtype, count * r * c) as Uint8Array | Uint16Array | Uint32Array;
    const buf = new Uint8Array(this.stride);
    for (let i = 0; i < count; i++) {
      throwIfAborted(signal);
      const k = start + i;
      await readExactly(fh, this.path, buf, 0, this.stride, k * this.stride);
      this.checkFrameHeader(buf.subarray(0, this.first.headerBytes), k);
      decodeRawFrame(this.first, this.geom, buf.subarray(this.first.headerBytes), out, i * r * c);
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reader) void this.reader.then((x) => x.close()).catch(() => undefined);
    if (this.fh) void this.fh.then((x) => x.close()).catch(() => undefined);
  }
}

/** How many frame headers are sampled at open to catch mixed depths / a lying header size early. */
const OPEN_SAMPLE_HEADERS = 64;
/** How many leading frame headers are read for the timestamp line-length heuristic. */
const TIMESTAMP_HEADERS = 4096;

/** Opens a .mib (or its .hdr) as a FourDSource. */
export async function openMib(path: string, opts: MibOpenOptions = {}): Promise<FourDSource> {
  let mibPath = path;
  if (/\.hdr$/i.test(path)) mibPath = path.replace(/\.hdr$/i, '.mib');
  const hdrPath = mibPath.replace(/\.mib$/i, '.hdr');
  let size: number;
  try {
    const st = await stat(mibPath);
    if (!st.isFile()) throw new InputError(mibPath, 'is not a file');
    size = st.size;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(mibPath, 'does not exist or cannot be read');
  }
  const fh = await open(mibPath, 'r');
  try {
    const head = new Uint8Array(Math.min(size, 4096));
    await readExactly(fh, mibPath, head, 0, head.length, 0);
    const headText = Buffer.from(head.buffer, 0, Math.min(64, head.length)).toString('latin1');
    if (!headText.startsWith(MAGIC)) throw new InputError(mibPath, 'not a Merlin .mib file (does not start with "MQ1,")');
    const headerBytes = Number(headText.split(',')[2]);
    if (!Number.isInteger(headerBytes) || headerBytes <= MAGIC.length || headerBytes > head.length) {
      throw new InputError(mibPath, `MIB header size field "${headText.split(',')[2] ?? ''}" is not plausible for a ${size}-byte file`);
    }
    const first = parseMibHeader(mibPath, head.subarray(0, headerBytes));
    const geom = mibGeometry(mibPath, first);
    const stride = first.headerBytes + geom.dataBytes;
    const complete = Math.floor(size / stride);
    const partial = size - complete * stride;

    const warnings: string[] = [];
    const readHeader = async (k: number): Promise<MibFrameHeader> => {
      const b = new Uint8Array(first.headerBytes);
      await readExactly(fh, mibPath, b, 0, b.length, k * stride);
      if (Buffer.from(b.buffer, 0, 4).toString('latin1') !== MAGIC) {
        throw new InputError(
          mibPath,
          `no frame header at byte ${k * stride} (frame ${k}): the first header's sizes (header ${first.headerBytes} + ${geom.dataBytes} data bytes per frame) do not match the file`,
          { frame: k },
        );
      }
      const h = parseMibHeader(mibPath, b);
      if (invariantKey(h) !== invariantKey(first)) throw new InputError(mibPath, `frame ${k}: ${describeDifference(first, h)}`, { frame: k });
      return h;
    };

    // A header that lies about the frame size, or mixed bit depths, show up at sampled frames.
    const m = Math.min(complete, OPEN_SAMPLE_HEADERS);
    const sample = new Set<number>();
    for (let i = 0; i < m; i++) sample.add(m === 1 ? 0 : Math.round((i * (complete - 1)) / (m - 1)));
    for (const k of [...sample].sort((a, b) => a - b)) await readHeader(k);
    if (partial > 0) {
      // A partial trailing frame: either a truncated file, or the data of the last frame does not fit.
      const tail = new Uint8Array(Math.min(partial, first.headerBytes));
      await readExactly(fh, mibPath, tail, 0, tail.length, complete * stride);
      const hasHeader = Buffer.from(tail.buffer, 0, Math.min(4, tail.length)).toString('latin1') === MAGIC;
      const msg = hasHeader
        ? `file ends with a partial frame ${complete}: ${partial} of ${stride} bytes (truncated file?)`
        : `file size ${size} is not a whole number of ${stride}-byte frames (${partial} bytes left over)`;
      if (!opts.scanShape || opts.scanShape[0] * opts.scanShape[1] > complete) {
        throw new InputError(mibPath, msg, { completeFrames: complete, trailingBytes: partial });
      }
      warnings.push(`${msg}; ignored because scanShape was given`);
    }

    // .hdr acquisition header.
    let hdr: Record<string, string> | undefined;
    try {
      const text = await readFile(hdrPath, 'latin1');
      if (text.startsWith('HDR')) hdr = parseHdr(text);
      else warnings.push(`${hdrPath} is not a Merlin acquisition header; ignored`);
    } catch {
      // No .hdr: scan shape from timestamps or frame count.
    }
    let metadata: [number, number] | undefined;
    let metadataFrom: ScanShapeOrigin | undefined;
    if (hdr) {
      const sx = Number(hdr['ScanX']);
      const sy = Number(hdr['ScanY']);
      const fpt = Number(hdr['Frames per Trigger (Number)']);
      const fia = Number(hdr['Frames in Acquisition (Number)']);
      if (sx > 0 && sy > 0) {
        metadata = [sy, sx];
        metadataFrom = 'hdr';
      } else if (fpt > 1 && fia > 0) {
        // Line trigger: one trigger per scan line, so frames per trigger is the line length.
        metadata = [Math.floor(fia / fpt), fpt];
        metadataFrom = 'hdr';
      }
      const hdrDepth = Number(hdr['Counter Depth (number)']);
      if (hdrDepth > 0 && hdrDepth !== first.counterDepth) {
        warnings.push(`.hdr says counter depth ${hdrDepth} but the frames say ${first.counterDepth}; using the frames`);
      }
    }
    let lineLength: number | undefined;
    if (!opts.scanShape && !metadata && complete > 2) {
      const n = Math.min(complete, TIMESTAMP_HEADERS);
      const ns: bigint[] = [];
      for (let k = 0; k < n; k++) {
        const t = parseUtcNs((await readHeader(k)).timestampUtc);
        if (t === null) break;
        ns.push(t);
      }
      if (ns.length === n) lineLength = lineLengthFromTimestamps(ns);
    }
    const scan = decideScanShape(mibPath, complete, {
      ...(opts.scanShape ? { user: opts.scanShape } : {}),
      ...(metadata ? { metadata, metadataFrom: metadataFrom! } : {}),
      ...(lineLength ? { lineLength } : {}),
    });
    warnings.push(...scan.warnings);

    const calibration: Calibration = {};
    const exposure = first.exposureNs !== undefined ? first.exposureNs * 1e-9 : first.shutterS;
    if (Number.isFinite(exposure) && exposure > 0) calibration.dwellTimeS = exposure;
    const meta: Record<string, unknown> = { header: first, frames: complete, frameStrideBytes: stride };
    if (hdr) meta.hdr = hdr;
    return new MibSource(mibPath, scan.shape, scan.from, geom.detectorShape, geom.dtype, calibration, warnings, meta, first, geom, stride);
  } finally {
    await fh.close();
  }
}
