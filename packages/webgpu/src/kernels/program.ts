import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import type * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackendLike } from './run.ts';

/** A uniform of a program of ours, in the order its `uniforms` declaration lists them. */
export type ProgramUniform = { type: 'float32' | 'int32'; data: number[] };

/** The backend method that compiles (once per shader key), binds and dispatches a program. */
export interface ProgramRunner extends WebGPUBackendLike {
  runWebGPUProgram(
    program: WebGPUProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: ProgramUniform[],
  ): tf.TensorInfo;
}

const ELEMENTWISE_WORKGROUP = 64;

/**
 * A program with one thread per output element, in tfjs-backend-webgpu's shader conventions: the inputs are the
 * storage arrays named in `variableNames` (their shapes are `uniforms.<name>Shape`, first letter lower-cased), the
 * output is `result`, and `body` runs with `index` < `uniforms.size`. tfjs reshapes the dispatch when one dimension
 * would exceed the device's limit. `key` names everything that changes the code, not the uniforms.
 */
export function elementwiseProgram(options: {
  key: string;
  variableNames: string[];
  outputShape: number[];
  uniforms?: string;
  body: string;
}): WebGPUProgram {
  const size = options.outputShape.reduce((a, b) => a * b, 1);
  return {
    variableNames: options.variableNames,
    outputShape: options.outputShape,
    shaderKey: `skipnet_${options.key}`,
    dispatchLayout: { x: options.outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(size / ELEMENTWISE_WORKGROUP), 1, 1],
    workgroupSize: [ELEMENTWISE_WORKGROUP, 1, 1],
    size: true,
    ...(options.uniforms ? { uniforms: options.uniforms } : {}),
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${options.body}
        }
      }`,
  };
}

/** Channels per workgroup of a {@link channelReductionProgram}, and threads (lanes) per channel. */
const CHANNELS = 8;
const LANES = 32;

/**
 * A program that reduces an NHWC tensor over N·H·W per channel: a workgroup takes 8 neighbouring channels with 32
 * threads each, every thread strides over the rows, and a tree over the threads' partial sums in workgroup memory
 * gives the channel's total. `sums` names the accumulators; `body` runs for rows `r` (element `i`) of channel `c`
 * and adds to them; `finish` stores from the totals, in variables of the same names, for channels `c` < `channels`
 * (on thread 0 only). `setup` runs first in every thread, `between` after the first reduction, with its totals.
 */
export function channelReductionProgram(options: {
  key: string;
  variableNames: string[];
  /** An input whose shape is [N, H, W, C]. */
  shapeOf: string;
  outputShape: number[];
  uniforms?: string;
  passes: Array<{ sums: string[]; setup?: string; body: string }>;
  finish: string;
}): WebGPUProgram {
  const shape = `uniforms.${options.shapeOf.charAt(0).toLowerCase()}${options.shapeOf.slice(1)}Shape`;
  const channels = Math.max(1, options.outputShape.at(-1) ?? 1);
  const allSums = options.passes.flatMap((p) => p.sums);
  const shared = allSums.map((s) => `var<workgroup> ${s}Partial : array<f32, ${CHANNELS * LANES}>;`);
  const pass = (p: (typeof options.passes)[number]) => `
        ${p.setup ?? ''}
        ${p.sums.map((s) => `var ${s}Local = 0.0;`).join(' ')}
        if (inRange) {
          for (var r = i32(lane); r < rows; r = r + ${LANES}) {
            let i = r * channels + c;
            ${p.body}
          }
        }
        ${p.sums.map((s) => `${s}Partial[slot] = ${s}Local;`).join(' ')}
        workgroupBarrier();
        for (var stride = ${LANES / 2}u; stride > 0u; stride = stride / 2u) {
          if (lane < stride) {
            ${p.sums
              .map(
                (s) => `${s}Partial[slot] = ${s}Partial[slot] + ${s}Partial[slot + stride * ${CHANNELS}u];`,
              )
              .join(' ')}
          }
          workgroupBarrier();
        }
        ${p.sums.map((s) => `let ${s} = ${s}Partial[column];`).join(' ')}
        workgroupBarrier();`;
  return {
    variableNames: options.variableNames,
    outputShape: options.outputShape,
    shaderKey: `skipnet_${options.key}`,
    dispatchLayout: { x: options.outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(channels / CHANNELS), 1, 1],
    workgroupSize: [CHANNELS, LANES, 1],
    ...(options.uniforms ? { uniforms: options.uniforms } : {}),
    getUserCode: () => `
      ${shared.join('\n      ')}

      fn main(index : i32) {
        let column = localId.x;
        let lane = localId.y;
        let slot = lane * ${CHANNELS}u + column;
        let channels = ${shape}.w;
        let rows = ${shape}.x * ${shape}.y * ${shape}.z;
        let c = i32(workgroupId.x) * ${CHANNELS} + i32(column);
        let inRange = c < channels;
        ${options.passes.map(pass).join('\n')}
        if (inRange && lane == 0u) {
          ${options.finish}
        }
      }`,
  };
}
