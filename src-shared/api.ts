// createApi(transport) builds the one `window.api` object from the contract. The Electron preload passes
// an ipcRenderer transport; the e2e harness passes a WebSocket transport. Nothing else is exposed.
import {
  CONTROL,
  EVENT_NAMES,
  JOB_KINDS,
  REQUEST_CHANNELS,
  type EventMap,
  type EventName,
  type JobArgs,
  type JobKind,
  type JobProgress,
  type JobResult,
  type RequestArgs,
  type RequestChannel,
  type RequestResult,
  type WireError,
  type WireResult,
} from './contract';

export interface Transport {
  /** Sends one request; resolves with main's envelope (never rejects for service errors). */
  invoke(channel: string, args: unknown): Promise<WireResult>;
  /** Subscribes to one event name; returns the unsubscribe function. */
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void;
}

/** An Error rebuilt in the renderer from main's `{ name, message, detail }`. */
export interface RemoteError extends Error {
  detail?: Record<string, unknown>;
}

export function rebuildError(wire: WireError): RemoteError {
  const error: RemoteError = new Error(wire.message);
  error.name = wire.name;
  if (wire.detail) error.detail = wire.detail;
  return error;
}

export interface RunJobOptions {
  onProgress?: (progress: JobProgress) => void;
  /** Aborting cancels the job in main; the promise then rejects with an AbortError. */
  signal?: AbortSignal;
  /** Called once the job has an id (for a cancel button). */
  onStarted?: (jobId: string) => void;
}

export interface TrackedApi {
  invoke<C extends RequestChannel>(channel: C, args: RequestArgs<C>): Promise<RequestResult<C>>;
  startJob<K extends JobKind>(kind: K, args: JobArgs<K>): Promise<{ jobId: string }>;
  cancelJob(jobId: string): Promise<{ cancelled: boolean }>;
  /** Starts a job and resolves with its result; progress through the callback. */
  runJob<K extends JobKind>(kind: K, args: JobArgs<K>, options?: RunJobOptions): Promise<JobResult<K>>;
  on<E extends EventName>(event: E, listener: (payload: EventMap[E]) => void): () => void;
}

async function call(transport: Transport, channel: string, args: unknown): Promise<unknown> {
  const reply = await transport.invoke(channel, args);
  if (!reply.ok) throw rebuildError(reply.error);
  return reply.value;
}

export function createApi(transport: Transport): TrackedApi {
  const requestChannels = new Set<string>(REQUEST_CHANNELS);
  const jobKinds = new Set<string>(JOB_KINDS);
  const eventNames = new Set<string>(EVENT_NAMES);

  const api: TrackedApi = {
    async invoke(channel, args) {
      // The type system already stops unknown channels; this stops them from plain JS in the page too.
      if (!requestChannels.has(channel)) throw new Error(`Unknown channel: ${String(channel)}`);
      return (await call(transport, channel, args)) as RequestResult<typeof channel>;
    },
    async startJob(kind, args) {
      if (!jobKinds.has(kind)) throw new Error(`Unknown job kind: ${String(kind)}`);
      return (await call(transport, CONTROL.startJob, { kind, args })) as { jobId: string };
    },
    async cancelJob(jobId) {
      return (await call(transport, CONTROL.cancelJob, { jobId })) as { cancelled: boolean };
    },
    on(event, listener) {
      if (!eventNames.has(event)) throw new Error(`Unknown event: ${String(event)}`);
      return transport.subscribe(event, listener as (payload: unknown) => void);
    },
    runJob(kind, args, options = {}) {
      return new Promise((resolve, reject) => {
        let jobId: string | undefined;
        // Events can arrive before startJob's reply; keep them until the id is known.
        const early: Array<() => void> = [];
        const subs: Array<() => void> = [];
        const finish = (): void => {
          for (const unsubscribe of subs) unsubscribe();
          options.signal?.removeEventListener('abort', onAbort);
        };
        const handle = <E extends EventName>(event: E, fn: (payload: EventMap[E]) => void): void => {
          subs.push(
            transport.subscribe(event, (raw) => {
              const payload = raw as EventMap[E] & { jobId?: string };
              if (jobId === undefined) early.push(() => payload.jobId === jobId && fn(payload));
              else if (payload.jobId === jobId) fn(payload);
            }),
          );
        };
        handle('job:progress', (p) => options.onProgress?.(p));
        handle('job:done', (d) => {
          finish();
          resolve(d.result as JobResult<typeof kind>);
        });
        handle('job:error', (e) => {
          finish();
          reject(rebuildError(e.error));
        });
        const onAbort = (): void => {
          if (jobId !== undefined) void api.cancelJob(jobId);
        };
        options.signal?.addEventListener('abort', onAbort);
        api.startJob(kind, args).then(
          (started) => {
            jobId = started.jobId;
            options.onStarted?.(jobId);
            for (const replay of early.splice(0)) replay();
            if (options.signal?.aborted) onAbort();
          },
          (error: unknown) => {
            finish();
            reject(error);
          },
        );
      });
    },
  };
  return api;
}
