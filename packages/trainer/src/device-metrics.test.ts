import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { NonFiniteLossError } from './errors.ts';
import { SGD } from './optim.ts';
import { StepLog, trainStep } from './step.ts';
import { loadFixedWeights, tinyModel, toyData } from './test-helpers.ts';
import { trainCh6 } from './train.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// What trainCh6 recorded when it read the loss and the number correct back after every step (commit 6d2eeb1,
// the same run as below: tinyModel with loadFixedWeights, toyData(96, 8), SGD(lr 0.05, momentum 0.9), 2 epochs,
// cpu). Per batch: [this batch's loss, running train loss, running train accuracy].
const BEFORE = {
  points: [
    { epoch: 0.16666666666666666, trainLoss: 1.0872207880020142, trainAcc: 0.375 },
    { epoch: 0.3333333333333333, trainLoss: 1.0900535881519318, trainAcc: 0.34375 },
    { epoch: 0.5, trainLoss: 1.0891978740692139, trainAcc: 0.3333333333333333 },
    { epoch: 0.6666666666666666, trainLoss: 1.0825112015008926, trainAcc: 0.34375 },
    { epoch: 0.8333333333333334, trainLoss: 1.077786135673523, trainAcc: 0.375 },
    { epoch: 1, trainLoss: 1.0694774687290192, trainAcc: 0.4270833333333333 },
    { epoch: 1, testAcc: 0.6875 },
    { epoch: 1.1666666666666667, trainLoss: 1.039920449256897, trainAcc: 0.9375 },
    { epoch: 1.3333333333333333, trainLoss: 0.9664261341094971, trainAcc: 0.96875 },
    { epoch: 1.5, trainLoss: 0.8600929578145345, trainAcc: 0.9791666666666666 },
    { epoch: 1.6666666666666665, trainLoss: 0.7442833296954632, trainAcc: 0.984375 },
    { epoch: 1.8333333333333335, trainLoss: 0.6377605751156807, trainAcc: 0.9875 },
    { epoch: 2, trainLoss: 0.5486198750634989, trainAcc: 0.9895833333333334 },
    { epoch: 2, testAcc: 0.375 },
  ],
  epochs: [
    { epoch: 1, loss: 1.0694774687290192, trainAcc: 0.4270833333333333, testAcc: 0.6875, examples: 96 },
    { epoch: 2, loss: 0.5486198750634989, trainAcc: 0.9895833333333334, testAcc: 0.375, examples: 96 },
  ],
};
const BEFORE_BATCHES = [
  [1.0816929340362549, 1.0816929340362549, 0.375],
  [1.0927486419677734, 1.0872207880020142, 0.375],
  [1.1143765449523926, 1.0962727069854736, 0.3333333333333333],
  [1.0713962316513062, 1.0900535881519318, 0.34375],
  [1.0803730487823486, 1.0881174802780151, 0.35],
  [1.0945998430252075, 1.0891978740692139, 0.3333333333333333],
  [1.0624278783798218, 1.0853735889707292, 0.3392857142857143],
  [1.0624744892120361, 1.0825112015008926, 0.34375],
  [1.0689641237258911, 1.0810059706370037, 0.3472222222222222],
  [1.0488076210021973, 1.077786135673523, 0.375],
  [1.023808240890503, 1.072879054329612, 0.4090909090909091],
  [1.0320600271224976, 1.0694774687290192, 0.4270833333333333],
  [1.0557526350021362, 1.0557526350021362, 1],
  [1.0240882635116577, 1.039920449256897, 0.9375],
  [0.9474682807922363, 1.0091030597686768, 0.9583333333333334],
  [0.838395357131958, 0.9664261341094971, 0.96875],
  [0.7122172713279724, 0.9155843615531921, 0.975],
  [0.5826359391212463, 0.8600929578145345, 0.9791666666666666],
  [0.45443475246429443, 0.8021417856216431, 0.9821428571428571],
  [0.339274138212204, 0.7442833296954632, 0.984375],
  [0.24715536832809448, 0.6890468895435333, 0.9861111111111112],
  [0.17618374526500702, 0.6377605751156807, 0.9875],
  [0.1225200891494751, 0.5909205309369348, 0.9886363636363636],
  [0.08331266045570374, 0.5486198750634989, 0.9895833333333334],
];

const run = (callbacks = {}) => {
  const model = tinyModel();
  loadFixedWeights(model);
  return trainCh6(model, toyData(96, 8), toyData(16, 8, { seed: 9 }), {
    epochs: 2,
    init: 'none',
    optimizer: (p) => new SGD(p, { lr: 0.05, momentum: 0.9 }),
    progress: 'none',
    log: () => {},
    callbacks,
  }).finally(() => model.dispose());
};

describe('no host sync per step', () => {
  it('reads the device only at the Animator points and the test count, with the numbers of a read after every step', async () => {
    const reads = vi.spyOn(tf.backend(), 'read');
    const { history } = await run();
    // 12 batches an epoch: points after batches 2, 4, …, 12 (6 reads) and one read of the test count, per epoch.
    // Reading after every step took 12 + 2 (one per test batch) reads an epoch.
    expect(reads).toHaveBeenCalledTimes(2 * (6 + 1));
    reads.mockRestore();
    expect(history.points).toEqual(BEFORE.points);
    expect(
      history.epochs.map(({ epoch, loss, trainAcc, testAcc, examples }) => ({
        epoch,
        loss,
        trainAcc,
        testAcc,
        examples,
      })),
    ).toEqual(BEFORE.epochs);
  });

  it('a callback that asks for the metrics every batch gets each batch loss and running means as before', async () => {
    const seen: number[][] = [];
    await run({
      onBatchEnd: async (b: {
        metrics(): Promise<{ loss: number; trainLoss: number; trainAcc: number }>;
      }) => {
        const m = await b.metrics();
        seen.push([m.loss, m.trainLoss, m.trainAcc]);
      },
    });
    expect(seen).toEqual(BEFORE_BATCHES);
  });
});

async function values(tensors: Array<readonly [string, tf.Tensor]>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of tensors) out[k] = Array.from(await t.data());
  return out;
}

describe('a NaN step is never applied', () => {
  it('in trainCh6, also between read points: parameters and momentum stay as before the bad step, the error names it', async () => {
    const model = tinyModel();
    const optimizer = new SGD(model.namedParameters(), { lr: 0.1, momentum: 0.9 });
    let before: Record<string, number[]> = {};
    let buffers: Record<string, number[]> = {};
    // 12 batches an epoch, read after every second one: batch 3 of epoch 2 is poisoned, batch 4 is fine, and
    // both run before the read after batch 4 finds the NaN.
    const error = await trainCh6(model, toyData(48, 4, { poison: { epoch: 1, batch: 2 } }), toyData(8, 4), {
      epochs: 3,
      optimizer,
      progress: 'none',
      log: () => {},
      callbacks: {
        onBatchEnd: async (b) => {
          if (b.epoch !== 1 || b.batch !== 2) return;
          before = await values(model.namedParameters());
          const state = optimizer.stateDict();
          buffers = await values(Object.entries(state.tensors));
          tf.dispose(Object.values(state.tensors));
        },
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as Error).message).toMatch(/loss is NaN in epoch 2 at batch 3 \(step 15 of the run\)/);
    expect(await values(model.namedParameters())).toEqual(before);
    const state = optimizer.stateDict();
    expect(await values(Object.entries(state.tensors))).toEqual(buffers);
    tf.dispose(Object.values(state.tensors));
    optimizer.dispose();
    model.dispose();
  });

  it('in trainStep: it throws, and parameters and optimizer buffers are unchanged', async () => {
    const model = tinyModel();
    const optimizer = new SGD(model.namedParameters(), { lr: 0.1, momentum: 0.9 });
    const data = [...toyData(8, 4, { poison: { epoch: 0, batch: 1 } }).batches(0)];
    await trainStep(model, optimizer, data[0]!.x, data[0]!.y);
    const params = await values(model.namedParameters());
    const first = optimizer.stateDict();
    const error = await trainStep(model, optimizer, data[1]!.x, data[1]!.y).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect(await values(model.namedParameters())).toEqual(params);
    const after = optimizer.stateDict();
    expect(await values(Object.entries(after.tensors))).toEqual(await values(Object.entries(first.tensors)));
    tf.dispose([
      ...Object.values(first.tensors),
      ...Object.values(after.tensors),
      ...data.flatMap((b) => [b.x, b.y]),
    ]);
    optimizer.dispose();
    model.dispose();
  });

  it('in a StepLog of your own: the read names the first bad step, and nothing after it was applied', async () => {
    const model = tinyModel();
    const optimizer = new SGD(model.namedParameters(), { lr: 0.1 });
    const data = [...toyData(16, 4, { poison: { epoch: 0, batch: 1 } }).batches(0)];
    const log = new StepLog();
    log.step(model, optimizer, data[0]!.x, data[0]!.y, { epoch: 1, batch: 1, globalStep: 1 });
    const params = await values(model.namedParameters());
    data.slice(1).forEach(({ x, y }, i) => {
      log.step(model, optimizer, x, y, { epoch: 1, batch: i + 2, globalStep: i + 2 });
    });
    const error = await log.read().catch((e: unknown) => e);
    expect((error as NonFiniteLossError).position).toEqual({ epoch: 1, batch: 2, globalStep: 2 });
    expect(await values(model.namedParameters())).toEqual(params);
    log.dispose();
    tf.dispose(data.flatMap((b) => [b.x, b.y]));
    optimizer.dispose();
    model.dispose();
  });
});
