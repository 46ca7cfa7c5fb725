// Crop boxes and the exact coordinate maps between the virtual-image grid, the model's 1024 input frame and the
// decoder's 256 low-res frame.
//
// Conventions (one for every map, so round trips are exact):
//   image:   pixel-index coordinates, pixel (i, j) centred on x = i, y = j (SAM's click convention); a pixel covers
//            [i − 0.5, i + 0.5].
//   crop:    an integer-aligned square: pixels x0 … x0 + side − 1 (may extend past the image, then padded).
//   model:   pixel-index coordinates of the size×size input; the crop is stretched onto it like cv2.resize /
//            F.interpolate(align_corners=False), i.e. edges onto edges: X = (x + 0.5 − x0)·s − 0.5, s = size / side.
//   lowres:  the same map with s = lowResSize / side.
// SAM2's own prompt transform (x·1024/W) maps pixel *edges*; for a whole 64-px image that puts a click half a source
// pixel (8 model px) off the pixel centre. With a 24-px crop stretched ×43 the error would be 21 model px, so we map
// centres exactly; the decoder's internal +0.5 then lands on the pixel centre in its own frame.

export interface CropBox {
  x0: number;
  y0: number;
  side: number;
}

/** Inclusive pixel extents of a mask or prompt set. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface CropOptions {
  /** Crop side as a multiple of the object's larger extent (the object fills about 1/margin of the crop). */
  margin: number;
  /** Smallest crop side in pixels: below this even SAM2 sees mostly interpolation. */
  minSide: number;
}

export const DEFAULT_CROP: CropOptions = { margin: 3, minSide: 24 };

/** Image pixel-index coordinate → model (or low-res) pixel-index coordinate, for a frame of `size` px. */
export function toFrame(v: number, origin: number, side: number, size: number): number {
  return (v + 0.5 - origin) * (size / side) - 0.5;
}

/** Inverse of toFrame. */
export function fromFrame(v: number, origin: number, side: number, size: number): number {
  return (v + 0.5) * (side / size) + origin - 0.5;
}

/** The crop covering the whole image as SAM2 would see it (stretched; non-square images padded at the far side). */
export function wholeImageCrop(nx: number, ny: number): CropBox {
  return { x0: 0, y0: 0, side: Math.max(nx, ny) };
}

/**
 * A square crop around `box` (pixel extents), side = max(minSide, margin × extent), quantised so that small changes of
 * the box give the same crop (the embedding cache is keyed by crop): the side is rounded up to the ladder
 * ⌈2^(k/2)⌉ and the origin snapped to a grid of side/8. A crop that would be as large as the image becomes the whole
 * image; otherwise it is shifted inside the image, so the model sees image content rather than padding.
 */
export function cropAround(box: PixelBox, nx: number, ny: number, opts: CropOptions = DEFAULT_CROP): CropBox {
  const extent = Math.max(box.x1 - box.x0 + 1, box.y1 - box.y0 + 1, 1);
  const want = Math.max(opts.minSide, Math.ceil(extent * opts.margin));
  const side = Math.ceil(2 ** (Math.ceil(2 * Math.log2(want) - 1e-9) / 2));
  if (side >= Math.max(nx, ny)) return wholeImageCrop(nx, ny);
  const grid = Math.max(1, Math.round(side / 8));
  const place = (lo: number, hi: number, n: number): number => {
    const centre = (lo + hi + 1) / 2; // edge coordinate of the box centre
    let o = Math.round((centre - side / 2) / grid) * grid;
    if (side <= n) o = Math.min(Math.max(o, 0), n - side);
    return o;
  };
  return { x0: place(box.x0, box.x1, nx), y0: place(box.y0, box.y1, ny), side };
}

export function cropKey(c: CropBox): string {
  return `${c.x0},${c.y0},${c.side}`;
}

export function sameCrop(a: CropBox, b: CropBox): boolean {
  return a.x0 === b.x0 && a.y0 === b.y0 && a.side === b.side;
}

/** True when the crop covers every pixel of the image. */
export function coversImage(c: CropBox, nx: number, ny: number): boolean {
  return c.x0 <= 0 && c.y0 <= 0 && c.x0 + c.side >= nx && c.y0 + c.side >= ny;
}

/**
 * Per-output-index bilinear taps for resampling a 1-D axis: output index o of an `outN` frame maps to source
 * coordinate src(o); taps clamp at the source edges (F.interpolate align_corners=False behaviour) and `valid` is 0
 * where src lies outside [−0.5, srcN − 0.5] (outside the source: padding).
 */
export interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
  valid: Uint8Array;
}

export function axisTaps(outN: number, srcN: number, src: (o: number) => number): Taps {
  const i0 = new Int32Array(outN);
  const i1 = new Int32Array(outN);
  const w1 = new Float32Array(outN);
  const valid = new Uint8Array(outN);
  for (let o = 0; o < outN; o++) {
    const s = src(o);
    if (!(s >= -0.5 && s <= srcN - 0.5)) continue;
    valid[o] = 1;
    const c = Math.min(Math.max(s, 0), srcN - 1);
    const f = Math.floor(c);
    i0[o] = f;
    i1[o] = Math.min(f + 1, srcN - 1);
    w1[o] = c - f;
  }
  return { i0, i1, w1, valid };
}
