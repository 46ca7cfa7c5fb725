import type { TrackedApi } from '../../src-shared/api';

declare global {
  interface Window {
    api: TrackedApi;
  }
}
export {};
