import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmdCubeWriter, EMD_DATASET_PATH, loadH5wasm, writeEmdCube } from '../write-emd';
import { MibWriter, mibFrameHeader } from '../write-mib';
import { withAtomicFile, writeFileAtomicSync } from '../atomic';
import { SHARED_DATA } from '../../../tests/helpers/paths';

const dir = mkdtempSync(join(tmpdir(), 'tracked-writers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const REAL_MIB = join(SHARED_DATA, 'rosettasciio/quantumdetector/unzipped/Single_9_Frame_CounterDepth_12_Rows_256.mib');

describe('atomic writes', () => {
  it('leave either the whole file or nothing', async () => {
    const p = join(dir, 'a.json');
    writeFileAtomicSync(p, '{"a":1}');
    expect(readFileSync(p, 'utf8')).toBe('{"a":1}');
    await expect(
      withAtomicFile(join(dir, 'b.bin'), (tmp) => {
        writeFileAtomicSync(tmp, 'partial');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(readdirSync(dir).filter((f) => f.includes('b.bin'))).toEqual([]);
  });
});

describe('EMD 1.0 writer', () => {
  it('streams rows into a contiguous (Rx, Ry, Qx, Qy) dataset that reads back exactly', async () => {
    const p = join(dir, 'cube.h5');
    const w = await EmdCubeWriter.create({ path: p, scanShape: [3, 4], detectorShape: [5, 6], dtype: 'uint16', realPixelNm: 2.5, reciprocalPixelInvA: 0.02, acquisition: { voltage_kV: 200 } });
    const all = new Uint16Array(3 * 4 * 30).map((_, i) => (i * 7919) % 65536);
    w.writeRows(all.slice(0, 2 * 4 * 30));
    expect(readdirSync(dir)).not.toContain('cube.h5'); // not visible until closed
    w.writeRows(all.slice(2 * 4 * 30));
    w.close();
    const { lib } = await loadH5wasm();
    const f = new lib.File(p, 'r');
    const d = f.get(EMD_DATASET_PATH) as InstanceType<typeof lib.Dataset>;
    expect(d.shape).toEqual([3, 4, 5, 6]);
    expect(d.metadata.chunks).toBeNull();
    expect(Array.from(d.value as Uint16Array)).toEqual(Array.from(all));
    expect(f.attrs['emd_group_type']!.json_value).toBe('file');
    expect((f.get('/datacube_root') as InstanceType<typeof lib.Group>).attrs['emd_group_type']!.json_value).toBe('root');
    expect((f.get('/datacube_root/datacube/dim0') as InstanceType<typeof lib.Dataset>).attrs['units']!.json_value).toBe('nm');
    f.close();
  });
  it('refuses wrong sizes and leaves no file when not completed', async () => {
    const p = join(dir, 'bad.h5');
    await expect(writeEmdCube({ path: p, scanShape: [2, 2], detectorShape: [4, 4], dtype: 'uint16', realPixelNm: 1, reciprocalPixelInvA: 0.01 }, new Uint16Array(10))).rejects.toThrow(/scan rows/);
    const w = await EmdCubeWriter.create({ path: p, scanShape: [2, 2], detectorShape: [4, 4], dtype: 'uint16', realPixelNm: 1, reciprocalPixelInvA: 0.01 });
    w.writeRows(new Uint16Array(32));
    expect(() => w.close()).toThrow(/1 of 2 scan rows/);
    expect(readdirSync(dir).filter((f) => f.includes('bad.h5'))).toEqual([]);
    await expect(EmdCubeWriter.create({ path: p, scanShape: [0, 2], detectorShape: [4, 4], dtype: 'uint16', realPixelNm: 1, reciprocalPixelInvA: 0.01 })).rejects.toThrow(/shape/);
  });
});

describe('MIB writer', () => {
  it('writes headers shaped like a real Merlin file and big-endian pixels', () => {
    const real = readFileSync(REAL_MIB).subarray(0, 384).toString('latin1');
    const opts = { path: join(dir, 't.mib'), detectorShape: [128, 256] as [number, number], dtype: 'uint16' as const, scanShape: [1, 2] as [number, number], exposureS: 0.001, start: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) };
    const mine = Buffer.from(mibFrameHeader(opts, 2)).toString('latin1');
    const fr = real.replace(/\0+$/, '').split(',');
    const fm = mine.replace(/\0+$/, '').split(',');
    expect(fm.length).toBe(fr.length);
    expect(mine.length).toBe(384);
    expect(fm[0]).toBe('MQ1');
    expect(fm[1]).toBe('000002');
    expect(fm[2]).toBe('00384');
    expect(fm[4]).toBe('0256'); // width
    expect(fm[5]).toBe('0128'); // height
    expect(fm[6]).toBe('U16');
    expect(fm[7]).toBe(fr[7]);
    for (const i of [9, 10]) expect(fm[i]!.length).toBe(fr[i]!.length);
    expect(fm[9]).toBe('2024-01-02 03:04:05.001000');
    expect(fm[fm.length - 2]).toBe('12'); // counter depth, last field before the trailing comma
    expect(fm[fm.length - 3]).toBe('1000000ns');

    const w = new MibWriter(opts);
    const data = new Uint16Array(2 * 128 * 256);
    data[0] = 0x0102;
    data[128 * 256 + 5] = 4095;
    w.writeFrames(data);
    w.close();
    const bytes = readFileSync(opts.path);
    expect(bytes.length).toBe(2 * (384 + 128 * 256 * 2));
    expect([bytes[384], bytes[385]]).toEqual([1, 2]);
    const f2 = 384 + 128 * 256 * 2 + 384;
    expect(bytes.readUInt16BE(f2 + 10)).toBe(4095);
    const hdr = readFileSync(join(dir, 't.hdr'), 'latin1');
    expect(hdr.length).toBe(2048);
    expect(hdr.startsWith('HDR,\t\r\n')).toBe(true);
    const kv = Object.fromEntries(
      hdr
        .split('\r\n')
        .filter((l) => l.includes(':\t'))
        .map((l) => l.split(':\t') as [string, string]),
    );
    expect(kv['Frames in Acquisition (Number)']).toBe('2');
    expect(kv['Frames per Trigger (Number)']).toBe('2');
    expect(kv['ScanY']).toBe('1');
    expect(hdr.trimEnd().endsWith('End')).toBe(true);
  });
  it('refuses counts beyond the 12-bit counter and wrong frame counts', () => {
    const w = new MibWriter({ path: join(dir, 'x.mib'), detectorShape: [4, 4], dtype: 'uint16', scanShape: [1, 1], exposureS: 0.001, start: new Date(0) });
    expect(() => w.writeFrames(new Uint16Array(16).fill(5000))).toThrow(/12-bit/);
    expect(() => w.close()).toThrow(/0 frames/);
    expect(readdirSync(dir).filter((f) => f.startsWith('x.') || f.includes('x.mib'))).toEqual([]);
  });
});
