// The descriptors a process holds on files under a folder, with the flags each was opened with (/proc/PID/fd and
// fdinfo): shared by the raw-data test's watch and the worker thread that watches this very process.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Adds to `seen` (path relative to `root`, which ends with a separator → every flags value seen) what `pid` holds now. */
export function sampleDescriptors(pid, root, seen) {
  const fdDir = `/proc/${pid}/fd`;
  let fds;
  try {
    fds = readdirSync(fdDir);
  } catch {
    return; // the process has gone
  }
  for (const fd of fds) {
    try {
      const target = readlinkSync(join(fdDir, fd));
      if (!target.startsWith(root)) continue;
      const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
      // The same file still behind that number: not closed and reused between the two reads.
      if (flags === undefined || readlinkSync(join(fdDir, fd)) !== target) continue;
      const rel = target.slice(root.length);
      if (!seen.has(rel)) seen.set(rel, new Set());
      seen.get(rel).add(parseInt(flags, 8));
    } catch {
      /* closed while being read */
    }
  }
}
