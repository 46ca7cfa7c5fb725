import type { TrackedApi } from '../../src-preload/api';

declare global {
  interface Window {
    api: TrackedApi;
  }
}
export {};
