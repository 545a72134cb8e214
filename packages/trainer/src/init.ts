import { Conv2d, init, Linear, type Module } from '@skipnet/nn';

/** How {@link trainCh6} initialises the model: see `TrainOptions.init`. */
export type InitMode = 'auto' | 'xavier' | 'none';

/**
 * d2l's init: Xavier-uniform (gain 1) on every Conv2d and Linear weight; biases keep PyTorch's default
 * distribution and BatchNorm its ones and zeros. With a `seed`, the biases are drawn again from that default
 * (uniform ±1/√fan_in) so the seed fixes every parameter: the i-th tensor drawn (in `model.apply` order, each
 * weight before its bias) gets `seed + i`. Two runs with one seed start from the same model.
 */
export function xavierInit(model: Module, seed?: number): void {
  let i = 0;
  const next = () => (seed === undefined ? undefined : seed + i++);
  model.apply((m) => {
    if (!(m instanceof Conv2d || m instanceof Linear)) return;
    init.xavierUniform(m.weight, { gain: 1, seed: next() });
    if (seed !== undefined && m.bias) {
      const bound = 1 / Math.sqrt(init.calculateFans(m.weight.shape).fanIn);
      init.uniform(m.bias, { low: -bound, high: bound, seed: next() });
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
