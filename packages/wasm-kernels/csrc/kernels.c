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

// V[pos][t][c] = (Bᵀ d B)[pos] for the 6×6 input tiles of x [n, h, w, c]; items are tiles.
EXPORT(winograd_input)
void winograd_input(const float *x, int h, int w, int c, int pad_top, int pad_left, int tiles_h, int tiles_w,
                    int tiles, float *v, int begin, int end) {
  TileGrid grid = {tiles_h, tiles_w};
  int pos_stride = tiles * c;
  for (int t = begin; t < end; t++) {
    int image, row, col;
    tile_origin(grid, t, &image, &row, &col);
    int y0 = 4 * row - pad_top, x0 = 4 * col - pad_left;
    // Rows and columns of the tile inside the image.
    int r_lo = max(0, -y0), r_hi = min(6, h - y0), q_lo = max(0, -x0), q_hi = min(6, w - x0);
    // An offset, not a pointer: the tile's corner may lie outside x (only the loads inside it happen).
    int corner = ((image * h + y0) * w + x0) * c;
    float *out = v + t * c;
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
// channels).
EXPORT(winograd_filter_gemm)
void winograd_filter_gemm(const float *v, const float *yp, float *mw, int tiles, int cin, int cout, int begin,
                          int end) {
  int row_blocks = blocks(cin, M_BLOCK);
  for (int item = begin; item < end; item++) {
    int pos = item / row_blocks, i0 = (item - pos * row_blocks) * M_BLOCK;
    Gemm g = {v + pos * tiles * cin + i0, 1, cin, yp + pos * panels(cout) * tiles * PANEL, tiles * PANEL,
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
