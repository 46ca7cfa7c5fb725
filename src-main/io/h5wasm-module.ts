// The compiled h5wasm binary, shared by every thread of the process. Compiling the 3.5 MB module is ~15 ms per
// thread and every thread that opens HDF5 (this one, the structure-check and reader workers) would pay it; a
// compiled WebAssembly.Module can be handed to a worker (workerData), which then only instantiates it — V8 shares
// the machine code too (the HDF5 guard, stages/hdf5-guard, gives it to the pool's workers). The split copy of h5wasm
// (scripts/h5wasm-split.mjs) instantiates the module registered here under H5WASM_MODULE_KEY; the package (no copy
// beside the bundle) compiles its own.

import { readFile } from 'node:fs/promises';
import { isMainThread, workerData } from 'node:worker_threads';

// The WebAssembly globals, typed here: this project's lib (ES2023 + node) does not declare them.
type WasmModule = object;
interface WasmGlobal {
  Module: new (bytes: Uint8Array) => WasmModule;
  compile(bytes: Uint8Array): Promise<WasmModule>;
}
const WA = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;

/** Where the split copy looks for the module (the same key as scripts/h5wasm-split.mjs). */
const H5WASM_MODULE_KEY = Symbol.for('tracked.h5wasm.module');

let compiled: WasmModule | null = null;
let compiling: Promise<WasmModule | null> | null = null;

/** The module a worker was started with (WorkerPool passes the one this process compiled). */
function fromWorkerData(): WasmModule | null {
  if (isMainThread) return null;
  const m = (workerData as { h5wasmModule?: unknown } | null)?.h5wasmModule;
  return m instanceof WA.Module ? m : null;
}

/**
 * Compiles (once) the binary at `wasmPath` — or takes the one this worker was given — and registers it for the split
 * copy. Null, with nothing registered, when it cannot be read or compiled: the copy then compiles its own.
 */
export function prepareH5wasmModule(wasmPath: string): Promise<WasmModule | null> {
  compiling ??= (async () => {
    try {
      compiled = fromWorkerData() ?? (await WA.compile(await readFile(wasmPath)));
      (globalThis as Record<symbol, unknown>)[H5WASM_MODULE_KEY] = compiled;
      return compiled;
    } catch {
      return null;
    }
  })();
  return compiling;
}

/** The compiled module, when it is ready (for a worker being started now). */
export function compiledH5wasmModule(): WasmModule | null {
  return compiled;
}
