// `npm run build:cli-app`: the `tracked` command for the installers, in out/cli-app: the CLI bundle (out/cli, with
// its h5wasm copy), an entry that runs it, and the npm packages it imports with everything they depend on — a folder
// that runs on its own, outside the app's asar archive (electron-builder copies it to <resources>/cli). The launchers
// in resources/bin run it with the app's own executable as Node (ELECTRON_RUN_AS_NODE=1), so the installed app
// needs no Node of its own.
//
//   node scripts/build-cli-app.mjs [--out DIR] [--platform linux|win32|darwin] [--arch x64|arm64]
//
// onnxruntime-node ships native binaries for every platform (~290 MB); only the target's are copied (default: this
// machine's; give --platform/--arch when building installers for another one).
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli } from './build-cli.mjs';
import { runIfMain } from './entry.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const RUN = `// The installed app's \`tracked\` command (resources/bin/tracked runs it with the app's executable as Node).
const { main } = await import('./tracked.mjs');
process.exitCode = await main(process.argv);
`;

/** The npm packages a bundle file imports: bare specifiers of static and dynamic imports, subpaths folded. */
export function importedPackages(code) {
  const names = new Set();
  const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']((?:@[\w.-]+\/)?[\w-][\w.-]*(?:\/[\w.-]+)*)["']/g;
  for (const m of code.matchAll(spec)) {
    const parts = m[1].split('/');
    names.add(m[1].startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
  return names;
}

function bundleFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'h5wasm') out.push(...bundleFiles(p));
    else if (e.name.endsWith('.mjs')) out.push(p);
  }
  return out;
}

/** Where `name` resolves from package folder `from` (its own node_modules, then each parent's), or null. */
function packageDir(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return null;
  }
}

/**
 * Every package the bundle needs, with its dependencies (optional ones only where installed): source folder →
 * its path relative to the repository's node_modules. A package the bundle imports that is not installed fails the
 * build, naming it.
 */
export function dependencyClosure(names) {
  const found = new Map();
  const visit = (name, from, optional) => {
    const dir = packageDir(name, from);
    if (!dir) {
      if (optional) return;
      throw new Error(`build:cli-app: the CLI imports '${name}', which is not installed (npm ci?)`);
    }
    if (found.has(dir)) return;
    found.set(dir, relative(join(root, 'node_modules'), dir));
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const d of Object.keys(pkg.dependencies ?? {})) visit(d, dir, false);
    for (const d of Object.keys(pkg.optionalDependencies ?? {})) visit(d, dir, true);
  };
  for (const n of names) visit(n, root, n === 'h5wasm-plugins');
  return found;
}

/** `rebuild: false` takes out/cli as it is (tests, which share that build with other test files). */
export async function buildCliApp({ out = join(root, 'out', 'cli-app'), platform = process.platform, arch = process.arch, quiet = false, rebuild = true } = {}) {
  if (rebuild) await buildCli({ quiet: true });
  const cli = join(root, 'out', 'cli');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(cli, out, { recursive: true, filter: (p) => !p.endsWith('.map') });
  writeFileSync(join(out, 'run.mjs'), RUN);
  const names = new Set();
  for (const f of bundleFiles(cli)) for (const n of importedPackages(readFileSync(f, 'utf8'))) names.add(n);
  const packages = dependencyClosure(names);
  const nativeDir = `bin${sep}napi-v6${sep}`;
  for (const [dir, rel] of packages) {
    cpSync(dir, join(out, 'node_modules', rel), {
      recursive: true,
      // Nested node_modules are copied as packages of their own (when needed); foreign native binaries are not.
      filter: (p) => {
        const inside = relative(dir, p);
        if (inside.split(sep).includes('node_modules')) return false;
        if (inside.startsWith(nativeDir)) {
          const [, , os, cpu] = inside.split(sep);
          return !os || (os === platform && (!cpu || cpu === arch));
        }
        return true;
      },
    });
  }
  if (!quiet) console.log(`build:cli-app: ${out} (${packages.size} packages for ${platform}-${arch})`);
  return { out, packages: [...packages.values()].sort() };
}

await runIfMain(
  import.meta.url,
  'usage: npm run build:cli-app [-- --out DIR --platform P --arch A]\n  The tracked command for the installers: out/cli-app, with the npm packages it imports.\n',
  async () => {
    const arg = (name) => {
      const i = process.argv.indexOf(name);
      return i > 0 ? process.argv[i + 1] : undefined;
    };
    await buildCliApp({
      ...(arg('--out') ? { out: resolve(arg('--out')) } : {}),
      ...(arg('--platform') ? { platform: arg('--platform') } : {}),
      ...(arg('--arch') ? { arch: arg('--arch') } : {}),
    });
  },
);
