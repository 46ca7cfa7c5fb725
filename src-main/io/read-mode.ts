// How the streaming passes (virtual images, extraction) read a file's frames on a worker.
//
// From the page cache a read is a memcpy: done synchronously by the core that sums the block next, the block is
// still in that core's cache and no thread of libuv's pool competes for the same cores (measured warm, 2 cores:
// 1.2–1.3× the throughput of pipelined reads). From a device, reads should be pipelined so the device always has
// requests queued. 'auto' starts synchronous and switches to pipelined for the rest of the unit once reads look
// like they come from the device. Node has no mincore(), so speed is the only evidence.

import { ParameterError } from '../../src-shared/errors';

/** 'sync': on the worker's thread; 'async': pipelined on libuv's pool; 'auto': sync while reads are page-cache fast. */
export type ReadMode = 'auto' | 'sync' | 'async';

/**
 * Bytes per millisecond a synchronous read must reach to count as served from the page cache (2 GB/s: a
 * page-cache copy here runs at 6–16 GB/s, a cold read from this VM's disk at ≤ 2).
 */
const CACHED_BYTES_PER_MS = 2e6;
/** Net count of slow reads (slow +1, fast −1) after which 'auto' pipelines: one slow read proves little (a page
 *  fault, the thread descheduled for a moment). */
const SLOW_READS = 3;

/** Tells, read by read, whether an 'auto' pass should leave its synchronous phase. */
export class SlowReadDetector {
  private slow = 0;
  constructor(private readonly mode: ReadMode) {}

  /** Whether reads start synchronous. */
  get startsSync(): boolean {
    return this.mode !== 'async';
  }

  /** Records a synchronous read of `bytes` that took `ms`; true when the pass should switch to pipelined reads. */
  record(bytes: number, ms: number): boolean {
    // Slower than CACHED_BYTES_PER_MS: the bytes took longer than a page-cache copy of them would.
    this.slow = ms * CACHED_BYTES_PER_MS > bytes ? this.slow + 1 : Math.max(0, this.slow - 1);
    return this.mode === 'auto' && this.slow >= SLOW_READS;
  }
}

/** Env TRACKED_VIRTUAL_READS (auto | sync | async), for measurements; undefined when unset. */
export function readModeFromEnv(): ReadMode | undefined {
  const v = process.env.TRACKED_VIRTUAL_READS;
  if (v === undefined || v === '') return undefined;
  if (v === 'auto' || v === 'sync' || v === 'async') return v;
  throw new ParameterError('TRACKED_VIRTUAL_READS', `must be auto, sync or async, got '${v}'`);
}
