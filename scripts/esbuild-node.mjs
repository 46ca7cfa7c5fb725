// The esbuild options every Node-side bundle shares (the CLI, benches, the e2e host, worker specs): one ESM file for
// Node 20 with the dependencies left external, and a require() for the CommonJS ones that call it.
export const NODE_ESM_BUNDLE = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'error',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};
