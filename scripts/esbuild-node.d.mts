import type { BuildOptions } from 'esbuild';

export declare const NODE_ESM_BUNDLE: BuildOptions;
