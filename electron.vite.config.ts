import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, externalizeDepsPlugin } from 'electron-vite';
import vue from '@vitejs/plugin-vue';

// electron-vite only finds entries under src/<scope>/ by convention; our folders are src-main,
// src-preload and src-renderer, so every entry is named here.
export default defineConfig({
  main: {
    plugins: [externalizeDepsPlugin()],
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
