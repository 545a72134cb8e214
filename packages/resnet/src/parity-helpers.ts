// Shared by the parity tests (not part of the package): the PyTorch fixtures and the one training
// step they were made with.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Module } from '@skipnet/nn';
import { readSafetensors } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('parity tests: no pnpm-workspace.yaml above the test file');
    dir = parent;
  }
  return dir;
}

/** The fixtures folder beside the repository (`<repo>/../shared/fixtures`); throws when absent. */
export function fixturesDir(): string {
  const dir = resolve(repoRoot(), '..', 'shared', 'fixtures');
  if (!existsSync(join(dir, 'seed-resnet-narrow', 'io.safetensors'))) {
    throw new Error(
      `PyTorch fixtures not found at ${dir}: the parity tests need the shared fixtures (seed-resnet-narrow, seed-resnet-full) beside the repository`,
    );
  }
  return dir;
}

export function readFixture(name: string, file: string): Record<string, tf.Tensor> {
  return readSafetensors(new Uint8Array(readFileSync(join(fixturesDir(), name, file))));
}

/** ‖a − b‖ / ‖b‖ (‖a − b‖ when b is all zeros), in float64 on the CPU. */
export function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) {
    throw new Error(`shape [${a.shape.join(', ')}] vs reference [${b.shape.join(', ')}]`);
  }
  const x = a.dataSync();
  const y = b.dataSync();
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < y.length; i++) {
    const d = Number(x[i]) - Number(y[i]);
    diff += d * d;
    norm += Number(y[i]) * Number(y[i]);
  }
  return norm === 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
}

export function nchwToNhwc(x: tf.Tensor): tf.Tensor4D {
  return tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;
}

/** Mean cross-entropy of logits [N, C] against integer labels [N], as `F.cross_entropy`. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[1] as number;
    const picked = tf.mul(tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, classes), tf.logSoftmax(logits));
    return tf.neg(tf.mean(tf.sum(picked, 1))) as tf.Scalar;
  });
}

/** A gradient in skipnet's layout (conv HWIO, linear [in, out]) turned into PyTorch's. */
export function toTorchLayout(t: tf.Tensor): tf.Tensor {
  if (t.rank === 4) return tf.transpose(t, [3, 2, 0, 1]);
  if (t.rank === 2) return tf.transpose(t, [1, 0]);
  return tf.clone(t);
}

export interface StepResult {
  logits: tf.Tensor;
  loss: tf.Scalar;
  /** Gradients by PyTorch name and in PyTorch layout. */
  grads: Record<string, tf.Tensor>;
}

/** One training forward/backward (train mode must be set), then optionally SGD with `lr`. */
export function trainStep(model: Module, x: tf.Tensor, y: tf.Tensor, lr?: number): StepResult {
  const params = model.namedParameters();
  let logits: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(
    () => {
      const out = model.forward(x);
      logits = tf.keep(out);
      return crossEntropy(out, y);
    },
    params.map(([, v]) => v),
  );
  const named: Record<string, tf.Tensor> = {};
  for (const [name, variable] of params) {
    const grad = grads[variable.name];
    if (!grad) throw new Error(`no gradient for ${name}`);
    named[name] = tf.tidy(() => toTorchLayout(grad));
  }
  if (lr !== undefined) {
    tf.tidy(() => {
      for (const [, variable] of params) {
        variable.assign(tf.sub(variable, tf.mul(grads[variable.name] as tf.Tensor, lr)));
      }
    });
  }
  tf.dispose(grads);
  return { logits: logits as tf.Tensor, loss: value, grads: named };
}
