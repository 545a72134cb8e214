import type { BatchNormApplyAttrs, BatchNormGradAttrs, RunningAverageAttrs } from '@skipnet/kernel-internals';
import type * as tf from '@tensorflow/tfjs-core';
import { channelReductionProgram, elementwiseProgram, type ProgramRunner } from './program.ts';

// BatchNorm2d's training chain as four programs (see FusedKernel in @skipnet/kernel-internals for the contract).
// Inputs are NHWC float32; `stats` is [2, C]: the mean, then the biased variance.

interface Args<A = object> {
  inputs: tf.NamedTensorInfoMap;
  backend: ProgramRunner;
  attrs: A;
}

/** The optional affine inputs a program reads, and their names in its code. */
function affine(inputs: tf.NamedTensorInfoMap): { names: string[]; infos: tf.TensorInfo[] } {
  const names: string[] = [];
  const infos: tf.TensorInfo[] = [];
  if (inputs['weight']) {
    names.push('Weight');
    infos.push(inputs['weight']);
  }
  if (inputs['bias']) {
    names.push('Bias');
    infos.push(inputs['bias']);
  }
  return { names, infos };
}

/** The mean over N·H·W, then the mean of squared deviations from it: two passes, as tfjs's moments. */
export function batchNormStatistics({ inputs, backend }: Args): tf.TensorInfo {
  const x = inputs['x']!;
  const program = channelReductionProgram({
    key: 'bn_statistics',
    variableNames: ['X'],
    shapeOf: 'X',
    outputShape: [2, x.shape[3]!],
    passes: [
      { sums: ['total'], body: 'totalLocal = totalLocal + X[i];' },
      {
        sums: ['squares'],
        setup: 'let mean = total / f32(rows);',
        body: 'let d = X[i] - mean; squaresLocal = squaresLocal + d * d;',
      },
    ],
    finish: 'result[c] = mean; result[channels + c] = squares / f32(rows);',
  });
  return backend.runWebGPUProgram(program, [x], 'float32');
}

/** (x − mean)·weight/√(var + eps) + bias, then relu when asked (NaN stays NaN, as in tf.relu). */
export function batchNormApply({ inputs, backend, attrs }: Args<BatchNormApplyAttrs>): tf.TensorInfo {
  const x = inputs['x']!;
  const { names, infos } = affine(inputs);
  const hasWeight = names.includes('Weight');
  const hasBias = names.includes('Bias');
  const program = elementwiseProgram({
    key: `bn_apply_${hasWeight}_${hasBias}_${attrs.relu}`,
    variableNames: ['X', 'Stats', ...names],
    outputShape: x.shape,
    uniforms: 'eps : f32,',
    body: `
      let channels = uniforms.xShape.w;
      let c = index % channels;
      let invStd = inverseSqrt(Stats[channels + c] + uniforms.eps);
      let scale = ${hasWeight ? 'Weight[c] * invStd' : 'invStd'};
      var value = (X[index] - Stats[c]) * scale${hasBias ? ' + Bias[c]' : ''};
      ${attrs.relu ? 'if (value < 0.0) { value = 0.0; }' : ''}
      result[index] = value;`,
  });
  return backend.runWebGPUProgram(program, [x, inputs['stats']!, ...infos], 'float32', [
    { type: 'float32', data: [attrs.eps] },
  ]);
}

/** running·(1 − momentum) + stats[row]·factor·momentum, as BatchNorm2d's running statistics. */
export function runningAverage({ inputs, backend, attrs }: Args<RunningAverageAttrs>): tf.TensorInfo {
  const running = inputs['running']!;
  const program = elementwiseProgram({
    key: 'running_average',
    variableNames: ['Running', 'Stats'],
    outputShape: running.shape,
    uniforms: 'row : i32, keep : f32, momentum : f32, factor : f32,',
    body: `
      let stat = Stats[uniforms.row * uniforms.runningShape + index];
      result[index] = Running[index] * uniforms.keep + stat * uniforms.factor * uniforms.momentum;`,
  });
  return backend.runWebGPUProgram(program, [running, inputs['stats']!], 'float32', [
    { type: 'int32', data: [attrs.row] },
    { type: 'float32', data: [1 - attrs.momentum] },
    { type: 'float32', data: [attrs.momentum] },
    { type: 'float32', data: [attrs.factor] },
  ]);
}

/** The masked gradient g of an element, from dy (and, after a relu, the forward's output y). */
const maskedGradient = (relu: boolean, i: string) =>
  relu ? `var g = Dy[${i}]; if (!(Y[${i}] > 0.0)) { g = 0.0; }` : `let g = Dy[${i}];`;

/** [2, C]: Σ g (the bias gradient) and Σ g·(x − mean)/√(var + eps) (the weight gradient), in one pass. */
export function batchNormGradSums({ inputs, backend, attrs }: Args<BatchNormGradAttrs>): tf.TensorInfo {
  const x = inputs['x']!;
  const program = channelReductionProgram({
    key: `bn_grad_sums_${attrs.relu}`,
    variableNames: ['Dy', 'X', 'Stats', ...(attrs.relu ? ['Y'] : [])],
    shapeOf: 'X',
    outputShape: [2, x.shape[3]!],
    uniforms: 'eps : f32,',
    passes: [
      {
        sums: ['gradSum', 'gradCentred'],
        setup: 'var mean = 0.0; if (inRange) { mean = Stats[c]; }',
        body: `${maskedGradient(attrs.relu, 'i')}
            gradSumLocal = gradSumLocal + g;
            gradCentredLocal = gradCentredLocal + g * (X[i] - mean);`,
      },
    ],
    finish: `result[c] = gradSum;
          result[channels + c] = gradCentred * inverseSqrt(Stats[channels + c] + uniforms.eps);`,
  });
  const y = attrs.relu ? [inputs['y']!] : [];
  return backend.runWebGPUProgram(program, [inputs['dy']!, x, inputs['stats']!, ...y], 'float32', [
    { type: 'float32', data: [attrs.eps] },
  ]);
}

/** dx = a·g − (x − mean)·a·s·dWeight/m − a·dBias/m, with s = 1/√(var + eps), a = weight·s, m = N·H·W. */
export function batchNormGradInput({ inputs, backend, attrs }: Args<BatchNormGradAttrs>): tf.TensorInfo {
  const x = inputs['x']!;
  const hasWeight = inputs['weight'] !== undefined;
  const program = elementwiseProgram({
    key: `bn_grad_input_${hasWeight}_${attrs.relu}`,
    variableNames: [
      'Dy',
      'X',
      'Stats',
      'Sums',
      ...(hasWeight ? ['Weight'] : []),
      ...(attrs.relu ? ['Y'] : []),
    ],
    outputShape: x.shape,
    uniforms: 'eps : f32,',
    body: `
      let channels = uniforms.xShape.w;
      let c = index % channels;
      let count = f32(uniforms.xShape.x * uniforms.xShape.y * uniforms.xShape.z);
      let s = inverseSqrt(Stats[channels + c] + uniforms.eps);
      let a = ${hasWeight ? 'Weight[c] * s' : 's'};
      ${maskedGradient(attrs.relu, 'index')}
      let minusAOverCount = a / -count;
      let centredFactor = minusAOverCount * (s * Sums[channels + c]);
      result[index] = (g * a + (X[index] - Stats[c]) * centredFactor) + minusAOverCount * Sums[c];`,
  });
  const ordered = [
    inputs['dy']!,
    x,
    inputs['stats']!,
    inputs['sums']!,
    ...(hasWeight ? [inputs['weight']!] : []),
    ...(attrs.relu ? [inputs['y']!] : []),
  ];
  return backend.runWebGPUProgram(program, ordered, 'float32', [{ type: 'float32', data: [attrs.eps] }]);
}
