import { Conv2d, init, Linear, type Module } from '@skipnet/nn';

/** How {@link trainCh6} initialises the model: see `TrainOptions.init`. */
export type InitMode = 'auto' | 'xavier' | 'none';

/** d2l's init: Xavier-uniform (gain 1) on every Conv2d and Linear weight; biases and BatchNorm keep theirs. */
export function xavierInit(model: Module, seed?: number): void {
  let i = 0;
  model.apply((m) => {
    if (m instanceof Conv2d || m instanceof Linear) {
      init.xavierUniform(m.weight, { gain: 1, seed: seed === undefined ? undefined : seed + i++ });
    }
  });
}

/** Whether weights were loaded into `model` (a PyTorch state dict, a checkpoint) since it was built. */
function weightsLoaded(model: Module): boolean {
  return (model as Module & { weightsLoaded?: boolean }).weightsLoaded === true;
}

/**
 * d2l's Xavier init for a fresh model; a model whose weights were loaded keeps them ('auto', with a line saying
 * so), unless `mode` is 'xavier'; 'none' keeps the model's own init.
 */
export function initialise(
  model: Module,
  mode: InitMode,
  seed: number | undefined,
  log: (line: string) => void,
): void {
  if (mode === 'none') return;
  if (mode === 'auto' && weightsLoaded(model)) {
    log("init: keeping the weights loaded into the model (init 'xavier' would replace them)");
    return;
  }
  xavierInit(model, seed);
}
