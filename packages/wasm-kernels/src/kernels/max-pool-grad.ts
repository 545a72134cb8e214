import * as tf from '@tensorflow/tfjs-core';
import { kernelsFor } from '../parallel.ts';
import { address, type WasmBackend } from './run.ts';

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Routes each output's gradient to the first maximum of its window (the cpu backend's and
 * PyTorch's choice), reading NHWC windows a row of channels at a time.
 */
export function maxPoolGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: MaxPoolGradAttrs;
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.input as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const out = backend.makeOutput(x.shape, 'float32');
  const kernels = kernelsFor(backend);
  if (kernels) {
    kernels.run(
      'max_pool_grad',
      [
        address(backend, x),
        address(backend, dy),
        address(backend, out),
        h,
        w,
        c,
        oh,
        ow,
        fh,
        fw,
        sh,
        sw,
        padInfo.top,
        padInfo.left,
      ],
      batchSize,
    );
    return out;
  }
  // Where our WebAssembly cannot run (no SIMD, or still compiling in a browser), the same in JavaScript.
  const dx = backend.typedArrayFromHeap(out);
  const xs = backend.typedArrayFromHeap(x);
  const dys = backend.typedArrayFromHeap(dy);
  dx.fill(0);
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        best.fill(Number.NEGATIVE_INFINITY);
        where.fill(-1);
        for (let a = 0; a < fh; a++) {
          const y = i * sh - padInfo.top + a;
          if (y < 0 || y >= h) continue;
          for (let e = 0; e < fw; e++) {
            const xc = j * sw - padInfo.left + e;
            if (xc < 0 || xc >= w) continue;
            const base = ((b * h + y) * w + xc) * c;
            for (let d = 0; d < c; d++) {
              const v = xs[base + d] as number;
              if (v > (best[d] as number)) {
                best[d] = v;
                where[d] = base + d;
              }
            }
          }
        }
        const from = ((b * oh + i) * ow + j) * c;
        for (let d = 0; d < c; d++) {
          const at = where[d] as number;
          if (at >= 0) dx[at] = (dx[at] as number) + (dys[from + d] as number);
        }
      }
    }
  }
  return out;
}
