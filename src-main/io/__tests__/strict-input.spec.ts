// Inputs are read strictly and the same way everywhere: tilt angles are plain decimal numbers (not "", "0x10" or
// "Infinity"), a byte-order mark is skipped in series.json as in tilts.csv, a tilt that is a folder is called one,
// and a .npy mask must have two positive sizes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMask } from '../../cli/virtual';
import { synthesize } from '../../synth/index';
import { loadSeriesManifest, openSeries, parseAngle } from '../series';
import { scratchDir } from './helpers';

const { dir, cleanup } = scratchDir('strict-input');
afterAll(cleanup);

function npy(shape: string, body: Uint8Array): Buffer {
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

describe('strict input', () => {
  it('reads tilt angles as plain decimal numbers only', () => {
    expect(parseAngle('-30')).toBe(-30);
    expect(parseAngle(' 12.5 ')).toBe(12.5);
    expect(parseAngle('1e1')).toBe(10);
    for (const bad of ['', '  ', '0x10', 'Infinity', '12deg', '1,5', '--1']) expect(parseAngle(bad)).toBeNaN();
  });

  it('names a hexadecimal or empty angle in series.json, accepts a BOM, and calls a folder tilt a folder', async () => {
    await synthesize({ preset: 'single-isolated', size: { scanShape: [8, 8], detectorShape: [16, 16], nTilts: 2, tiltStepDeg: 2 }, outDir: join(dir, 's'), seed: 5 });
    const base = { version: 1, voltageKV: 200, reciprocalPixelInvA: 0.02, realPixelNm: 1 };
    const files = ['tilt_000.h5', 'tilt_001.h5'];
    const write = (name: string, tilts: unknown[], bom = false): string => {
      const p = join(dir, 's', name);
      writeFileSync(p, (bom ? '\uFEFF' : '') + JSON.stringify({ ...base, tilts }));
      return p;
    };
    await expect(loadSeriesManifest(write('hex.json', [{ file: files[0], angleDeg: '0x10' }, { file: files[1], angleDeg: 2 }]))).rejects.toThrow(/tilt angle is not a finite number/);
    await expect(loadSeriesManifest(write('empty.json', [{ file: files[0], angleDeg: '' }, { file: files[1], angleDeg: 2 }]))).rejects.toThrow(/tilt angle is not a finite number/);
    const ok = await loadSeriesManifest(write('bom.json', [{ file: files[0], angleDeg: '-1' }, { file: files[1], angleDeg: 1 }], true));
    expect(ok.tilts.map((t) => t.angleDeg)).toEqual([-1, 1]);
    mkdirSync(join(dir, 's', 'folder.h5'));
    await expect(openSeries(write('dir.json', [{ file: files[0], angleDeg: 0 }, { file: 'folder.h5', angleDeg: 2 }]))).rejects.toThrow(/is a folder, not a data file/);
  });

  it('refuses a .npy mask whose shape is not two positive sizes, and a truncated header', () => {
    const p = join(dir, 'neg.npy');
    writeFileSync(p, npy('-24, -24', new Uint8Array(576)));
    expect(() => readMask(p)).toThrow(/mask shape \(-24, -24\) is not two positive sizes/);
    writeFileSync(p, npy('4, 4', new Uint8Array(16).fill(1)));
    expect(Array.from(readMask(p)).every((v) => v === 1)).toBe(true);
    writeFileSync(p, npy('4, 4', new Uint8Array(16)).subarray(0, 30));
    expect(() => readMask(p)).toThrow(/truncated \.npy header/);
  });
});
