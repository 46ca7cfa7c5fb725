import { describe, expect, it } from 'vitest';
import type { EventMap, EventName } from '../../../src-shared/contract';
import { IpcRegistry, type JobHandlers, type RequestHandlers } from '../registry';
import { createAppState, createJobHandlers, createRequestHandlers } from '../bindings';

function collectingSink() {
  const events: Array<{ event: EventName; payload: unknown }> = [];
  return {
    events,
    emit<E extends EventName>(event: E, payload: EventMap[E]) {
      events.push({ event, payload });
    },
  };
}

describe('IpcRegistry', () => {
  const make = () => {
    const sink = collectingSink();
    const registry = new IpcRegistry(createRequestHandlers({ host: 'test-host' }), createJobHandlers(createAppState()), sink);
    return { sink, registry };
  };

  it('rejects an argument of the wrong type before the service runs, naming the field', async () => {
    let serviceRan = false;
    const handlers: RequestHandlers = {
      ...createRequestHandlers({ host: 'test-host' }),
      'file.info': () => {
        serviceRan = true;
        throw new Error('must not run');
      },
    };
    const registry = new IpcRegistry(handlers, createJobHandlers(createAppState()), collectingSink());
    const reply = await registry.handle('file.info', { path: 42 });
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.name).toBe('ValidationError');
    expect(reply.error.detail?.field).toBe('path');
    expect(reply.error.message).toContain('path');
    expect(serviceRan).toBe(false);
  });

  it('rejects unknown fields and unknown channels', async () => {
    const { registry } = make();
    const extra = await registry.handle('app.info', { sneaky: true });
    expect(extra.ok).toBe(false);
    const unknown = await registry.handle('fs.deleteEverything', {});
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.error.message).toContain('Unknown channel');
  });

  it('validates job arguments with the job schema, naming nested fields', async () => {
    const { registry } = make();
    const reply = await registry.handle('job.start', { kind: 'file.hash', args: { path: '/x', chunkBytes: -5 } });
    expect(reply.ok).toBe(false);
    if (!reply.ok) expect(reply.error.detail?.field).toBe('chunkBytes');
    const badKind = await registry.handle('job.start', { kind: 'nope', args: {} });
    expect(badKind.ok).toBe(false);
  });

  it('turns a service exception into { name, message, detail } and keeps serving', async () => {
    const { registry } = make();
    const reply = await registry.handle('file.info', { path: '/definitely/not/here.h5' });
    expect(reply.ok).toBe(false);
    if (!reply.ok) {
      expect(reply.error.name).toBe('InputError');
      expect(reply.error.message).toContain('/definitely/not/here.h5');
      expect(reply.error.detail?.file).toBe('/definitely/not/here.h5');
    }
    const ok = await registry.handle('app.info', {});
    expect(ok.ok).toBe(true);
  });

  it('a failing job ends as job:error and does not disturb a job running beside it', async () => {
    const sink = collectingSink();
    const jobs: JobHandlers = {
      ...createJobHandlers(createAppState()),
      'file.hash': async (args, ctx) => {
        if (args.path === 'fail') throw new TypeError('boom in the kernel');
        for (let i = 1; i <= 5; i++) {
          await new Promise((r) => setTimeout(r, 5));
          ctx.progress(i, 5, 'counting');
        }
        return { path: args.path, algorithm: 'sha256', hex: 'x', bytes: 5 };
      },
    };
    const registry = new IpcRegistry(createRequestHandlers({ host: 'test-host' }), jobs, sink, { progressIntervalMs: 0 });
    const a = await registry.handle('job.start', { kind: 'file.hash', args: { path: 'fail' } });
    const b = await registry.handle('job.start', { kind: 'file.hash', args: { path: 'good' } });
    expect(a.ok && b.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    const idA = (a as { value: { jobId: string } }).value.jobId;
    const idB = (b as { value: { jobId: string } }).value.jobId;
    const errA = sink.events.find((e) => e.event === 'job:error' && (e.payload as { jobId: string }).jobId === idA);
    const doneB = sink.events.find((e) => e.event === 'job:done' && (e.payload as { jobId: string }).jobId === idB);
    expect((errA?.payload as EventMap['job:error']).error).toMatchObject({ name: 'TypeError', message: 'boom in the kernel' });
    expect((doneB?.payload as EventMap['job:done']).result).toMatchObject({ path: 'good' });
    const progressB = sink.events.filter((e) => e.event === 'job:progress' && (e.payload as { jobId: string }).jobId === idB);
    expect(progressB.at(-1)?.payload).toMatchObject({ done: 5, total: 5, stage: 'counting' });
  });
});
