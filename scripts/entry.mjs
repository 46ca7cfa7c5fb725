// The `node scripts/X.mjs` entry of a build script that is also imported by others: runs `main` only when the file is
// the one node was started with, and answers --help with its usage.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function runIfMain(moduleUrl, usage, main) {
  if (!process.argv[1] || resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  if (process.argv.includes('--help') || process.argv.includes('-h')) process.stdout.write(usage);
  else await main();
}
