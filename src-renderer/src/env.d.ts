/// <reference types="vite/client" />
import type { TrackedApi } from '../../src-shared/api';

declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}

declare global {
  interface Window {
    /** The one bridge to main, built by createApi (preload in Electron, WebSocket in the e2e host). */
    api: TrackedApi;
  }
}
