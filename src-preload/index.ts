// The Electron preload: exposes exactly one object, `window.api`, built by createApi over ipcRenderer.
import { contextBridge, ipcRenderer } from 'electron';
import { createApi, type Transport } from '../src-shared/api';
import type { WireResult } from '../src-shared/contract';

const ipcTransport: Transport = {
  invoke: (channel, args) => ipcRenderer.invoke(channel, args) as Promise<WireResult>,
  subscribe(event, listener) {
    const handler = (_e: Electron.IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(event, handler);
    return () => {
      ipcRenderer.removeListener(event, handler);
    };
  },
};

contextBridge.exposeInMainWorld('api', createApi(ipcTransport));
