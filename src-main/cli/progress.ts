// Progress for the command line: a bar on a TTY (stderr, so stdout stays clean JSON), nothing otherwise; and, when
// TRACKED_PROGRESS_FILE names a file, the same progress as JSON in that file (a batch task's progress.json, which the
// batch runner follows whether the task runs here or on a cluster node).
import cliProgress from 'cli-progress';
import { writeFileAtomicSync } from '../io/atomic';

export interface CliProgress {
  update(done: number, total: number, stage?: string): void;
  stop(): void;
}

/** Progress as { label, stage, done, total, at } in `file`, at most every `intervalMs` (and at the end). */
export function fileProgress(label: string, file: string, intervalMs = 500): CliProgress {
  let last = 0;
  let latest = { done: 0, total: 0, stage: '' };
  const write = (): void => {
    try {
      writeFileAtomicSync(file, JSON.stringify({ label, ...latest, at: new Date().toISOString() }));
    } catch {
      // Progress is a courtesy: a full disk or a vanished folder must not fail the work itself.
    }
  };
  return {
    update(done, total, stage = '') {
      latest = { done, total, stage };
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      write();
    },
    stop() {
      if (last) write();
    },
  };
}

function both(a: CliProgress, b: CliProgress): CliProgress {
  return {
    update: (d, t, s) => (a.update(d, t, s), b.update(d, t, s)),
    stop: () => (a.stop(), b.stop()),
  };
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): CliProgress {
  const file = process.env['TRACKED_PROGRESS_FILE'];
  const bar = terminalProgress(label, stream);
  return file ? both(bar, fileProgress(label, file)) : bar;
}

function terminalProgress(label: string, stream: NodeJS.WriteStream): CliProgress {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {stage} | ETA {eta_formatted}`,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, stage = '') {
      if (!started) {
        bar.start(Math.max(total, 1), 0, { stage });
        started = true;
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(done, { stage });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
