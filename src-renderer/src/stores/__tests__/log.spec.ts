import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { useLogStore } from '../log';

describe('log store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('keeps entries in order with level, source and a time', () => {
    const log = useLogStore();
    log.info('opened', 'series');
    log.warn('no beam', 'virtual');
    expect(log.lines.map((l) => [l.level, l.message, l.source])).toEqual([
      ['info', 'opened', 'series'],
      ['warn', 'no beam', 'virtual'],
    ]);
    expect(log.lines[1]!.id).toBeGreaterThan(log.lines[0]!.id);
  });

  it('shows an error with the name main gave it, and plain values as text', () => {
    const log = useLogStore();
    const e = new Error('tilt_003.h5: file ends at byte 12');
    e.name = 'InputError';
    log.error(e, 'virtual');
    log.error('something odd');
    log.error(new Error('plain'));
    expect(log.lines.map((l) => l.message)).toEqual(['InputError: tilt_003.h5: file ends at byte 12', 'something odd', 'plain']);
    expect(log.lines.every((l) => l.level === 'error')).toBe(true);
  });

  it('keeps the last 2000 lines and clears', () => {
    const log = useLogStore();
    for (let i = 0; i < 2050; i++) log.info(`line ${i}`);
    expect(log.lines).toHaveLength(2000);
    expect(log.lines[0]!.message).toBe('line 50');
    log.clear();
    expect(log.lines).toHaveLength(0);
  });
});
