// The `init` namespace: the tensor initialisers of `torch.nn.init`, and the walks that apply them to a whole model.

import { type Seeded, xavierUniform } from './initializers.ts';
import { Conv2d, Linear } from './layers.ts';
import type { Module } from './module.ts';

export * from './initializers.ts';

/**
 * The seed of the module at `path` when a whole model draws from one `seed`: FNV-1a of both, so that every
 * module gets its own stream (two layers of the same shape differ), and adding a layer leaves the others' values
 * as they were.
 */
function moduleSeed(seed: number, path: string): number {
  let hash = 0x811c9dc5;
  for (const char of `${seed}\u0000${path}`) {
    hash = Math.imul(hash ^ (char.codePointAt(0) as number), 0x01000193) >>> 0;
  }
  return hash;
}

function seedOf(options: Seeded, path: string): number | undefined {
  return options.seed === undefined ? undefined : moduleSeed(options.seed, path);
}

/**
 * Every layer of `model` redraws its parameters as its constructor did (PyTorch's `reset_parameters` on each
 * module: kaiming-uniform weights and uniform biases for Conv2d and Linear, ones, zeros and fresh running statistics
 * for BatchNorm2d). With `seed`, every parameter follows it: two models of the same architecture reset with the
 * same seed are identical, whatever happened before. Modules of your own redraw theirs by overriding
 * {@link Module.resetParameters}.
 */
export function resetParameters(model: Module, options: Seeded = {}): void {
  for (const [path, module] of model.namedModules()) {
    module.resetParameters({ seed: seedOf(options, path) });
  }
}

/**
 * d2l's initialisation (`train_ch6`'s `init_weights`): Xavier-uniform with gain 1 on the weight of every Conv2d and
 * Linear in `model`; biases and BatchNorm keep their values. With `seed` each weight draws from its own stream
 * derived from the seed and the module's path. For a model whose biases follow the seed as well, reset it first:
 * `init.resetParameters(model, { seed }); init.xavierInit(model, { seed })`.
 */
export function xavierInit(model: Module, options: Seeded = {}): void {
  for (const [path, module] of model.namedModules()) {
    if (module instanceof Conv2d || module instanceof Linear) {
      xavierUniform(module.weight, { gain: 1, seed: seedOf(options, path) });
    }
  }
}
