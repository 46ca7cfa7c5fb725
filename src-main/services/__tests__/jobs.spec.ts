import { describe, expect, it } from 'vitest';
import type { EventMap, EventName } from '../../../src-shared/contract';
import { JobRunner } from '../jobs';

function recorder() {
  const events: Array<{ event: EventName; payload: EventMap[EventName] }> = [];
  return { events, emit: <E extends EventName>(event: E, payload: EventMap[E]) => void events.push({ event, payload }) };
}
const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('JobRunner', () => {
  it('throttles progress but always delivers the last value, with an ETA', async () => {
    const sink = recorder();
    const runner = new JobRunner(sink, { progressIntervalMs: 50 });
    runner.start('count', async (ctx) => {
      for (let i = 1; i <= 1000; i++) ctx.progress(i, 1000, 'counting');
      await new Promise((r) => setTimeout(r, 120));
      return 'ok';
    });
    await until(() => sink.events.some((e) => e.event === 'job:done'));
    const progress = sink.events.filter((e) => e.event === 'job:progress').map((e) => e.payload as EventMap['job:progress']);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.length).toBeLessThan(10);
    expect(progress.at(-1)!.done).toBe(1000);
    expect(progress[0]!.etaS).toBeTypeOf('number');
  });

  it('cancels through the AbortSignal and reports an AbortError', async () => {
    const sink = recorder();
    const runner = new JobRunner(sink, { progressIntervalMs: 0 });
    let iterations = 0;
    const id = runner.start('spin', async (ctx) => {
      while (!ctx.signal.aborted) {
        iterations++;
        await new Promise((r) => setTimeout(r, 2));
      }
      ctx.signal.throwIfAborted();
      return 'never';
    });
    await until(() => iterations > 3);
    expect(runner.cancel(id)).toBe(true);
    await until(() => sink.events.some((e) => e.event === 'job:error'));
    const err = sink.events.find((e) => e.event === 'job:error')!.payload as EventMap['job:error'];
    expect(err.error.name).toBe('AbortError');
    expect(runner.active()).toEqual([]);
    expect(runner.cancel(id)).toBe(false);
  });

  it('reports a job that returns after cancellation as cancelled, not done', async () => {
    const sink = recorder();
    const runner = new JobRunner(sink);
    const id = runner.start('ignores-signal', () => new Promise((r) => setTimeout(() => r('late'), 30)));
    await new Promise((r) => setTimeout(r, 5));
    runner.cancel(id);
    await until(() => sink.events.some((e) => e.event === 'job:error' || e.event === 'job:done'));
    expect(sink.events.some((e) => e.event === 'job:done')).toBe(false);
  });
});
