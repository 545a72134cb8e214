import type { SGDUpdateAttrs } from '@skipnet/kernel-internals';
import type * as tf from '@tensorflow/tfjs-core';
import { elementwiseProgram, type ProgramRunner } from './program.ts';

/**
 * One output of `torch.optim.SGD`'s step for one parameter in one pass, in the trainer's order of operations:
 * g = grad + weightDecay·p; buffer = g on the first step, else momentum·buffer + (1 − dampening)·g; the direction is
 * g, the buffer, or with Nesterov g + momentum·buffer; p − lr·direction. A false `guard` keeps the old value.
 */
export function sgdUpdate(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: ProgramRunner;
  attrs: SGDUpdateAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const param = inputs['param']!;
  const hasBuffer = inputs['buffer'] !== undefined;
  const hasGuard = inputs['guard'] !== undefined;
  const decay = attrs.weightDecay !== 0;
  const damped = attrs.dampening !== 0;
  let update: string;
  let kept: string;
  if (attrs.output === 'buffer') {
    update = hasBuffer
      ? `Buffer[index] * uniforms.momentum + ${damped ? 'g * (1.0 - uniforms.dampening)' : 'g'}`
      : 'g';
    kept = hasBuffer ? 'Buffer[index]' : '0.0';
  } else {
    const direction = !hasBuffer
      ? 'g'
      : attrs.nesterov
        ? 'g + Buffer[index] * uniforms.momentum'
        : 'Buffer[index]';
    update = `p - (${direction}) * uniforms.lr`;
    kept = 'p';
  }
  const program = elementwiseProgram({
    key: `sgd_${attrs.output}_${hasBuffer}_${hasGuard}_${attrs.nesterov}_${decay}_${damped}`,
    variableNames: ['Param', 'Grad', ...(hasBuffer ? ['Buffer'] : []), ...(hasGuard ? ['Guard'] : [])],
    outputShape: param.shape,
    uniforms: 'lr : f32, momentum : f32, dampening : f32, weightDecay : f32,',
    body: `
      let p = Param[index];
      let g = Grad[index]${decay ? ' + p * uniforms.weightDecay' : ''};
      ${hasGuard ? `if (Guard[0] == 0) { result[index] = ${kept}; return; }` : ''}
      result[index] = ${update};`,
  });
  const ordered = [
    param,
    inputs['grad']!,
    ...(hasBuffer ? [inputs['buffer']!] : []),
    ...(hasGuard ? [inputs['guard']!] : []),
  ];
  return backend.runWebGPUProgram(program, ordered, 'float32', [
    { type: 'float32', data: [attrs.lr] },
    { type: 'float32', data: [attrs.momentum] },
    { type: 'float32', data: [attrs.dampening] },
    { type: 'float32', data: [attrs.weightDecay] },
  ]);
}
