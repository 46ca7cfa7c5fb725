// Progress for the command line: a bar on a TTY (stderr, so stdout stays clean JSON), nothing otherwise.
import cliProgress from 'cli-progress';

export interface CliProgress {
  update(done: number, total: number, stage?: string): void;
  stop(): void;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): CliProgress {
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
