import * as tf from '@tensorflow/tfjs-core';
import { BRAND, isInstance } from './brand.ts';
import type { Seeded } from './initializers.ts';

/**
 * How a tensor is stored inside skipnet compared with PyTorch: `toTorch` is the permutation that
 * turns the internal layout into PyTorch's (conv HWIO -> OIHW is [3, 2, 0, 1]). Absent: same layout.
 */
export interface TensorLayout {
  toTorch?: number[];
}

interface Entry {
  tensor: tf.Variable;
  layout: TensorLayout;
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /**
   * Refuse missing and unexpected keys, like PyTorch's `strict=True`. Default true. Mis-shaped keys
   * are refused either way (PyTorch does the same).
   */
  strict?: boolean;
}

function invert(permutation: number[]): number[] {
  const inverse = new Array<number>(permutation.length);
  permutation.forEach((to, from) => {
    inverse[to] = from;
  });
  return inverse;
}

function permute(shape: readonly number[], permutation: number[] | undefined): number[] {
  return permutation ? permutation.map((axis) => shape[axis] as number) : [...shape];
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The base of every layer and model, shaped like PyTorch's `nn.Module`: trainable parameters
 * (`tf.Variable`s) and buffers (running statistics; non-trainable variables) kept apart, child
 * modules in a tree whose paths give the dotted names (`block2.0.bn1.weight`), a training flag,
 * and a `stateDict` that speaks PyTorch's names and layouts.
 */
export abstract class Module {
  static readonly [BRAND]: string = '@skipnet/nn:Module';

  /** `instanceof` that also holds across the ESM and CommonJS builds of this package (see brand.ts). */
  static [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof, a subclass too
    return isInstance(this, value);
  }

  /** True after construction, like PyTorch; switch with {@link train} / {@link eval}. */
  training = true;
  private readonly params = new Map<string, Entry | null>();
  private readonly buffers = new Map<string, Entry>();
  private readonly modules = new Map<string, Module>();
  /** Set when {@link loadStateDict} writes into one of this module's own parameters or buffers. */
  private loaded = false;

  /** Runs the module on `x` (NHWC for images). Pure in the parameters; BatchNorm updates its running statistics in training mode. */
  abstract forward(x: tf.Tensor): tf.Tensor;

  /**
   * Adds a trainable parameter under `name` and returns it. `null` records an absent one (PyTorch's
   * `bias=None`), which no listing shows.
   */
  protected registerParameter<T extends tf.Variable | null>(
    name: string,
    variable: T,
    layout: TensorLayout = {},
  ): T {
    this.checkFreeName(name);
    this.params.set(name, variable === null ? null : { tensor: variable, layout });
    return variable;
  }

  /** Adds a buffer: state saved in the state dict but not trained (a non-trainable variable, so it can be assigned). */
  protected registerBuffer(name: string, variable: tf.Variable, layout: TensorLayout = {}): tf.Variable {
    this.checkFreeName(name);
    this.buffers.set(name, { tensor: variable, layout });
    return variable;
  }

  /** Adds a child module under `name` and returns it; its entries are named `name.<its names>`. */
  protected registerModule<T extends Module>(name: string, module: T): T {
    this.checkFreeName(name);
    if (name === '' || name.includes('.')) {
      throw new Error(`Module name '${name}' must be non-empty and contain no '.'`);
    }
    this.modules.set(name, module);
    return module;
  }

  private checkFreeName(name: string): void {
    if (this.params.has(name) || this.buffers.has(name) || this.modules.has(name)) {
      throw new Error(`${this.constructor.name} already has an entry named '${name}'`);
    }
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const [, module] of this.namedModules()) {
      module.training = mode;
    }
    return this;
  }

  /** Evaluation mode (BatchNorm uses its running statistics): `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Redraws this module's own parameters (not its children's) as its constructor did, like PyTorch's
   * `reset_parameters`. Layers with parameters override it; a module of your own that registers parameters
   * overrides it too, so that `init.resetParameters(model, { seed })` reaches them. Here: nothing to reset.
   */
  resetParameters(_options: Seeded = {}): void {}

  /**
   * Whether {@link loadStateDict} has written weights into this module or any module below it: a model that
   * loaded PyTorch weights or a checkpoint says so, and a trainer keeps those weights instead of initialising them.
   * A load that fails writes nothing and leaves this as it was.
   */
  get weightsLoaded(): boolean {
    return this.namedModules().some(([, module]) => module.loaded);
  }

  /** Calls `fn` on every descendant (children first) and then on this module, like `torch.nn.Module.apply`. */
  apply(fn: (module: Module) => void): this {
    for (const [, child] of this.modules) {
      child.apply(fn);
    }
    fn(this);
    return this;
  }

  /** The direct children, in registration order. */
  children(): Array<[string, Module]> {
    return [...this.modules];
  }

  /** This module ('') and all descendants with their dotted paths, parents before children. */
  namedModules(): Array<[string, Module]> {
    const out: Array<[string, Module]> = [['', this]];
    for (const [name, child] of this.modules) {
      for (const [sub, module] of child.namedModules()) {
        out.push([sub === '' ? name : `${name}.${sub}`, module]);
      }
    }
    return out;
  }

  private namedEntries(kind: 'params' | 'buffers'): Array<[string, Entry]> {
    const out: Array<[string, Entry]> = [];
    for (const [prefix, module] of this.namedModules()) {
      for (const [name, entry] of module[kind]) {
        if (entry !== null) {
          out.push([prefix === '' ? name : `${prefix}.${name}`, entry]);
        }
      }
    }
    return out;
  }

  /** Trainable parameters with dotted PyTorch names, in PyTorch's order. The variables themselves (internal layout). */
  namedParameters(): Array<[string, tf.Variable]> {
    return this.namedEntries('params').map(([name, entry]) => [name, entry.tensor]);
  }

  /** The trainable variables, e.g. for `tf.variableGrads(f, model.parameters())`. */
  parameters(): tf.Variable[] {
    return this.namedEntries('params').map(([, entry]) => entry.tensor);
  }

  /** Buffers (running_mean, running_var, num_batches_tracked as int32) with dotted names. */
  namedBuffers(): Array<[string, tf.Tensor]> {
    return this.namedEntries('buffers').map(([name, entry]) => [name, entry.tensor]);
  }

  /** Parameters then buffers of each module, module by module, like PyTorch's `state_dict` order. */
  private stateEntries(): Array<[string, Entry & { owner: Module }]> {
    const out: Array<[string, Entry & { owner: Module }]> = [];
    for (const [prefix, module] of this.namedModules()) {
      const own = [...module.params, ...module.buffers];
      for (const [name, entry] of own) {
        if (entry !== null) {
          out.push([prefix === '' ? name : `${prefix}.${name}`, { ...entry, owner: module }]);
        }
      }
    }
    return out;
  }

  /**
   * Every parameter and buffer under its PyTorch name and in PyTorch's layout (conv weights OIHW,
   * linear weights [out, in]). The tensors are new: the caller disposes them.
   */
  stateDict(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [name, { tensor, layout }] of this.stateEntries()) {
      out[name] = tf.tidy(() => (layout.toTorch ? tf.transpose(tensor, layout.toTorch) : tf.clone(tensor)));
    }
    return out;
  }

  /**
   * Copies `tensors` (PyTorch names and layouts, e.g. from `readSafetensors`) into the parameters
   * and buffers. Checks everything first and throws one error listing the missing, unexpected and
   * mis-shaped keys, so nothing is half-loaded. The given tensors stay the caller's. Afterwards
   * {@link weightsLoaded} is true here and on every module that received a tensor.
   */
  loadStateDict(tensors: Record<string, tf.Tensor>, options: LoadStateDictOptions = {}): void {
    const strict = options.strict ?? true;
    const entries = this.stateEntries();
    const expected = new Set(entries.map(([name]) => name));
    const missing = entries.map(([name]) => name).filter((name) => !(name in tensors));
    const unexpected = Object.keys(tensors).filter((name) => !expected.has(name));
    const misShaped: string[] = [];
    for (const [name, { tensor, layout }] of entries) {
      const given = tensors[name];
      const want = permute(tensor.shape, layout.toTorch);
      if (given && !sameShape(given.shape, want)) {
        misShaped.push(`${name}: expected [${want.join(', ')}], got [${given.shape.join(', ')}]`);
      }
    }
    const problems: string[] = [];
    if (strict && missing.length > 0) problems.push(`missing keys: ${missing.join(', ')}`);
    if (strict && unexpected.length > 0) problems.push(`unexpected keys: ${unexpected.join(', ')}`);
    if (misShaped.length > 0) problems.push(`mis-shaped keys (PyTorch layout): ${misShaped.join('; ')}`);
    if (problems.length > 0) {
      throw new Error(
        `${this.constructor.name}.loadStateDict: ${problems.join('. ')}.` +
          (strict && misShaped.length === 0 ? ' Pass { strict: false } to load a subset.' : ''),
      );
    }
    for (const [name, { tensor, layout, owner }] of entries) {
      const given = tensors[name];
      if (!given) continue;
      tf.tidy(() => {
        const cast = given.dtype === tensor.dtype ? given : tf.cast(given, tensor.dtype);
        tensor.assign(layout.toTorch ? tf.transpose(cast, invert(layout.toTorch)) : tf.clone(cast));
      });
      owner.loaded = true;
    }
  }

  /** Disposes every parameter and buffer of the tree; the module is unusable afterwards. */
  dispose(): void {
    for (const [, module] of this.namedModules()) {
      for (const entry of module.params.values()) entry?.tensor.dispose();
      for (const entry of module.buffers.values()) entry.tensor.dispose();
    }
  }
}
