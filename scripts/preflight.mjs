// What `npm test` (and `npm run e2e`, `npm run bench`) need from the machine besides node_modules, checked before any
// test runs. A missing system package is installed when this process may (root, Debian's apt-get, not disabled with
// TRACKED_NO_INSTALL=1), as .ci/run does; otherwise the run stops at once with the one command to run — never a
// stack trace from deep inside a test.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every requirement: how to tell it is there, and the Debian packages that provide it. */
export const REQUIREMENTS = {
  chromium: {
    what: "Debian's Chromium (the end-to-end tests drive it with playwright-core)",
    present: () => existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'),
    apt: ['chromium'],
    hint: 'or set CHROMIUM_PATH to a Chromium binary',
  },
  dials: {
    what: "DIALS and cctbx (the integration tests run dials.import/find_spots/index on trackED's SMV exports and read the result with dxtbx)",
    present: () => existsSync('/usr/bin/dials.import') && spawnSync('/usr/bin/python3', ['-c', 'import dxtbx, cctbx'], { stdio: 'ignore' }).status === 0,
    apt: ['dials', 'python3-cctbx'],
  },
  slurm: {
    what: "SLURM and munge (the batch tests start a single-node cluster from Debian's slurm-wlm in a temp folder and submit to it)",
    present: () => ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue'].every((b) => spawnSync('sh', ['-c', `command -v ${b}`], { stdio: 'ignore' }).status === 0),
    apt: ['slurm-wlm', 'munge'],
  },
};

function canInstall() {
  return process.env.TRACKED_NO_INSTALL !== '1' && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
}

function aptInstall(packages) {
  process.stdout.write(`preflight: installing ${packages.join(' ')} with apt-get\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', ...packages], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', ...packages], { stdio: 'inherit', env });
  }
  return r.status === 0;
}

/**
 * Checks node_modules and the named requirements; installs what it can. Returns null when all is there, else the
 * one line to show the user.
 */
export function preflight(names) {
  if (!existsSync(join(root, 'node_modules', '.bin', 'vitest'))) {
    return 'node_modules is missing: run `ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci` first (see the README)';
  }
  for (const name of names) {
    const req = REQUIREMENTS[name];
    if (!req) throw new Error(`preflight: unknown requirement '${name}'`);
    if (req.present()) continue;
    if (canInstall() && aptInstall(req.apt) && req.present()) continue;
    return `${req.what} is missing: run \`sudo apt-get install -y ${req.apt.join(' ')}\`${req.hint ? ` (${req.hint})` : ''}`;
  }
  return null;
}

/** preflight(names), and on failure print the line and exit 1. */
export function preflightOrExit(names, who) {
  const problem = preflight(names);
  if (problem) {
    process.stderr.write(`${who}: ${problem}\n`);
    process.exit(1);
  }
}
