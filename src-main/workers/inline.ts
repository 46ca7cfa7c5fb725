// Worker tasks run on this thread, behind the pool's `run` interface: for a pass so small that starting worker
// threads (each loading its bundle and WebAssembly kernels, ~100 ms) would cost more than the work — a tiny series on
// the command line, where the whole process should take a fraction of a second.
import type { RunOptions, TaskArgs, TaskName, TaskResult } from './pool';
import type { TaskContext } from './protocol';

/** What a stage needs of a pool: its size and `run`. */
export interface TaskRunner {
  readonly size: number;
  run<K extends TaskName>(name: K, args: TaskArgs<K>, opts?: RunOptions): Promise<TaskResult<K>>;
}

type TaskTable = Record<string, (args: never, context: TaskContext) => unknown>;

/** A runner over some of the tasks (a stage's own table), one at a time, on this thread. */
export function inlineRunner(tasks: TaskTable): TaskRunner {
  return {
    size: 1,
    async run<K extends TaskName>(name: K, args: TaskArgs<K>, opts: RunOptions = {}): Promise<TaskResult<K>> {
      const task = tasks[name as string];
      if (!task) throw new Error(`task ${String(name)} is not in this runner's table`);
      // Like a worker: the caller's loop goes on queueing before the task starts.
      await Promise.resolve();
      opts.signal?.throwIfAborted();
      return (await task(args as never, { signal: opts.signal ?? new AbortController().signal })) as TaskResult<K>;
    },
  };
}
