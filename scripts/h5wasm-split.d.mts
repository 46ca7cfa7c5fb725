/** Writes h5wasm with its binary split out into `outDir`/h5wasm; returns why it could not (null when written). */
export declare function writeSplitH5wasm(outDir: string): string | null;
