/** How a convolution (or one of its gradients) runs on wasm; 'auto' is the choice measured per shape (README). */
export interface ConvolutionMethods {
  /** 'direct': our implicit-GEMM convolution; 'xnnpack': tfjs-backend-wasm's. */
  forward: 'auto' | 'direct' | 'xnnpack';
  /**
   * 'winograd': F(4×4, 3×3) for 3×3 stride-1 filters (others go direct); 'direct': our flipped convolution
   * (stride 1) or GEMM and col2im (strided); 'xnnpack': the same two on XNNPACK and in JavaScript.
   */
  inputGradient: 'auto' | 'winograd' | 'direct' | 'xnnpack';
  /**
   * 'winograd': F(4×4, 3×3) for 3×3 stride-1 filters (others go direct); 'direct': our GEMM over every output
   * pixel; 'im2col': colsᵀ written in JavaScript, one XNNPACK GEMM; 'dilated': one XNNPACK convolution with x's
   * channels as the batch and dy, dilated by the stride, as the filter.
   */
  filterGradient: 'auto' | 'winograd' | 'direct' | 'im2col' | 'dilated';
}

const methods: ConvolutionMethods = { forward: 'auto', inputGradient: 'auto', filterGradient: 'auto' };

/**
 * Forces how convolutions and their gradients run on the wasm backend, for measurements and tests; returns the
 * setting before. Methods of our own WebAssembly fall back to XNNPACK's where it cannot run (no SIMD).
 */
export function setConvolutionMethods(next: Partial<ConvolutionMethods>): ConvolutionMethods {
  const previous = { ...methods };
  Object.assign(methods, next);
  return previous;
}

export function convolutionMethods(): Readonly<ConvolutionMethods> {
  return methods;
}
