// Paths the tests share: the repository, the shared reference data beside it, and the bundled worker that the
// global set-up builds (tests/setup/global-setup.ts).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** `../shared` beside the repository: reference values (ref/), sample files (data/), docs. */
export const SHARED = resolve(REPO_ROOT, '../shared');
export const SHARED_REF = join(SHARED, 'ref');
export const SHARED_DATA = join(SHARED, 'data');
/** The worker_threads entry bundled by `npm run build:cli`. */
export const WORKER_SCRIPT = join(REPO_ROOT, 'out', 'cli', 'worker.mjs');
