// The single worker_threads entry (bundled as out/cli/worker.mjs and out/main/worker.js): receives tasks from
// WorkerPool (the running one and at most one more), runs them in order from the task table, and replies with each
// result (typed arrays transferred) or error (name, message, detail, stack: revived as the same class on the main
// side).

import { parentPort } from 'node:worker_threads';
import { ParameterError } from '../../src-shared/errors';
import { serialiseError, signalFromFlag, transferablesOf, type ReplyMessage, type TaskMessage } from './protocol';
import { loadTask, type TaskContext } from './tasks';

type AnyTask = (args: unknown, ctx: TaskContext) => unknown;

if (!parentPort) throw new Error('worker.ts must run as a worker_thread (started by WorkerPool)');
const port = parentPort;

// The pool may send the next task while one runs: they run one at a time, in order.
let previous: Promise<void> = Promise.resolve();
port.on('message', (msg: TaskMessage) => {
  previous = previous.then(() => runTask(msg));
});

async function runTask(msg: TaskMessage): Promise<void> {
  let reply: ReplyMessage;
  let transfer: ArrayBuffer[] = [];
  try {
    const fn = (await loadTask(msg.name)) as AnyTask | undefined;
    if (!fn) throw new ParameterError('task', `no task named '${msg.name}'`);
    const value = await fn(msg.args, { signal: signalFromFlag(msg.cancel) });
    reply = { id: msg.id, ok: true, value };
    transfer = transferablesOf(value);
  } catch (e) {
    reply = { id: msg.id, ok: false, error: serialiseError(e) };
  }
  try {
    port.postMessage(reply, transfer);
  } catch (e) {
    // A result that cannot be cloned (a function, a class instance with private state…): report it, do not die.
    port.postMessage({ id: msg.id, ok: false, error: serialiseError(e) } satisfies ReplyMessage);
  }
}
