// The renderer's only door to main.
import type { TrackedApi } from '../../src-shared/api';

export function api(): TrackedApi {
  if (!window.api) throw new Error('window.api is missing: the preload (or test bridge) did not run');
  return window.api;
}
