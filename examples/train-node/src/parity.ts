import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '@skipnet/nn';
import { seedResNet, type Widths } from '@skipnet/resnet';
import { SGD, softmaxCrossEntropy } from '@skipnet/trainer';
import * as tf from '@tensorflow/tfjs-core';

/** One comparison against PyTorch: the worst relative error over the tensors it covers. */
export interface ParityRow {
  check: string;
  tensors: number;
  maxRelativeError: number;
  tolerance: number;
  ok: boolean;
}

/** The tolerances of shared/fixtures/README.md. */
export const TOLERANCES = { forward: 1e-4, gradient: 1e-3 } as const;

// Reads are asynchronous throughout: tfjs-backend-webgpu cannot read synchronously in Node.
async function relativeError(actual: tf.Tensor, expected: tf.Tensor): Promise<number> {
  if (actual.shape.join() !== expected.shape.join()) {
    throw new Error(`shape [${actual.shape}] where PyTorch has [${expected.shape}]`);
  }
  const a = await actual.data();
  const b = await expected.data();
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
}

async function norm(t: tf.Tensor): Promise<number> {
  let sum = 0;
  for (const v of (await t.data()) as Float32Array) sum += v * v;
  return Math.sqrt(sum);
}

/**
 * Relative error, except for a gradient whose true value is 0: the stem's conv bias feeds a train-mode BatchNorm,
 * which subtracts the batch mean, so PyTorch's value and ours are both rounding noise (~1e-6 against ~1e-1 for the
 * weight). Such a gradient (below 1e-4 of its layer's weight gradient) is measured against the weight gradient.
 */
async function gradientError(
  actual: tf.Tensor,
  expected: tf.Tensor,
  weightGradient: tf.Tensor | undefined,
): Promise<number> {
  if (
    weightGradient &&
    weightGradient !== expected &&
    (await norm(expected)) < 1e-4 * (await norm(weightGradient))
  ) {
    const difference = tf.sub(actual, expected);
    const error = (await norm(difference)) / (await norm(weightGradient));
    difference.dispose();
    return error;
  }
  return relativeError(actual, expected);
}

/** PyTorch's layout of a tensor skipnet keeps as conv HWIO or linear [in, out]. */
function torchLayout(t: tf.Tensor): tf.Tensor {
  if (t.rank === 4) return tf.transpose(t, [3, 2, 0, 1]);
  if (t.rank === 2) return tf.transpose(t, [1, 0]);
  return t.clone();
}

/**
 * Replays a `seed-resnet-*` fixture (made by the seed's PyTorch code) on the active tfjs backend: eval and train
 * forward, loss, every gradient the fixture has, the state after one SGD step and the next two losses when the
 * fixture has them. Returns one row per kind of check.
 */
export async function seedParity(fixtureDir: string, widths: Widths): Promise<ParityRow[]> {
  const read = (file: string) => readSafetensors(new Uint8Array(readFileSync(join(fixtureDir, file))));
  const weights = read('weights.safetensors');
  const io = read('io.safetensors');
  const model = seedResNet({ widths });
  const rows: ParityRow[] = [];
  const add = (check: string, errors: number[], tolerance: number) => {
    if (errors.length === 0) return;
    const worst = Math.max(...errors);
    rows.push({ check, tensors: errors.length, maxRelativeError: worst, tolerance, ok: worst <= tolerance });
  };
  const expected = (name: string) => {
    const t = io[name];
    if (!t) throw new Error(`${fixtureDir}/io.safetensors has no '${name}'`);
    return t;
  };
  try {
    model.loadStateDict(weights);
    const x = tf.transpose(expected('x'), [0, 2, 3, 1]);
    const y = tf.cast(expected('y'), 'int32');

    model.eval();
    const logitsEval = tf.tidy(() => model.forward(x));
    add('logits (eval)', [await relativeError(logitsEval, expected('logits.eval'))], TOLERANCES.forward);

    model.train();
    const optimizer = new SGD(model.namedParameters(), { lr: 0.01 });
    const params = model.namedParameters();
    let logitsTrain: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(
      () => {
        const logits = model.forward(x);
        logitsTrain = tf.keep(logits);
        return softmaxCrossEntropy(logits, y);
      },
      params.map(([, v]) => v),
    );
    add('logits (train)', [await relativeError(logitsTrain!, expected('logits.train'))], TOLERANCES.forward);
    add('loss', [await relativeError(value, expected('loss'))], TOLERANCES.forward);
    const gradErrors: number[] = [];
    for (const [name, variable] of params) {
      const reference = io[`grad.${name}`];
      if (!reference) continue;
      const g = torchLayout(grads[variable.name]!);
      gradErrors.push(await gradientError(g, reference, io[`grad.${name.replace(/bias$/, 'weight')}`]));
      g.dispose();
    }
    add('gradients', gradErrors, TOLERANCES.gradient);
    optimizer.step(grads);

    const state = model.stateDict();
    const afterErrors: number[] = [];
    for (const [name, t] of Object.entries(state)) {
      if (!io[`after.${name}`]) continue;
      const [actual, reference] = [tf.cast(t, 'float32'), tf.cast(expected(`after.${name}`), 'float32')];
      afterErrors.push(await relativeError(actual, reference));
      tf.dispose([actual, reference]);
    }
    add('state after one SGD step', afterErrors, TOLERANCES.gradient);

    const losses3 = io['losses.3steps'];
    if (losses3) {
      const losses = [(await value.data())[0]!];
      for (let i = 0; i < 2; i++) {
        const step = tf.variableGrads(
          () => softmaxCrossEntropy(model.forward(x), y),
          params.map(([, v]) => v),
        );
        losses.push((await step.value.data())[0]!);
        optimizer.step(step.grads);
        tf.dispose([step.value, ...Object.values(step.grads)]);
      }
      const got = tf.tensor1d(losses);
      add('losses of 3 SGD steps', [await relativeError(got, losses3)], TOLERANCES.gradient);
      got.dispose();
    }
    tf.dispose([x, y, logitsEval, logitsTrain!, value, ...Object.values(grads), ...Object.values(state)]);
    return rows;
  } finally {
    model.dispose();
    tf.dispose([...Object.values(weights), ...Object.values(io)]);
  }
}

export function formatParity(rows: ParityRow[]): string[] {
  return [
    '| check | tensors | max relative error | tolerance | |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows.map(
      (r) =>
        `| ${r.check} | ${r.tensors} | ${r.maxRelativeError.toExponential(2)} | ${r.tolerance.toExponential(0)} | ${r.ok ? 'ok' : 'FAIL'} |`,
    ),
  ];
}
