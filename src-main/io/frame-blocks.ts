// The blocks a streaming pass reads a direct layout in (./frame-stream.ts reads them): which probe positions each
// block holds and the file reads that bring them into memory. Two shapes:
//   strided  frames as they sit in the file, headers included (MIB), one read per block: the kernel steps over the
//            headers with its stride. Needs evenly spaced frames.
//   packed   frames packed frameBytes apart, headers dropped; frames that sit back to back in the file are one read.
//            Works for any direct layout, also chunks that are not evenly spaced (frameOffsets).

import type { DirectLayout } from './types';
import type { StreamBlock } from './frame-stream';

export interface FrameBlocks {
  blocks: StreamBlock[];
  /** Flat probe index of each block's first frame. */
  first: number[];
  /** Frames in each block. */
  count: number[];
}

/** Byte offset of frame i of a direct layout. */
export function frameOffset(d: DirectLayout, i: number): number {
  return d.frameOffsets ? d.frameOffsets[i] : d.offset + i * d.frameStrideBytes;
}

/** Frames [start, start + count) in blocks of at most `perBlock` frames, each one strided read (headers included). */
export function stridedBlocks(layout: DirectLayout, frameBytes: number, start: number, count: number, perBlock: number): FrameBlocks {
  const stride = layout.frameStrideBytes;
  const out: FrameBlocks = { blocks: [], first: [], count: [] };
  for (let f = 0; f < count; f += perBlock) {
    const n = Math.min(perBlock, count - f);
    const bytes = (n - 1) * stride + frameBytes;
    out.blocks.push({ reads: Float64Array.of(0, bytes, layout.offset + (start + f) * stride), bytes });
    out.first.push(start + f);
    out.count.push(n);
  }
  return out;
}

/**
 * The probe ranges `runs` ([start, end) pairs, flattened) in blocks of at most `perBlock` frames, packed
 * `frameBytes` apart in each block's area.
 */
export function packedBlocks(layout: DirectLayout, frameBytes: number, runs: ArrayLike<number>, perBlock: number): FrameBlocks {
  const out: FrameBlocks = { blocks: [], first: [], count: [] };
  const contiguous = !layout.frameOffsets && layout.frameStrideBytes === frameBytes;
  for (let r = 0; r < runs.length; r += 2) {
    for (let s = runs[r]; s < runs[r + 1]; s += perBlock) {
      const n = Math.min(perBlock, runs[r + 1] - s);
      const reads: number[] = [];
      let i = 0;
      while (i < n) {
        let m = 1;
        const at = frameOffset(layout, s + i);
        if (contiguous) m = n - i;
        else if (layout.frameOffsets) while (i + m < n && frameOffset(layout, s + i + m) === at + m * frameBytes) m++;
        reads.push(i * frameBytes, m * frameBytes, at);
        i += m;
      }
      out.blocks.push({ reads: Float64Array.from(reads), bytes: n * frameBytes });
      out.first.push(s);
      out.count.push(n);
    }
  }
  return out;
}
