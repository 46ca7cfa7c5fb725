// The one frame-stream reader of the streaming passes (virtual images, extraction): a worker reads its share of a
// file block by block into memory areas it owns (a WebAssembly kernel's memory, or plain buffers) and sums each
// block as soon as it is there.
//
// From the page cache a read is a memcpy: done synchronously by the core that sums the block next, the block is
// still in that core's cache and no thread of libuv's pool competes for the same cores. From a device, reads are
// pipelined so the device always has requests queued: with n areas, n − 1 reads are in flight while one block is
// summed. 'auto' starts synchronous and switches for the rest of the stream once reads look like they come from the
// device (./read-mode.ts).
//
// What a block is (which frames, headers included or packed) is the caller's business: it hands over, per block,
// the file reads that fill its area. ./frame-blocks.ts makes those lists for the two layouts the passes use.

import { throwIfAborted } from '../../src-shared/errors';
import { readExactly, readExactlySync, type ReadableFile } from './util';
import { SlowReadDetector, type ReadMode } from './read-mode';

/** The file reads that fill one block's area, from byte 0: [offset in the area, length, file position], flattened. */
export interface StreamBlock {
  reads: Float64Array;
  /** Bytes of the area the reads fill. */
  bytes: number;
}

/** Per block, epoch milliseconds: read issued, read complete, sum start, sum end (profiling). */
export type BlockTiming = [number, number, number, number];

export interface FrameStreamOptions {
  /** The open file (read-only; the stream never closes it) and its path, for error messages. */
  file: ReadableFile;
  path: string;
  blocks: readonly StreamBlock[];
  /** Where blocks are read to, each at least as long as the largest block; at least 2 for pipelined reads. */
  areas: readonly Uint8Array[];
  mode: ReadMode;
  signal?: AbortSignal;
  /** Called once per block, in order, when its bytes are in `areas[area]`; the area is not reused until it returns. */
  onBlock(block: number, area: number): void;
  /** When given, gets one BlockTiming per block. */
  timings?: BlockTiming[];
}

const now = (): number => performance.timeOrigin + performance.now();

async function readBlock(o: FrameStreamOptions, b: number, area: number): Promise<void> {
  const { reads } = o.blocks[b];
  for (let r = 0; r < reads.length; r += 3) await readExactly(o.file, o.path, o.areas[area], reads[r], reads[r + 1], reads[r + 2]);
}

function readBlockSync(o: FrameStreamOptions, b: number, area: number): void {
  const { reads } = o.blocks[b];
  for (let r = 0; r < reads.length; r += 3) readExactlySync(o.file.fd, o.path, o.areas[area], reads[r], reads[r + 1], reads[r + 2]);
}

/**
 * Reads every block into the areas and hands it to `onBlock`, in order. Resolves with the bytes read; rejects with an
 * InputError naming the file and the byte where it ends (truncated), CancelledError, or what `onBlock` threw. Never
 * returns while a read is still in flight.
 */
export async function streamBlocks(o: FrameStreamOptions): Promise<number> {
  const n = o.blocks.length;
  let bytesRead = 0;
  let next = 0;
  const slowReads = new SlowReadDetector(o.areas.length > 1 ? o.mode : 'sync');
  if (slowReads.startsSync) {
    while (next < n) {
      throwIfAborted(o.signal);
      const t0 = performance.now();
      readBlockSync(o, next, 0);
      const readMs = performance.now() - t0;
      const timing: BlockTiming | null = o.timings ? [performance.timeOrigin + t0, now(), now(), 0] : null;
      o.onBlock(next, 0);
      if (timing) {
        timing[3] = now();
        o.timings!.push(timing);
      }
      bytesRead += o.blocks[next].bytes;
      next++;
      if (slowReads.record(o.blocks[next - 1].bytes, readMs)) break;
    }
  }
  const inflight: Array<{ b: number; area: number; done: Promise<void>; timing: BlockTiming | null }> = [];
  let nextArea = 0;
  const issue = (): void => {
    if (next >= n) return;
    const timing: BlockTiming | null = o.timings ? [now(), 0, 0, 0] : null;
    const done = readBlock(o, next, nextArea).then(() => {
      if (timing) timing[1] = now();
    });
    done.catch(() => undefined); // awaited in order below
    inflight.push({ b: next, area: nextArea, done, timing });
    next++;
    nextArea = (nextArea + 1) % o.areas.length;
  };
  try {
    for (let k = 0; k < o.areas.length - 1; k++) issue();
    while (inflight.length > 0) {
      const blk = inflight[0];
      await blk.done;
      throwIfAborted(o.signal);
      inflight.shift();
      // Into the area that is neither this one nor one still being read: the queue stays areas − 1 deep.
      issue();
      if (blk.timing) blk.timing[2] = now();
      o.onBlock(blk.b, blk.area);
      if (blk.timing) {
        blk.timing[3] = now();
        o.timings!.push(blk.timing);
      }
      bytesRead += o.blocks[blk.b].bytes;
    }
  } finally {
    // Never leave a read writing into memory the caller may reuse, nor let the file close under it.
    for (const r of inflight) await r.done.catch(() => undefined);
  }
  return bytesRead;
}
