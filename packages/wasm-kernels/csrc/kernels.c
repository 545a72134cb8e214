// skipnet's own WebAssembly kernels: a float32 GEMM and, on it, the input and filter gradients of 3×3 stride-1
// convolutions by Winograd F(4×4, 3×3), run on tfjs-backend-wasm's own memory so that no tensor is copied.
//
// Built by scripts/build-wasm.mjs with clang-19 in two variants: fused multiply-add from relaxed SIMD, or a
// multiply then an add (runtimes without relaxed SIMD, e.g. Node 20). Each imports an unshared memory (tfjs's
// single-threaded build); src/wasm-module.ts makes the shared-memory import for tfjs's threaded build.
//
// The module imports tfjs's memory and must never write outside the buffers it is given: it has no data, no
// heap and no stack in linear memory (the build checks that nothing uses __stack_pointer), so every value lives
// in WebAssembly locals. Parallel work is split by the caller: each export that can run on several threads takes
// a half-open range [begin, end) of independent work items and writes only those items' outputs.

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

typedef v128_t f4;

#ifdef RELAXED_SIMD
#define MADD(a, b, c) wasm_f32x4_relaxed_madd(a, b, c)
#else
#define MADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul(a, b), c)
#endif

#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul
#define SPLAT wasm_f32x4_splat

INLINE int min(int a, int b) { return a < b ? a : b; }
INLINE int max(int a, int b) { return a > b ? a : b; }

// The first n (0..4) floats at p, zeros after.
INLINE f4 load_first(const float *p, int n) {
  switch (n) {
  case 0: return SPLAT(0);
  case 1: return wasm_v128_load32_zero(p);
  case 2: return wasm_v128_load64_zero(p);
  case 3: return wasm_v128_load32_lane(p + 2, wasm_v128_load64_zero(p), 2);
  default: return wasm_v128_load(p);
  }
}

// Stores the first n (0..4) lanes of v at p.
INLINE void store_first(float *p, f4 v, int n) {
  switch (n) {
  case 0: break;
  case 1: wasm_v128_store32_lane(p, v, 0); break;
  case 2: wasm_v128_store64_lane(p, v, 0); break;
  case 3:
    wasm_v128_store64_lane(p, v, 0);
    wasm_v128_store32_lane(p + 2, v, 2);
    break;
  default: wasm_v128_store(p, v);
  }
}

// Four floats n_stride apart (the first n of them, zeros after).
INLINE f4 gather_first(const float *p, int stride, int n) {
  if (stride == 1) return load_first(p, n);
  return wasm_f32x4_make(n > 0 ? p[0] : 0.0f, n > 1 ? p[stride] : 0.0f, n > 2 ? p[2 * stride] : 0.0f,
                         n > 3 ? p[3 * stride] : 0.0f);
}

// ---------------------------------------------------------------------------------------------------------------
// GEMM: C[m×n] = A[m×k] · B[k×n] (+ C when accumulating).
//
// A is read in place: A(i, p) = a[i·a_row + p·a_col], so a transposed operand costs nothing. B is packed in
// panels of 8 columns, bp[panel][p][8] (zero past n), so the inner loop reads 32 contiguous bytes per step and
// broadcasts one float of A per row: 4 rows × 8 columns = 8 accumulators, 2 B vectors, 1 broadcast, which fits
// the 16 SIMD registers V8 has on x64 without spilling. K is cut into blocks of 256 so a panel block (8 KiB)
// stays in L1 while the rows go by; callers cut M into blocks of at most 64 rows so those stay in L2.

enum { PANEL = 8, K_BLOCK = 256, M_BLOCK = 64 };

typedef struct {
  const float *a;
  int a_row, a_col;
  const float *bp;
  int panel_stride; // floats from one packed panel to the next
  float *c;
  int ldc;
} Gemm;

INLINE void write_row(float *c, f4 lo, f4 hi, int cols, int accumulate) {
  if (cols == PANEL) {
    if (accumulate) {
      lo = ADD(lo, wasm_v128_load(c));
      hi = ADD(hi, wasm_v128_load(c + 4));
    }
    wasm_v128_store(c, lo);
    wasm_v128_store(c + 4, hi);
    return;
  }
  int n_lo = min(cols, 4), n_hi = max(cols - 4, 0);
  if (accumulate) {
    lo = ADD(lo, load_first(c, n_lo));
    hi = ADD(hi, load_first(c + 4, n_hi));
  }
  store_first(c, lo, n_lo);
  store_first(c + 4, hi, n_hi);
}

INLINE void kernel_4x8(int k, const float *a, int a_row, int a_col, const float *b, float *c, int ldc, int cols,
                       int accumulate) {
  f4 c00 = SPLAT(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const float *a0 = a, *a1 = a + a_row, *a2 = a + 2 * a_row, *a3 = a + 3 * a_row;
  for (int p = 0; p < k; p++) {
    f4 b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4), x;
    x = wasm_v128_load32_splat(a0);
    c00 = MADD(x, b0, c00);
    c01 = MADD(x, b1, c01);
    x = wasm_v128_load32_splat(a1);
    c10 = MADD(x, b0, c10);
    c11 = MADD(x, b1, c11);
    x = wasm_v128_load32_splat(a2);
    c20 = MADD(x, b0, c20);
    c21 = MADD(x, b1, c21);
    x = wasm_v128_load32_splat(a3);
    c30 = MADD(x, b0, c30);
    c31 = MADD(x, b1, c31);
    a0 += a_col;
    a1 += a_col;
    a2 += a_col;
    a3 += a_col;
    b += PANEL;
  }
  write_row(c, c00, c01, cols, accumulate);
  write_row(c + ldc, c10, c11, cols, accumulate);
  write_row(c + 2 * ldc, c20, c21, cols, accumulate);
  write_row(c + 3 * ldc, c30, c31, cols, accumulate);
}

INLINE void kernel_1x8(int k, const float *a, int a_col, const float *b, float *c, int cols, int accumulate) {
  f4 c0 = SPLAT(0), c1 = c0;
  for (int p = 0; p < k; p++) {
    f4 x = wasm_v128_load32_splat(a);
    c0 = MADD(x, wasm_v128_load(b), c0);
    c1 = MADD(x, wasm_v128_load(b + 4), c1);
    a += a_col;
    b += PANEL;
  }
  write_row(c, c0, c1, cols, accumulate);
}

INLINE void gemm(const Gemm *g, int m, int n, int k, int accumulate) {
  for (int k0 = 0; k0 < k; k0 += K_BLOCK) {
    int kc = min(K_BLOCK, k - k0);
    int add = accumulate || k0 > 0;
    const float *a = g->a + k0 * g->a_col;
    for (int j = 0; j * PANEL < n; j++) {
      int cols = min(PANEL, n - j * PANEL);
      const float *b = g->bp + j * g->panel_stride + k0 * PANEL;
      float *c = g->c + j * PANEL;
      int i = 0;
      for (; i + 4 <= m; i += 4)
        kernel_4x8(kc, a + i * g->a_row, g->a_row, g->a_col, b, c + i * g->ldc, g->ldc, cols, add);
      for (; i < m; i++) kernel_1x8(kc, a + i * g->a_row, g->a_col, b, c + i * g->ldc, cols, add);
    }
  }
}

INLINE int panels(int n) { return (n + PANEL - 1) / PANEL; }
INLINE int blocks(int n, int size) { return (n + size - 1) / size; }

// Packs row-major B [k×n] (row stride ldb) into panels of 8 columns, bp[panel][k][8], zeros past n; items are
// panels.
EXPORT(pack_panels)
void pack_panels(const float *b, int k, int n, int ldb, float *bp, int begin, int end) {
  for (int j = begin; j < end; j++) {
    int lo = max(0, min(4, n - j * PANEL)), hi = max(0, min(4, n - j * PANEL - 4));
    const float *src = b + j * PANEL;
    float *dst = bp + j * k * PANEL;
    for (int p = 0; p < k; p++, src += ldb, dst += PANEL) {
      wasm_v128_store(dst, load_first(src, lo));
      wasm_v128_store(dst + 4, load_first(src + 4, hi));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Direct convolution as an implicit GEMM: y[p][o] = Σ_{a,b,c} xp[at(p) + (a·wp + b)·c_in + c] · w[a][b][c][o] for
// output pixel p of an input already padded (xp [n, hp, wp, c_in], so every tap reads inside it), where at(p) is
// the offset of p's top-left tap. The filter [kh·kw·c_in × c_out] is the packed right-hand side; each micro-tile
// of 4 output pixels keeps its 4×8 sums in registers over all kh·kw·c_in products, so nothing is copied into
// columns. Summed tap by tap in channel order, it rounds like a direct convolution.

INLINE void conv_4x8(const float *a0, const float *a1, const float *a2, const float *a3, int kh, int kw,
                     int c_in, int row_stride, const float *b, float *c, int ldc, int cols) {
  f4 c00 = SPLAT(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int ta = 0; ta < kh; ta++) {
    for (int tb = 0; tb < kw; tb++) {
      int tap = ta * row_stride + tb * c_in;
      const float *x0 = a0 + tap, *x1 = a1 + tap, *x2 = a2 + tap, *x3 = a3 + tap;
      for (int p = 0; p < c_in; p++) {
        f4 b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4), x;
        x = wasm_v128_load32_splat(x0 + p);
        c00 = MADD(x, b0, c00);
        c01 = MADD(x, b1, c01);
        x = wasm_v128_load32_splat(x1 + p);
        c10 = MADD(x, b0, c10);
        c11 = MADD(x, b1, c11);
        x = wasm_v128_load32_splat(x2 + p);
        c20 = MADD(x, b0, c20);
        c21 = MADD(x, b1, c21);
        x = wasm_v128_load32_splat(x3 + p);
        c30 = MADD(x, b0, c30);
        c31 = MADD(x, b1, c31);
        b += PANEL;
      }
    }
  }
  write_row(c, c00, c01, cols, 0);
  write_row(c + ldc, c10, c11, cols, 0);
  write_row(c + 2 * ldc, c20, c21, cols, 0);
  write_row(c + 3 * ldc, c30, c31, cols, 0);
}

INLINE void conv_1x8(const float *a, int kh, int kw, int c_in, int row_stride, const float *b, float *c, int cols) {
  f4 c0 = SPLAT(0), c1 = c0;
  for (int ta = 0; ta < kh; ta++) {
    for (int tb = 0; tb < kw; tb++) {
      const float *x = a + ta * row_stride + tb * c_in;
      for (int p = 0; p < c_in; p++) {
        f4 v = wasm_v128_load32_splat(x + p);
        c0 = MADD(v, wasm_v128_load(b), c0);
        c1 = MADD(v, wasm_v128_load(b + 4), c1);
        b += PANEL;
      }
    }
  }
  write_row(c, c0, c1, cols, 0);
}

enum { PANEL_GROUP = 8 }; // panels (64 output channels) per work item

// Items are (block of 64 output pixels, group of 8 panels).
EXPORT(conv_direct)
void conv_direct(const float *xp, int hp, int wp, int c_in, int kh, int kw, int stride_h, int stride_w,
                 const float *bp, float *y, int pixels, int oh, int ow, int c_out, int begin, int end) {
  int k = kh * kw * c_in, row_stride = wp * c_in;
  int groups = blocks(panels(c_out), PANEL_GROUP);
  for (int item = begin; item < end; item++) {
    int block = item / groups, group = item - block * groups;
    int p0 = block * M_BLOCK, p1 = min(pixels, p0 + M_BLOCK);
    int j1 = min(panels(c_out), (group + 1) * PANEL_GROUP);
    for (int j = group * PANEL_GROUP; j < j1; j++) {
      int cols = min(PANEL, c_out - j * PANEL);
      const float *b = bp + j * k * PANEL;
      int p = p0;
      for (; p + 4 <= p1; p += 4) {
        const float *a[4];
#pragma clang loop unroll(full)
        for (int r = 0; r < 4; r++) {
          int q = p + r, image = q / (oh * ow), i = q / ow - image * oh, jj = q - (q / ow) * ow;
          a[r] = xp + ((image * hp + i * stride_h) * wp + jj * stride_w) * c_in;
        }
        conv_4x8(a[0], a[1], a[2], a[3], kh, kw, c_in, row_stride, b, y + p * c_out + j * PANEL, c_out, cols);
      }
      for (; p < p1; p++) {
        int image = p / (oh * ow), i = p / ow - image * oh, jj = p - (p / ow) * ow;
        const float *a = xp + ((image * hp + i * stride_h) * wp + jj * stride_w) * c_in;
        conv_1x8(a, kh, kw, c_in, row_stride, b, y + p * c_out + j * PANEL, cols);
      }
    }
  }
}

// The filter of a stride-1 convolution's input gradient, packed as conv_direct's right-hand side: flipped and its
// channels swapped, B[(a·kw + b)·c_out + o][c] = w[kh − 1 − a][kw − 1 − b][c][o]; items are panels of 8 input
// channels.
EXPORT(pack_flipped_filter)
void pack_flipped_filter(const float *w, int kh, int kw, int c_in, int c_out, float *bp, int begin, int end) {
  int k = kh * kw * c_out;
  for (int j = begin; j < end; j++) {
    int lo = max(0, min(4, c_in - j * PANEL)), hi = max(0, min(4, c_in - j * PANEL - 4));
    float *dst = bp + j * k * PANEL;
    for (int a = 0; a < kh; a++) {
      for (int b = 0; b < kw; b++) {
        const float *tap = w + (((kh - 1 - a) * kw + (kw - 1 - b)) * c_in + j * PANEL) * c_out;
        for (int o = 0; o < c_out; o++, dst += PANEL) {
          wasm_v128_store(dst, gather_first(tap + o, c_out, lo));
          wasm_v128_store(dst + 4, gather_first(tap + 4 * c_out + o, c_out, hi));
        }
      }
    }
  }
}

// B = wᵀ [rows × cols] for row-major w [cols × rows], packed as conv_direct's right-hand side: the filter of a
// strided convolution's input gradient seen as a 1×1 convolution of dy (rows = c_out, cols = kh·kw·c_in). Items
// are panels of 8 columns.
EXPORT(pack_transposed)
void pack_transposed(const float *w, int rows, int cols, float *bp, int begin, int end) {
  for (int j = begin; j < end; j++) {
    int lo = max(0, min(4, cols - j * PANEL)), hi = max(0, min(4, cols - j * PANEL - 4));
    const float *src = w + j * PANEL * rows;
    float *dst = bp + j * rows * PANEL;
    for (int o = 0; o < rows; o++, dst += PANEL) {
      wasm_v128_store(dst, gather_first(src + o, rows, lo));
      wasm_v128_store(dst + 4, gather_first(src + 4 * rows + o, rows, hi));
    }
  }
}

// dx [n, h, w, c] = Σ cols[(image, i, j)][(a, b, ·)] added at dx[image][i·sh + a − pad_top][j·sw + b − pad_left]:
// the strided input gradient's columns put back. Items are images (their pixels are written by them only).
EXPORT(col2im)
void col2im(const float *cols, int h, int w, int c, int oh, int ow, int kh, int kw, int stride_h, int stride_w,
            int pad_top, int pad_left, float *dx, int begin, int end) {
  for (int image = begin; image < end; image++) {
    float *out = dx + image * h * w * c;
    for (int q = 0; q < h * w * c; q += 4) store_first(out + q, SPLAT(0), min(4, h * w * c - q));
    const float *in = cols + image * oh * ow * kh * kw * c;
    for (int i = 0; i < oh; i++) {
      for (int j = 0; j < ow; j++) {
        for (int a = 0; a < kh; a++) {
          int y = i * stride_h + a - pad_top;
          for (int b = 0; b < kw; b++, in += c) {
            int x = j * stride_w + b - pad_left;
            if (y < 0 || y >= h || x < 0 || x >= w) continue;
            float *to = out + (y * w + x) * c;
            for (int ch = 0; ch < c; ch += 4) {
              int n = min(4, c - ch);
              store_first(to + ch, ADD(load_first(to + ch, n), load_first(in + ch, n)), n);
            }
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Filter gradient of a direct convolution: dW[r][o] = Σ_p x[at(p) + off(r)] · dy[p][o], for r = (a, b, c) over
// kh·kw·c_in and p over output pixels, a GEMM whose reduction runs over every output pixel. x is read channel-major
// (xt [c_in][n·hp·wp], from channels_first) so that each row r is a stream along the image rows (pixels of NHWC
// x lie c_in floats apart, a power of two in most networks, which maps them to a few L1 sets), and dy is packed in
// panels (pack_panels on dy as [pixels × c_out]). The reduction is cut into blocks of output pixels; each work item
// sums one block for 64 rows and 64 columns of dW into its own slice of `partial` [pixel block][k][c_out], which
// sum_partials then adds up: the same sums in the same order on any number of threads. Items are (pixel block,
// row block, panel group).

// xt[c][p] = x[p][c] for p over `pixels`; items are blocks of 64 pixels.
EXPORT(channels_first)
void channels_first(const float *x, int pixels, int c, float *xt, int begin, int end) {
  for (int item = begin; item < end; item++) {
    int p0 = item * M_BLOCK, p1 = min(pixels, p0 + M_BLOCK);
    int p = p0;
    for (; p + 4 <= p1; p += 4) {
      int ch = 0;
      for (; ch + 4 <= c; ch += 4) {
        f4 r0 = wasm_v128_load(x + p * c + ch), r1 = wasm_v128_load(x + (p + 1) * c + ch);
        f4 r2 = wasm_v128_load(x + (p + 2) * c + ch), r3 = wasm_v128_load(x + (p + 3) * c + ch);
        f4 t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5);
        f4 t2 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
        wasm_v128_store(xt + ch * pixels + p, wasm_i32x4_shuffle(t0, t1, 0, 1, 4, 5));
        wasm_v128_store(xt + (ch + 1) * pixels + p, wasm_i32x4_shuffle(t0, t1, 2, 3, 6, 7));
        wasm_v128_store(xt + (ch + 2) * pixels + p, wasm_i32x4_shuffle(t2, t3, 0, 1, 4, 5));
        wasm_v128_store(xt + (ch + 3) * pixels + p, wasm_i32x4_shuffle(t2, t3, 2, 3, 6, 7));
      }
      for (; ch < c; ch++) {
        for (int q = p; q < p + 4; q++) xt[ch * pixels + q] = x[q * c + ch];
      }
    }
    for (; p < p1; p++) {
      for (int ch = 0; ch < c; ch++) xt[ch * pixels + p] = x[p * c + ch];
    }
  }
}

INLINE int tap_offset(int r, int kw, int c_in, int wp, int plane) {
  int tap = r / c_in, c = r - tap * c_in, a = tap / kw, b = tap - a * kw;
  return c * plane + a * wp + b;
}

// The 4×8 sums of rows with offsets o0..o3 and one panel over pixels [p0, p1), added to c (or written); `at`
// holds each output pixel's offset in xt (output rows are as short as 3 pixels in deep layers, so a table beats
// tracking rows in the loop).
INLINE void filter_grad_4x8(const float *xt, const int *at, const float *dyp, int p0, int p1, int o0, int o1, int o2,
                            int o3, int rows, float *c, int ldc, int cols, int accumulate) {
  f4 c00 = SPLAT(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const float *x0 = xt + o0, *x1 = xt + o1, *x2 = xt + o2, *x3 = xt + o3;
  const float *b = dyp + p0 * PANEL;
  for (int p = p0; p < p1; p++, b += PANEL) {
    f4 b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4), v;
    int q = at[p];
    v = wasm_v128_load32_splat(x0 + q);
    c00 = MADD(v, b0, c00);
    c01 = MADD(v, b1, c01);
    v = wasm_v128_load32_splat(x1 + q);
    c10 = MADD(v, b0, c10);
    c11 = MADD(v, b1, c11);
    v = wasm_v128_load32_splat(x2 + q);
    c20 = MADD(v, b0, c20);
    c21 = MADD(v, b1, c21);
    v = wasm_v128_load32_splat(x3 + q);
    c30 = MADD(v, b0, c30);
    c31 = MADD(v, b1, c31);
  }
  write_row(c, c00, c01, cols, accumulate);
  if (rows > 1) write_row(c + ldc, c10, c11, cols, accumulate);
  if (rows > 2) write_row(c + 2 * ldc, c20, c21, cols, accumulate);
  if (rows > 3) write_row(c + 3 * ldc, c30, c31, cols, accumulate);
}

// at[p] = offset in xt [c_in][n·hp·wp] of output pixel p's top-left tap; items are output rows (image, i).
EXPORT(pixel_offsets)
void pixel_offsets(int hp, int wp, int oh, int ow, int stride_h, int stride_w, int *at, int begin, int end) {
  for (int row = begin; row < end; row++) {
    int image = row / oh, i = row - image * oh;
    int base = (image * hp + i * stride_h) * wp;
    for (int q = 0; q < ow; q++) at[row * ow + q] = base + q * stride_w;
  }
}

enum { SUB_BLOCK_PIXELS = 256 }; // pixels of a panel of dy (8 KiB) that stay in L1 while every row of a block passes

EXPORT(conv_filter_grad)
void conv_filter_grad(const float *xt, int plane, const int *at, int wp, int c_in, int kh, int kw, const float *dyp,
                      int pixels, int c_out, int pixels_per_block, float *partial, int begin, int end) {
  int k = kh * kw * c_in;
  int row_blocks = blocks(k, M_BLOCK), groups = blocks(panels(c_out), PANEL_GROUP);
  for (int item = begin; item < end; item++) {
    int pixel_block = item / (row_blocks * groups), rest = item - pixel_block * row_blocks * groups;
    int row_block = rest / groups, group = rest - row_block * groups;
    int first = pixel_block * pixels_per_block, last = min(pixels, first + pixels_per_block);
    float *out = partial + pixel_block * k * c_out;
    int r1 = min(k, (row_block + 1) * M_BLOCK), j1 = min(panels(c_out), (group + 1) * PANEL_GROUP);
    for (int j = group * PANEL_GROUP; j < j1; j++) {
      int cols = min(PANEL, c_out - j * PANEL);
      const float *panel = dyp + j * pixels * PANEL;
      for (int p0 = first; p0 < last; p0 += SUB_BLOCK_PIXELS) {
        int p1 = min(last, p0 + SUB_BLOCK_PIXELS);
        for (int r = row_block * M_BLOCK; r < r1; r += 4) {
          int rows = min(4, r1 - r);
          // Rows past the block's end read row r's offsets again and are not written.
          int o0 = tap_offset(r, kw, c_in, wp, plane), o1 = tap_offset(r + min(1, rows - 1), kw, c_in, wp, plane);
          int o2 = tap_offset(r + min(2, rows - 1), kw, c_in, wp, plane);
          int o3 = tap_offset(r + min(3, rows - 1), kw, c_in, wp, plane);
          filter_grad_4x8(xt, at, panel, p0, p1, o0, o1, o2, o3, rows, out + r * c_out + j * PANEL, c_out, cols,
                          p0 > first);
        }
      }
    }
  }
}

// out[i] = Σ_b partial[b][i] over `count` slices of `size` floats, in slice order; items are runs of 1024 floats.
EXPORT(sum_partials)
void sum_partials(const float *partial, int count, int size, float *out, int begin, int end) {
  for (int item = begin; item < end; item++) {
    int i1 = min(size, (item + 1) * 1024);
    for (int i = item * 1024; i < i1; i += 4) {
      int n = min(4, i1 - i);
      f4 sum = load_first(partial + i, n);
      for (int b = 1; b < count; b++) sum = ADD(sum, load_first(partial + b * size + i, n));
      store_first(out + i, sum, n);
    }
  }
}

// xp [n, hp, wp, c]: x [n, h, w, c] placed at (pad_top, pad_left), zeros around (x cut where it reaches past xp);
// items are rows of xp over every image.
EXPORT(pad_input)
void pad_input(const float *x, int h, int w, int c, int pad_top, int pad_left, float *xp, int hp, int wp, int begin,
               int end) {
  int j0 = max(0, pad_left), j1 = min(wp, pad_left + w); // columns of xp that come from x
  for (int row = begin; row < end; row++) {
    int image = row / hp, i = row - image * hp - pad_top;
    float *out = xp + row * wp * c;
    if (i < 0 || i >= h || j1 <= j0) {
      for (int q = 0; q < wp * c; q += 4) store_first(out + q, SPLAT(0), min(4, wp * c - q));
      continue;
    }
    const float *in = x + ((image * h + i) * w + j0 - pad_left) * c;
    for (int q = 0; q < j0 * c; q += 4) store_first(out + q, SPLAT(0), min(4, j0 * c - q));
    for (int q = 0; q < (j1 - j0) * c; q += 4) {
      int n = min(4, (j1 - j0) * c - q);
      store_first(out + j0 * c + q, load_first(in + q, n), n);
    }
    for (int q = j1 * c; q < wp * c; q += 4) store_first(out + q, SPLAT(0), min(4, wp * c - q));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Winograd F(4×4, 3×3) (Lavin and Gray, 2015; interpolation points 0, ±1, ±2, ∞). A 6×6 input tile d and a 3×3
// filter g give the 4×4 output tile Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A: 36 multiplies per tile and channel pair
// instead of 144. Summed over input channels, each of the 36 positions of the product is one GEMM:
// M[pos] = V[pos] · U[pos], with V[pos] [tiles × Cin] and U[pos] [Cin × Cout].
//
// Tiles cover the output in steps of 4 (tile t = (image, tile row, tile column)); an input tile starts at
// (4·row − pad_top, 4·column − pad_left) and reads zeros outside the image.
//
// The input gradient is the same convolution of dy with the filter flipped and its channels swapped. The filter
// gradient follows from Y being linear in g: dL/dg = Gᵀ [(Bᵀ d B) ⊙ (A dY Aᵀ)] G, summed over tiles, so it is
// 36 GEMMs V[pos]ᵀ · Ŷ[pos] with the long reduction over tiles, then Gᵀ · G once per channel pair.

// Bᵀ d for one column (or row) of six.
#define INPUT_1D(d0, d1, d2, d3, d4, d5, o0, o1, o2, o3, o4, o5)                                             \
  do {                                                                                                        \
    f4 _four = SPLAT(4), _five = SPLAT(5), _two = SPLAT(2);                                                      \
    f4 _s34 = ADD(d3, d4), _s12 = ADD(d1, d2), _d43 = SUB(d4, d3), _d12 = SUB(d1, d2);                            \
    f4 _d42 = SUB(d4, d2), _d31 = SUB(d3, d1);                                                                  \
    o0 = ADD(SUB(MUL(_four, d0), MUL(_five, d2)), d4);                                                          \
    o1 = SUB(_s34, MUL(_four, _s12));                                                                            \
    o2 = ADD(_d43, MUL(_four, _d12));                                                                            \
    o3 = ADD(_d42, MUL(_two, _d31));                                                                             \
    o4 = SUB(_d42, MUL(_two, _d31));                                                                             \
    o5 = ADD(SUB(MUL(_four, d1), MUL(_five, d3)), d5);                                                          \
  } while (0)

// Aᵀ m: six products to four outputs.
#define OUTPUT_1D(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                                      \
  do {                                                                                                        \
    f4 _s12 = ADD(m1, m2), _d12 = SUB(m1, m2), _s34 = ADD(m3, m4), _d34 = SUB(m3, m4);                            \
    y0 = ADD(ADD(m0, _s12), _s34);                                                                              \
    y1 = ADD(_d12, MUL(SPLAT(2), _d34));                                                                        \
    y2 = ADD(_s12, MUL(SPLAT(4), _s34));                                                                        \
    y3 = ADD(ADD(_d12, MUL(SPLAT(8), _d34)), m5);                                                               \
  } while (0)

// G g: three filter taps to six.
#define FILTER_1D(g0, g1, g2, u0, u1, u2, u3, u4, u5)                                                          \
  do {                                                                                                        \
    f4 _s02 = ADD(g0, g2);                                                                                     \
    u0 = MUL(SPLAT(1.0f / 4), g0);                                                                            \
    u1 = MUL(SPLAT(-1.0f / 6), ADD(_s02, g1));                                                                 \
    u2 = MUL(SPLAT(-1.0f / 6), SUB(_s02, g1));                                                                 \
    f4 _e = ADD(MUL(SPLAT(1.0f / 24), g0), MUL(SPLAT(1.0f / 6), g2));                                          \
    u3 = ADD(_e, MUL(SPLAT(1.0f / 12), g1));                                                                   \
    u4 = SUB(_e, MUL(SPLAT(1.0f / 12), g1));                                                                   \
    u5 = g2;                                                                                                  \
  } while (0)

// A z: four output gradients to six.
#define OUTPUT_GRAD_1D(y0, y1, y2, y3, z0, z1, z2, z3, z4, z5)                                                 \
  do {                                                                                                        \
    f4 _s02 = ADD(y0, y2), _s13 = ADD(y1, y3);                                                                  \
    f4 _e = ADD(y0, MUL(SPLAT(4), y2)), _o = ADD(MUL(SPLAT(2), y1), MUL(SPLAT(8), y3));                         \
    z0 = y0;                                                                                                  \
    z1 = ADD(_s02, _s13);                                                                                       \
    z2 = SUB(_s02, _s13);                                                                                       \
    z3 = ADD(_e, _o);                                                                                           \
    z4 = SUB(_e, _o);                                                                                           \
    z5 = y3;                                                                                                  \
  } while (0)

// Gᵀ m: six positions to three filter taps.
#define FILTER_GRAD_1D(m0, m1, m2, m3, m4, m5, g0, g1, g2)                                                     \
  do {                                                                                                        \
    f4 _s12 = ADD(m1, m2), _d12 = SUB(m1, m2), _s34 = ADD(m3, m4), _d34 = SUB(m3, m4);                            \
    g0 = ADD(ADD(MUL(SPLAT(1.0f / 4), m0), MUL(SPLAT(-1.0f / 6), _s12)), MUL(SPLAT(1.0f / 24), _s34));          \
    g1 = ADD(MUL(SPLAT(-1.0f / 6), _d12), MUL(SPLAT(1.0f / 12), _d34));                                         \
    g2 = ADD(ADD(MUL(SPLAT(-1.0f / 6), _s12), MUL(SPLAT(1.0f / 6), _s34)), m5);                                 \
  } while (0)

typedef struct {
  int tiles_h, tiles_w;
} TileGrid;

INLINE void tile_origin(TileGrid grid, int t, int *image, int *row, int *col) {
  int per_image = grid.tiles_h * grid.tiles_w;
  *image = t / per_image;
  int r = t - *image * per_image;
  *row = r / grid.tiles_w;
  *col = r - *row * grid.tiles_w;
}

// V[pos][t][c] = (Bᵀ d B)[pos] for the 6×6 input tiles of x [n, h, w, c], ldv ≥ c floats from one tile to the
// next; items are tiles.
EXPORT(winograd_input)
void winograd_input(const float *x, int h, int w, int c, int pad_top, int pad_left, int tiles_h, int tiles_w,
                    int tiles, float *v, int ldv, int begin, int end) {
  TileGrid grid = {tiles_h, tiles_w};
  int pos_stride = tiles * ldv;
  for (int t = begin; t < end; t++) {
    int image, row, col;
    tile_origin(grid, t, &image, &row, &col);
    int y0 = 4 * row - pad_top, x0 = 4 * col - pad_left;
    // Rows and columns of the tile inside the image.
    int r_lo = max(0, -y0), r_hi = min(6, h - y0), q_lo = max(0, -x0), q_hi = min(6, w - x0);
    // An offset, not a pointer: the tile's corner may lie outside x (only the loads inside it happen).
    int corner = ((image * h + y0) * w + x0) * c;
    float *out = v + t * ldv;
    for (int ch = 0; ch < c; ch += 4) {
      int n = min(4, c - ch);
      f4 e[6][6];
#pragma clang loop unroll(full)
      for (int q = 0; q < 6; q++) {
        f4 d[6];
#pragma clang loop unroll(full)
        for (int r = 0; r < 6; r++) {
          d[r] = r >= r_lo && r < r_hi && q >= q_lo && q < q_hi ? load_first(x + corner + (r * w + q) * c + ch, n)
                                                                    : SPLAT(0);
        }
        INPUT_1D(d[0], d[1], d[2], d[3], d[4], d[5], e[0][q], e[1][q], e[2][q], e[3][q], e[4][q], e[5][q]);
      }
#pragma clang loop unroll(full)
      for (int i = 0; i < 6; i++) {
        f4 o[6];
        INPUT_1D(e[i][0], e[i][1], e[i][2], e[i][3], e[i][4], e[i][5], o[0], o[1], o[2], o[3], o[4], o[5]);
#pragma clang loop unroll(full)
        for (int j = 0; j < 6; j++) store_first(out + (i * 6 + j) * pos_stride + ch, o[j], n);
      }
    }
  }
}

// y [n, oh, ow, c] from M[pos][t][c] = the 36 GEMM products; items are tiles.
EXPORT(winograd_output)
void winograd_output(const float *m, int tiles, int c, float *y, int oh, int ow, int tiles_h, int tiles_w,
                     int begin, int end) {
  TileGrid grid = {tiles_h, tiles_w};
  int pos_stride = tiles * c;
  for (int t = begin; t < end; t++) {
    int image, row, col;
    tile_origin(grid, t, &image, &row, &col);
    int y0 = 4 * row, x0 = 4 * col;
    int r_hi = min(4, oh - y0), q_hi = min(4, ow - x0);
    const float *in = m + t * c;
    float *base = y + ((image * oh + y0) * ow + x0) * c;
    for (int ch = 0; ch < c; ch += 4) {
      int n = min(4, c - ch);
      f4 e[4][6];
#pragma clang loop unroll(full)
      for (int j = 0; j < 6; j++) {
        f4 s[6];
#pragma clang loop unroll(full)
        for (int i = 0; i < 6; i++) s[i] = load_first(in + (i * 6 + j) * pos_stride + ch, n);
        OUTPUT_1D(s[0], s[1], s[2], s[3], s[4], s[5], e[0][j], e[1][j], e[2][j], e[3][j]);
      }
#pragma clang loop unroll(full)
      for (int r = 0; r < 4; r++) {
        f4 o[4];
        OUTPUT_1D(e[r][0], e[r][1], e[r][2], e[r][3], e[r][4], e[r][5], o[0], o[1], o[2], o[3]);
#pragma clang loop unroll(full)
        for (int q = 0; q < 4; q++) {
          if (r < r_hi && q < q_hi) store_first(base + (r * ow + q) * c + ch, o[q], n);
        }
      }
    }
  }
}

// U[pos] = (G g Gᵀ)[pos] packed as the GEMM's right-hand side: u[pos][panel][k][8]. The filter element of tap
// (a, b), reduction index kk and output index nn is w[(a·3 + b)·k·n + kk·k_stride + nn·n_stride], taps flipped
// (w[2 − a][2 − b]) for the input gradient. Items are panels of 8 output indices.
EXPORT(winograd_filter)
void winograd_filter(const float *w, int k, int n, int k_stride, int n_stride, int flip, float *u, int begin,
                     int end) {
  int tap_stride = k * n;
  int pos_stride = panels(n) * k * PANEL;
  for (int panel = begin; panel < end; panel++) {
    for (int half = 0; half < PANEL; half += 4) {
      int nn = panel * PANEL + half;
      int count = max(0, min(4, n - nn));
      for (int kk = 0; kk < k; kk++) {
        const float *src = w + kk * k_stride + nn * n_stride;
        f4 g[3][3];
#pragma clang loop unroll(full)
        for (int a = 0; a < 3; a++) {
#pragma clang loop unroll(full)
          for (int b = 0; b < 3; b++) {
            int tap = flip ? (2 - a) * 3 + (2 - b) : a * 3 + b;
            g[a][b] = gather_first(src + tap * tap_stride, n_stride, count);
          }
        }
        f4 e[6][3];
#pragma clang loop unroll(full)
        for (int b = 0; b < 3; b++)
          FILTER_1D(g[0][b], g[1][b], g[2][b], e[0][b], e[1][b], e[2][b], e[3][b], e[4][b], e[5][b]);
        float *out = u + (panel * k + kk) * PANEL + half;
#pragma clang loop unroll(full)
        for (int i = 0; i < 6; i++) {
          f4 o[6];
          FILTER_1D(e[i][0], e[i][1], e[i][2], o[0], o[1], o[2], o[3], o[4], o[5]);
#pragma clang loop unroll(full)
          for (int j = 0; j < 6; j++) wasm_v128_store(out + (i * 6 + j) * pos_stride, o[j]);
        }
      }
    }
  }
}

// M[pos] = V[pos] · U[pos] for V [tiles × k] and packed U; items are (position, block of 64 tiles).
EXPORT(winograd_gemm)
void winograd_gemm(const float *v, const float *u, float *m, int tiles, int k, int n, int begin, int end) {
  int row_blocks = blocks(tiles, M_BLOCK);
  for (int item = begin; item < end; item++) {
    int pos = item / row_blocks, i0 = (item - pos * row_blocks) * M_BLOCK;
    Gemm g = {v + (pos * tiles + i0) * k, k, 1, u + pos * panels(n) * k * PANEL, k * PANEL,
              m + (pos * tiles + i0) * n, n};
    gemm(&g, min(M_BLOCK, tiles - i0), n, k, 0);
  }
}

// Ŷ[pos] = (A dY Aᵀ)[pos] for the 4×4 tiles of dy [n, oh, ow, c], packed as the filter-gradient GEMM's
// right-hand side: yp[pos][panel][t][8] (zeros past c). Items are tiles.
EXPORT(winograd_output_grad)
void winograd_output_grad(const float *dy, int oh, int ow, int c, int tiles_h, int tiles_w, int tiles,
                          float *yp, int begin, int end) {
  TileGrid grid = {tiles_h, tiles_w};
  int pos_stride = panels(c) * tiles * PANEL;
  for (int t = begin; t < end; t++) {
    int image, row, col;
    tile_origin(grid, t, &image, &row, &col);
    int y0 = 4 * row, x0 = 4 * col;
    int r_hi = min(4, oh - y0), q_hi = min(4, ow - x0);
    const float *base = dy + ((image * oh + y0) * ow + x0) * c;
    for (int ch = 0; ch < panels(c) * PANEL; ch += 4) {
      int n = max(0, min(4, c - ch));
      f4 e[6][4];
#pragma clang loop unroll(full)
      for (int q = 0; q < 4; q++) {
        f4 s[4];
#pragma clang loop unroll(full)
        for (int r = 0; r < 4; r++) s[r] = r < r_hi && q < q_hi ? load_first(base + (r * ow + q) * c + ch, n) : SPLAT(0);
        OUTPUT_GRAD_1D(s[0], s[1], s[2], s[3], e[0][q], e[1][q], e[2][q], e[3][q], e[4][q], e[5][q]);
      }
      float *out = yp + ((ch / PANEL) * tiles + t) * PANEL + ch % PANEL;
#pragma clang loop unroll(full)
      for (int i = 0; i < 6; i++) {
        f4 o[6];
        OUTPUT_GRAD_1D(e[i][0], e[i][1], e[i][2], e[i][3], o[0], o[1], o[2], o[3], o[4], o[5]);
#pragma clang loop unroll(full)
        for (int j = 0; j < 6; j++) wasm_v128_store(out + (i * 6 + j) * pos_stride, o[j]);
      }
    }
  }
}

// Mw[pos] = V[pos]ᵀ · Ŷ[pos] [cin × cout], the reduction over all tiles; items are (position, block of 64 input
// channels). It reads V down its columns, one tile row per step: with ldv a power of two (cin = 64…512) those rows
// would all map to a few L1 sets, so the caller pads ldv (cin + 4).
EXPORT(winograd_filter_gemm)
void winograd_filter_gemm(const float *v, int ldv, const float *yp, float *mw, int tiles, int cin, int cout,
                          int begin, int end) {
  int row_blocks = blocks(cin, M_BLOCK);
  for (int item = begin; item < end; item++) {
    int pos = item / row_blocks, i0 = (item - pos * row_blocks) * M_BLOCK;
    Gemm g = {v + pos * tiles * ldv + i0, 1, ldv, yp + pos * panels(cout) * tiles * PANEL, tiles * PANEL,
              mw + (pos * cin + i0) * cout, cout};
    gemm(&g, min(M_BLOCK, cin - i0), cout, tiles, 0);
  }
}

// dW [3, 3, cin, cout] = Gᵀ Mw G; items are input channels.
EXPORT(winograd_filter_grad)
void winograd_filter_grad(const float *mw, int cin, int cout, float *dw, int begin, int end) {
  int pos_stride = cin * cout, tap_stride = cin * cout;
  for (int ci = begin; ci < end; ci++) {
    for (int co = 0; co < cout; co += 4) {
      int n = min(4, cout - co);
      const float *in = mw + ci * cout + co;
      f4 e[3][6];
#pragma clang loop unroll(full)
      for (int j = 0; j < 6; j++) {
        f4 s[6];
#pragma clang loop unroll(full)
        for (int i = 0; i < 6; i++) s[i] = load_first(in + (i * 6 + j) * pos_stride, n);
        FILTER_GRAD_1D(s[0], s[1], s[2], s[3], s[4], s[5], e[0][j], e[1][j], e[2][j]);
      }
      float *out = dw + ci * cout + co;
#pragma clang loop unroll(full)
      for (int a = 0; a < 3; a++) {
        f4 o[3];
        FILTER_GRAD_1D(e[a][0], e[a][1], e[a][2], e[a][3], e[a][4], e[a][5], o[0], o[1], o[2]);
#pragma clang loop unroll(full)
        for (int b = 0; b < 3; b++) store_first(out + (a * 3 + b) * tap_stride, o[b], n);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Max-pool gradient: each output's gradient goes to its window's first maximum (the cpu backend's and PyTorch's
// choice), four channels at a time. Windows overlap, so threads split the work by image; items are images.

INLINE void add_lane(float *dx, int at, float g) {
  if (at >= 0) dx[at] += g;
}

EXPORT(max_pool_grad)
void max_pool_grad(const float *x, const float *dy, float *dx, int h, int w, int c, int oh, int ow, int fh, int fw,
                   int sh, int sw, int pad_top, int pad_left, int begin, int end) {
  for (int image = begin; image < end; image++) {
    float *out = dx + image * h * w * c;
    for (int q = 0; q < h * w * c; q += 4) store_first(out + q, SPLAT(0), min(4, h * w * c - q));
    for (int i = 0; i < oh; i++) {
      for (int j = 0; j < ow; j++) {
        const float *g = dy + ((image * oh + i) * ow + j) * c;
        for (int ch = 0; ch < c; ch += 4) {
          int n = min(4, c - ch);
          f4 best = SPLAT(-__builtin_inff());
          v128_t where = wasm_i32x4_splat(-1);
          for (int a = 0; a < fh; a++) {
            int y = i * sh - pad_top + a;
            if (y < 0 || y >= h) continue;
            for (int b = 0; b < fw; b++) {
              int xx = j * sw - pad_left + b;
              if (xx < 0 || xx >= w) continue;
              int at = (y * w + xx) * c + ch;
              f4 v = load_first(x + image * h * w * c + at, n);
              v128_t greater = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, greater);
              where = wasm_v128_bitselect(wasm_i32x4_splat(at), where, greater);
            }
          }
          f4 grad = load_first(g + ch, n);
          add_lane(out, wasm_i32x4_extract_lane(where, 0), wasm_f32x4_extract_lane(grad, 0));
          if (n > 1) add_lane(out + 1, wasm_i32x4_extract_lane(where, 1), wasm_f32x4_extract_lane(grad, 1));
          if (n > 2) add_lane(out + 2, wasm_i32x4_extract_lane(where, 2), wasm_f32x4_extract_lane(grad, 2));
          if (n > 3) add_lane(out + 3, wasm_i32x4_extract_lane(where, 3), wasm_f32x4_extract_lane(grad, 3));
        }
      }
    }
  }
}
