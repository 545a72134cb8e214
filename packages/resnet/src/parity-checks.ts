// The parity checks, shared by the cpu and wasm tests. Tolerances from shared/fixtures/README.md.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { nchwToNhwc, readFixture, relativeError, trainStep } from './parity-helpers.js';
import { seedResNet } from './resnet.js';

const FORWARD_TOLERANCE = 1e-4;
const GRADIENT_TOLERANCE = 1e-3;

/** Every relative error measured, by check name, so a run can print them (the README quotes them). */
export type Errors = Record<string, number>;

function check(
  errors: Errors,
  name: string,
  actual: tf.Tensor,
  expected: tf.Tensor | undefined,
  tolerance: number,
) {
  if (!expected) throw new Error(`fixture has no ${name}`);
  const error = relativeError(actual, expected);
  errors[name] = error;
  expect(error, `${name} relative error`).toBeLessThanOrEqual(tolerance);
}

function norm(t: tf.Tensor): number {
  return Math.sqrt(Array.from(t.dataSync()).reduce((sum, v) => sum + v * v, 0));
}

/**
 * Gradients compare by relative error, except one whose true value is 0: block1.0.bias feeds a
 * train-mode BatchNorm, which subtracts the batch mean, so PyTorch's and our values are both
 * rounding noise (~1e-6 against ~1e-1 for the weight). Such a gradient (reference below 1e-4 of its
 * layer's weight gradient) is measured against the weight gradient's norm instead.
 */
function checkGradient(
  errors: Errors,
  name: string,
  actual: tf.Tensor,
  io: Record<string, tf.Tensor>,
  tolerance = GRADIENT_TOLERANCE,
) {
  const expected = io[`grad.${name}`];
  const weight = name.endsWith('.bias') ? io[`grad.${name.slice(0, -'bias'.length)}weight`] : undefined;
  if (expected && weight && norm(expected) < 1e-4 * norm(weight)) {
    const error = tf.tidy(() => norm(tf.sub(actual, expected)) / norm(weight));
    errors[`grad.${name}`] = error;
    expect(error, `grad.${name} error against the weight gradient's norm`).toBeLessThanOrEqual(tolerance);
    return;
  }
  check(errors, `grad.${name}`, actual, expected, tolerance);
}

function worst(errors: Errors, prefix: string): number {
  return Math.max(
    ...Object.entries(errors)
      .filter(([k]) => k.startsWith(prefix))
      .map(([, v]) => v),
  );
}

function summary(label: string, errors: Errors): void {
  const parts = ['logits.eval', 'logits.train', 'loss', 'grad.', 'after.', 'losses.3steps']
    .filter((p) => Object.keys(errors).some((k) => k.startsWith(p)))
    .map((p) => `${p}${p.endsWith('.') ? '*' : ''} ${worst(errors, p).toExponential(2)}`);
  console.log(`${label} max relative errors: ${parts.join(', ')}`);
}

export function checkNarrowParity(label = 'narrow'): Errors {
  const errors: Errors = {};
  const weights = readFixture('seed-resnet-narrow', 'weights.safetensors');
  const io = readFixture('seed-resnet-narrow', 'io.safetensors');
  const model = seedResNet({ widths: [8, 16, 32, 64] });
  model.loadStateDict(weights);
  const x = nchwToNhwc(io.x as tf.Tensor);
  const y = io.y as tf.Tensor;

  model.eval();
  const eval_ = model.forward(x);
  check(errors, 'logits.eval', eval_, io['logits.eval'], FORWARD_TOLERANCE);

  model.train();
  const first = trainStep(model, x, y, 0.01);
  check(errors, 'logits.train', first.logits, io['logits.train'], FORWARD_TOLERANCE);
  check(errors, 'loss', first.loss, io.loss, FORWARD_TOLERANCE);
  const names = model.namedParameters().map(([name]) => name);
  expect(
    Object.keys(io)
      .filter((k) => k.startsWith('grad.'))
      .sort(),
  ).toEqual(names.map((n) => `grad.${n}`).sort());
  for (const name of names) {
    checkGradient(errors, name, first.grads[name] as tf.Tensor, io);
  }

  const after = model.stateDict();
  expect(
    Object.keys(io)
      .filter((k) => k.startsWith('after.'))
      .sort(),
  ).toEqual(
    Object.keys(after)
      .map((k) => `after.${k}`)
      .sort(),
  );
  for (const [name, tensor] of Object.entries(after)) {
    if (name.endsWith('num_batches_tracked')) {
      expect(tensor.dataSync()[0], name).toBe(io[`after.${name}`]?.dataSync()[0]);
      continue;
    }
    check(errors, `after.${name}`, tensor, io[`after.${name}`], GRADIENT_TOLERANCE);
  }

  const second = trainStep(model, x, y, 0.01);
  const third = trainStep(model, x, y, 0.01);
  const losses = tf.stack([first.loss, second.loss, third.loss]);
  check(errors, 'losses.3steps', losses, io['losses.3steps'], GRADIENT_TOLERANCE);

  for (const step of [first, second, third]) tf.dispose([step.logits, step.loss, step.grads]);
  tf.dispose([eval_, x, after, losses, weights, io]);
  model.dispose();
  summary(label, errors);
  return errors;
}

/**
 * `gradients`: which of the fixture's four gradients to check (default all), within
 * `gradientTolerance` (default the README's 1e-3).
 */
export function checkFullParity(
  label = 'full',
  gradients?: string[],
  gradientTolerance = GRADIENT_TOLERANCE,
): Errors {
  const errors: Errors = {};
  const weights = readFixture('seed-resnet-full', 'weights.safetensors');
  const io = readFixture('seed-resnet-full', 'io.safetensors');
  const model = seedResNet();
  model.loadStateDict(weights);
  tf.dispose(weights);
  const x = nchwToNhwc(io.x as tf.Tensor);

  model.eval();
  const started = performance.now();
  const eval_ = model.forward(x);
  check(errors, 'logits.eval', eval_, io['logits.eval'], FORWARD_TOLERANCE);
  const forwardMs = performance.now() - started;

  model.train();
  const trainStarted = performance.now();
  const step = trainStep(model, x, io.y as tf.Tensor);
  const stepMs = performance.now() - trainStarted;
  check(errors, 'logits.train', step.logits, io['logits.train'], FORWARD_TOLERANCE);
  check(errors, 'loss', step.loss, io.loss, FORWARD_TOLERANCE);
  const listed = Object.keys(io).filter((k) => k.startsWith('grad.'));
  expect(listed.length).toBe(4);
  const gradNames = gradients ? gradients.map((name) => `grad.${name}`) : listed;
  for (const key of gradNames) {
    checkGradient(
      errors,
      key.slice('grad.'.length),
      step.grads[key.slice('grad.'.length)] as tf.Tensor,
      io,
      gradientTolerance,
    );
  }

  tf.dispose([eval_, x, step.logits, step.loss, step.grads, io]);
  model.dispose();
  summary(label, errors);
  console.log(
    `${label}: eval forward ${forwardMs.toFixed(0)} ms, train forward+backward ${stepMs.toFixed(0)} ms (batch 2, 96x96)`,
  );
  return errors;
}
