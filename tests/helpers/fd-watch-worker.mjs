// Watches this process's descriptors from a thread of its own: a file the main thread opens, reads and closes in
// one synchronous stretch is invisible to a timer on that thread, not to this loop (one sample every millisecond).
import { parentPort, workerData } from 'node:worker_threads';
import { sampleDescriptors } from './fd-sample.mjs';

const { root, stop } = workerData;
const seen = new Map();
parentPort.postMessage('started');
while (Atomics.load(stop, 0) === 0) {
  sampleDescriptors('self', root, seen);
  Atomics.wait(stop, 0, 0, 1);
}
sampleDescriptors('self', root, seen);
parentPort.postMessage([...seen].map(([rel, flags]) => [rel, [...flags]]));
