/**
 * The body of a batch worker, bundled into one self-contained script (`batch-worker.generated.ts`, made by
 * `scripts/build-worker.mjs`) that each platform's adapter starts with a global `port` to talk through.
 */
import { type BatchJob, type BatchReply, prepareBatch } from './prepare.ts';
import { transformFromSpec } from './transforms.ts';

declare const port: {
  post(reply: BatchReply, transfer: ArrayBuffer[]): void;
  listen(onJob: (job: BatchJob) => void): void;
};

port.listen((job) => {
  try {
    const transforms = job.transforms.map(transformFromSpec);
    const { raw, count, normalize, seed, epoch, id } = job;
    const out = prepareBatch(raw, count, transforms, normalize, seed, epoch, id, job.into ?? undefined);
    // Both buffers go back by transfer, never copied: the floats to become the batch, the raw bytes to be reused.
    port.post({ id, x: out.data, height: out.height, width: out.width, raw }, [
      out.data.buffer as ArrayBuffer,
      raw.buffer as ArrayBuffer,
    ]);
  } catch (e) {
    port.post({ id: job.id, error: e instanceof Error ? e.message : String(e) }, []);
  }
});
