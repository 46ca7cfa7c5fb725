// What a `tracked` command that runs a pass starts before anything else: the worker pool (their start-up, the HDF5
// structure checks' library included, overlaps with this thread loading the command's code and opening the
// series). Small on purpose: the command line loads it before the command's own modules.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { prepareH5wasm } from '../io/h5';
import { installHdf5Guard } from '../stages/hdf5-guard';
import { INLINE_MAX_BYTES } from '../stages/virtual/inline-limit';
import { sharedPool } from '../workers/pool';

/** More bytes than a pass runs on this thread (a quick look at the input's size: a file, or a manifest's folder). */
export function isLargeInput(path: string): boolean {
  try {
    const st = statSync(path);
    if (st.isFile() && !/\.(json|csv)$/i.test(path)) return st.size > INLINE_MAX_BYTES;
    const dir = st.isDirectory() ? path : dirname(path);
    let total = 0;
    for (const f of readdirSync(dir)) {
      if (!/\.(h5|hdf5|emd|hspy|nxs|mib)$/i.test(f)) continue;
      total += statSync(join(dir, f)).size;
      if (total > INLINE_MAX_BYTES) return true;
    }
    return false;
  } catch {
    return false;
  }
}

let started: Promise<void> | null = null;

/**
 * Starts the pass's workers when the input is large enough to use them (a tiny series runs on this thread and never
 * asks for them), handing them the HDF5 library's compiled binary (~10 ms here). Once per process.
 */
export function startPassWorkers(seriesPath: string): Promise<void> {
  // The guard first: it is what hands the workers the compiled binary.
  installHdf5Guard();
  started ??= isLargeInput(seriesPath)
    ? prepareH5wasm().then(() => sharedPool().prestart())
    : Promise.resolve();
  return started;
}
