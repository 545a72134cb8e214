import type * as tf from '@tensorflow/tfjs-core';
import type { Kernels } from '../parallel.ts';
import { address, disposeAll, type WasmBackend } from './run.ts';

// Direct convolutions as implicit GEMMs on our own kernel (csrc/kernels.c): the input padded once, the filter
// packed once, no columns. They sum in the order a direct convolution does, so they round like XNNPACK's.

const PANEL = 8; // columns per packed panel of a GEMM's right-hand side (csrc/kernels.c)
const M_BLOCK = 64; // GEMM rows (output pixels, or filter rows) per work item (csrc/kernels.c)
const PANEL_GROUP = 8; // panels per work item (csrc/kernels.c)
const BLOCK_PIXELS = 1024; // output pixels per partial sum of the filter gradient

const panels = (n: number) => Math.ceil(n / PANEL);

interface Padded {
  xp: tf.TensorInfo;
  hp: number;
  wp: number;
  /** Tensors to dispose after use (the padded copy, when one was made). */
  temps: tf.TensorInfo[];
}

/**
 * The input as the taps read it: rows and columns from −padTop and −padLeft (a negative pad crops), needH × needW
 * of them. x itself when it already lies so; else a padded copy.
 */
function padded(
  kernels: Kernels,
  backend: WasmBackend,
  x: tf.TensorInfo,
  padTop: number,
  padLeft: number,
  needH: number,
  needW: number,
): Padded {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  if (padTop === 0 && padLeft === 0 && needH <= h && needW <= w) return { xp: x, hp: h, wp: w, temps: [] };
  const xp = backend.makeOutput([n, needH, needW, c], 'float32');
  kernels.run(
    'pad_input',
    [address(backend, x), h, w, c, padTop, padLeft, address(backend, xp), needH, needW],
    n * needH,
  );
  return { xp, hp: needH, wp: needW, temps: [xp] };
}

interface Geometry {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  cin: number;
  cout: number;
  outShape: [number, number, number, number];
}

function convolve(
  kernels: Kernels,
  backend: WasmBackend,
  input: Padded,
  packed: tf.TensorInfo,
  g: Geometry,
): tf.TensorInfo {
  const [n, oh, ow, cout] = g.outShape;
  const y = backend.makeOutput(g.outShape, 'float32');
  const pixels = n * oh * ow;
  kernels.run(
    'conv_direct',
    [
      address(backend, input.xp),
      input.hp,
      input.wp,
      g.cin,
      g.kh,
      g.kw,
      g.sh,
      g.sw,
      address(backend, packed),
      address(backend, y),
      pixels,
      oh,
      ow,
      cout,
    ],
    Math.ceil(pixels / M_BLOCK) * Math.ceil(panels(cout) / PANEL_GROUP),
  );
  disposeAll(backend, [...input.temps, packed]);
  return y;
}

/** y = conv2d(x, filter), any kernel size, strides and padding (dilation 1). */
export function directConv2d(
  kernels: Kernels,
  backend: WasmBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const { inChannels: cin, outChannels: cout, outHeight: oh, outWidth: ow } = info;
  const input = padded(
    kernels,
    backend,
    x,
    padInfo.top,
    padInfo.left,
    (oh - 1) * sh + kh,
    (ow - 1) * sw + kw,
  );
  const k = kh * kw * cin;
  const packed = backend.makeOutput([panels(cout) * PANEL * k], 'float32');
  kernels.run(
    'pack_panels',
    [address(backend, filter), k, cout, cout, address(backend, packed)],
    panels(cout),
  );
  return convolve(kernels, backend, input, packed, {
    kh,
    kw,
    sh,
    sw,
    cin,
    cout,
    outShape: [info.batchSize, oh, ow, cout],
  });
}

/**
 * dx. Stride 1: dx[u] = Σ_a dy[u + pad − a] · w[a], the convolution of dy padded by k − 1 − pad with the filter
 * flipped and its channels swapped. Strided: the columns dy · Wᵀ (the forward's multiply-adds, as a 1×1
 * convolution of dy), then added back into place (col2im, split by image).
 */
export function directInputGrad(
  kernels: Kernels,
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  return info.strideHeight === 1 && info.strideWidth === 1
    ? flippedConvolution(kernels, backend, dy, filter, info)
    : columnsBack(kernels, backend, dy, filter, info);
}

function columnsBack(
  kernels: Kernels,
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, outChannels: cout } = info;
  const { outHeight: oh, outWidth: ow } = info;
  const k = kh * kw * cin;
  const packed = backend.makeOutput([panels(k) * PANEL * cout], 'float32');
  kernels.run('pack_transposed', [address(backend, filter), cout, k, address(backend, packed)], panels(k));
  const cols = convolve(kernels, backend, { xp: dy, hp: oh, wp: ow, temps: [] }, packed, {
    kh: 1,
    kw: 1,
    sh: 1,
    sw: 1,
    cin: cout,
    cout: k,
    outShape: [n, oh, ow, k],
  });
  const dx = backend.makeOutput([n, h, w, cin], 'float32');
  kernels.run(
    'col2im',
    [
      address(backend, cols),
      h,
      w,
      cin,
      oh,
      ow,
      kh,
      kw,
      sh,
      sw,
      padInfo.top,
      padInfo.left,
      address(backend, dx),
    ],
    n,
  );
  disposeAll(backend, [cols]);
  return dx;
}

function flippedConvolution(
  kernels: Kernels,
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, padInfo, inChannels: cin, outChannels: cout } = info;
  const { batchSize: n, inHeight: h, inWidth: w } = info;
  const input = padded(
    kernels,
    backend,
    dy,
    kh - 1 - padInfo.top,
    kw - 1 - padInfo.left,
    h - 1 + kh,
    w - 1 + kw,
  );
  const packed = backend.makeOutput([panels(cin) * PANEL * kh * kw * cout], 'float32');
  kernels.run(
    'pack_flipped_filter',
    [address(backend, filter), kh, kw, cin, cout, address(backend, packed)],
    panels(cin),
  );
  return convolve(kernels, backend, input, packed, {
    kh,
    kw,
    sh: 1,
    sw: 1,
    cin: cout,
    cout: cin,
    outShape: [n, h, w, cin],
  });
}

/**
 * dW [kh, kw, cin, cout]: one GEMM reducing over every output pixel, in blocks summed in a fixed order, on x made
 * channel-major and dy packed in panels (see csrc/kernels.c).
 */
export function directFilterGrad(
  kernels: Kernels,
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const { batchSize: n, inChannels: cin, outChannels: cout, outHeight: oh, outWidth: ow } = info;
  const input = padded(
    kernels,
    backend,
    x,
    padInfo.top,
    padInfo.left,
    (oh - 1) * sh + kh,
    (ow - 1) * sw + kw,
  );
  const inputPixels = n * input.hp * input.wp;
  const xt = backend.makeOutput([cin, inputPixels], 'float32');
  kernels.run(
    'channels_first',
    [address(backend, input.xp), inputPixels, cin, address(backend, xt)],
    Math.ceil(inputPixels / M_BLOCK),
  );
  const pixels = n * oh * ow;
  const dyp = backend.makeOutput([panels(cout) * PANEL * pixels], 'float32');
  kernels.run('pack_panels', [address(backend, dy), pixels, cout, cout, address(backend, dyp)], panels(cout));
  const at = backend.makeOutput([pixels], 'int32');
  kernels.run('pixel_offsets', [input.hp, input.wp, oh, ow, sh, sw, address(backend, at)], n * oh);
  const k = kh * kw * cin;
  const pixelBlocks = Math.ceil(pixels / BLOCK_PIXELS);
  const dw = backend.makeOutput([kh, kw, cin, cout], 'float32');
  const partial = pixelBlocks > 1 ? backend.makeOutput([pixelBlocks * k * cout], 'float32') : dw;
  kernels.run(
    'conv_filter_grad',
    [
      address(backend, xt),
      inputPixels,
      address(backend, at),
      input.wp,
      cin,
      kh,
      kw,
      address(backend, dyp),
      pixels,
      cout,
      BLOCK_PIXELS,
      address(backend, partial),
    ],
    pixelBlocks * Math.ceil(k / M_BLOCK) * Math.ceil(panels(cout) / PANEL_GROUP),
  );
  if (partial !== dw) {
    kernels.run(
      'sum_partials',
      [address(backend, partial), pixelBlocks, k * cout, address(backend, dw)],
      Math.ceil((k * cout) / 1024),
    );
    disposeAll(backend, [partial]);
  }
  disposeAll(backend, [...input.temps, xt, dyp, at]);
  return dw;
}
