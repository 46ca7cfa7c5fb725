// The public SAM2 ONNX export layouts, one adapter each (docs/FORMATS.md §5): which files, which tensor names,
// shapes and dtypes, how to feed the encoder and the decoder and how to read their outputs. Everything past the
// adapter (preprocessing, prompts in the 1024 frame, postprocessing, propagation) is layout-independent.

import ort from 'onnxruntime-node';
import type { OnnxValue, Tensor } from 'onnxruntime-node';

export type LayoutId = 'samexporter' | 'onnxruntime' | 'onnx-community';

/** A tensor as an export declares it. Numbers are static dims that must match; strings are symbolic (any size). */
export interface TensorSpec {
  name: string;
  dtype: Tensor.Type;
  shape: (number | string)[];
}

/** SAM2's image preprocessing (identical in the three exports, FORMATS §5d); kept per layout in case one differs. */
export interface PreprocessSpec {
  /** Model input side; SAM2 stretches the image (here: the crop) to size×size, no letterbox. */
  size: number;
  /** Low-res mask side (size / 4): the decoder's logits and mask_input frame. */
  lowResSize: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** The encoder's three feature maps, kept as ORT values so they go back into the decoder without a copy. */
export interface Sam2Features {
  feat0: OnnxValue;
  feat1: OnnxValue;
  embed: OnnxValue;
  /** Bytes held, for the embedding cache's budget. */
  bytes: number;
}

/** A decoder call in the model's 1024 frame (pixel coordinates, before SAM's internal +0.5). */
export interface DecoderPrompt {
  /** Box corners (x0, y0, x1, y1); goes first, as labels 2 and 3 where the layout takes boxes as points. */
  box?: [number, number, number, number];
  points: { x: number; y: number; label: 0 | 1 }[];
  /** lowResSize² logits of an earlier decoder call (not a 0/1 mask, FORMATS §5d), or null. */
  maskInput: Float32Array | null;
}

export interface DecoderOutput {
  /** nMasks · lowResSize² low-res logits. */
  lowRes: Float32Array;
  /** Predicted IoU per mask. */
  iou: Float32Array;
  nMasks: number;
  /** onnx-community only: > 0 means "an object is there" (SAM2's object score). */
  objectScore?: number;
}

export interface Sam2Layout {
  id: LayoutId;
  /** How the layout is named in messages. */
  title: string;
  /** Which files of the folder (relative paths) are the encoder and the decoder; null when the names do not fit. */
  findFiles(files: string[]): { encoder: string; decoder: string } | null;
  /** What the file names should look like, for the "no model found" message. */
  expectedFiles: string;
  encoder: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  decoder: { inputs: TensorSpec[]; outputs: TensorSpec[] };
  preprocess: PreprocessSpec;
  /** False for onnx-community: its graph has no mask_input, so propagation relies on box + point only. */
  supportsMaskInput: boolean;
  encoderFeed(image: Float32Array): Record<string, Tensor>;
  encoderOutputs(out: Record<string, OnnxValue>): Sam2Features;
  decoderFeed(f: Sam2Features, p: DecoderPrompt): Record<string, OnnxValue>;
  decoderOutputs(out: Record<string, OnnxValue>): DecoderOutput;
}

const SAM2_PREPROCESS: PreprocessSpec = {
  size: 1024,
  lowResSize: 256,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

function f32(data: Float32Array | number[], dims: number[]): Tensor {
  return new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
}

function floatData(v: OnnxValue | undefined, name: string): Float32Array {
  if (!v || v.type !== 'float32') throw new Error(`decoder output '${name}' missing or not float32`);
  return v.data as Float32Array;
}

function features(out: Record<string, OnnxValue>, n0: string, n1: string, n2: string): Sam2Features {
  const feat0 = out[n0];
  const feat1 = out[n1];
  const embed = out[n2];
  if (!feat0 || !feat1 || !embed) throw new Error(`encoder outputs ${n0}, ${n1}, ${n2} expected`);
  return { feat0, feat1, embed, bytes: (feat0.size + feat1.size + embed.size) * 4 };
}

/** Box-first point list with SAM labels (2 = top-left, 3 = bottom-right), for layouts that take boxes as points. */
function pointsWithBox(p: DecoderPrompt): { coords: Float32Array; labels: number[] } {
  const pts: [number, number, number][] = [];
  if (p.box) pts.push([p.box[0], p.box[1], 2], [p.box[2], p.box[3], 3]);
  for (const q of p.points) pts.push([q.x, q.y, q.label]);
  const coords = new Float32Array(pts.length * 2);
  pts.forEach(([x, y], i) => {
    coords[2 * i] = x;
    coords[2 * i + 1] = y;
  });
  return { coords, labels: pts.map((q) => q[2]) };
}

function maskFeed(p: DecoderPrompt, low: number): { mask: Tensor; has: Tensor } {
  return {
    mask: f32(p.maskInput ?? new Float32Array(low * low), [1, 1, low, low]),
    has: f32([p.maskInput ? 1 : 0], [1]),
  };
}

/** All .onnx files of `files` whose base name matches `re`, sorted. */
function matching(files: string[], re: RegExp): string[] {
  return files.filter((f) => re.test(f.split('/').pop() ?? f)).sort();
}

/**
 * The Hiera image encoder both the samexporter and onnxruntime exports share: SAM2's preprocessing, one 1024² image
 * in, two high-resolution feature maps and the embedding out (names differ per export), mask input supported.
 */
function hieraImageEncoder(feat0: string, feat1: string, embed: string): Pick<Sam2Layout, 'preprocess' | 'supportsMaskInput' | 'encoderFeed' | 'encoderOutputs'> {
  return {
    preprocess: SAM2_PREPROCESS,
    supportsMaskInput: true,
    encoderFeed: (image) => ({ image: f32(image, [1, 3, 1024, 1024]) }),
    encoderOutputs: (out) => features(out, feat0, feat1, embed),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// samexporter (FORMATS §5a): NAME.encoder.onnx + NAME.decoder.onnx, float32 labels, 3 multimask low-res logits.

export const samexporterLayout: Sam2Layout = {
  id: 'samexporter',
  title: 'samexporter',
  expectedFiles: "NAME.encoder.onnx + NAME.decoder.onnx (e.g. sam2.1_hiera_tiny.encoder.onnx)",
  findFiles(files) {
    const pairs = matching(files, /\.encoder\.onnx$/i)
      .map((e) => ({ encoder: e, decoder: e.replace(/\.encoder\.onnx$/i, '.decoder.onnx') }))
      .filter((p) => files.includes(p.decoder));
    if (pairs.length > 1) throw new AmbiguousModelsError(pairs.map((p) => p.encoder));
    return pairs[0] ?? null;
  },
  encoder: {
    inputs: [{ name: 'image', dtype: 'float32', shape: [1, 3, 1024, 1024] }],
    outputs: [
      { name: 'high_res_feats_0', dtype: 'float32', shape: [1, 32, 256, 256] },
      { name: 'high_res_feats_1', dtype: 'float32', shape: [1, 64, 128, 128] },
      { name: 'image_embed', dtype: 'float32', shape: [1, 256, 64, 64] },
    ],
  },
  decoder: {
    inputs: [
      { name: 'image_embed', dtype: 'float32', shape: [1, 256, 64, 64] },
      { name: 'high_res_feats_0', dtype: 'float32', shape: [1, 32, 256, 256] },
      { name: 'high_res_feats_1', dtype: 'float32', shape: [1, 64, 128, 128] },
      { name: 'point_coords', dtype: 'float32', shape: ['num_labels', 'num_points', 2] },
      { name: 'point_labels', dtype: 'float32', shape: ['num_labels', 'num_points'] },
      { name: 'mask_input', dtype: 'float32', shape: ['num_labels', 1, 256, 256] },
      { name: 'has_mask_input', dtype: 'float32', shape: ['num_labels'] },
    ],
    outputs: [
      { name: 'masks', dtype: 'float32', shape: ['num_labels', 'num_masks', 256, 256] },
      { name: 'iou_predictions', dtype: 'float32', shape: ['num_labels', 'num_masks'] },
    ],
  },
  ...hieraImageEncoder('high_res_feats_0', 'high_res_feats_1', 'image_embed'),
  decoderFeed(f, p) {
    const { coords, labels } = pointsWithBox(p);
    const { mask, has } = maskFeed(p, 256);
    return {
      image_embed: f.embed,
      high_res_feats_0: f.feat0,
      high_res_feats_1: f.feat1,
      point_coords: f32(coords, [1, labels.length, 2]),
      point_labels: f32(labels, [1, labels.length]), // float32 in this export
      mask_input: mask,
      has_mask_input: has,
    };
  },
  decoderOutputs(out) {
    const iou = floatData(out.iou_predictions, 'iou_predictions');
    return { lowRes: floatData(out.masks, 'masks'), iou, nMasks: iou.length };
  },
};

// ---------------------------------------------------------------------------------------------------------------
// onnxruntime / Microsoft (FORMATS §5b): int32 labels, original_image_size, bool masks + low_res_masks logits.

export const onnxruntimeLayout: Sam2Layout = {
  id: 'onnxruntime',
  title: 'onnxruntime (Microsoft)',
  expectedFiles: '*image_encoder*.onnx + *image_decoder*.onnx (e.g. sam2_hiera_tiny_image_encoder.onnx)',
  findFiles(files) {
    const enc = matching(files, /image_encoder.*\.onnx$/i);
    // Prefer the multimask decoder when the single-mask one sits beside it: propagation picks by predicted IoU.
    const dec = matching(files, /image_decoder.*\.onnx$/i).sort((a, b) => Number(/single/i.test(a)) - Number(/single/i.test(b)));
    if (enc.length > 1) throw new AmbiguousModelsError(enc);
    return enc[0] && dec[0] ? { encoder: enc[0], decoder: dec[0] } : null;
  },
  encoder: {
    inputs: [{ name: 'image', dtype: 'float32', shape: ['batch_size', 3, 1024, 1024] }],
    outputs: [
      { name: 'image_features_0', dtype: 'float32', shape: ['batch_size', 32, 256, 256] },
      { name: 'image_features_1', dtype: 'float32', shape: ['batch_size', 64, 128, 128] },
      { name: 'image_embeddings', dtype: 'float32', shape: ['batch_size', 256, 64, 64] },
    ],
  },
  decoder: {
    inputs: [
      { name: 'image_features_0', dtype: 'float32', shape: ['batch_size', 32, 256, 256] },
      { name: 'image_features_1', dtype: 'float32', shape: ['batch_size', 64, 128, 128] },
      { name: 'image_embeddings', dtype: 'float32', shape: ['batch_size', 256, 64, 64] },
      { name: 'point_coords', dtype: 'float32', shape: ['num_labels', 'num_points', 2] },
      { name: 'point_labels', dtype: 'int32', shape: ['num_labels', 'num_points'] },
      { name: 'input_masks', dtype: 'float32', shape: ['num_labels', 1, 256, 256] },
      { name: 'has_input_masks', dtype: 'float32', shape: ['num_labels'] },
      { name: 'original_image_size', dtype: 'int32', shape: [2] },
    ],
    outputs: [
      { name: 'masks', dtype: 'bool', shape: ['num_labels', 'num_masks', 'height', 'width'] },
      { name: 'iou_predictions', dtype: 'float32', shape: ['num_labels', 'num_masks'] },
      { name: 'low_res_masks', dtype: 'float32', shape: ['num_labels', 'num_masks', 256, 256] },
    ],
  },
  ...hieraImageEncoder('image_features_0', 'image_features_1', 'image_embeddings'),
  decoderFeed(f, p) {
    const { coords, labels } = pointsWithBox(p);
    const { mask, has } = maskFeed(p, 256);
    return {
      image_features_0: f.feat0,
      image_features_1: f.feat1,
      image_embeddings: f.embed,
      point_coords: f32(coords, [1, labels.length, 2]),
      point_labels: new ort.Tensor('int32', Int32Array.from(labels), [1, labels.length]),
      input_masks: mask,
      has_input_masks: has,
      // We read low_res_masks and do our own crop-aware upsampling; the graph's own `masks` output is upsampled
      // to this size, so ask for the smallest sensible one (the low-res frame) to keep that work negligible.
      original_image_size: new ort.Tensor('int32', Int32Array.from([256, 256]), [2]),
    };
  },
  decoderOutputs(out) {
    const iou = floatData(out.iou_predictions, 'iou_predictions');
    return { lowRes: floatData(out.low_res_masks, 'low_res_masks'), iou, nMasks: iou.length };
  },
};

// ---------------------------------------------------------------------------------------------------------------
// onnx-community / Transformers.js (FORMATS §5c): int64 labels, separate input_boxes, 5-D pred_masks, no mask_input.

const COMMUNITY_VARIANTS = ['', '_quantized', '_fp16'];

export const onnxCommunityLayout: Sam2Layout = {
  id: 'onnx-community',
  title: 'onnx-community (Transformers.js)',
  expectedFiles: 'onnx/vision_encoder.onnx + onnx/prompt_encoder_mask_decoder.onnx (each with its .onnx_data)',
  findFiles(files) {
    // fp32 first: the fp16 files may declare float16 I/O, which validation would then reject with a clear message.
    const pick = (stem: string): string | undefined => {
      for (const v of COMMUNITY_VARIANTS) {
        const hit = files.find((f) => (f.split('/').pop() ?? f) === `${stem}${v}.onnx`);
        if (hit) return hit;
      }
      return undefined;
    };
    const encoder = pick('vision_encoder');
    const decoder = pick('prompt_encoder_mask_decoder');
    return encoder && decoder ? { encoder, decoder } : null;
  },
  encoder: {
    inputs: [{ name: 'pixel_values', dtype: 'float32', shape: ['batch_size', 3, 1024, 1024] }],
    outputs: [
      { name: 'image_embeddings.0', dtype: 'float32', shape: ['batch_size', 32, 256, 256] },
      { name: 'image_embeddings.1', dtype: 'float32', shape: ['batch_size', 64, 128, 128] },
      { name: 'image_embeddings.2', dtype: 'float32', shape: ['batch_size', 256, 64, 64] },
    ],
  },
  decoder: {
    inputs: [
      { name: 'input_points', dtype: 'float32', shape: ['batch_size', 'point_batch_size', 'num_points', 2] },
      { name: 'input_labels', dtype: 'int64', shape: ['batch_size', 'point_batch_size', 'num_points'] },
      { name: 'input_boxes', dtype: 'float32', shape: ['batch_size', 'num_boxes', 4] },
      { name: 'image_embeddings.0', dtype: 'float32', shape: ['batch_size', 32, 256, 256] },
      { name: 'image_embeddings.1', dtype: 'float32', shape: ['batch_size', 64, 128, 128] },
      { name: 'image_embeddings.2', dtype: 'float32', shape: ['batch_size', 256, 64, 64] },
    ],
    outputs: [
      { name: 'iou_scores', dtype: 'float32', shape: ['batch_size', 'point_batch_size', 3] },
      { name: 'pred_masks', dtype: 'float32', shape: ['batch_size', 'point_batch_size', 3, 256, 256] },
      { name: 'object_score_logits', dtype: 'float32', shape: ['batch_size', 'point_batch_size', 1] },
    ],
  },
  preprocess: SAM2_PREPROCESS,
  supportsMaskInput: false,
  encoderFeed: (image) => ({ pixel_values: f32(image, [1, 3, 1024, 1024]) }),
  encoderOutputs: (out) => features(out, 'image_embeddings.0', 'image_embeddings.1', 'image_embeddings.2'),
  decoderFeed(f, p) {
    // Transformers.js conventions: points [B, point_batch, N, 2]; a box-less call passes boxes [B, 0, 4].
    const n = p.points.length;
    const coords = new Float32Array(n * 2);
    p.points.forEach((q, i) => {
      coords[2 * i] = q.x;
      coords[2 * i + 1] = q.y;
    });
    return {
      input_points: f32(coords, [1, 1, n, 2]),
      input_labels: new ort.Tensor('int64', BigInt64Array.from(p.points.map((q) => BigInt(q.label))), [1, 1, n]),
      input_boxes: f32(p.box ? [...p.box] : [], [1, p.box ? 1 : 0, 4]),
      'image_embeddings.0': f.feat0,
      'image_embeddings.1': f.feat1,
      'image_embeddings.2': f.embed,
    };
  },
  decoderOutputs(out) {
    const iou = floatData(out.iou_scores, 'iou_scores');
    const score = out.object_score_logits ? floatData(out.object_score_logits, 'object_score_logits')[0] : undefined;
    return { lowRes: floatData(out.pred_masks, 'pred_masks'), iou, nMasks: iou.length, ...(score === undefined ? {} : { objectScore: score }) };
  },
};

/** In the order they are tried: samexporter first (FORMATS §5a: the de-facto signature). */
export const LAYOUTS: readonly Sam2Layout[] = [samexporterLayout, onnxruntimeLayout, onnxCommunityLayout];

/** Thrown by findFiles when a folder holds several models of one layout; the loader turns it into an InputError. */
export class AmbiguousModelsError extends Error {
  constructor(readonly candidates: string[]) {
    super(`several models: ${candidates.join(', ')}`);
  }
}
