// Turns anything thrown in main into the { name, message, detail } that crosses the bridge.
import type { WireError } from '../../src-shared/contract';
import { TrackedError } from '../../src-shared/errors';

export function toWireError(error: unknown): WireError {
  if (error instanceof TrackedError) {
    return { name: error.name, message: error.message, detail: { ...error.detail } };
  }
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    const detail: Record<string, unknown> = {};
    if (code) detail.code = code;
    return { name: error.name || 'Error', message: error.message, detail };
  }
  return { name: 'Error', message: String(error) };
}
