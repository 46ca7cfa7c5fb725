// The batch's progress on the terminal: one bar per task (its state and stage, from the task's progress.json, whether
// it runs here or on a cluster node) on a TTY; one line per change of state otherwise (a log file, CI).
import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { BatchTask } from './plan';
import type { TaskState } from './summary';
import { progressFile } from './task';

export interface TaskProgress {
  done: number;
  total: number;
  stage: string;
}

export function readProgress(task: BatchTask): TaskProgress | null {
  try {
    const p = JSON.parse(readFileSync(progressFile(task), 'utf8')) as TaskProgress;
    return Number.isFinite(p.done) && Number.isFinite(p.total) ? p : null;
  } catch {
    return null;
  }
}

export class BatchBoard {
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly states = new Map<string, string>();
  private readonly multi: cliProgress.MultiBar | null;

  constructor(
    tasks: readonly BatchTask[],
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.multi = stream.isTTY
      ? new cliProgress.MultiBar(
          { stream, format: '{id} [{bar}] {percentage}% | {state} {stage}', barCompleteChar: '█', barIncompleteChar: '░', hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        )
      : null;
    const width = Math.max(...tasks.map((t) => t.id.length), 8);
    if (this.multi) for (const t of tasks) this.bars.set(t.id, this.multi.create(1, 0, { id: t.id.padEnd(width), state: 'pending', stage: '' }));
  }

  /** A task's state (and its progress while it runs). */
  set(id: string, state: TaskState | 'retrying', progress: TaskProgress | null = null): void {
    const bar = this.bars.get(id);
    if (bar) {
      const done = state === 'ok' || state === 'skipped' ? 1 : progress && progress.total > 0 ? progress.done / progress.total : 0;
      bar.setTotal(1000);
      bar.update(Math.round(done * 1000), { state, stage: state === 'running' ? (progress?.stage ?? '') : '' });
    } else if (this.states.get(id) !== state) {
      this.stream.write(`batch: ${id} ${state}\n`);
    }
    this.states.set(id, state);
  }

  /** A line under the bars (merge steps, submissions). */
  note(text: string): void {
    if (this.multi) this.multi.log(`${text}\n`);
    else this.stream.write(`batch: ${text}\n`);
  }

  stop(): void {
    this.multi?.stop();
  }
}
