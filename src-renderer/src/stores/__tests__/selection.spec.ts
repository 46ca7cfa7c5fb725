import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { useSelectionStore } from '../selection';

describe('selection store', () => {
  beforeEach(() => setActivePinia(createPinia()));

  it('holds the one thing selected last', () => {
    const sel = useSelectionStore();
    expect(sel.current).toBeNull();
    sel.select({ kind: 'file', path: '/data/a.h5' });
    sel.select({ kind: 'object', seriesId: 'series-1', objectId: 2 });
    expect(sel.current).toEqual({ kind: 'object', seriesId: 'series-1', objectId: 2 });
    sel.select(null);
    expect(sel.current).toBeNull();
  });
});
