import { afterEach, describe, expect, it } from 'vitest';
import { ParameterError } from '../../../src-shared/errors';
import { readModeFromEnv, SlowReadDetector } from '../read-mode';

describe('SlowReadDetector', () => {
  const MB = 1e6;
  it("'auto' leaves the synchronous phase after a net three slow reads, not after one slow read among fast ones", () => {
    const d = new SlowReadDetector('auto');
    expect(d.startsSync).toBe(true);
    // 1 MB in 0.1 ms (10 GB/s: page cache), then one stall, then fast again: stays synchronous.
    expect(d.record(MB, 0.1)).toBe(false);
    expect(d.record(MB, 5)).toBe(false);
    expect(d.record(MB, 0.1)).toBe(false);
    expect(d.record(MB, 0.1)).toBe(false);
    // From the device (1 MB in 2 ms: 0.5 GB/s): the third net slow read switches.
    expect(d.record(MB, 2)).toBe(false);
    expect(d.record(MB, 2)).toBe(false);
    expect(d.record(MB, 2)).toBe(true);
  });

  it("'sync' never switches, 'async' never starts synchronous", () => {
    const s = new SlowReadDetector('sync');
    for (let i = 0; i < 10; i++) expect(s.record(MB, 50)).toBe(false);
    expect(new SlowReadDetector('async').startsSync).toBe(false);
  });
});

describe('readModeFromEnv', () => {
  const saved = process.env.TRACKED_VIRTUAL_READS;
  afterEach(() => {
    if (saved === undefined) delete process.env.TRACKED_VIRTUAL_READS;
    else process.env.TRACKED_VIRTUAL_READS = saved;
  });
  it('reads auto|sync|async, is undefined when unset, and names the variable when wrong', () => {
    delete process.env.TRACKED_VIRTUAL_READS;
    expect(readModeFromEnv()).toBeUndefined();
    process.env.TRACKED_VIRTUAL_READS = 'sync';
    expect(readModeFromEnv()).toBe('sync');
    process.env.TRACKED_VIRTUAL_READS = 'fast';
    expect(() => readModeFromEnv()).toThrow(ParameterError);
    expect(() => readModeFromEnv()).toThrow(/TRACKED_VIRTUAL_READS/);
  });
});
