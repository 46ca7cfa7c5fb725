// Model-folder loading and validation on real onnxruntime-node sessions of the stand-in exports.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../../../src-shared/errors';
import { STANDIN_FILES, writeStandinFolder, type StandinLayout } from '../../../../../tests/fixtures/onnx/sam2-standins';
import { checkTensors, cudaProviderInstalled, findModelFiles, loadSam2Model, providerCandidates, validateSam2Folder } from '../model';
import { preprocessCrop } from '../preprocess';

const root = mkdtempSync(join(tmpdir(), 'sam2-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const folder = (): string => {
  const d = join(root, `m${n++}`);
  mkdirSync(d);
  return d;
};

async function expectInputError(p: Promise<unknown>): Promise<InputError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InputError);
  return e as InputError;
}

describe('SAM2 model folder', () => {
  it.each(['samexporter', 'onnxruntime', 'onnx-community'] as StandinLayout[])('loads and runs the %s layout', async (layout) => {
    const dir = writeStandinFolder(folder(), layout);
    const m = await loadSam2Model(dir, { providers: ['cpu'] });
    try {
      expect(m.layout.id).toBe(layout);
      expect(m.provider).toBe('cpu');
      expect(m.encoderFile).toBe(join(dir, STANDIN_FILES[layout].encoder));
      // A bright square in the middle of the 1024 frame, a click on it: the best mask covers the square's
      // 256-frame footprint, and nothing far from it.
      const img = new Float32Array(64 * 64).fill(0);
      for (let y = 24; y < 40; y++) for (let x = 24; x < 40; x++) img[y * 64 + x] = 1;
      const input = preprocessCrop(img, 64, 64, { x0: 0, y0: 0, side: 64 }, { lo: 0, hi: 1, invert: false }, m.layout.preprocess);
      const f = await m.encode(input);
      const out = await m.decode(f, { points: [{ x: 512, y: 512, label: 1 }], maskInput: null });
      expect(out.nMasks).toBe(3);
      expect(out.lowRes.length).toBe(3 * 256 * 256);
      const k = out.iou.indexOf(Math.max(...out.iou));
      expect(out.lowRes[k * 65536 + 128 * 256 + 128]).toBeGreaterThan(0);
      expect(out.lowRes[k * 65536 + 10 * 256 + 10]).toBeLessThan(0);
      if (layout === 'onnx-community') expect(out.objectScore).toBeGreaterThan(0);
      // Box-only call (labels 2/3, or input_boxes) works in every layout.
      const boxed = await m.decode(f, { box: [384, 384, 640, 640], points: [], maskInput: null });
      expect(boxed.lowRes[k * 65536 + 128 * 256 + 128]).toBeGreaterThan(0);
    } finally {
      await m.release();
    }
  });

  it('says which folder does not exist', async () => {
    const e = await expectInputError(loadSam2Model(join(root, 'nope'), { providers: ['cpu'] }));
    expect(e.message).toContain(join(root, 'nope'));
  });

  it('lists the expected file names when a folder has none of them', () => {
    const d = folder();
    writeFileSync(join(d, 'notes.txt'), 'x');
    writeFileSync(join(d, 'model.onnx'), 'x');
    expect(() => findModelFiles(d)).toThrow(InputError);
    expect(() => findModelFiles(d)).toThrow(/NAME\.encoder\.onnx.*image_encoder.*vision_encoder.*found model\.onnx/);
  });

  it('names the missing half of a pair', () => {
    const d = folder();
    writeFileSync(join(d, 'sam2_tiny.encoder.onnx'), 'x');
    expect(() => findModelFiles(d)).toThrow(/encoder \(sam2_tiny\.encoder\.onnx\) but no decoder/);
  });

  it('refuses a folder with several samexporter models rather than guessing', () => {
    const d = folder();
    for (const s of ['a', 'b']) for (const r of ['encoder', 'decoder']) writeFileSync(join(d, `${s}.${r}.onnx`), 'x');
    expect(() => findModelFiles(d)).toThrow(/several samexporter SAM2 models \(a\.encoder\.onnx, b\.encoder\.onnx\)/);
  });

  it('names file and tensor for a wrong encoder input name', async () => {
    const dir = writeStandinFolder(folder(), 'samexporter', { renameInput: { encoder: { image: 'images' } } });
    const e = await expectInputError(loadSam2Model(dir, { providers: ['cpu'] }));
    expect(e.detail.file).toBe(join(dir, STANDIN_FILES.samexporter.encoder));
    expect(e.message).toContain("input 'image' missing (the file has inputs 'images')");
    expect(e.message).toContain("input 'images' is not part of this layout");
  });

  it('names file, tensor, expected and found dtype for a wrong decoder dtype', async () => {
    const dir = writeStandinFolder(folder(), 'samexporter', { decoderInputDtype: { point_labels: 'int32' } });
    const e = await expectInputError(validateSam2Folder(dir, { providers: ['cpu'] }));
    expect(e.detail.file).toBe(join(dir, STANDIN_FILES.samexporter.decoder));
    expect(e.message).toContain("input 'point_labels': expected dtype float32, found int32");
    expect(e.message).toContain('samexporter SAM2 decoder layout');
  });

  it('catches int64 labels in an onnxruntime-layout decoder (int32 expected)', async () => {
    const dir = writeStandinFolder(folder(), 'onnxruntime', { decoderInputDtype: { point_labels: 'int64' } });
    const e = await expectInputError(validateSam2Folder(dir, { providers: ['cpu'] }));
    expect(e.message).toContain("input 'point_labels': expected dtype int32, found int64");
  });

  it('reports a file onnxruntime cannot parse', async () => {
    const d = folder();
    writeFileSync(join(d, 'x.encoder.onnx'), 'not a protobuf');
    writeFileSync(join(d, 'x.decoder.onnx'), 'not a protobuf');
    const e = await expectInputError(loadSam2Model(d, { providers: ['cpu'] }));
    expect(e.message).toMatch(/x\.encoder\.onnx: onnxruntime cannot load this model/);
  });

  it('checks ranks and static dims, accepts symbolic ones', () => {
    const spec = [{ name: 'mask_input', dtype: 'float32' as const, shape: ['n', 1, 256, 256] }];
    const meta = (shape: (number | string)[]) => [{ name: 'mask_input', isTensor: true as const, type: 'float32' as const, shape }];
    expect(checkTensors('input', meta(['num_labels', 1, 256, 256]), spec)).toEqual([]);
    expect(checkTensors('input', meta([1, 1, 256, 256]), spec)).toEqual([]);
    expect(checkTensors('input', meta([1, 1, 128, 128]), spec)[0]).toBe("input 'mask_input': expected shape [n,1,256,256], found [1,1,128,128] (dim 2 is 128, not 256)");
    expect(checkTensors('input', meta([1, 256, 256]), spec)[0]).toContain('expected rank 4');
  });

  it('tries the accelerated providers onnxruntime lists and falls back to CPU with a log line', async () => {
    const dir = writeStandinFolder(folder(), 'samexporter');
    const lines: string[] = [];
    const cands = providerCandidates('auto');
    expect(cands[cands.length - 1]).toBe('cpu');
    const m = await loadSam2Model(dir, { providers: 'auto', log: (l) => lines.push(l) });
    await m.release();
    const cudaListed = ort.listSupportedBackends().some((b) => b.name === 'cuda') && process.platform !== 'darwin';
    // 'auto' tries CUDA only when its provider library was installed (offline installs skip it).
    expect(cands.includes('cuda')).toBe(cudaListed && cudaProviderInstalled());
    if (m.provider !== 'cpu') expect(lines.some((l) => l.includes('using the'))).toBe(true);
    expect(providerCandidates(['cuda'])).toEqual(['cuda', 'cpu']);
    // Asked for explicitly, a CUDA that cannot start falls back to CPU with a log line.
    if (cudaListed && !cudaProviderInstalled()) {
      const forced: string[] = [];
      const f = await loadSam2Model(dir, { providers: ['cuda'], log: (l) => forced.push(l) });
      await f.release();
      expect(f.provider).toBe('cpu');
      expect(forced.some((l) => /CUDA execution provider unavailable/.test(l))).toBe(true);
    }
  });
});
