import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';
import { resolve } from 'node:path';

export default defineConfig({
  plugins: [vue()],
  resolve: {
    alias: {
      '@renderer': resolve('src-renderer/src'),
      '@shared': resolve('src-shared'),
    },
  },
  test: {
    include: ['src-main/**/*.spec.ts', 'src-preload/**/*.spec.ts', 'src-shared/**/*.spec.ts', 'src-renderer/**/*.spec.ts', 'tests/unit/**/*.spec.ts', 'tests/integration/**/*.spec.ts'],
    environment: 'node',
    globalSetup: ['tests/setup/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
