// The checks every committed WebAssembly kernel gets (scripts/build-wasm.mjs writes them as base64 modules): it was
// generated from its current AssemblyScript source, and a fresh build with the pinned compiler gives the same bytes.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

export interface GeneratedWasm {
  SOURCE_SHA256: string;
  WASM_SHA256: string;
  WASM_BASE64: string;
}

const root = new URL('../../', import.meta.url);
const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** `kernel`: the AssemblyScript source, relative to the repository root, as listed in build-wasm.mjs's KERNELS. */
export function describeCommittedWasm(kernel: string, generated: GeneratedWasm): void {
  describe(`committed wasm artefact (${kernel})`, () => {
    it('was generated from the current AssemblyScript source (else: npm run build:wasm)', () => {
      expect(generated.SOURCE_SHA256).toBe(sha(readFileSync(fileURLToPath(new URL(kernel, root)))));
      expect(generated.WASM_SHA256).toBe(sha(Buffer.from(generated.WASM_BASE64, 'base64')));
    });

    const script = fileURLToPath(new URL('scripts/build-wasm.mjs', root));
    const haveAsc = existsSync(fileURLToPath(new URL('node_modules/assemblyscript/package.json', root)));
    it.skipIf(!haveAsc)('is byte-identical to a fresh build with the pinned compiler', async () => {
      const build = (await import(/* @vite-ignore */ script)) as {
        KERNELS: string[];
        compileKernel(file: string): Promise<Uint8Array>;
      };
      expect(build.KERNELS).toContain(kernel);
      expect(sha(await build.compileKernel(kernel))).toBe(generated.WASM_SHA256);
    }, 60_000);
  });
}
