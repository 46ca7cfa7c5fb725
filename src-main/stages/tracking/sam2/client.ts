// Main-side handle on a SAM2 worker: typed requests as promises, progress callbacks, cancellation, and errors revived
// as the same classes (InputError, ParameterError, CancelledError…) the worker threw.

import { Worker } from 'node:worker_threads';
import { reviveError } from '../../../workers/protocol';
import type { Sam2Reply, Sam2Request, Sam2Results } from './protocol';

type Body<T extends Sam2Request['type']> = Omit<Extract<Sam2Request, { type: T }>, 'id' | 'type'>;
type Progress = Extract<Sam2Reply, { type: 'progress' }>;

export interface Sam2Call<T> {
  id: number;
  result: Promise<T>;
}

export class Sam2WorkerClient {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; onProgress?: (p: Progress) => void }>();

  constructor(
    readonly worker: Worker,
    private readonly onLog: (line: string) => void = (line) => console.warn(line),
  ) {
    worker.on('message', (msg: Sam2Reply) => {
      if (msg.type === 'log') return this.onLog(msg.line);
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.type === 'progress') return p.onProgress?.(msg);
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(reviveError(msg.error));
    });
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => this.failAll(new Error(`SAM2 worker exited (code ${code})`)));
  }

  /** Starts the bundled worker file (e.g. out/main/sam2.worker.mjs). */
  static start(file: string | URL, onLog?: (line: string) => void): Sam2WorkerClient {
    return new Sam2WorkerClient(new Worker(file), onLog);
  }

  /** Sends a request; `transfer` moves buffers (e.g. the image stack) instead of copying them. */
  call<T extends Sam2Request['type']>(type: T, body: Body<T>, opts: { onProgress?: (p: Progress) => void; transfer?: ArrayBuffer[] } = {}): Sam2Call<Sam2Results[T]> {
    const id = this.next++;
    const result = new Promise<Sam2Results[T]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    });
    this.worker.postMessage({ id, type, ...body }, opts.transfer ?? []);
    return { id, result };
  }

  request<T extends Sam2Request['type']>(type: T, body: Body<T>, opts: { onProgress?: (p: Progress) => void; transfer?: ArrayBuffer[] } = {}): Promise<Sam2Results[T]> {
    return this.call(type, body, opts).result;
  }

  cancel(target: number): Promise<Sam2Results['cancel']> {
    return this.request('cancel', { target });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
