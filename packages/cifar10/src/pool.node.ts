import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WorkerHost } from './pool.ts';

/**
 * The pool's Node adapter: `worker_threads` evaluating the bundled worker script. Idle workers are unref'd, so a
 * loop abandoned without `break` (its iterator never closed) does not keep the process alive; a worker holds the
 * process only while it has a batch to prepare.
 */
export const nodeWorkerHost: WorkerHost = {
  concurrency: availableParallelism(),
  start(source) {
    const shim =
      "const { parentPort } = require('node:worker_threads');\n" +
      "const port = { post: (m, t) => parentPort.postMessage(m, t), listen: (f) => parentPort.on('message', f) };\n";
    const worker = new Worker(shim + source, { eval: true });
    worker.unref();
    let terminated = false;
    return {
      post: (job, transfer) => worker.postMessage(job, transfer),
      listen(onReply, onError) {
        worker.on('message', onReply);
        worker.on('error', onError);
        worker.on('exit', (code) => {
          if (!terminated) onError(new Error(`the worker exited with code ${code}`));
        });
      },
      busy(busy) {
        if (busy) worker.ref();
        else worker.unref();
      },
      terminate() {
        terminated = true;
        void worker.terminate();
      },
    };
  },
};
