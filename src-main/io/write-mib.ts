// Writes Quantum Detectors Merlin .mib files (processed mode) and their .hdr acquisition header, imitating
// the real files in shared/data/rosettasciio/quantumdetector (FORMATS §2):
//  - every frame = ASCII header (comma separated, NUL padded to 384 bytes for one chip, 768 for a quad)
//    followed by big-endian pixels (U08/U16/U32), row-major, no file header;
//  - header fields: MQ1, sequence number (1-based), header size, chips, width, height, pixel depth, layout,
//    chip select, local time stamp (µs), shutter (s), counter, colour, gain, 8 thresholds (keV), per chip
//    '3RX' + 27 DACs, 'MQ1A', UTC time stamp (ns), exposure in ns, counter depth;
//  - .hdr: 2048 bytes, 'HDR,\t\r\n', 'Key:\tValue\r\n' lines, 'End\t' and space padding. Frames in
//    Acquisition / Frames per Trigger (= scan width, a line trigger) and ScanX / ScanY give the scan shape.
import { closeSync, openSync, writeSync } from 'node:fs';
import { ParameterError } from '../../src-shared/errors';
import { AtomicFile, writeFileAtomicSync } from './atomic';

export type MibDType = 'uint8' | 'uint16' | 'uint32';
type MibArray = Uint8Array | Uint16Array | Uint32Array;

const DEPTH_CODE: Record<MibDType, string> = { uint8: 'U08', uint16: 'U16', uint32: 'U32' };
const BYTES: Record<MibDType, number> = { uint8: 1, uint16: 2, uint32: 4 };
/** Counter depth (bits) that each pixel depth stores in processed mode. */
const COUNTER_DEPTH: Record<MibDType, number> = { uint8: 6, uint16: 12, uint32: 24 };
// DAC values copied from a real Medipix3RX chip header (Single_9_Frame_CounterDepth_12_Rows_256.mib).
const DACS = '011,511,000,000,000,000,000,000,175,010,200,125,100,100,093,100,099,030,128,004,255,140,128,191,179,511,511';

export interface MibOptions {
  /** Final .mib path (temp + rename). */
  path: string;
  /** [nqy, nqx]: height (rows) and width (columns). */
  detectorShape: [number, number];
  dtype: MibDType;
  /** [ny, nx] of the scan, for the .hdr. */
  scanShape: [number, number];
  /** Dwell time per frame, s. */
  exposureS: number;
  /** Acquisition start (frames are stamped start + i·exposure). Fixed by the caller for reproducible files. */
  start: Date;
  /** Thresholds 0 and 1 in keV (real files: 2 / 511, 40 / 511). */
  thresholdsKeV?: [number, number];
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** 2.000000E+0 style (C's %E without the padded exponent, as the Merlin software writes it). */
function expo(v: number): string {
  return v.toExponential(6).replace('e', 'E');
}

function localStamp(t: Date, micros: number): string {
  // The Merlin PC writes local time; trackED writes UTC in both places so files do not depend on the
  // machine's time zone.
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1, 2)}-${pad(t.getUTCDate(), 2)} ${pad(t.getUTCHours(), 2)}:${pad(t.getUTCMinutes(), 2)}:${pad(t.getUTCSeconds(), 2)}.${pad(micros, 6)}`;
}

/** Whether the frames need the quad (2×2, 768-byte header) layout: anything over one 256×256 chip. */
function isQuad(shape: [number, number]): boolean {
  return shape[0] > 256 || shape[1] > 256;
}

/** The ASCII header of frame `sequence` (1-based), NUL padded to 384 (one chip) or 768 (quad) bytes. */
export function mibFrameHeader(o: MibOptions, sequence: number): Uint8Array {
  const quad = isQuad(o.detectorShape);
  const size = quad ? 768 : 384;
  const [h, w] = o.detectorShape;
  // Absolute time of this frame in µs since the epoch (exact in a double for any real date).
  const absMicros = o.start.getTime() * 1000 + Math.round((sequence - 1) * o.exposureS * 1e6);
  const t = new Date(Math.floor(absMicros / 1000));
  const micros = absMicros % 1_000_000;
  const [th0, th1] = o.thresholdsKeV ?? [2, 511];
  const thresholds = [th0, th1, 0, 0, 0, 0, 0, 0].map(expo).join(',');
  const chips = quad ? 4 : 1;
  const dacs = Array.from({ length: chips }, () => `3RX,${DACS}`).join(',');
  const nsExposure = Math.round(o.exposureS * 1e9);
  const iso = `${localStamp(t, micros).replace(' ', 'T')}000Z`;
  const fields = [
    'MQ1',
    pad(sequence, 6),
    pad(size, 5),
    pad(chips, 2),
    pad(w, 4),
    pad(h, 4),
    DEPTH_CODE[o.dtype],
    quad ? '   2x2' : '   1x1',
    quad ? '0F' : '01',
    localStamp(t, micros),
    o.exposureS.toFixed(6),
    '0',
    '0',
    '0',
    thresholds,
    dacs,
    'MQ1A',
    iso,
    `${nsExposure}ns`,
    String(COUNTER_DEPTH[o.dtype]),
  ];
  const text = fields.join(',') + ',';
  if (text.length > size) throw new Error(`MIB header too long (${text.length} > ${size})`);
  const out = new Uint8Array(size);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** The 2048-byte .hdr text for an acquisition. */
export function mibHdrText(o: MibOptions): Uint8Array {
  const quad = isQuad(o.detectorShape);
  const [ny, nx] = o.scanShape;
  const t = o.start;
  const [th0, th1] = o.thresholdsKeV ?? [2, 511];
  const lines: [string, string][] = [
    ['Time and Date Stamp (day, mnth, yr, hr, min, s)', `${pad(t.getUTCDate(), 2)}/${pad(t.getUTCMonth() + 1, 2)}/${t.getUTCFullYear()} ${pad(t.getUTCHours(), 2)}:${pad(t.getUTCMinutes(), 2)}:${pad(t.getUTCSeconds(), 2)}`],
    ['Chip ID', quad ? 'W000_A1,W000_A2,W000_A3,W000_A4' : 'W000_A1, - , - , - '],
    ['Chip Type (Medipix 3.0, Medipix 3.1, Medipix 3RX)', 'Medipix 3RX'],
    ['Assembly Size (NX1, 2X2)', quad ? '   2x2' : '   1x1'],
    ['Chip Mode  (SPM, CSM, CM, CSCM)', 'SPM'],
    ['Counter Depth (number)', String(COUNTER_DEPTH[o.dtype])],
    ['Gain', 'SLGM'],
    ['Active Counters', 'Counter 0'],
    ['Thresholds (keV)', [th0, th1, 0, 0, 0, 0, 0, 0].map(expo).join(',')],
    ['DACs', quad ? [DACS, DACS, DACS, DACS].join('; ') : `${DACS}; ; ; `],
    ['bpc File', 'None'],
    ['DAC File', 'None'],
    ['Gap Fill Mode', 'None'],
    ['Flat Field File', 'None'],
    ['Dead Time File', 'None'],
    ['Acquisition Type (Normal, Th_scan, Config)', 'Normal'],
    ['Frames in Acquisition (Number)', String(ny * nx)],
    ['Frames per Trigger (Number)', String(nx)],
    ['Trigger Start (Positive, Negative, Internal)', 'Rising Edge'],
    ['Trigger Stop (Positive, Negative, Internal)', 'Internal'],
    ['Sensor Bias (V)', '120 V'],
    ['Sensor Polarity (Positive, Negative)', 'Positive'],
    ['Temperature (C)', 'Board Temp 0.000000 Deg C'],
    ['Humidity (%)', 'Board Humidity 0.000000 '],
    ['Medipix Clock (MHz)', '120MHz'],
    ['Readout System', quad ? 'Merlin Quad' : 'Merlin'],
    ['Software Version', 'trackED synthetic'],
    ['ScanX', String(nx)],
    ['ScanY', String(ny)],
  ];
  let text = 'HDR,\t\r\n' + lines.map(([k, v]) => `${k}:\t${v}\r\n`).join('') + 'End\t';
  if (text.length > 2048) throw new Error('MIB .hdr too long');
  text = text.padEnd(2048, ' ');
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Streams frames into a .mib file; the .hdr is written beside it on `close`. */
export class MibWriter {
  readonly options: MibOptions;
  private readonly atomic: AtomicFile;
  private fd: number | null;
  private framesWritten = 0;
  private readonly frameSize: number;
  private readonly maxValue: number;

  constructor(options: MibOptions) {
    const [h, w] = options.detectorShape;
    if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0 && h <= 9999 && w <= 9999)) {
      throw new ParameterError('detectorShape', `must be positive integers below 10000 (got ${h}×${w})`);
    }
    if (!(options.dtype in DEPTH_CODE)) throw new ParameterError('dtype', `MIB stores uint8/uint16/uint32, not ${options.dtype}`);
    if (!(options.exposureS > 0)) throw new ParameterError('exposureS', `must be > 0 (got ${options.exposureS})`);
    this.options = options;
    this.frameSize = h * w;
    this.maxValue = 2 ** COUNTER_DEPTH[options.dtype] - 1;
    this.atomic = new AtomicFile(options.path);
    this.fd = openSync(this.atomic.tmpPath, 'w');
  }

  get frames(): number {
    return this.framesWritten;
  }

  /** Appends whole frames (length a multiple of nqy·nqx). Values above the counter depth are refused. */
  writeFrames(data: MibArray): void {
    if (this.fd === null) throw new Error(`${this.options.path}: writer is closed`);
    if (data.length % this.frameSize !== 0) throw new ParameterError('data', `length ${data.length} is not a whole number of frames`);
    const nFrames = data.length / this.frameSize;
    const bpp = BYTES[this.options.dtype];
    const headerSize = isQuad(this.options.detectorShape) ? 768 : 384;
    const frameBytes = headerSize + this.frameSize * bpp;
    const buf = new Uint8Array(nFrames * frameBytes);
    const max = this.maxValue;
    for (let f = 0; f < nFrames; f++) {
      const base = f * frameBytes;
      buf.set(mibFrameHeader(this.options, this.framesWritten + f + 1), base);
      const p0 = base + headerSize;
      const src = f * this.frameSize;
      for (let i = 0; i < this.frameSize; i++) {
        const v = data[src + i]!;
        if (v > max) throw new ParameterError('data', `value ${v} exceeds the ${COUNTER_DEPTH[this.options.dtype]}-bit counter`);
        // Big-endian pixels, as the detector writes them.
        if (bpp === 1) buf[p0 + i] = v;
        else if (bpp === 2) {
          buf[p0 + 2 * i] = v >>> 8;
          buf[p0 + 2 * i + 1] = v & 0xff;
        } else {
          buf[p0 + 4 * i] = v >>> 24;
          buf[p0 + 4 * i + 1] = (v >>> 16) & 0xff;
          buf[p0 + 4 * i + 2] = (v >>> 8) & 0xff;
          buf[p0 + 4 * i + 3] = v & 0xff;
        }
      }
    }
    let off = 0;
    while (off < buf.byteLength) off += writeSync(this.fd, buf, off, buf.byteLength - off);
    this.framesWritten += nFrames;
  }

  /** Finishes the .mib (rename into place) and writes the .hdr beside it. */
  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
    const expected = this.options.scanShape[0] * this.options.scanShape[1];
    if (this.framesWritten !== expected) {
      this.atomic.abort();
      throw new ParameterError('frames', `${this.options.path}: ${this.framesWritten} frames written, the scan has ${expected}`);
    }
    this.atomic.commit();
    writeFileAtomicSync(this.options.path.replace(/\.mib$/i, '') + '.hdr', mibHdrText(this.options));
  }

  abort(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    this.atomic.abort();
  }
}
