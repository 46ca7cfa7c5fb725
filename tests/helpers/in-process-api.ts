// window.api without a wire: createApi over a transport that calls the real IPC registry in this process (the same
// handlers the Electron shell and the e2e host serve), with structuredClone on every crossing as Electron's IPC
// does. The renderer's stores run against it in Node, so their tests exercise main's real services.
import { createApi, type TrackedApi, type Transport } from '../../src-shared/api';
import type { EventMap, EventName } from '../../src-shared/contract';
import { createAppState, createJobHandlers, createRequestHandlers, type AppState } from '../../src-main/ipc/bindings';
import { IpcRegistry } from '../../src-main/ipc/registry';
import type { SessionOptions } from '../../src-main/services/series-session';

export interface InProcessApi {
  api: TrackedApi;
  state: AppState;
  /** Closes every open series (checkpoints projects). */
  close(): Promise<void>;
}

export function inProcessApi(sessions: SessionOptions = {}): InProcessApi {
  const listeners = new Map<string, Set<(p: unknown) => void>>();
  const state = createAppState(sessions);
  const registry = new IpcRegistry(
    createRequestHandlers({ host: 'test-host' }, state),
    createJobHandlers(state),
    {
      emit<E extends EventName>(event: E, payload: EventMap[E]) {
        for (const l of listeners.get(event) ?? []) l(structuredClone(payload));
      },
    },
    { progressIntervalMs: 0 },
  );
  const transport: Transport = {
    invoke: async (channel, args) => structuredClone(await registry.handle(channel, structuredClone(args))),
    subscribe(event, listener) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(listener);
      return () => listeners.get(event)!.delete(listener);
    },
  };
  return { api: createApi(transport), state, close: () => state.sessions.closeAll() };
}

/** Makes `api` the renderer's window.api (the renderer reads it through src-renderer/src/api.ts). */
export function installWindowApi(api: TrackedApi): void {
  (globalThis as unknown as { window: { api: TrackedApi } }).window = { api };
}
