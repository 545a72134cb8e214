/**
 * The batch-preparing worker pool: the scheduling, shared by every platform. A platform supplies only how to start
 * a worker from the worker's source ({@link WorkerHost}): Web Workers in browsers (below), `worker_threads` in Node
 * (`pool.node.ts`).
 */
import { BATCH_WORKER_SOURCE } from './batch-worker.generated.ts';
import type { BatchJob, BatchReply } from './prepare.ts';

type PreparedReply = Exclude<BatchReply, { error: string }>;

/** One started worker, as the pool drives it. */
export interface WorkerPort {
  post(job: BatchJob, transfer: ArrayBuffer[]): void;
  /** Called with every reply, and with an error if the worker dies. */
  listen(onReply: (reply: BatchReply) => void, onError: (error: Error) => void): void;
  /** Whether the worker has jobs out: Node lets the process end while its workers are idle. */
  busy(busy: boolean): void;
  terminate(): void;
}

/** How a platform starts workers. */
export interface WorkerHost {
  /** Starts a worker running `source`, a self-contained script that expects a global `port` (see the adapters). */
  start(source: string): WorkerPort;
  /** Logical cores, for `workers: 'auto'`. */
  concurrency: number;
}

/** The pool's browser adapter: Web Workers started from a Blob URL of the bundled worker script. */
function webWorkerHost(): WorkerHost | null {
  if (
    typeof Worker === 'undefined' ||
    typeof Blob === 'undefined' ||
    typeof URL.createObjectURL !== 'function'
  ) {
    return null;
  }
  return {
    concurrency: typeof navigator === 'undefined' ? 1 : navigator.hardwareConcurrency || 1,
    start(source) {
      const shim =
        'const port = { post: (m, t) => self.postMessage(m, t), listen: (f) => { self.onmessage = (e) => f(e.data); } };\n';
      const url = URL.createObjectURL(new Blob([shim, source], { type: 'text/javascript' }));
      const worker = new Worker(url);
      return {
        post: (job, transfer) => worker.postMessage(job, transfer),
        listen(onReply, onError) {
          worker.onmessage = (event: MessageEvent<BatchReply>) => onReply(event.data);
          worker.onerror = (event) => onError(new Error(event.message || 'the batch worker failed to start'));
        },
        busy() {},
        terminate() {
          worker.terminate();
          // Only now: revoked earlier, a browser may not have fetched the script yet.
          URL.revokeObjectURL(url);
        },
      };
    },
  };
}

let host: WorkerHost | null = webWorkerHost();

/** Node's entry installs its `worker_threads` host here. */
export function setWorkerHost(platform: WorkerHost): void {
  host = platform;
}

export function workerHost(): WorkerHost | null {
  return host;
}

let live = 0;

/** Workers started and not yet terminated, in this process (for tests). */
export function liveWorkers(): number {
  return live;
}

/** A fixed set of workers preparing batches; each job goes to the worker with the fewest jobs out. */
export class BatchPool {
  private readonly ports: { port: WorkerPort; out: number }[] = [];
  private readonly waiting = new Map<
    number,
    { resolve: (r: PreparedReply) => void; reject: (e: Error) => void }
  >();
  /** Raw-image buffers the workers handed back with their batches, for later batches' raw images. */
  private readonly inputs: ArrayBuffer[] = [];
  /** Float buffers of batches the backend has copied, for later batches to be written into. */
  private readonly outputs: ArrayBuffer[] = [];
  private failure: Error | null = null;
  private closed = false;

  constructor(size: number, platform: WorkerHost) {
    for (let i = 0; i < size; i++) {
      const port = platform.start(BATCH_WORKER_SOURCE);
      live++;
      const entry = { port, out: 0 };
      port.listen(
        (reply) => {
          entry.out--;
          if (entry.out === 0) port.busy(false);
          const waiter = this.waiting.get(reply.id);
          this.waiting.delete(reply.id);
          if ('error' in reply) waiter?.reject(new Error(reply.error));
          else {
            this.inputs.push(reply.raw.buffer as ArrayBuffer);
            waiter?.resolve(reply);
          }
        },
        (error) => this.fail(error),
      );
      this.ports.push(entry);
    }
  }

  /**
   * A `bytes`-long array for a batch's raw images, on a buffer a worker handed back where one is large enough: the
   * caller overwrites every byte.
   */
  inputArray(bytes: number): Uint8Array {
    const i = this.inputs.findIndex((buffer) => buffer.byteLength >= bytes);
    if (i < 0) return new Uint8Array(bytes);
    return new Uint8Array(this.inputs.splice(i, 1)[0]!, 0, bytes);
  }

  /**
   * Hands `x`'s buffer to the workers, to write a later batch into: only for an array nothing reads any more (a
   * backend that copied it into its own memory).
   */
  recycle(x: Float32Array): void {
    this.outputs.push(x.buffer as ArrayBuffer);
  }

  /**
   * Prepares one batch in a worker; `job.raw`'s buffer is transferred (unusable here afterwards), and with it a
   * recycled float buffer when there is one.
   */
  run(job: Omit<BatchJob, 'into'>): Promise<PreparedReply> {
    if (this.failure) return Promise.reject(this.failure);
    const entry = this.ports.reduce((a, b) => (b.out < a.out ? b : a));
    const reply = new Promise<PreparedReply>((resolve, reject) =>
      this.waiting.set(job.id, { resolve, reject }),
    );
    if (entry.out++ === 0) entry.port.busy(true);
    const into = this.outputs.pop() ?? null;
    const transfer = [job.raw.buffer as ArrayBuffer];
    if (into) transfer.push(into);
    entry.port.post({ ...job, into }, transfer);
    return reply;
  }

  /** Terminates every worker; jobs still out are abandoned. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { port } of this.ports) port.terminate();
    live -= this.ports.length;
  }

  private fail(error: Error): void {
    this.failure = new Error(`a batch worker failed: ${error.message}`);
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }
}
