// One data-parallel replica of the seed ResNet for `bench --replicas`: single-threaded wasm in a worker thread,
// gradients averaged with the other replicas through a SharedArrayBuffer, then the same SGD update everywhere.
// A measurement, not a trainer: it answers whether replicas beat the threaded XNNPACK build on this machine.
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '@skipnet/backend';
import { init } from '@skipnet/nn';
import { seedResNet } from '@skipnet/resnet';
import { SGD, softmaxCrossEntropy } from '@skipnet/trainer';
import * as tf from '@tensorflow/tfjs-core';

export interface ReplicaData {
  rank: number;
  world: number;
  /** Images per replica. */
  batch: number;
  imageSize: number;
}

/** Sent once every replica has said how many parameters it has. */
export interface ReplicaMemory {
  /** One float32 slot of every parameter per replica. */
  gradients: SharedArrayBuffer;
  /** [arrivals at the barrier]. */
  control: SharedArrayBuffer;
}

const { rank, world, batch, imageSize } = workerData as ReplicaData;
let arrivals = new Int32Array(new SharedArrayBuffer(4));
let slots: Float32Array<SharedArrayBuffer>[] = [];
let generation = 0;

/** Blocks until every replica has arrived here as often as this one. */
function barrier(): void {
  generation++;
  Atomics.add(arrivals, 0, 1);
  Atomics.notify(arrivals, 0);
  for (;;) {
    const now = Atomics.load(arrivals, 0);
    if (now >= generation * world) return;
    Atomics.wait(arrivals, 0, now);
  }
}

await selectBackend('wasm');
const model = seedResNet(imageSize === 96 ? {} : { head: 'global' });
// The same seed everywhere, biases included: identical replicas.
init.resetParameters(model, { seed: 0 });
init.xavierInit(model, { seed: 0 });
model.train();
const params = model.namedParameters();
const optimizer = new SGD(params, { lr: 0.01 });
const sizes = params.map(([, p]) => p.size);
const total = sizes.reduce((a, b) => a + b, 0);
const x = tf.randomNormal([batch, imageSize, imageSize, 3], 0, 1, 'float32', 1 + rank);
const y = tf.randomUniformInt([batch], 0, 10, 2 + rank);

async function step(): Promise<void> {
  const { value, grads } = tf.variableGrads(
    () => softmaxCrossEntropy(model.forward(x), y),
    params.map(([, p]) => p),
  );
  value.dispose();
  const mine = slots[rank]!;
  let offset = 0;
  for (const [, p] of params) {
    mine.set((await grads[p.name]!.data()) as Float32Array, offset);
    offset += p.size;
  }
  tf.dispose(Object.values(grads));
  barrier();
  const mean = new Float32Array(total);
  for (const slot of slots) for (let i = 0; i < total; i++) mean[i]! += slot[i]!;
  for (let i = 0; i < total; i++) mean[i]! /= world;
  // Nobody writes the next step's gradients before everyone has read these.
  barrier();
  const averaged: Record<string, tf.Tensor> = {};
  offset = 0;
  params.forEach(([, p], i) => {
    averaged[p.name] = tf.tensor(mean.subarray(offset, offset + sizes[i]!), p.shape);
    offset += sizes[i]!;
  });
  optimizer.step(averaged);
  tf.dispose(Object.values(averaged));
}

parentPort!.on('message', async (message: number | ReplicaMemory) => {
  if (typeof message !== 'number') {
    arrivals = new Int32Array(message.control);
    slots = Array.from(
      { length: world },
      (_, r) => new Float32Array(message.gradients, r * total * 4, total),
    );
    parentPort!.postMessage('step');
    return;
  }
  for (let i = 0; i < message; i++) {
    await step();
    parentPort!.postMessage('step');
  }
});
parentPort!.postMessage(total);
