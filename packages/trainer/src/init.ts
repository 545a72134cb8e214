import { init, type Module } from '@skipnet/nn';

/** How `trainCh6` initialises the model: see `TrainOptions.init`. */
export type InitMode = 'auto' | 'xavier' | 'none';

/**
 * d2l's Xavier init (`init.xavierInit` of `@skipnet/nn`) for a fresh model; a model whose weights were loaded
 * (`model.weightsLoaded`) keeps them under 'auto', with a line saying so; 'none' keeps the model as it is. With a
 * `seed`, a fresh model is first reset from it (`init.resetParameters`: the biases' PyTorch default drawn again),
 * so the seed fixes every parameter whatever the constructor drew.
 */
export function initialise(
  model: Module,
  mode: InitMode,
  seed: number | undefined,
  log: (line: string) => void,
): void {
  if (mode === 'none') return;
  const loaded = model.weightsLoaded;
  if (mode === 'auto' && loaded) {
    log("init: keeping the weights loaded into the model (init 'xavier' would replace them)");
    return;
  }
  if (seed !== undefined && !loaded) init.resetParameters(model, { seed });
  init.xavierInit(model, seed === undefined ? {} : { seed });
}
