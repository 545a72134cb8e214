import { FusedKernel, fusedKernelsRegistered, type SGDUpdateAttrs } from '@skipnet/kernel-internals';
import * as tf from '@tensorflow/tfjs-core';

/** Parameters to optimise: plain variables, or `[name, variable]` pairs (`model.namedParameters()`). */
export type ParamList = tf.Variable[] | Array<[string, tf.Variable]>;

/**
 * An optimizer's state as plain data: per-parameter tensors keyed `<param name>.<slot>` (PyTorch's slot names:
 * `momentum_buffer`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`) in the variables' own tfjs layout, plus scalars.
 */
export interface OptimizerState {
  /** `'SGD' | 'Adam' | 'AdamW'`: loading a state into another kind of optimizer is an error. */
  kind: string;
  /** Steps taken so far (Adam's bias correction depends on it). */
  step: number;
  /** Hyper-parameters at the time of saving (learning rate, momentum, ...). */
  hyper: Record<string, number | boolean>;
  /** Buffers; the caller owns (and disposes) the tensors of a state it got from `stateDict()`. */
  tensors: Record<string, tf.Tensor>;
}

/** What the trainer needs of an optimizer. SGD, Adam and AdamW implement it; so can yours. */
export interface Optimizer {
  /** Current learning rate; schedules set it before each step. */
  lr: number;
  /**
   * The momentum a one-cycle schedule cycles: SGD's `momentum`, Adam's `beta1`. `undefined` for optimizers
   * without one.
   */
  momentum: number | undefined;
  /** The named parameters, in order. */
  readonly params: ReadonlyArray<readonly [string, tf.Variable]>;
  /**
   * One update from gradients keyed by `variable.name` (what `tf.variableGrads` returns). A parameter without a
   * gradient is left alone, as PyTorch skips parameters whose `.grad` is `None`. Does not dispose the gradients.
   *
   * `guard`, a bool scalar on the device: where it is false the step changes no parameter and no buffer (the
   * trainer passes "every loss so far was finite", so a NaN step is never applied without reading the loss
   * back first). An optimizer of your own must honour it.
   */
  step(grads: tf.NamedTensorMap, guard?: tf.Scalar): void;
  stateDict(): OptimizerState;
  /** Copies the buffers of `state` (does not take ownership). */
  loadStateDict(state: OptimizerState): void;
  /** Frees the optimizer's buffers (not the parameters). */
  dispose(): void;
}

function named(params: ParamList): Array<readonly [string, tf.Variable]> {
  const list = params.map((p) => (Array.isArray(p) ? ([p[0], p[1]] as const) : ([p.name, p] as const)));
  const seen = new Set<string>();
  for (const [name, v] of list) {
    if (seen.has(name)) throw new Error(`optimizer: parameter name '${name}' appears twice`);
    seen.add(name);
    if (!v.trainable) throw new Error(`optimizer: parameter '${name}' is not a trainable tf.Variable`);
  }
  return list;
}

/** Shared slot bookkeeping: per-parameter buffers that outlive any tidy. */
abstract class BaseOptimizer implements Optimizer {
  lr: number;
  abstract momentum: number | undefined;
  readonly params: ReadonlyArray<readonly [string, tf.Variable]>;
  protected stepCount = 0;
  protected readonly slots = new Map<string, tf.Tensor>();
  protected abstract readonly kind: string;
  protected abstract readonly slotNames: readonly string[];

  constructor(params: ParamList, lr: number) {
    if (!(lr >= 0)) throw new Error(`optimizer: learning rate must be >= 0, got ${lr}`);
    this.lr = lr;
    this.params = named(params);
  }

  protected abstract hyper(): Record<string, number | boolean>;
  protected abstract setHyper(h: Record<string, number | boolean>): void;
  /** Returns the new parameter value and new slot values; runs inside a tidy, which keeps the returned slots. */
  protected abstract update(
    name: string,
    p: tf.Variable,
    g: tf.Tensor,
    slots: Record<string, tf.Tensor | undefined>,
  ): { param: tf.Tensor; slots: Record<string, tf.Tensor> };

  /**
   * The same update in fused kernels, honouring `guard` itself, where the active backend has them (`@skipnet/webgpu`
   * registers SGD's: one dispatch per parameter instead of three); undefined runs {@link update} as tfjs ops.
   */
  protected fusedUpdate(
    _p: tf.Variable,
    _g: tf.Tensor,
    _slots: Record<string, tf.Tensor | undefined>,
    _guard: tf.Scalar | undefined,
  ): { param: tf.Tensor; slots: Record<string, tf.Tensor> } | undefined {
    return undefined;
  }

  step(grads: tf.NamedTensorMap, guard?: tf.Scalar): void {
    // A guarded-off step still counts: the trainer stops at the next read, so Adam's bias correction never sees it.
    this.stepCount += 1;
    for (const [name, p] of this.params) {
      const g = grads[p.name];
      if (g === undefined) continue;
      const old: Record<string, tf.Tensor | undefined> = {};
      for (const s of this.slotNames) old[s] = this.slots.get(`${name}.${s}`);
      const fresh = tf.tidy(() => {
        const fused = this.fusedUpdate(p, g, old, guard);
        if (fused) {
          p.assign(fused.param);
          return fused.slots;
        }
        const r = this.update(name, p, g, old);
        if (guard === undefined) {
          p.assign(r.param);
          return r.slots;
        }
        p.assign(tf.where(guard, r.param, p));
        const slots: Record<string, tf.Tensor> = {};
        for (const [s, t] of Object.entries(r.slots))
          slots[s] = tf.where(guard, t, old[s] ?? tf.zerosLike(t));
        return slots;
      });
      for (const [s, t] of Object.entries(fresh)) {
        const key = `${name}.${s}`;
        const prev = this.slots.get(key);
        if (prev !== undefined && prev !== t) prev.dispose();
        this.slots.set(key, t);
      }
    }
  }

  stateDict(): OptimizerState {
    const tensors: Record<string, tf.Tensor> = {};
    for (const [k, t] of this.slots) tensors[k] = tf.clone(t);
    return { kind: this.kind, step: this.stepCount, hyper: this.hyper(), tensors };
  }

  loadStateDict(state: OptimizerState): void {
    if (state.kind !== this.kind) {
      throw new Error(
        `optimizer: cannot load a ${state.kind} state into ${this.kind}; use the same optimizer`,
      );
    }
    const byName = new Map(this.params);
    const problems: string[] = [];
    for (const [key, t] of Object.entries(state.tensors)) {
      const dot = key.lastIndexOf('.');
      const name = key.slice(0, dot);
      const slot = key.slice(dot + 1);
      const p = byName.get(name);
      if (p === undefined || !this.slotNames.includes(slot)) problems.push(`unexpected '${key}'`);
      else if (!tf.util.arraysEqual(p.shape, t.shape)) {
        problems.push(`'${key}' has shape [${t.shape}], parameter has [${p.shape}]`);
      }
    }
    if (problems.length > 0)
      throw new Error(`optimizer: state does not fit the parameters: ${problems.join('; ')}`);
    this.disposeSlots();
    for (const [key, t] of Object.entries(state.tensors)) this.slots.set(key, tf.clone(t));
    this.stepCount = state.step;
    this.setHyper(state.hyper);
  }

  dispose(): void {
    this.disposeSlots();
  }

  private disposeSlots(): void {
    for (const t of this.slots.values()) t.dispose();
    this.slots.clear();
  }
}

/** Options of {@link SGD}, as `torch.optim.SGD` names them. */
export interface SGDOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor. Default 0 (plain SGD, what d2l's `train_ch6` uses). */
  momentum?: number;
  /** Dampening of the momentum. Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient (`g + weightDecay * p`). Default 0. */
  weightDecay?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. Default false. */
  nesterov?: boolean;
}

/**
 * `torch.optim.SGD`, exactly: `g += wd·p`; with momentum, `buf = g` on the first step, then
 * `buf = μ·buf + (1−dampening)·g`; Nesterov uses `g + μ·buf`, otherwise `buf`; then `p -= lr·g`.
 */
export class SGD extends BaseOptimizer {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  protected readonly kind = 'SGD';
  protected readonly slotNames = ['momentum_buffer'] as const;

  constructor(params: ParamList, options: SGDOptions) {
    super(params, options.lr);
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (this.momentum < 0) throw new Error(`SGD: momentum must be >= 0, got ${this.momentum}`);
    if (this.weightDecay < 0) throw new Error(`SGD: weightDecay must be >= 0, got ${this.weightDecay}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error('SGD: Nesterov momentum requires momentum > 0 and dampening 0');
    }
  }

  protected hyper() {
    return {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
    };
  }

  protected setHyper(h: Record<string, number | boolean>): void {
    if (typeof h['lr'] === 'number') this.lr = h['lr'];
    if (typeof h['momentum'] === 'number') this.momentum = h['momentum'];
  }

  protected update(
    _name: string,
    p: tf.Variable,
    grad: tf.Tensor,
    slots: Record<string, tf.Tensor | undefined>,
  ) {
    let g = grad;
    if (this.weightDecay !== 0) g = tf.add(g, tf.mul(p, this.weightDecay));
    const out: Record<string, tf.Tensor> = {};
    if (this.momentum !== 0) {
      const prev = slots['momentum_buffer'];
      const buf =
        prev === undefined
          ? tf.clone(g)
          : tf.add(tf.mul(prev, this.momentum), this.dampening === 0 ? g : tf.mul(g, 1 - this.dampening));
      out['momentum_buffer'] = buf;
      g = this.nesterov ? tf.add(g, tf.mul(buf, this.momentum)) : buf;
    }
    return { param: tf.sub(p, tf.mul(g, this.lr)), slots: out };
  }

  protected override fusedUpdate(
    p: tf.Variable,
    grad: tf.Tensor,
    slots: Record<string, tf.Tensor | undefined>,
    guard: tf.Scalar | undefined,
  ) {
    if (!fusedKernelsRegistered(FusedKernel.SGDUpdate)) return undefined;
    const run = (buffer: tf.Tensor | undefined, output: SGDUpdateAttrs['output']) => {
      const attrs: SGDUpdateAttrs = {
        lr: this.lr,
        momentum: this.momentum,
        dampening: this.dampening,
        weightDecay: this.weightDecay,
        nesterov: this.nesterov,
        output,
      };
      const inputs = { param: p, grad, ...(buffer ? { buffer } : {}), ...(guard ? { guard } : {}) };
      return tf
        .engine()
        .runKernel(FusedKernel.SGDUpdate, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    };
    const out: Record<string, tf.Tensor> = {};
    let buffer: tf.Tensor | undefined;
    if (this.momentum !== 0) {
      buffer = run(slots['momentum_buffer'], 'buffer');
      out['momentum_buffer'] = buffer;
    }
    return { param: run(buffer, 'param'), slots: out };
  }
}

/** Options of {@link Adam} and {@link AdamW}, as `torch.optim.Adam` names them. */
export interface AdamOptions {
  /** Learning rate. Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moments. Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Added to the denominator for stability. Default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient; AdamW: decoupled decay `p *= 1 − lr·wd`. Default 0 (Adam), 0.01 (AdamW). */
  weightDecay?: number;
  /** Use the maximum of past second moments (AMSGrad). Default false. */
  amsgrad?: boolean;
}

/**
 * `torch.optim.Adam`: `m = β1·m + (1−β1)·g`, `v = β2·v + (1−β2)·g²`,
 * `p -= lr/(1−β1^t) · m / (√v/√(1−β2^t) + eps)`; weight decay adds `wd·p` to the gradient.
 */
export class Adam extends BaseOptimizer {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  protected readonly kind: string = 'Adam';
  protected readonly slotNames = ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] as const;
  protected readonly decoupled: boolean = false;

  constructor(params: ParamList, options: AdamOptions = {}, defaultWeightDecay = 0) {
    super(params, options.lr ?? 1e-3);
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? defaultWeightDecay;
    this.amsgrad = options.amsgrad ?? false;
    for (const [label, b] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
    ] as const) {
      if (!(b >= 0 && b < 1))
        throw new Error(`${this.constructor.name}: ${label} must be in [0, 1), got ${b}`);
    }
  }

  get momentum(): number {
    return this.beta1;
  }

  set momentum(m: number | undefined) {
    if (m !== undefined) this.beta1 = m;
  }

  protected hyper() {
    return {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      amsgrad: this.amsgrad,
    };
  }

  protected setHyper(h: Record<string, number | boolean>): void {
    if (typeof h['lr'] === 'number') this.lr = h['lr'];
    if (typeof h['beta1'] === 'number') this.beta1 = h['beta1'];
  }

  protected update(
    _name: string,
    p: tf.Variable,
    grad: tf.Tensor,
    slots: Record<string, tf.Tensor | undefined>,
  ) {
    const t = this.stepCount;
    let param: tf.Tensor = p;
    let g = grad;
    if (this.weightDecay !== 0) {
      if (this.decoupled) param = tf.mul(p, 1 - this.lr * this.weightDecay);
      else g = tf.add(g, tf.mul(p, this.weightDecay));
    }
    const m0 = slots['exp_avg'] ?? tf.zerosLike(p);
    const v0 = slots['exp_avg_sq'] ?? tf.zerosLike(p);
    const m = tf.add(tf.mul(m0, this.beta1), tf.mul(g, 1 - this.beta1));
    const v = tf.add(tf.mul(v0, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
    const out: Record<string, tf.Tensor> = { exp_avg: m, exp_avg_sq: v };
    let second = v;
    if (this.amsgrad) {
      const prevMax = slots['max_exp_avg_sq'];
      second = prevMax === undefined ? tf.clone(v) : tf.maximum(prevMax, v);
      out['max_exp_avg_sq'] = second;
    }
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const denom = tf.add(tf.div(tf.sqrt(second), Math.sqrt(bc2)), this.eps);
    return { param: tf.sub(param, tf.mul(tf.div(m, denom), this.lr / bc1)), slots: out };
  }
}

/**
 * `torch.optim.AdamW`: Adam with decoupled weight decay, `p *= 1 − lr·wd` before the Adam step
 * (default weight decay 0.01, as in PyTorch).
 */
export class AdamW extends Adam {
  protected override readonly kind = 'AdamW';
  protected override readonly decoupled = true;

  constructor(params: ParamList, options: AdamOptions = {}) {
    super(params, options, 0.01);
  }
}
