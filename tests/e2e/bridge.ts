// Runs in the page before the app: builds `window.api` with the same createApi as the Electron preload,
// over a WebSocket to the test host instead of ipcRenderer.
import { createApi, type Transport } from '../../src-shared/api';
import type { EventName, WireResult } from '../../src-shared/contract';
import { decode, encode } from './wire';

const socket = new WebSocket(`ws://${location.host}/__tracked_ws`);
socket.binaryType = 'arraybuffer';
const queue: Array<string | Uint8Array> = [];
const pending = new Map<number, (r: WireResult) => void>();
const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
let nextId = 1;

socket.addEventListener('open', () => {
  for (const frame of queue.splice(0)) socket.send(frame);
});
socket.addEventListener('close', () => {
  for (const [, resolve] of pending) resolve({ ok: false, error: { name: 'ConnectionError', message: 'Lost the connection to the test host' } });
  pending.clear();
});
socket.addEventListener('message', (event: MessageEvent) => {
  const message = decode(event.data as string | ArrayBuffer) as
    | { type: 'reply'; id: number; result: WireResult }
    | { type: 'event'; event: EventName; payload: unknown };
  if (message.type === 'reply') {
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  } else {
    for (const listener of listeners.get(message.event) ?? []) listener(message.payload);
  }
});

const wsTransport: Transport = {
  invoke(channel, args) {
    const id = nextId++;
    const frame = encode({ type: 'invoke', id, channel, args });
    return new Promise((resolve) => {
      pending.set(id, resolve);
      if (socket.readyState === WebSocket.OPEN) socket.send(frame);
      else queue.push(frame);
    });
  },
  subscribe(event, listener) {
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  },
};

(window as unknown as { api: unknown }).api = createApi(wsTransport);
