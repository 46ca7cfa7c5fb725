// Where the bundled worker scripts are: next to the code that starts them in a build (out/cli/*.mjs from
// `npm run build:cli`, whose chunks sit in out/cli/chunks; out/main/*.js from electron-vite), else under the
// repository's out/cli when running from source (tests, ts loaders). An environment variable overrides both.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TrackedError } from '../../src-shared/errors';

export type BundledScript = 'worker' | 'sam2-worker';

/** The nearest folder at or above `from` that holds a package.json (the repository root, from source). */
function packageRoot(from: string): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return null;
  }
}

/** The path of bundled script `name`; `envVar` (when set) wins. Throws naming where it looked. */
export function resolveBundledScript(name: BundledScript, envVar: string): string {
  const env = process.env[envVar];
  if (env) return env;
  const here = dirname(fileURLToPath(import.meta.url));
  const root = packageRoot(here);
  // Beside this module, or one folder up where it sits in a split bundle's chunks/ folder (out/cli/chunks).
  const candidates = [
    join(here, `${name}.mjs`),
    join(here, `${name}.js`),
    join(dirname(here), `${name}.mjs`),
    ...(root ? [join(root, 'out', 'cli', `${name}.mjs`)] : []),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (found) return found;
  throw new TrackedError(`${name} script not found (looked for ${candidates.join(', ')}); build it with \`npm run build:cli\` or set ${envVar}`);
}
