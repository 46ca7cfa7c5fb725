// worker_threads entry of the SAM2 path: owns the ONNX sessions and the embedding cache for one model. Start it with
// `new Worker(<bundled sam2.worker.mjs>)` and talk to it through Sam2WorkerClient (client.ts); protocol in protocol.ts.

import { parentPort } from 'node:worker_threads';
import { createSam2Handler, type Sam2Request } from './protocol';

if (!parentPort) throw new Error('sam2.worker.ts must run as a worker_thread');
const port = parentPort;
const handle = createSam2Handler((msg, transfer) => port.postMessage(msg, transfer ?? []));
port.on('message', (req: Sam2Request) => handle(req));
