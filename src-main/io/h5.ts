// h5wasm set-up shared by every HDF5 reader: the Node build (reads the real file system with random
// access, no copy of the file into memory), errors that throw instead of returning garbage, and the
// compression plugins from h5wasm-plugins when that package is installed. A build puts a copy of h5wasm whose
// WebAssembly binary is a file of its own beside its bundle (scripts/h5wasm-split.mjs): loaded from there, a process
// skips decoding the 4 MB JavaScript string that holds the binary in the package (~40 ms per thread).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as H5 from 'h5wasm';
import { InputError, UnsupportedError } from '../../src-shared/errors.js';
import { prepareH5wasmModule } from './h5wasm-module';

export type H5Lib = typeof import('h5wasm').default;
export type H5File = H5.File;
export type H5Dataset = H5.Dataset;
export type H5Group = H5.Group;

let libPromise: Promise<H5Lib> | null = null;
const pluginFilters = new Set<number>();

/** HDF5 filters libhdf5 itself decodes (h5wasm builds them in). */
const BUILTIN_FILTERS = new Map<number, string>([
  [1, 'deflate (gzip)'],
  [2, 'shuffle'],
  [3, 'fletcher32'],
  [4, 'szip'],
  [5, 'nbit'],
  [6, 'scaleoffset'],
]);

/** Registered filter ids of the plugins shipped in h5wasm-plugins 0.2.x, by plugin library name. */
const PLUGIN_FILTER_IDS: Record<string, number[]> = {
  bshuf: [32008],
  lz4: [32004],
  blosc: [32001],
  blosc2: [32026],
  bz2: [307],
  lzf: [32000],
  zstd: [32015],
  zfp: [32013],
  jpeg: [32019],
  bitgroom: [32022],
  bitround: [32023],
};

/** Names for filter ids users meet in 4D-STEM files (for error messages). */
export const FILTER_NAMES: Record<number, string> = {
  1: 'deflate (gzip)',
  2: 'shuffle',
  3: 'fletcher32',
  4: 'szip',
  5: 'nbit',
  6: 'scaleoffset',
  307: 'bzip2',
  32000: 'LZF',
  32001: 'Blosc',
  32004: 'LZ4',
  32008: 'bitshuffle/LZ4',
  32013: 'ZFP',
  32015: 'Zstandard',
  32026: 'Blosc2',
};

/** The split copy of h5wasm beside this bundle (out/cli, out/cli/chunks, out/main), else null: the package. */
function splitH5wasm(): { entry: string; wasm: string } | null {
  if (process.env['TRACKED_H5WASM'] === 'package') return null;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [here, dirname(here)]) {
    const entry = join(dir, 'h5wasm', 'hdf5_hl.mjs');
    const wasm = join(dir, 'h5wasm', 'hdf5_util.wasm');
    if (existsSync(entry) && existsSync(wasm)) return { entry: pathToFileURL(entry).href, wasm };
  }
  return null;
}

/**
 * Compiles the split copy's binary now (~10 ms) so that workers started after this get it compiled
 * (io/h5wasm-module.ts); nothing where the package is used.
 */
export async function prepareH5wasm(): Promise<void> {
  const split = splitH5wasm();
  if (split) await prepareH5wasmModule(split.wasm);
}

/** The split copy loaded and initialised; null (with a process warning) where it cannot be. */
async function loadSplit(split: { entry: string; wasm: string }): Promise<H5Lib | null> {
  try {
    await prepareH5wasmModule(split.wasm);
    const h5 = ((await import(split.entry)) as typeof import('h5wasm/node')).default;
    await h5.ready;
    return h5;
  } catch (e) {
    process.emitWarning(`the h5wasm copy at ${split.entry} could not be loaded (${firstLine(e)}); using the package`);
    return null;
  }
}

/** Loads h5wasm once: throwing error handler on, plugins installed if available. */
export function h5lib(): Promise<H5Lib> {
  libPromise ??= (async () => {
    // Electron's main process defines `navigator`, which makes emscripten's environment detection
    // take the browser path (h5wasm README, "Using in Electron app"): hide it while loading.
    // Node ≥ 21 defines it too.
    const g = globalThis as { navigator?: unknown };
    const saved = Object.getOwnPropertyDescriptor(g, 'navigator');
    const hadNavigator = Boolean(saved?.configurable);
    if (hadNavigator) Object.defineProperty(g, 'navigator', { value: undefined, configurable: true, writable: true });
    try {
      const split = splitH5wasm();
      // The copy is an optimisation: where it cannot be loaded (a packaging that cannot import it), the package can.
      const h5 = (split ? await loadSplit(split) : null) ?? (await import('h5wasm/node')).default;
      const Module = await h5.ready;
      // Without this, a failed read (e.g. a missing filter) prints HDF5-DIAG and returns
      // uninitialised memory; with it the read throws.
      (Module as unknown as { activate_throwing_error_handler?: () => void }).activate_throwing_error_handler?.();
      try {
        const plugins = await import('h5wasm-plugins');
        plugins.install_local_plugins(Module);
        for (const name of plugins.plugin_names) {
          for (const id of PLUGIN_FILTER_IDS[name] ?? []) pluginFilters.add(id);
        }
      } catch {
        // h5wasm-plugins not installed: only the built-in filters work; checkFilters says so.
      }
      return h5;
    } finally {
      if (hadNavigator && saved) Object.defineProperty(g, 'navigator', saved);
    }
  })();
  return libPromise;
}

/** True when filter `id` can be decoded by this build. */
export function filterSupported(id: number): boolean {
  return BUILTIN_FILTERS.has(id) || pluginFilters.has(id);
}

/** Throws UnsupportedError naming the file, dataset and filter when a filter cannot be decoded. */
export function checkFilters(file: string, dataset: string, filters: ReadonlyArray<{ id: number; name?: string }>): void {
  for (const f of filters) {
    if (!filterSupported(f.id)) {
      const name = FILTER_NAMES[f.id] ?? f.name ?? 'unknown';
      throw new UnsupportedError(
        `${file}: dataset ${dataset} uses HDF5 filter ${f.id} (${name}); this compression is not supported by this build` +
          (f.id >= 256 ? ' (install h5wasm-plugins)' : ''),
        { file, dataset, filterId: f.id },
      );
    }
  }
}

let openGuard: ((path: string) => Promise<void>) | null = null;

/** A check every HDF5 open waits for (the structure walk in a worker, stages/hdf5-guard); installed by each process. */
export function setHdf5OpenGuard(guard: ((path: string) => Promise<void>) | null): void {
  openGuard = guard;
}

/** Resolves when `path` may be opened here (the guard's InputError otherwise). */
export function guardHdf5Open(path: string): Promise<void> {
  return openGuard ? openGuard(path) : Promise.resolve();
}

/** Opens an HDF5 file read-only, once the guard let it through; problems become an InputError naming the file. */
export async function openH5(path: string): Promise<H5File> {
  const h5 = await h5lib();
  await guardHdf5Open(path);
  try {
    return new h5.File(path, 'r');
  } catch (e) {
    throw new InputError(path, `cannot be opened as HDF5: ${firstLine(e)}`);
  }
}

/** The most useful line of an h5wasm/HDF5 error (the HDF5-DIAG stack is long). */
export function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const lines = msg.split('\n').map((l) => l.trim()).filter(Boolean);
  // HDF5-DIAG stacks: the innermost "#00N: … in FUNC(): reason" line says the most.
  const diag = lines.filter((l) => /^#\d+:/.test(l));
  const pick = diag.length > 0 ? diag[diag.length - 1]! : lines[0] ?? msg;
  // Only the stack's header (the stack itself went to stderr): say what it means rather than nothing.
  if (/^HDF5-DIAG: Error detected/.test(pick)) return 'its HDF5 structure is damaged (the HDF5 library stopped reading it)';
  return pick.replace(/^#\d+:\s*\S+\s+line\s+\d+\s+in\s+/, '');
}

/** Reads an attribute as a JSON-compatible value; undefined when absent or unreadable. */
export function attr(obj: { attrs: Record<string, H5.Attribute> } | null | undefined, name: string): unknown {
  if (!obj) return undefined;
  try {
    const a = obj.attrs[name];
    if (!a) return undefined;
    return a.json_value ?? undefined;
  } catch {
    return undefined;
  }
}

/** An attribute as a string (first element of a 1-element array; bytes decoded), or undefined. */
export function attrString(obj: { attrs: Record<string, H5.Attribute> } | null | undefined, name: string): string | undefined {
  const v = unwrap(attr(obj, name));
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** An attribute as a finite number (numeric strings accepted), or undefined. */
export function attrNumber(obj: { attrs: Record<string, H5.Attribute> } | null | undefined, name: string): number | undefined {
  return asNumber(attr(obj, name));
}

/** Unwraps one-element arrays, the way h5py writers often store scalars. */
export function unwrap(v: unknown): unknown {
  return Array.isArray(v) && v.length === 1 ? unwrap(v[0]) : v;
}

export function asNumber(v: unknown): number | undefined {
  v = unwrap(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Gets an entity, swallowing the HDF5 error for a missing path. */
export function getEntity(f: H5Group, path: string): H5.Entity | null {
  try {
    return f.get(path);
  } catch {
    return null;
  }
}

/** Every dataset of the file with its path; a file whose paths cannot be listed, or a path that cannot be opened, adds none. */
export async function datasetsOf(f: H5File): Promise<Array<{ path: string; dataset: H5Dataset }>> {
  const lib = await h5lib();
  let paths: string[];
  try {
    paths = f.paths();
  } catch {
    paths = [];
  }
  const out: Array<{ path: string; dataset: H5Dataset }> = [];
  for (const path of paths) {
    const e = getEntity(f, path);
    if (e instanceof lib.Dataset) out.push({ path, dataset: e as H5Dataset });
  }
  return out;
}

/** A small dataset's value as JSON (scalars, strings, short vectors); undefined when unreadable. */
export function smallValue(f: H5Group, path: string): unknown {
  const e = getEntity(f, path);
  if (!e || !(e as H5.Dataset).shape) {
    // Scalar datasets have shape [] (truthy); `shape` null means a null dataspace.
    if (!e || !('json_value' in e)) return undefined;
  }
  try {
    const d = e as H5.Dataset;
    const n = (d.shape ?? []).reduce((a, b) => a * b, 1);
    if (n > 4096) return undefined;
    return d.json_value ?? undefined;
  } catch {
    return undefined;
  }
}
