// Builds the host and the bridge; the renderer itself is built by `electron-vite build` (npm run e2e).
import { existsSync } from 'node:fs';

export default async function setup(): Promise<void> {
  if (!existsSync('out/renderer/index.html')) {
    throw new Error('out/renderer is missing: run `npx electron-vite build` first (npm run e2e does)');
  }
  // @ts-expect-error plain ESM build script without types
  const { buildE2e } = await import('../../scripts/build-e2e.mjs');
  await buildE2e();
  // @ts-expect-error plain ESM build script without types
  const { buildCli } = await import('../../scripts/build-cli.mjs');
  await buildCli({ quiet: true });
}
