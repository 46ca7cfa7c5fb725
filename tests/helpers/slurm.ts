// A single-node SLURM cluster for a test or a bench, on this machine, from Debian's slurm-wlm and munge: munged with
// its own key and socket, slurmctld and slurmd with a slurm.conf in a temp folder (proctrack/linuxproc, task/none,
// state and spool there too, ports of their own), so nothing of the machine's own configuration is touched. stop()
// ends exactly the daemons it started, by the PIDs they wrote.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, hostname, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface SlurmCluster {
  dir: string;
  /** The environment sbatch, squeue and scontrol need (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  /** The node's memory as slurm.conf gives it (MB). */
  memoryMb: number;
  stop(): Promise<void>;
}

const BINARIES = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'sinfo'];

/** Why a cluster cannot be started here, or null when it can. */
export function slurmUnavailable(): string | null {
  const missing = BINARIES.filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
  if (missing.length) return `missing ${missing.join(', ')} (apt-get install slurm-wlm munge)`;
  if (process.getuid?.() !== 0) return 'the test cluster runs its daemons as root';
  return null;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`test SLURM cluster: ${what} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function killPidFile(file: string, signal: NodeJS.Signals): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) return null;
  try {
    process.kill(pid, signal);
    return pid;
  } catch {
    return null;
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function startSlurm(): Promise<SlurmCluster> {
  const why = slurmUnavailable();
  if (why) throw new Error(`test SLURM cluster: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), 'tracked-slurm-'));
  for (const d of ['state', 'spool', 'munge', 'log']) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
  const key = join(dir, 'munge', 'munge.key');
  writeFileSync(key, randomBytes(1024));
  chmodSync(key, 0o400);
  const socket = join(dir, 'munge', 'munge.socket');
  const pidFiles = { munged: join(dir, 'munge', 'munged.pid'), slurmctld: join(dir, 'slurmctld.pid'), slurmd: join(dir, 'slurmd.pid') };
  const stop = async (): Promise<void> => {
    const pids = [killPidFile(pidFiles.slurmd, 'SIGTERM'), killPidFile(pidFiles.slurmctld, 'SIGTERM'), killPidFile(pidFiles.munged, 'SIGTERM')].filter((p): p is number => p !== null);
    await waitFor('daemons stop', () => pids.every((p) => !alive(p)), 15_000).catch(() => pids.forEach((p) => alive(p) && process.kill(p, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync('munged', [`--key-file=${key}`, `--socket=${socket}`, `--pid-file=${pidFiles.munged}`, `--log-file=${join(dir, 'log', 'munged.log')}`, `--seed-file=${join(dir, 'munge', 'seed')}`, '--force']);
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const node = hostname();
    const memoryMb = Math.floor((totalmem() / 2 ** 20) * 0.8);
    const conf = join(dir, 'slurm.conf');
    writeFileSync(
      conf,
      [
        'ClusterName=tracked-test',
        `SlurmctldHost=${node}`,
        'SlurmUser=root',
        'SlurmdUser=root',
        'AuthType=auth/munge',
        'CredType=cred/munge',
        `AuthInfo=socket=${socket}`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${dPort}`,
        `StateSaveLocation=${join(dir, 'state')}`,
        `SlurmdSpoolDir=${join(dir, 'spool')}`,
        `SlurmctldPidFile=${pidFiles.slurmctld}`,
        `SlurmdPidFile=${pidFiles.slurmd}`,
        `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
        `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'JobAcctGatherType=jobacct_gather/none',
        'AccountingStorageType=accounting_storage/none',
        'JobCompType=jobcomp/none',
        'SchedulerType=sched/backfill',
        'SchedulerParameters=sched_min_interval=200000',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_Core_Memory',
        'ReturnToService=2',
        'MpiDefault=none',
        'SwitchType=switch/none',
        'MinJobAge=3600',
        `NodeName=${node} CPUs=${availableParallelism()} RealMemory=${memoryMb} State=UNKNOWN`,
        'PartitionName=batch Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, SLURM_CONF: conf };
    execFileSync('slurmctld', ['-f', conf], { env });
    execFileSync('slurmd', ['-f', conf], { env });
    await waitFor('the node becomes idle', () => spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' }).stdout.trim() === 'idle', 30_000);
    return { dir, env, memoryMb, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
