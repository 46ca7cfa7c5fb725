// What the benches that run DIALS 3.12 on trackED's smv/ export share: the commands smv/README.txt prints (true beam
// centre, axis and gain are in the export, so they are run as printed) and one timed DIALS step.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Debian's python3 carries cctbx and DIALS' Python modules; a pyenv python3 earlier on the PATH would not. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Whether Debian's DIALS is installed (apt-get install -y dials). */
export const dialsInstalled = (): boolean => existsSync('/usr/bin/dials.import');

/** The DIALS command lines of smv/README.txt, as printed (dials.import, dials.find_spots, dials.index). */
export function readmeCommands(smv: string): string[] {
  const readme = readFileSync(join(smv, 'README.txt'), 'utf8');
  return [...readme.matchAll(/^ {2}(dials\.\w+ .*)$/gm)].map((m) => m[1]!.trim());
}

/** One DIALS command run in `cwd`: its wall time, and on failure the program and the last lines it printed. */
export function dialsStep(cwd: string, cmd: string): { wallS: number; error?: string } {
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', cmd], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status === 0) return { wallS };
  return { wallS, error: `${cmd.split(' ')[0]} failed: ${(r.stdout + r.stderr).trim().split('\n').slice(-2).join(' ')}` };
}
