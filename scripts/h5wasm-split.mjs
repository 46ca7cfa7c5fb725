/* global WebAssembly */
// A copy of h5wasm's Node build whose WebAssembly binary is a file of its own: out/<bundle>/h5wasm/hdf5_hl.mjs,
// hdf5_util.mjs and hdf5_util.wasm. h5wasm ships the 3.5 MB binary as a string literal inside a 4 MB JavaScript file,
// which every process (and every worker that opens HDF5) pays to decode and parse before it can compile the
// binary: ~40 ms of a `tracked` run on each thread that loads it. The copy loads the bytes with one read instead;
// the code is h5wasm's own, untouched otherwise. io/h5.ts uses the copy when it sits beside the bundle, else the
// package. Anything unexpected in the package (another layout, a binary that does not validate) leaves no copy.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const MARK = "findWasmBinary(){return binaryDecode('";

/**
 * The copy's module factory call: where the process registered the compiled binary under H5WASM_MODULE_KEY
 * (src-main/io/h5wasm-module.ts: compiled once, handed to every worker), it is instantiated through emscripten's
 * `instantiateWasm` hook instead of being compiled again on this thread.
 */
export const H5WASM_MODULE_KEY = 'tracked.h5wasm.module';
// Instantiated synchronously: a failure then rejects the factory's promise (an async one would leave it pending).
const SHARED_FACTORY =
  `ModuleFactory({ noInitialRun: true, ...((m) => m ? { instantiateWasm: (imports, done) => ` +
  `{ done(new WebAssembly.Instance(m, imports), m); return {}; } } : {})` +
  `(globalThis[Symbol.for('${H5WASM_MODULE_KEY}')]) })`;

/** Writes the split copy into `outDir`/h5wasm; returns a reason when it cannot (and leaves nothing there). */
export function writeSplitH5wasm(outDir) {
  const target = join(outDir, 'h5wasm');
  rmSync(target, { recursive: true, force: true });
  try {
    // Where Node would find the package (its exports map has no require entry, so require.resolve cannot say).
    const pkg = (createRequire(import.meta.url).resolve.paths('h5wasm') ?? []).map((d) => join(d, 'h5wasm')).find((d) => existsSync(join(d, 'package.json')));
    if (!pkg) return 'h5wasm is not installed';
    const nodeDir = join(pkg, 'dist', 'node');
    const util = readFileSync(join(nodeDir, 'hdf5_util.js'), 'utf8');
    const hl = readFileSync(join(nodeDir, 'hdf5_hl.js'), 'utf8');
    const at = util.indexOf(MARK);
    if (at < 0 || util.indexOf(MARK, at + 1) >= 0) return 'the embedded binary was not found once in hdf5_util.js';
    let end = at + MARK.length;
    while (end < util.length && util[end] !== "'") end += util[end] === '\\' ? 2 : 1;
    if (util.slice(end, end + 3) !== "')}") return 'the embedded binary does not end as expected';
    // The literal is a byte string (one char per byte, JavaScript escapes): evaluated, not re-implemented.
    const text = new Function(`return ${util.slice(at + MARK.length - 1, end + 1)}`)();
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 255) return `the embedded binary holds a character above 255 at ${i}`;
      bytes[i] = c;
    }
    if (!WebAssembly.validate(bytes)) return 'the embedded binary is not valid WebAssembly';
    const split =
      "import { readFileSync as trackedReadFileSync } from 'node:fs';\n" +
      util.slice(0, at) +
      "findWasmBinary(){return new Uint8Array(trackedReadFileSync(new URL('./hdf5_util.wasm', import.meta.url)))}" +
      util.slice(end + 3);
    const from = "from './hdf5_util.js'";
    if (!hl.includes(from)) return "hdf5_hl.js does not import './hdf5_util.js'";
    const factory = 'ModuleFactory({ noInitialRun: true })';
    if (hl.split(factory).length !== 2) return `hdf5_hl.js does not call ${factory} once`;
    const tmp = `${target}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    writeFileSync(join(tmp, 'hdf5_util.wasm'), bytes);
    writeFileSync(join(tmp, 'hdf5_util.mjs'), split);
    writeFileSync(join(tmp, 'hdf5_hl.mjs'), hl.replace(from, "from './hdf5_util.mjs'").replace(factory, SHARED_FACTORY));
    renameSync(tmp, target);
    return null;
  } catch (e) {
    rmSync(target, { recursive: true, force: true });
    return e instanceof Error ? e.message : String(e);
  }
}
