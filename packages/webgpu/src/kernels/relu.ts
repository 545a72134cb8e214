import type * as tf from '@tensorflow/tfjs-core';
import { elementwiseProgram, type ProgramRunner } from './program.ts';

interface Args {
  inputs: tf.NamedTensorInfoMap;
  backend: ProgramRunner;
}

/** relu(a + b) for a and b of one shape (the residual block's last step); NaN stays NaN, as in tf.relu. */
export function addRelu({ inputs, backend }: Args): tf.TensorInfo {
  const a = inputs['a']!;
  const program = elementwiseProgram({
    key: 'add_relu',
    variableNames: ['A', 'B'],
    outputShape: a.shape,
    body: 'var value = A[index] + B[index]; if (value < 0.0) { value = 0.0; } result[index] = value;',
  });
  return backend.runWebGPUProgram(program, [a, inputs['b']!], 'float32');
}

/** dy where relu's output y > 0, else 0: relu's gradient in one pass (tfjs runs Step, then Multiply). */
export function reluGrad({ inputs, backend }: Args): tf.TensorInfo {
  const dy = inputs['dy']!;
  const program = elementwiseProgram({
    key: 'relu_grad',
    variableNames: ['Dy', 'Y'],
    outputShape: dy.shape,
    body: 'result[index] = select(0.0, Dy[index], Y[index] > 0.0);',
  });
  return backend.runWebGPUProgram(program, [dy, inputs['y']!], 'float32');
}
