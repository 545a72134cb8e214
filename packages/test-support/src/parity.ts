// Replays a PyTorch fixture of the seed ResNet (made by the seed's own model code, see shared/fixtures/README.md)
// on the active tfjs backend, tensor by tensor, from the fixture's bytes: in Node (fixtures.node.ts reads the
// files) and in a page (which fetches them). It measures; the tolerances are tolerances.ts's, never its own.
import * as tf from '@tensorflow/tfjs-core';
import { relativeL2Error } from './metrics.ts';
import { safetensorsToTensors } from './safetensors.ts';
import { parityTolerance } from './tolerances.ts';

export type ParityCheck =
  | 'logits (eval)'
  | 'logits (train)'
  | 'loss'
  | 'gradients'
  | 'state after one SGD step'
  | 'losses of 3 SGD steps';

/** One tensor compared with PyTorch's: `name` is its key in the fixture's io.safetensors. */
export interface ParityEntry {
  check: ParityCheck;
  name: string;
  /** Relative L2 error against PyTorch's tensor (a gradient that is truly 0: against its weight's gradient). */
  error: number;
}

export interface ParityReport {
  entries: ParityEntry[];
  /** The model's parameter names and state-dict keys, to check the fixture covered every one. */
  parameters: string[];
  stateKeys: string[];
}

/** The worst error of each kind of check, against the tolerance of tolerances.ts. */
export interface ParityRow {
  check: ParityCheck;
  tensors: number;
  maxRelativeError: number;
  tolerance: number;
  ok: boolean;
}

// Reads are asynchronous throughout: tfjs-backend-webgpu cannot read synchronously in Node.
async function values(t: tf.Tensor): Promise<Float64Array> {
  return Float64Array.from(await t.data());
}

async function norm(t: tf.Tensor): Promise<number> {
  let sum = 0;
  for (const v of await values(t)) sum += v * v;
  return Math.sqrt(sum);
}

/** {@link relativeL2Error} of two tensors of one shape. */
async function relativeError(actual: tf.Tensor, expected: tf.Tensor): Promise<number> {
  if (actual.shape.join() !== expected.shape.join()) {
    throw new Error(`shape [${actual.shape}] where PyTorch has [${expected.shape}]`);
  }
  return relativeL2Error(await values(actual), await values(expected));
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
  if (weightGradient && (await norm(expected)) < 1e-4 * (await norm(weightGradient))) {
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
  return tf.clone(t);
}

/** Mean cross-entropy of logits [N, C] against integer labels [N], as `F.cross_entropy`. */
function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const picked = tf.mul(
      tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, logits.shape[1]!),
      tf.logSoftmax(logits),
    );
    return tf.neg(tf.mean(tf.sum(picked, 1))) as tf.Scalar;
  });
}

/** A fixture's two files, as bytes. */
export interface SeedFixtureBytes {
  /** weights.safetensors: the PyTorch state_dict. */
  weights: Uint8Array;
  /** io.safetensors: the inputs and PyTorch's outputs. */
  io: Uint8Array;
}

/**
 * What the replay needs of a model: an @skipnet/nn `Module` (such as `seedResNet({ widths })`) whose state dict
 * has the fixture's PyTorch names. Structural, so that this package depends on none of the packages it tests.
 */
export interface ReplayModel {
  loadStateDict(tensors: Record<string, tf.Tensor>): void;
  forward(x: tf.Tensor): tf.Tensor;
  train(mode?: boolean): unknown;
  eval(): unknown;
  namedParameters(): Array<[string, tf.Variable]>;
  namedBuffers(): Array<[string, tf.Tensor]>;
  stateDict(): Record<string, tf.Tensor>;
}

/** Options of {@link replaySeedFixtureBytes}. */
export interface ReplayOptions {
  /** Names the fixture in error messages (its folder or URL). Default 'the fixture'. */
  label?: string;
}

/**
 * Replays a fixture (weights.safetensors, io.safetensors, as bytes) on `model`, on the active backend: loads the
 * weights, then eval and train logits, the loss, every gradient the fixture has, and, when it has them, the
 * state after one SGD step (lr 0.01) and the losses of three steps. Reports the error of every tensor it
 * compared. The model is left trained by those steps; the caller, who made it, disposes it.
 */
export async function replaySeedFixtureBytes(
  fixture: SeedFixtureBytes,
  model: ReplayModel,
  options: ReplayOptions = {},
): Promise<ParityReport> {
  const label = options.label ?? 'the fixture';
  const weights = safetensorsToTensors(fixture.weights, `${label}/weights.safetensors`);
  const io = safetensorsToTensors(fixture.io, `${label}/io.safetensors`);
  const expected = (name: string) => {
    const t = io[name];
    if (!t) throw new Error(`${label}/io.safetensors has no '${name}'`);
    return t;
  };
  const entries: ParityEntry[] = [];
  const add = async (check: ParityCheck, name: string, error: Promise<number>) => {
    entries.push({ check, name, error: await error });
  };
  const keep: tf.Tensor[] = [];
  try {
    model.loadStateDict(weights);
    const x = tf.transpose(expected('x'), [0, 2, 3, 1]);
    const y = expected('y');
    keep.push(x);

    model.eval();
    const logitsEval = tf.tidy(() => model.forward(x));
    keep.push(logitsEval);
    await add('logits (eval)', 'logits.eval', relativeError(logitsEval, expected('logits.eval')));

    model.train();
    const params = model.namedParameters();
    const variables = params.map(([, v]) => v);
    let logitsTrain: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.forward(x);
      logitsTrain = tf.keep(logits);
      return crossEntropy(logits, y);
    }, variables);
    keep.push(logitsTrain!, value, ...Object.values(grads));
    await add('logits (train)', 'logits.train', relativeError(logitsTrain!, expected('logits.train')));
    await add('loss', 'loss', relativeError(value, expected('loss')));

    const byName = new Map(params);
    for (const key of Object.keys(io).filter((k) => k.startsWith('grad.'))) {
      const name = key.slice('grad.'.length);
      const variable = byName.get(name);
      if (!variable) throw new Error(`${label}: the fixture has ${key}, the model no parameter ${name}`);
      const weightKey = `grad.${name.replace(/bias$/, 'weight')}`;
      const g = torchLayout(grads[variable.name]!);
      await add('gradients', key, gradientError(g, io[key]!, weightKey !== key ? io[weightKey] : undefined));
      g.dispose();
    }

    const afterKeys = Object.keys(io).filter((k) => k.startsWith('after.'));
    const losses3 = io['losses.3steps'];
    const sgd = (g: tf.NamedTensorMap) =>
      tf.tidy(() => {
        for (const v of variables) v.assign(tf.sub(v, tf.mul(g[v.name]!, 0.01)));
      });
    if (afterKeys.length > 0 || losses3) {
      sgd(grads);
      const state = model.stateDict();
      keep.push(...Object.values(state));
      for (const key of afterKeys) {
        const name = key.slice('after.'.length);
        const ours = state[name];
        if (!ours) throw new Error(`${label}: the fixture has ${key}, the model's state no ${name}`);
        const [actual, reference] = [tf.cast(ours, 'float32'), tf.cast(io[key]!, 'float32')];
        await add('state after one SGD step', key, relativeError(actual, reference));
        tf.dispose([actual, reference]);
      }
    }
    if (losses3) {
      const losses = [(await value.data())[0]!];
      for (let i = 0; i < 2; i++) {
        const step = tf.variableGrads(() => crossEntropy(model.forward(x), y), variables);
        losses.push((await step.value.data())[0]!);
        sgd(step.grads);
        tf.dispose([step.value, ...Object.values(step.grads)]);
      }
      const got = tf.tensor1d(losses);
      await add('losses of 3 SGD steps', 'losses.3steps', relativeError(got, losses3));
      got.dispose();
    }
    return {
      entries,
      parameters: params.map(([name]) => name),
      stateKeys: [...params, ...model.namedBuffers()].map(([name]) => name),
    };
  } finally {
    tf.dispose(keep);
    tf.dispose([...Object.values(weights), ...Object.values(io)]);
  }
}

/** One row per kind of check, with its worst error and tolerance, in the order the replay made them. */
export function summarizeParity(entries: readonly ParityEntry[]): ParityRow[] {
  const rows: ParityRow[] = [];
  for (const e of entries) {
    let row = rows.find((r) => r.check === e.check);
    if (!row) {
      row = { check: e.check, tensors: 0, maxRelativeError: 0, tolerance: 0, ok: true };
      rows.push(row);
    }
    row.tensors++;
    const tolerance = parityTolerance(e);
    row.tolerance = Math.max(row.tolerance, tolerance);
    row.maxRelativeError = Math.max(row.maxRelativeError, e.error);
    row.ok &&= e.error <= tolerance;
  }
  return rows;
}

export function formatParity(rows: readonly ParityRow[]): string[] {
  return [
    '| check | tensors | max relative error | tolerance | |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows.map(
      (r) =>
        `| ${r.check} | ${r.tensors} | ${r.maxRelativeError.toExponential(2)} | ${r.tolerance.toExponential(0)} | ${r.ok ? 'ok' : 'FAIL'} |`,
    ),
  ];
}
