// Per-frame analyses (preprocessing, segmentation, split map) of the tracking input, computed on demand and kept
// in a small LRU sized to a memory budget.
import { analyseImage, preprocessChannels, splitForeground, type ChannelFrame, type FrameAnalysis } from './segment';
import type { SegmentationOptions, TrackInput } from './types';

export function sliceFrame<T extends Uint8Array | Float32Array>(a: T, t: number, n: number): T {
  return a.subarray(t * n, (t + 1) * n) as T;
}

/** The virtual images of frame t (all channels, or the one stack). */
export function frameChannels(input: TrackInput, t: number): ChannelFrame[] {
  const n = input.nx * input.ny;
  const channels = input.channels?.length ? input.channels : [{ stack: input.stack, invert: input.invert ?? false }];
  return channels.map((c) => ({ data: sliceFrame(c.stack, t, n), invert: c.invert }));
}

/** Noise levels above the background at which a particle counts as solid in the drift image. */
const SILHOUETTE_SIGMAS = 5;

interface Entry {
  pre: Float32Array;
  analysis?: FrameAnalysis;
  labels?: Int32Array;
}

export class AnalysisCache {
  private readonly map = new Map<number, Entry>();
  private readonly capacity: number;

  constructor(
    private readonly input: TrackInput,
    private readonly opts: SegmentationOptions,
  ) {
    // About 13 bytes per pixel per cached frame; keep it under ~64 MB.
    this.capacity = Math.max(4, Math.floor(5e6 / (input.nx * input.ny)));
  }

  private entry(t: number): Entry {
    let e = this.map.get(t);
    if (e) {
      this.map.delete(t);
      this.map.set(t, e);
      return e;
    }
    const { nx, ny } = this.input;
    e = { pre: preprocessChannels(frameChannels(this.input, t), nx, ny, this.opts) };
    this.map.set(t, e);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as number);
    return e;
  }

  analysis(t: number): FrameAnalysis {
    const e = this.entry(t);
    e.analysis ??= analyseImage(e.pre, this.input.nx, this.input.ny, this.opts);
    return e.analysis;
  }

  /**
   * The image drift is measured on: particles as silhouettes, the background-subtracted image saturated a few noise
   * levels above the background. Diffraction contrast changes from tilt to tilt (a crystal lights up, its neighbour
   * fades), and correlating intensities would follow that pattern instead of the particles: two touching crystals
   * swapping brightness looks like a shift by one crystal's length. Independent of the frame's threshold too, which
   * jumps when one crystal flares and the others fall below it.
   */
  driftImage(t: number): Float32Array {
    const a = this.analysis(t);
    if (!a.hasContent) return a.image;
    const unit = Math.max(SILHOUETTE_SIGMAS * a.backgroundStd, 1e-12);
    const out = new Float32Array(a.image.length);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, a.image[i] - a.backgroundMean) / unit);
    return out;
  }

  /** Candidate regions (touching particles split), for prompts. */
  labels(t: number): Int32Array {
    const a = this.analysis(t);
    const e = this.entry(t);
    e.labels ??= splitForeground(a);
    return e.labels;
  }
}
