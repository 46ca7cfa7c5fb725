// A damaged HDF5 file (a B-tree or link table pointing back into itself) can send the HDF5 library into a loop that
// never returns, and a loop inside WebAssembly cannot be interrupted from the thread it runs on. So before this
// process opens an HDF5 file, a worker walks its structure the way the readers will (every link, every dataset's
// metadata and attributes) under a deadline: a walk that does not finish means a damaged file, named as such, and
// the worker is replaced; the app and the CLI stay responsive. Each file (path, size, mtime) is walked once. Every
// process that opens HDF5 files installs the guard at start (installHdf5Guard: the CLI, the app's state, tests).
import { statSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { CancelledError, InputError } from '../../../src-shared/errors';
import { getEntity, h5lib, setHdf5OpenGuard } from '../../io/h5';
import { compiledH5wasmModule } from '../../io/h5wasm-module';
import { setWorkerStartData, sharedPool, WorkerCrashError } from '../../workers/pool';

/** Every object of the file visited as the readers visit them; returns how many. Runs in a worker (see above). */
export async function walkHdf5(path: string): Promise<{ objects: number }> {
  const h5 = await h5lib();
  const f = new h5.File(path, 'r');
  try {
    let objects = 0;
    // Errors are fine here (the readers report them); only a walk that never ends matters.
    const touch = (read: () => unknown): void => {
      try {
        void read();
      } catch {
        /* reported by the real open */
      }
    };
    const visit = (e: { attrs?: Record<string, { json_value?: unknown }> }): void => {
      objects++;
      if (e instanceof h5.Dataset) touch(() => [e.metadata, e.dtype, e.shape, e.filters]);
      touch(() => {
        const attrs = e.attrs ?? {};
        for (const k of Object.keys(attrs)) touch(() => attrs[k]?.json_value);
      });
    };
    visit(f as unknown as Parameters<typeof visit>[0]);
    for (const p of f.paths()) {
      const e = getEntity(f, p);
      if (e) visit(e as unknown as Parameters<typeof visit>[0]);
    }
    return { objects };
  } finally {
    f.close();
  }
}

const walked = new Map<string, Promise<void>>();

function deadlineMs(): number {
  const v = Number(process.env['TRACKED_HDF5_WALK_TIMEOUT_MS']);
  return Number.isFinite(v) && v > 0 ? v : 8000;
}

/**
 * Resolves when the file's structure can be walked in time; an InputError naming the file when it cannot. Other
 * failures are left to the real open, which reports them with their own reason.
 */
export function assertWalkable(path: string): Promise<void> {
  // Inside a worker the walk would need a pool of its own; workers read what main has already walked.
  if (!isMainThread) return Promise.resolve();
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st?.isFile()) return Promise.resolve();
  const key = `${path}\0${st.size}\0${st.mtimeMs}`;
  let check = walked.get(key);
  if (!check) {
    const ms = deadlineMs();
    check = sharedPool()
      .run('walkHdf5', { path }, { signal: AbortSignal.timeout(ms) })
      .then(
        () => undefined,
        (e: unknown) => {
          if (e instanceof CancelledError || e instanceof WorkerCrashError || (e as Error)?.name === 'TimeoutError') {
            throw new InputError(path, `its HDF5 structure could not be read within ${ms / 1000} s: the file is damaged (its links or B-trees loop); it was not opened`);
          }
        },
      );
    walked.set(key, check);
  }
  return check;
}

/**
 * Makes every HDF5 open in this process wait for its walk (../../io/h5.ts openH5 and guardHdf5Open), and hands the
 * workers started from then on the HDF5 library's binary once this thread compiled it (io/h5wasm-module.ts): the
 * walks and the readers in workers then instantiate it instead of compiling their own.
 */
export function installHdf5Guard(): void {
  setHdf5OpenGuard(assertWalkable);
  setWorkerStartData(() => {
    const h5wasmModule = compiledH5wasmModule();
    return h5wasmModule ? { h5wasmModule } : undefined;
  });
}
