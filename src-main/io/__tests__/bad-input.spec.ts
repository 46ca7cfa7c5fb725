// Bad input gives a typed error naming the file and what is wrong, at open where possible; a corrupt
// frame in the middle fails only the read that touches it.

import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { locateDataset, readSuperblock } from '../hdf5-raw.js';
import { inspect } from '../inspect.js';
import { openMib } from '../mib.js';
import { openSource } from '../open.js';
import { scanForNonFinite } from '../util.js';
import { QD, beBytes, mibHeader, pattern, scratchDir, writeH5 } from './helpers.js';

const { dir, cleanup } = scratchDir('bad');
afterAll(cleanup);

async function cube(name: string, opts: { shape?: number[]; dtype?: string; data?: Float32Array | Uint16Array } = {}): Promise<string> {
  const shape = opts.shape ?? [4, 4, 16, 16];
  const n = shape.reduce((a, b) => a * b, 1);
  const path = join(dir, name);
  await writeH5(path, [{ name: 'data', data: opts.data ?? pattern(n), shape, dtype: opts.dtype ?? '<H' }]);
  return path;
}

describe('missing / wrong kind of file', () => {
  it('missing file, directory, non-HDF5/MIB file, empty file: InputError with a one-line reason', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello, this is not data');
    const empty = join(dir, 'empty.h5');
    writeFileSync(empty, '');
    for (const [p, why] of [
      [join(dir, 'nope.h5'), 'does not exist'],
      [dir, 'is a directory'],
      [text, 'neither an HDF5 file nor a Merlin .mib'],
      [empty, 'is empty'],
    ] as const) {
      await expect(openSource(p)).rejects.toMatchObject({ name: 'InputError', detail: { file: expect.stringContaining(p.split('/').pop()!) }, message: expect.stringContaining(why) });
      await expect(inspect(p)).rejects.toMatchObject({ name: 'InputError' });
      const e = (await openSource(p).catch((x: unknown) => x)) as Error;
      expect(e.message.split('\n')).toHaveLength(1);
    }
  });
});

describe('truncated HDF5', () => {
  it('a file cut short: the superblock end-of-file check fails at open', async () => {
    const path = await cube('full.h5');
    const cut = join(dir, 'cut.h5');
    writeFileSync(cut, readFileSync(path).subarray(0, 3000));
    await expect(openSource(cut)).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('truncated HDF5 file') });
  });

  it('contiguous data running past the end of the file (superblock patched to agree): caught at open', async () => {
    const path = await cube('full2.h5');
    const bytes = readFileSync(path);
    const fd = openSync(path, 'r');
    const loc = locateDataset(fd, 'data', 2);
    const sb = readSuperblock(fd);
    closeSync(fd);
    if (!loc.ok || loc.layout.kind !== 'contiguous') throw new Error('expected contiguous');
    const end = loc.layout.address + loc.layout.size;
    expect(end).toBe(bytes.length); // h5wasm puts the raw data last
    const cut = Buffer.from(bytes.subarray(0, end - 1000));
    // Superblock v0: end-of-file address is the third address after the 24-byte preamble.
    expect(sb.version).toBe(0);
    cut.writeBigUInt64LE(BigInt(cut.length), 24 + 2 * sb.offsetSize);
    const p2 = join(dir, 'cut2.h5');
    writeFileSync(p2, cut);
    const err = (await openSource(p2).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ name: 'InputError', detail: { file: p2 } });
    // libhdf5 itself refuses this dataset at open (H5D__contig_check); the message is passed on in one line.
    expect(err.message).toMatch(/invalid dataset size|extends to byte/);
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('chunks stored past the end of the file (not checked by libhdf5 at open): caught by the direct-layout check', async () => {
    const path = join(dir, 'chunked.h5');
    await writeH5(path, [{ name: 'data', data: pattern(4 * 4 * 16 * 16), shape: [4, 4, 16, 16], dtype: '<H', chunks: [1, 1, 16, 16] }]);
    const bytes = readFileSync(path);
    const fd = openSync(path, 'r');
    const sb = readSuperblock(fd);
    let last = 0;
    const loc = locateDataset(fd, 'data', 2);
    if (!loc.ok || loc.layout.kind !== 'chunked') throw new Error('expected chunked');
    loc.layout.forEachChunk((c) => (last = Math.max(last, c.address + c.size)));
    closeSync(fd);
    expect(last).toBe(bytes.length);
    const cut = Buffer.from(bytes.subarray(0, last - 100));
    cut.writeBigUInt64LE(BigInt(cut.length), 24 + 2 * sb.offsetSize);
    const p2 = join(dir, 'chunked-cut.h5');
    writeFileSync(p2, cut);
    await expect(openSource(p2)).rejects.toMatchObject({ name: 'InputError', message: expect.stringMatching(/chunk at \[3, 3, 0, 0\] extends to byte \d+ but the file has only \d+ bytes/) });
  });

  it('a layout message that lies about the data size: InputError naming the dataset', async () => {
    const path = await cube('lie.h5');
    const fd = openSync(path, 'r+');
    const loc = locateDataset(fd, 'data', 2);
    if (!loc.ok || loc.layout.kind !== 'contiguous') throw new Error('expected contiguous');
    // Find "address, size" (8 + 8 bytes little-endian) of the layout message and halve the size.
    const bytes = readFileSync(path);
    const needle = Buffer.alloc(16);
    needle.writeBigUInt64LE(BigInt(loc.layout.address), 0);
    needle.writeBigUInt64LE(BigInt(loc.layout.size), 8);
    const at = bytes.indexOf(needle);
    expect(at).toBeGreaterThan(0);
    const patched = Buffer.alloc(8);
    patched.writeBigUInt64LE(BigInt(loc.layout.size / 2));
    writeSync(fd, patched, 0, 8, at + 8);
    closeSync(fd);
    const err = (await openSource(path).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ name: 'InputError', message: expect.stringContaining(path) });
  });
});

describe('wrong rank', () => {
  it('2D: InputError; 3D: needs a scan shape, accepted with one', async () => {
    const two = await cube('two.h5', { shape: [16, 16] });
    await expect(openSource(two)).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('rank 2') });
    const three = await cube('three.h5', { shape: [12, 8, 8] });
    await expect(openSource(three)).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('give scanShape') });
    await expect(openSource(three, { scanShape: [4, 4] })).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('needs 16 frames but the file has 12') });
    const s = await openSource(three, { scanShape: [3, 4] });
    expect(s.scanShape).toEqual([3, 4]);
    expect(s.scanShapeFrom).toBe('user');
    expect(s.direct?.kind).toBe('contiguous');
    s.close();
    const four = await cube('four.h5');
    await expect(openSource(four, { scanShape: [3, 5] })).rejects.toMatchObject({ name: 'InputError' });
    await expect(openSource(four, { dataset: '/nothing' })).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('has no dataset /nothing') });
  });
});

describe('NaN / Inf in float data', () => {
  it('frames come back as stored; scanForNonFinite reports them', async () => {
    const n = 2 * 2 * 4 * 4;
    const data = new Float32Array(n).fill(1);
    data[5] = NaN;
    data[17] = Infinity;
    data[40] = -Infinity;
    data[41] = NaN;
    const path = await cube('nan.h5', { shape: [2, 2, 4, 4], dtype: '<f', data });
    const s = await openSource(path);
    const a = await s.readFrames(0, 4);
    s.close();
    expect(Number.isNaN(a[5]!)).toBe(true);
    expect(scanForNonFinite(a)).toEqual({ nan: 2, posInf: 1, negInf: 1, firstIndex: 5 });
    expect(scanForNonFinite(a.subarray(32, 40))).toEqual({ nan: 0, posInf: 0, negInf: 0, firstIndex: -1 });
  });
});

describe('Merlin .mib', () => {
  const W = 16;
  const H = 8;
  function writeMib(path: string, frames: Array<{ type?: 'U08' | 'U16'; depth?: number; sizeField?: number; corrupt?: boolean }>): void {
    const parts: Uint8Array[] = [];
    frames.forEach((f, i) => {
      const type = f.type ?? 'U16';
      const h = mibHeader({ seq: i + 1, width: W, height: H, type, depth: f.depth ?? 12, ...(f.sizeField ? { sizeField: f.sizeField } : {}) });
      if (f.corrupt) h.set(Buffer.from('XXXX'), 0);
      parts.push(h);
      const px = type === 'U08' ? Uint8Array.from({ length: W * H }, (_, k) => (k + i) & 0x3f) : Uint16Array.from({ length: W * H }, (_, k) => k * 3 + i);
      parts.push(beBytes(px));
    });
    writeFileSync(path, Buffer.concat(parts));
  }

  it('synthetic file reads back (big-endian U16) with a 1-row fallback for 7 frames', async () => {
    const p = join(dir, 'ok.mib');
    writeMib(p, Array.from({ length: 7 }, () => ({})));
    const s = await openMib(p);
    expect(s.scanShape).toEqual([1, 7]);
    expect(s.scanShapeFrom).toBe('single-row');
    expect(s.warnings?.[0]).toContain('one row');
    const a = await s.readFrames(2, 1);
    expect(Array.from(a.subarray(0, 3))).toEqual([2, 5, 8]);
    s.close();
  });

  it('a partial last frame is an error at open (unless a scan shape within the complete frames is given)', async () => {
    const src = readFileSync(join(QD, '001_4x2_6bit.mib'));
    const p = join(dir, 'partial.mib');
    writeFileSync(p, src.subarray(0, src.length - 1000));
    await expect(openMib(p)).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining('partial frame 7') });
    const s = await openMib(p, { scanShape: [1, 7] });
    expect(s.warnings?.some((w) => w.includes('partial frame'))).toBe(true);
    expect((await s.readFrames(6, 1)).length).toBe(65536);
    s.close();
  });

  it('mixed bit depths: InputError at open naming the frame', async () => {
    const a = readFileSync(join(QD, '001_4x2_6bit.mib')); // U08, counter depth 6
    const b = readFileSync(join(QD, 'Single_1_Frame_CounterDepth_1_Rows_256.mib')); // U08, counter depth 1
    const p = join(dir, 'mixed.mib');
    writeFileSync(p, Buffer.concat([a, b]));
    await expect(openMib(p)).rejects.toMatchObject({ name: 'InputError', detail: { frame: 8 }, message: expect.stringContaining('mixed bit depths: counter depth 1 (U08) where frame 0 has 6 (U08)') });
    const q = join(dir, 'mixed2.mib');
    writeMib(q, [{}, {}, { type: 'U08', depth: 6 }, {}]);
    await expect(openMib(q)).rejects.toMatchObject({ name: 'InputError', message: expect.stringContaining(q) });
  });

  it('a header that lies about its size: InputError at open', async () => {
    const p = join(dir, 'lies.mib');
    writeMib(p, Array.from({ length: 4 }, () => ({ sizeField: 400 })));
    await expect(openMib(p)).rejects.toMatchObject({ name: 'InputError', message: expect.stringMatching(/no frame header at byte \d+ \(frame 1\)|not a whole number/) });
    const p2 = join(dir, 'lies-small.mib');
    writeMib(p2, Array.from({ length: 4 }, () => ({ sizeField: 200 })));
    await expect(openMib(p2)).rejects.toMatchObject({ name: 'InputError' });
  });

  it('a corrupt frame in the middle (not sampled at open) fails only the reads that touch it', async () => {
    const p = join(dir, 'corrupt.mib');
    // 300 frames: open samples 64 headers (0, 5, 9, …); frame 7 is not among them.
    writeMib(p, Array.from({ length: 300 }, (_, i) => ({ corrupt: i === 7 })));
    const s = await openMib(p, { scanShape: [10, 30] });
    await expect(s.readFrames(5, 5)).rejects.toMatchObject({ name: 'InputError', detail: { frame: 7 }, message: expect.stringContaining('frame 7') });
    const ok = await s.readFrames(8, 20);
    expect(ok.length).toBe(20 * W * H);
    expect((await s.readFrames(0, 7)).length).toBe(7 * W * H);
    s.close();
  });

  it('.hdr given instead of .mib opens the .mib; a .mib that is not one is rejected', async () => {
    const d = join(dir, 'hdr');
    mkdirSync(d, { recursive: true });
    copyFileSync(join(QD, '001_4x2_6bit.mib'), join(d, 'x.mib'));
    copyFileSync(join(QD, '001_4x2_6bit.hdr'), join(d, 'x.hdr'));
    const s = await openSource(join(d, 'x.hdr'));
    expect(s.path).toBe(join(d, 'x.mib'));
    s.close();
    const bad = join(d, 'bad.mib');
    writeFileSync(bad, Buffer.from('MQ1,zzz'));
    await expect(openSource(bad)).rejects.toMatchObject({ name: 'InputError' });
  });
});
