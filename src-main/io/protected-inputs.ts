// The raw data are never written to: every file a series was read from (its manifest or list and each tilt's file) is
// registered here when the series is assembled, and every atomic write (io/atomic.ts, through which all outputs go)
// refuses a destination that is, or resolves through links to, one of them — before anything is written. The same
// check names a destination folder that does not exist, instead of the HDF5 or fs error it would cause later.
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ParameterError } from '../../src-shared/errors';

const inputs = new Set<string>();

/** Every name a path goes by: as given (resolved), and with links followed (of itself, else of its folder). */
export function pathAliases(path: string): string[] {
  const abs = resolve(path);
  const out = [abs];
  try {
    out.push(realpathSync(abs));
  } catch {
    try {
      out.push(join(realpathSync(dirname(abs)), basename(abs)));
    } catch {
      // Neither the file nor its folder exists: its resolved path is all there is.
    }
  }
  return out;
}

/** Registers files the process reads raw data from. */
export function protectInputs(paths: Iterable<string>): void {
  for (const p of paths) for (const a of pathAliases(p)) inputs.add(a);
}

/** True when `path` is one of the registered input files. */
export function isProtectedInput(path: string): boolean {
  return pathAliases(path).some((a) => inputs.has(a));
}

/** Refuses to write `path` when it is an input file, or when its folder does not exist or is not a folder. */
export function assertWritableOutput(path: string): void {
  const abs = resolve(path);
  if (isProtectedInput(abs)) throw new ParameterError('output', `${abs} is an input file of the open series: raw data are never written to; choose another output path`);
  const dir = dirname(abs);
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new ParameterError('output', `${abs}: the folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new ParameterError('output', `${abs}: ${dir} is not a folder`);
  try {
    if (statSync(abs).isDirectory()) throw new ParameterError('output', `${abs} is a folder: give a file name`);
  } catch (e) {
    if (e instanceof ParameterError) throw e;
  }
}
