import type { TrackedApi } from '../../src-shared/api';

declare global {
  interface Window {
    api: TrackedApi;
    /** The renderer's vtk.js ledger (src-renderer/src/reciprocal/vtk-ledger.ts). */
    __trackedVtk?: { created: number; deleted: number; contextsCreated: number; contextsLost: number };
    /** Canvases that got a WebGL context, kept by the reciprocal e2e test's own counter. */
    __glCanvases?: HTMLCanvasElement[];
  }
}
export {};
