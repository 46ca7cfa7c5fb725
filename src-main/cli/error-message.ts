// The one line `tracked` prints for a failure: what went wrong and where, in words — never an HDF5 diagnostic
// banner without its cause, a Node.js internal error name, or raw bytes of the input (escape sequences in a file's
// header would otherwise drive the user's terminal).
import { firstLine } from '../io/h5';
import { quotedLine } from '../io/util';

const FS_CODES: Record<string, string> = {
  ENOENT: 'does not exist',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
};

/** Control characters (C0, DEL, C1, including ESC and CSI) shown as a visible placeholder. */
export function printable(text: string): string {
  return text.split('\n').map(quotedLine).join('\n');
}

export function cliErrorMessage(error: unknown): string {
  const e = error instanceof Error ? error : new Error(String(error));
  const sys = e as NodeJS.ErrnoException & { dest?: string };
  const code = sys.code;
  const path = sys.dest ?? sys.path;
  let text: string;
  if (code && FS_CODES[code] && path) {
    // A temporary file's name says nothing to the user: name the file it stands for.
    const shown = String(path).replace(/\/\.([^/]+)\.tmp-\d+-\d+$/, '/$1');
    text = `${shown}: ${FS_CODES[code]}`;
  } else if (/HDF5-DIAG/.test(e.message)) {
    text = `HDF5: ${firstLine(e)}`;
  } else if (e instanceof RangeError || e instanceof TypeError) {
    // An internal failure on malformed input: say so, without the engine's wording as if it were the cause.
    text = `the input could not be read (it may be truncated or malformed): ${e.message.split('\n')[0]}; run with TRACKED_DEBUG=1 for details`;
  } else {
    const name = e.name && !['Error', 'TrackedError'].includes(e.name) ? `${e.name}: ` : '';
    text = `${name}${e.message.split('\n')[0]}`;
  }
  return printable(text);
}
