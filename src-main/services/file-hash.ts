// Streams a file through SHA-256 with progress and cancellation: the check a user runs on a copy of
// raw data brought from the microscope PC. Opens read-only, holds one chunk in memory.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHashResult } from '../../src-shared/contract';
import { InputError, throwIfAborted } from '../../src-shared/errors';

export async function hashFile(
  path: string,
  ctx: { signal?: AbortSignal; progress?: (done: number, total: number, stage?: string) => void; chunkBytes?: number } = {},
): Promise<FileHashResult> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new InputError(path, error.code === 'ENOENT' ? 'file not found' : `cannot open (${error.code ?? error.message})`);
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new InputError(path, 'not a regular file');
    const total = stat.size;
    const buffer = Buffer.allocUnsafe(Math.min(ctx.chunkBytes ?? 8 * 1024 * 1024, Math.max(total, 1)));
    const hash = createHash('sha256');
    let done = 0;
    while (done < total) {
      throwIfAborted(ctx.signal);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, done);
      if (bytesRead === 0) throw new InputError(path, `file ended at byte ${done} of ${total} while reading`);
      hash.update(buffer.subarray(0, bytesRead));
      done += bytesRead;
      ctx.progress?.(done, total, 'sha256');
    }
    return { path, algorithm: 'sha256', hex: hash.digest('hex'), bytes: total };
  } finally {
    await handle.close();
  }
}
