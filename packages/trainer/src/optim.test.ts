import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam, AdamW, type Optimizer, SGD } from './optim.ts';

// Trajectories made with PyTorch 1.13 (Debian python3-torch) by scripts/torch_reference.py, whose core is:
//   p = nn.Parameter(tensor(P0)); opt = Cls([p], **kw)
//   for g in GRADS: p.grad = tensor(g); opt.step(); record p
// (float64 there; float32 here, hence the 1e-5 tolerance).
const P0 = [0.5, -1.0, 2.0];
const GRADS = [
  [0.1, -0.2, 0.3],
  [0.4, 0.1, -0.5],
  [-0.3, 0.2, 0.05],
  [0.2, 0.2, 0.2],
];
const TORCH: Record<string, number[][]> = {
  sgd: [
    [0.49, -0.98, 1.97],
    [0.45, -0.99, 2.02],
    [0.48, -1.01, 2.015],
    [0.46, -1.03, 1.995],
  ],
  sgd_momentum: [
    [0.49, -0.98, 1.97],
    [0.441, -0.972, 1.993],
    [0.4269, -0.9848, 2.0087],
    [0.39421, -1.01632, 2.00283],
  ],
  sgd_momentum_dampening_wd: [
    [0.4895, -0.979, 1.968],
    [0.45170735, -0.9664147, 1.9728224],
    [0.438377769855, -0.96841143971, 1.97228158432],
    [0.412074283286, -0.983530617441, 1.956414253099],
  ],
  sgd_nesterov_wd: [
    [0.47625, -0.9525, 1.924],
    [0.385600625, -0.94220125, 1.968322],
    [0.395496106562, -0.957267713125, 1.943670741],
    [0.337380029769, -0.985973392288, 1.87837718486],
  ],
  adam: [
    [0.490000001, -0.9900000005, 1.990000000333],
    [0.481156236398, -0.987336630272, 1.99293561231],
    [0.479389153379, -0.990063598024, 1.994650423235],
    [0.475918230789, -0.995147383743, 1.994098303667],
  ],
  adam_wd_betas: [
    [0.480000133332, -0.980000066666, 1.98000004],
    [0.461146325166, -0.967502935002, 1.977360678312],
    [0.455842486489, -0.963587749576, 1.97004595907],
    [0.446514924881, -0.964971896651, 1.958118788253],
  ],
  adamw: [
    [0.489950001, -0.9899000005, 1.989800000333],
    [0.481057241397, -0.987137640272, 1.99253663231],
    [0.479242052655, -0.98976589426, 1.994052189571],
    [0.47572320586, -0.99475070339, 1.993300664785],
  ],
  adamw_wd: [
    [0.442500005, -0.9350000025, 1.920000001667],
    [0.391643681913, -0.907658151322, 1.905878061524],
    [0.376933611591, -0.907678117812, 1.885863945225],
    [0.353924994469, -0.919481874641, 1.854815388208],
  ],
};

const MAKERS: Record<string, (ps: tf.Variable[]) => Optimizer> = {
  sgd: (ps) => new SGD(ps, { lr: 0.1 }),
  sgd_momentum: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9 }),
  sgd_momentum_dampening_wd: (ps) =>
    new SGD(ps, { lr: 0.1, momentum: 0.9, dampening: 0.3, weightDecay: 0.01 }),
  sgd_nesterov_wd: (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05 }),
  adam: (ps) => new Adam(ps, { lr: 0.01 }),
  adam_wd_betas: (ps) => new Adam(ps, { lr: 0.02, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }),
  adamw: (ps) => new AdamW(ps, { lr: 0.01 }),
  adamw_wd: (ps) => new AdamW(ps, { lr: 0.05, weightDecay: 0.3 }),
};

function run(make: (ps: tf.Variable[]) => Optimizer, grads: number[][], p0 = P0): number[][] {
  const p = tf.variable(tf.tensor1d(p0));
  const opt = make([p]);
  const out: number[][] = [];
  for (const g of grads) {
    const gt = tf.tensor1d(g);
    opt.step({ [p.name]: gt });
    gt.dispose();
    out.push(Array.from(p.dataSync()));
  }
  opt.dispose();
  p.dispose();
  return out;
}

function expectClose(actual: number[][], expected: number[][], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    row.forEach((v, j) => {
      expect(Math.abs(v - expected[i]![j]!), `step ${i + 1}, element ${j}`).toBeLessThan(tol);
    });
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('optimizers follow PyTorch', () => {
  for (const name of Object.keys(MAKERS)) {
    it(`${name} matches torch.optim over four steps`, () => {
      expectClose(run(MAKERS[name]!, GRADS), TORCH[name]!);
    });
  }

  it('AMSGrad keeps the largest second moment (torch, falling gradients)', () => {
    const grads = [
      [1.0, -2.0, 0.5],
      [0.01, 0.01, 0.01],
      [0.01, -0.01, 0.02],
      [0.0, 0.01, 0.01],
    ];
    expectClose(
      run((ps) => new Adam(ps, { lr: 0.01, amsgrad: true }), grads),
      [
        [0.4900000001, -0.99000000005, 1.9900000002],
        [0.483228355101, -0.983339975526, 1.983153941617],
        [0.477932590454, -0.978162391348, 1.977609041429],
        [0.47359679183, -0.97395240697, 1.972953042574],
      ],
    );
  });

  it('skips a parameter without a gradient, as PyTorch skips grad None', () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3]));
    const opt = new SGD([a, b], { lr: 0.5 });
    const g = tf.tensor1d([1, 1]);
    opt.step({ [a.name]: g });
    expect(Array.from(a.dataSync())).toEqual([0.5, 1.5]);
    expect(Array.from(b.dataSync())).toEqual([3]);
    tf.dispose([a, b, g]);
  });

  it('rejects Nesterov without momentum and non-trainable variables', () => {
    const v = tf.variable(tf.scalar(1));
    expect(() => new SGD([v], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    const frozen = tf.variable(tf.scalar(1), false);
    expect(() => new SGD([frozen], { lr: 0.1 })).toThrow(/not a trainable/);
    tf.dispose([v, frozen]);
  });
});

describe('optimizer state', () => {
  for (const name of ['sgd_nesterov_wd', 'adam_wd_betas', 'adamw']) {
    it(`${name}: two steps, save, load into a fresh optimizer, two steps = four steps`, () => {
      const make = MAKERS[name]!;
      const p = tf.variable(tf.tensor1d(P0));
      const first = make([p]);
      const step = (opt: Optimizer, g: number[]) => {
        const gt = tf.tensor1d(g);
        opt.step({ [p.name]: gt });
        gt.dispose();
      };
      step(first, GRADS[0]!);
      step(first, GRADS[1]!);
      const state = first.stateDict();
      first.dispose();
      const second = make([p]);
      second.loadStateDict(state);
      tf.dispose(Object.values(state.tensors));
      step(second, GRADS[2]!);
      step(second, GRADS[3]!);
      expectClose([Array.from(p.dataSync())], [TORCH[name]![3]!]);
      second.dispose();
      p.dispose();
    });
  }

  it('state tensors carry the parameter name and PyTorch slot names', () => {
    const w = tf.variable(tf.ones([2, 2]));
    const opt = new Adam([['layer.weight', w]], { amsgrad: true });
    const g = tf.onesLike(w);
    opt.step({ [w.name]: g });
    const state = opt.stateDict();
    expect(Object.keys(state.tensors).sort()).toEqual([
      'layer.weight.exp_avg',
      'layer.weight.exp_avg_sq',
      'layer.weight.max_exp_avg_sq',
    ]);
    expect(state.step).toBe(1);
    expect(() => new SGD([['layer.weight', w]], { lr: 1 }).loadStateDict(state)).toThrow(
      /Adam state into SGD/,
    );
    tf.dispose([w, g, ...Object.values(state.tensors)]);
    opt.dispose();
  });

  it('rejects a state whose shapes do not fit', () => {
    const w = tf.variable(tf.ones([3]));
    const opt = new SGD([['w', w]], { lr: 0.1, momentum: 0.9 });
    const bad = tf.zeros([4]);
    expect(() =>
      opt.loadStateDict({ kind: 'SGD', step: 1, hyper: {}, tensors: { 'w.momentum_buffer': bad } }),
    ).toThrow(/'w.momentum_buffer' has shape \[4\], parameter has \[3\]/);
    tf.dispose([w, bad]);
  });

  it('leaks no tensors over many steps', () => {
    const p = tf.variable(tf.tensor1d(P0));
    const opt = new Adam([p], { amsgrad: true, weightDecay: 0.1 });
    const g = tf.tensor1d([0.1, 0.2, 0.3]);
    opt.step({ [p.name]: g });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) opt.step({ [p.name]: g });
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    tf.dispose([p, g]);
  });
});
