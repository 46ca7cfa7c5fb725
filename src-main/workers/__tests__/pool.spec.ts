import { afterAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError, ParameterError } from '../../../src-shared/errors';
import { WorkerCrashError, WorkerPool } from '../pool';
import { WORKER_SCRIPT } from '../../../tests/helpers/paths';

// Built by the Vitest global setup (scripts/build-cli.mjs): the same bundle the CLI ships.
const WORKER = WORKER_SCRIPT;

describe('WorkerPool', () => {
  const pool = new WorkerPool({ size: 2, workerPath: WORKER, cancelGraceMs: 300 });
  afterAll(() => pool.close());

  it('runs many tasks, moves typed arrays both ways, and uses every worker', async () => {
    const jobs = Array.from({ length: 200 }, (_, i) => {
      const a = new Float64Array(1000).fill(i);
      return pool.run('diagnostics', { op: 'echo', value: a }, { transfer: [a.buffer] }).then((v) => ({ i, v, a }));
    });
    const done = await Promise.all(jobs);
    for (const { i, v, a } of done) {
      expect(a.byteLength).toBe(0); // transferred, not copied
      expect(v).toBeInstanceOf(Float64Array);
      expect((v as Float64Array)[999]).toBe(i);
    }
    // Four 100 ms tasks at once on two workers: each worker runs some of them, so both thread ids come back.
    const ids = await Promise.all([0, 1, 2, 3].map(() => pool.run('diagnostics', { op: 'threadId', busyMs: 100 })));
    expect(pool.threads).toBe(2);
    expect(new Set(ids).size).toBe(2);
  });

  it('spreads concurrent work over the threads', async () => {
    const t = performance.now();
    await Promise.all([0, 1, 2, 3].map(() => pool.run('diagnostics', { op: 'spin', ms: 150 })));
    // 4 × 150 ms on 2 workers: ~300 ms, not ~600 ms.
    expect(performance.now() - t).toBeLessThan(550);
  });

  it('a throwing task rejects with its own error class; the others and the pool carry on', async () => {
    const results = await Promise.allSettled([
      pool.run('diagnostics', { op: 'echo', value: 1 }),
      pool.run('diagnostics', { op: 'fail', file: '/data/x.mib', message: 'header lies' }),
      pool.run('diagnostics', { op: 'echo', value: 3 }),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 3 });
    const err = (results[1] as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('/data/x.mib: header lies');
    expect(err.detail.file).toBe('/data/x.mib');
    await expect(pool.run('nope' as 'diagnostics', { op: 'threadId' })).rejects.toBeInstanceOf(ParameterError);
  });

  it('a crashing worker fails only its task and is replaced', async () => {
    const [crash, ok] = await Promise.allSettled([
      pool.run('diagnostics', { op: 'crash' }),
      pool.run('diagnostics', { op: 'echo', value: 'still here', busyMs: 50 }),
    ]);
    expect((crash as PromiseRejectedResult).reason).toBeInstanceOf(WorkerCrashError);
    expect(ok).toEqual({ status: 'fulfilled', value: 'still here' });
    expect(await pool.run('diagnostics', { op: 'echo', value: 42 })).toBe(42);
  });

  it('cancels cooperatively: a running task sees the shared flag inside its sync loop', async () => {
    const c = new AbortController();
    const t = performance.now();
    const p = pool.run('diagnostics', { op: 'spin', ms: 10_000 }, { signal: c.signal });
    setTimeout(() => c.abort(), 50);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(performance.now() - t).toBeLessThan(250); // well before the 300 ms grace: cooperative
    expect(await pool.run('diagnostics', { op: 'echo', value: 'after' })).toBe('after');
  });

  it('terminates a task that ignores cancellation after the grace period', async () => {
    const c = new AbortController();
    const t = performance.now();
    const p = pool.run('diagnostics', { op: 'hang', ms: 20_000 }, { signal: c.signal });
    setTimeout(() => c.abort(), 50);
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    const dt = performance.now() - t;
    expect(dt).toBeGreaterThanOrEqual(300);
    expect(dt).toBeLessThan(1500);
    expect(await pool.run('diagnostics', { op: 'echo', value: 'replaced' })).toBe('replaced');
  });

  it('cancels queued tasks without running them, and refuses an already-aborted signal', async () => {
    const c = new AbortController();
    const busy = [pool.run('diagnostics', { op: 'spin', ms: 200 }), pool.run('diagnostics', { op: 'spin', ms: 200 })];
    const queued = pool.run('diagnostics', { op: 'echo', value: 1 }, { signal: c.signal });
    c.abort();
    await expect(queued).rejects.toBeInstanceOf(CancelledError);
    await Promise.all(busy);
    await expect(pool.run('diagnostics', { op: 'echo', value: 1 }, { signal: c.signal })).rejects.toBeInstanceOf(CancelledError);
  });

  it('rejects everything once closed', async () => {
    const p2 = new WorkerPool({ size: 1, workerPath: WORKER });
    const running = expect(p2.run('diagnostics', { op: 'spin', ms: 5000 })).rejects.toBeInstanceOf(CancelledError);
    await new Promise((r) => setTimeout(r, 50));
    await p2.close();
    await running;
    await expect(p2.run('diagnostics', { op: 'echo', value: 1 })).rejects.toThrow(/closed/);
  });

  describe('a task handed to a busy worker (queued in that worker)', () => {
    it('runs after the worker\'s current task, in order, and survives that worker crashing', async () => {
      const p1 = new WorkerPool({ size: 1, workerPath: WORKER });
      try {
        const order: string[] = [];
        const a = p1.run('diagnostics', { op: 'spin', ms: 100 }).then(() => order.push('a'));
        const crash = p1.run('diagnostics', { op: 'crash' });
        const b = p1.run('diagnostics', { op: 'echo', value: 'after the crash' }).then((v) => (order.push('b'), v));
        await a;
        await expect(crash).rejects.toBeInstanceOf(WorkerCrashError);
        expect(await b).toBe('after the crash');
        expect(order).toEqual(['a', 'b']);
      } finally {
        await p1.close();
      }
    });

    it('cancelling it does not touch the running task', async () => {
      const p1 = new WorkerPool({ size: 1, workerPath: WORKER, cancelGraceMs: 300 });
      try {
        const c = new AbortController();
        const running = p1.run('diagnostics', { op: 'spin', ms: 300 });
        const waiting = p1.run('diagnostics', { op: 'echo', value: 1 }, { signal: c.signal });
        const t = performance.now();
        c.abort();
        await expect(waiting).rejects.toBeInstanceOf(CancelledError);
        expect(performance.now() - t).toBeLessThan(100);
        expect(await running).toBe(300);
        expect(await p1.run('diagnostics', { op: 'echo', value: 2 })).toBe(2);
      } finally {
        await p1.close();
      }
    });

    it('goes back to the queue and runs when the task ahead of it is terminated after the grace period', async () => {
      const p1 = new WorkerPool({ size: 1, workerPath: WORKER, cancelGraceMs: 200 });
      try {
        const c = new AbortController();
        const hung = p1.run('diagnostics', { op: 'hang', ms: 20_000 }, { signal: c.signal });
        const next = p1.run('diagnostics', { op: 'echo', value: 'next' });
        setTimeout(() => c.abort(), 50);
        await expect(hung).rejects.toBeInstanceOf(CancelledError);
        expect(await next).toBe('next');
      } finally {
        await p1.close();
      }
    });
  });
});
