import type { LoadStateDictOptions, Module } from '@skipnet/nn';
import * as tf from '@tensorflow/tfjs-core';
import { LayerVariable, layers, type Shape } from '@tensorflow/tfjs-layers';

/** What every tfjs-layers layer takes: `name`, `inputShape` (for the first layer of a model), `trainable`, ... */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/**
 * A layer weight that *is* one of the module's variables, not a copy of it: `fit`'s optimizer, `getWeights` /
 * `setWeights` and `model.save` / `loadLayersModel` read and write the module's own tensor, so the layer computes
 * with the module's code (PyTorch's BatchNorm statistics, its hand-written gradient) and holds each weight once.
 * `LayerVariable` always makes a variable of its own; this one drops it (it only aliased the module's data).
 */
class ModuleVariable extends LayerVariable {
  private readonly variable: tf.Variable;
  private isTrainable: boolean;

  constructor(variable: tf.Variable, name: string, trainable: boolean) {
    super(variable, variable.dtype, name, trainable);
    this.val.dispose();
    this.variable = variable;
    this.isTrainable = trainable;
  }

  override read(): tf.Variable {
    this.assertNotDisposed();
    return this.variable;
  }

  override write(value: tf.Tensor): this {
    this.assertNotDisposed();
    if (!tf.util.arraysEqual(value.shape, this.variable.shape)) {
      throw new Error(
        `Weight '${this.name}' has shape [${this.variable.shape.join(', ')}], got a value of shape [${value.shape.join(', ')}]`,
      );
    }
    if (value.id !== this.variable.id) {
      tf.tidy(() =>
        this.variable.assign(
          value.dtype === this.variable.dtype ? value : tf.cast(value, this.variable.dtype),
        ),
      );
    }
    return this;
  }

  override dispose(): void {
    this.assertNotDisposed();
    this.variable.dispose();
  }

  protected override assertNotDisposed(): void {
    if (this.variable.isDisposed) throw new Error(`Weight '${this.name}' is already disposed`);
  }

  override get trainable(): boolean {
    return this.isTrainable;
  }

  override set trainable(trainable: boolean) {
    this.isTrainable = trainable;
    this.variable.trainable = trainable;
  }
}

/** The one shape of a single-input layer (tfjs-layers passes a list when a layer has several inputs). */
function singleShape(inputShape: Shape | Shape[], layer: string): Shape {
  if (!Array.isArray(inputShape[0])) return inputShape as Shape;
  if (inputShape.length !== 1) throw new Error(`${layer} takes one input, got ${inputShape.length}`);
  return inputShape[0] as Shape;
}

export function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
}

/**
 * A tfjs-layers `Layer` that runs a `@skipnet/nn` `Module`: the module is made in `build` (when the input shape,
 * hence the input channels, is known), its parameters become the layer's trainable weights and its buffers
 * (BatchNorm's running statistics) the non-trainable ones, under the module's PyTorch names
 * (`<layer name>/conv1.weight`). `call` runs `forward` in training mode exactly when tfjs-layers asks for it
 * (`fit`, or `apply(x, { training: true })`), so `predict` and `evaluate` use the running statistics.
 * Subclasses say how to make the module and which inputs it takes.
 */
export abstract class ModuleLayer<M extends Module> extends layers.Layer {
  private module: M | null = null;
  private builtShape: Shape | null = null;
  private pendingState: Record<string, tf.Tensor> | null = null;

  /** The module for inputs of `inputShape` (already checked by {@link checkInputShape}), freshly initialised. */
  protected abstract makeModule(inputShape: Shape): M;

  /** Throws a clear error when the layer cannot take inputs of `shape` (batch axis first, null where unknown). */
  protected abstract checkInputShape(shape: Shape): void;

  /** The output shape for inputs of `inputShape` (already checked). */
  protected abstract outputShapeFor(inputShape: Shape): Shape;

  override build(inputShape: Shape | Shape[]): void {
    // Weights given by `fromModule` are used by the first build, or dropped if it fails: a layer that cannot take
    // its input is not kept half-made.
    const pending = this.pendingState;
    this.pendingState = null;
    try {
      const shape = singleShape(inputShape, this.describe());
      this.checkInputShape(shape);
      const module = this.makeModule(shape);
      if (pending) this.loadPending(module, pending, shape);
      this.module = module;
      this.builtShape = shape;
      this.trainableWeights = module
        .namedParameters()
        .map(([name, variable]) => new ModuleVariable(variable, name, true));
      // A Module keeps its buffers as non-trainable variables, so that they can be assigned.
      this.nonTrainableWeights = module
        .namedBuffers()
        .map(([name, buffer]) => new ModuleVariable(buffer as tf.Variable, name, false));
      this.built = true;
    } finally {
      tf.dispose(Object.values(pending ?? {}));
    }
  }

  private loadPending(module: M, state: Record<string, tf.Tensor>, shape: Shape): void {
    try {
      module.loadStateDict(state);
    } catch (error) {
      module.dispose();
      throw new Error(
        `${this.describe()}: the weights it was made with do not fit its input ${shapeText(shape)}: ${(error as Error).message}`,
      );
    }
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = singleShape(inputShape, this.describe());
    this.checkInputShape(shape);
    return this.outputShapeFor(shape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs : [inputs];
    if (x.length !== 1) throw new Error(`${this.describe()} takes one input, got ${x.length}`);
    const input = x[0] as tf.Tensor;
    this.checkInputShape(input.shape);
    const module = this.builtModule();
    module.train(kwargs.training === true);
    return module.forward(input);
  }

  /**
   * The weights under the module's PyTorch names and in PyTorch's layouts (conv OIHW, linear [out, in]), as
   * `Module.stateDict()`: the tensors are new, the caller disposes them.
   */
  stateDict(): Record<string, tf.Tensor> {
    return this.builtModule().stateDict();
  }

  /** Loads PyTorch-named weights, as `Module.loadStateDict` (checks everything before it writes anything). */
  loadStateDict(tensors: Record<string, tf.Tensor>, options: LoadStateDictOptions = {}): void {
    this.builtModule().loadStateDict(tensors, options);
  }

  /** A new module of the same configuration holding a copy of the layer's weights; the caller disposes it. */
  toModule(): M {
    const module = this.builtModule();
    const copy = this.makeModule(this.builtShape as Shape);
    const state = module.stateDict();
    try {
      copy.loadStateDict(state);
    } finally {
      tf.dispose(state);
    }
    return copy;
  }

  /** Copies `module`'s weights now, to load them when the layer is built (subclasses' `fromModule`). */
  protected loadWhenBuilt(module: M): void {
    tf.dispose(Object.values(this.pendingState ?? {}));
    this.pendingState = module.stateDict();
  }

  override dispose(): ReturnType<layers.Layer['dispose']> {
    tf.dispose(Object.values(this.pendingState ?? {}));
    this.pendingState = null;
    return super.dispose();
  }

  private builtModule(): M {
    if (!this.module) {
      throw new Error(
        `${this.describe()} is not built yet: add it to a model (or call it on a tensor) so that it knows its input shape`,
      );
    }
    return this.module;
  }

  /** "SkipnetResidual 'skipnet_residual_1'", for error messages. */
  protected describe(): string {
    return `${this.getClassName()} '${this.name}'`;
  }
}
