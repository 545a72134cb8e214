import type * as tf from '@tensorflow/tfjs-core';
import type { Kernels } from '../parallel.ts';
import { address, disposeAll, type WasmBackend } from './run.ts';

// Winograd F(4×4, 3×3) on csrc/kernels.c (the maths is there) for the gradients of 3×3, stride-1, dilation-1 NHWC
// convolutions, any padding: 4× fewer multiplies than a direct convolution. Each pass is one parallel export:
// transform, one GEMM per tile position (36), transform back. Forward convolutions stay on XNNPACK's direct
// convolution: Winograd's larger rounding error can move a ReLU input across zero in a forward pass (enough to
// break parity with PyTorch, see the README), while in a backward pass it only adds up.

const TILE = 4; // output tile side
const POSITIONS = 36; // (TILE + 2)²
const PANEL = 8; // columns per packed panel of a GEMM's right-hand side (csrc/kernels.c)
const M_BLOCK = 64; // GEMM rows per work item (csrc/kernels.c)

const panels = (n: number) => Math.ceil(n / PANEL);

/** Whether Winograd F(4×4, 3×3) can compute this convolution and its gradients. */
export function isWinogradShape(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 3 &&
    info.filterWidth === 3 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.dataFormat === 'channelsLast'
  );
}

interface TileGrid {
  tilesH: number;
  tilesW: number;
  tiles: number;
}

/** Output tiles over every image of the batch. */
function tileGrid(batch: number, outH: number, outW: number): TileGrid {
  const tilesH = Math.ceil(outH / TILE);
  const tilesW = Math.ceil(outW / TILE);
  return { tilesH, tilesW, tiles: batch * tilesH * tilesW };
}

interface Convolution {
  input: tf.TensorInfo;
  /** The input's channels: the GEMMs' reduction. */
  k: number;
  padTop: number;
  padLeft: number;
  filter: tf.TensorInfo;
  /** The output's channels. */
  n: number;
  /** Where filter element (tap, reduction index, output index) lies: strides of the two indices, taps flipped. */
  kStride: number;
  nStride: number;
  flip: boolean;
  outH: number;
  outW: number;
}

function convolve(kernels: Kernels, backend: WasmBackend, c: Convolution): tf.TensorInfo {
  const [batch, h, w] = c.input.shape as [number, number, number, number];
  const { tilesH, tilesW, tiles } = tileGrid(batch, c.outH, c.outW);
  const u = backend.makeOutput([POSITIONS * panels(c.n) * PANEL * c.k], 'float32');
  const v = backend.makeOutput([POSITIONS * tiles * c.k], 'float32');
  const m = backend.makeOutput([POSITIONS * tiles * c.n], 'float32');
  const y = backend.makeOutput([batch, c.outH, c.outW, c.n], 'float32');
  const [pu, pv, pm, py] = [u, v, m, y].map((t) => address(backend, t)) as [number, number, number, number];
  kernels.run(
    'winograd_filter',
    [address(backend, c.filter), c.k, c.n, c.kStride, c.nStride, c.flip ? 1 : 0, pu],
    panels(c.n),
  );
  kernels.run(
    'winograd_input',
    [address(backend, c.input), h, w, c.k, c.padTop, c.padLeft, tilesH, tilesW, tiles, pv, c.k],
    tiles,
  );
  kernels.run('winograd_gemm', [pv, pu, pm, tiles, c.k, c.n], POSITIONS * Math.ceil(tiles / M_BLOCK));
  kernels.run('winograd_output', [pm, tiles, c.n, py, c.outH, c.outW, tilesH, tilesW], tiles);
  disposeAll(backend, [u, v, m]);
  return y;
}

/**
 * dx: dx[u] = Σ_a dy[u + pad − a] · w[a], the convolution of dy with the filter flipped and its channels swapped,
 * padded by 2 − pad (dy reads as zero outside itself, so no other padding is needed).
 */
export function winogradInputGrad(
  kernels: Kernels,
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  return convolve(kernels, backend, {
    input: dy,
    k: info.outChannels,
    padTop: 2 - info.padInfo.top,
    padLeft: 2 - info.padInfo.left,
    filter,
    n: info.inChannels,
    kStride: 1,
    nStride: info.outChannels,
    flip: true,
    outH: info.inHeight,
    outW: info.inWidth,
  });
}

/** dW from x's input tiles and dy's tiles on the forward's tile grid: 36 GEMMs reducing over every tile. */
export function winogradFilterGrad(
  kernels: Kernels,
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize, inHeight: h, inWidth: w, inChannels: cin, outChannels: cout } = info;
  const { outHeight: oh, outWidth: ow, padInfo } = info;
  const { tilesH, tilesW, tiles } = tileGrid(batchSize, oh, ow);
  // V's rows padded past cin: the GEMM reads V down its columns (see csrc/kernels.c).
  const ldv = cin + 4;
  const v = backend.makeOutput([POSITIONS * tiles * ldv], 'float32');
  const yp = backend.makeOutput([POSITIONS * panels(cout) * PANEL * tiles], 'float32');
  const mw = backend.makeOutput([POSITIONS * cin * cout], 'float32');
  const dw = backend.makeOutput([3, 3, cin, cout], 'float32');
  const [pv, pyp, pmw, pdw] = [v, yp, mw, dw].map((t) => address(backend, t)) as [
    number,
    number,
    number,
    number,
  ];
  kernels.run(
    'winograd_input',
    [address(backend, x), h, w, cin, padInfo.top, padInfo.left, tilesH, tilesW, tiles, pv, ldv],
    tiles,
  );
  kernels.run(
    'winograd_output_grad',
    [address(backend, dy), oh, ow, cout, tilesH, tilesW, tiles, pyp],
    tiles,
  );
  kernels.run(
    'winograd_filter_gemm',
    [pv, ldv, pyp, pmw, tiles, cin, cout],
    POSITIONS * Math.ceil(cin / M_BLOCK),
  );
  kernels.run('winograd_filter_grad', [pmw, cin, cout, pdw], cin);
  disposeAll(backend, [v, yp, mw]);
  return dw;
}
