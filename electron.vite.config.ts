import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, externalizeDepsPlugin } from 'electron-vite';
import vue from '@vitejs/plugin-vue';
import type { Plugin } from 'vite';
import { writeSplitH5wasm } from './scripts/h5wasm-split.mjs';

/** h5wasm with its WebAssembly binary in a file of its own beside the main bundle (io/h5.ts loads it from there). */
function splitH5wasm(): Plugin {
  return {
    name: 'tracked-h5wasm-split',
    apply: 'build',
    closeBundle() {
      const why = writeSplitH5wasm(resolve('out/main'));
      if (why) this.warn(`h5wasm loads from its package (no split copy: ${why})`);
    },
  };
}

// electron-vite only finds entries under src/<scope>/ by convention; our folders are src-main,
// src-preload and src-renderer, so every entry is named here.
export default defineConfig({
  main: {
    plugins: [externalizeDepsPlugin(), splitH5wasm()],
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve('src-main/index.ts'),
          // The worker_threads entry for heavy kernels (loaded next to index.js at run time).
          ...(existsSync('src-main/workers/worker.ts') ? { worker: resolve('src-main/workers/worker.ts') } : {}),
          ...(existsSync('src-main/stages/tracking/sam2/sam2.worker.ts') ? { 'sam2-worker': resolve('src-main/stages/tracking/sam2/sam2.worker.ts') } : {}),
        },
      },
    },
  },
  preload: {
    plugins: [externalizeDepsPlugin({ exclude: ['zod'] })],
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve('src-preload/index.ts') },
        // A sandboxed preload must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src-renderer'),
    resolve: {
      alias: {
        '@renderer': resolve('src-renderer/src'),
        '@shared': resolve('src-shared'),
      },
    },
    plugins: [vue()],
    build: {
      outDir: resolve('out/renderer'),
      rollupOptions: { input: { index: resolve('src-renderer/index.html') } },
    },
  },
});
