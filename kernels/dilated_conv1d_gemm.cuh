// The GEMM path of the causal dilated conv (kernels/dilated_conv1d.h) for large shapes: each pass is a dense
// matrix product over the B*T rows (cuBLAS on the GPU, TF32 tensor cores when the `tf32` switch of kernels/gemm.h
// is on), with the K taps side by side in its inner dimension (causal im2col; the CPU path, cpu_blas in
// dilated_conv1d.cpp, is the same formulation). With shift_k = (K-1-k)*d and W [K, C_in, C_out] read as a
// [K*C_in, C_out] matrix:
//   forward:  y   = cols(x) W, then + bias per row,   cols(x)[n, j*C_in + c]   = x[b, t - shift_(k0+j), c]  (0 before 0)
//   dx:       dx  = rcols(dy) Wt,                      rcols(dy)[n, j*C_out + o] = dy[b, t + shift_(k0+j), o] (0 past T)
//             Wt[j*C_out + o, c] = w[k0+j, c, o] (each tap's block transposed: ConvWeightTransposeKernel)
//   dW:       dW += cols(x)^T dy;   db += column sums of dy (ColumnSumKernel, a fixed order)
// Taps that only ever read padding (shift >= T) are a prefix k < k0 and are left out; with one tap left (K 1, or
// T <= d) that tap has shift 0 and the products read x / dy in place, with no buffer.
//
// Why im2col and not K per-tap products accumulating with beta = 1 (channels last, tap k is x at row offset
// -shift_k, so per tap a strided-batched GEMM over B needs no buffer): the weight gradient sums over the batch,
// which a strided-batched product cannot do (it would need B partial dW and a reduction, or B*K launches); one
// product with inner size K*C_in runs nearer to peak than K products of C_in and writes y once instead of K
// read-modify-writes; and it needs only the one cuBLAS entry point we have (kernels/gemm: the TF32 switch, the
// emulated device's stand-in, so this path runs in CI). The price is the buffer, K*C floats per row, written once
// and read once by the product, which does 2*C_out flops per float read (C 256: 512): small next to the product.
// It comes from the caching allocator and is bounded: rows are processed in chunks of at most
// kConvGemmWorkspaceFloats floats of buffer; dW's chunks accumulate in order.
// Deterministic: cuBLAS gives the same bits on every run of a given GPU and toolkit (its atomics mode is off by
// default), and the bias column sums run in a fixed order.
//
// When Auto picks it (conv_use_gemm): C_in >= 64, C_out >= 64, one of them >= 128 and B*T >= 4096, the regime of
// the measured 3x loss to cuDNN (C 256, T 1024, B 32); below that the tile kernels keep their lead on small shapes
// (87 us vs cuDNN's 333 us, H100). The thresholds are provisional: the path's speed is unmeasured on a GPU so far
// (tools/sweeps/gpu_conv_vs_cudnn.sh measures tile, wide tile, GEMM in f32 and TF32, and cuDNN by shape).
#pragma once
#include "kernels/dilated_conv1d.h"
#include "kernels/elementwise.cuh"
#include "kernels/launch.h"

namespace ad {

// im2col buffer cap per chunk of rows: 64 MiB (C 256, K 2, T 1024, B 32 needs exactly this in one chunk).
constexpr int64_t kConvGemmWorkspaceFloats = int64_t(1) << 24;

inline bool conv_use_gemm(const Conv1dShape& s) {
  const int64_t lo = s.cin < s.cout ? s.cin : s.cout, hi = s.cin < s.cout ? s.cout : s.cin;
  return lo >= 64 && hi >= 128 && s.batch * s.steps >= 4096;
}

// One pass's plan; `width` is the channel count of the matrix that is unrolled (C_in: forward and dW; C_out: dx).
struct ConvGemmPlan {
  int64_t k0, taps;     // taps k0 .. K-1 can reach data
  int64_t inner;        // taps * width: the product's inner size
  int64_t chunk_rows;   // rows of B*T per product
  int64_t cols_floats;  // im2col buffer (0 with one tap: the product reads the input in place)
};
inline ConvGemmPlan conv_gemm_plan(const Conv1dShape& s, int64_t width,
                                   int64_t max_floats = kConvGemmWorkspaceFloats) {
  const int64_t reachable = s.steps > 0 ? (s.steps - 1) / s.dilation : 0;  // largest shift index inside T
  const int64_t k0 = s.ksize - 1 - reachable > 0 ? s.ksize - 1 - reachable : 0;
  const int64_t taps = s.ksize - k0, inner = taps * width, rows = s.batch * s.steps;
  if (taps == 1) return ConvGemmPlan{k0, taps, inner, rows, 0};
  int64_t chunk = inner > 0 ? max_floats / inner : rows;
  chunk = chunk < 1 ? 1 : (chunk > rows ? rows : chunk);
  return ConvGemmPlan{k0, taps, inner, chunk, chunk * inner};
}
// Floats of transposed weights the backward-data pass needs (0 with one tap: it reads w transposed in place).
inline int64_t conv_gemm_wt_floats(const Conv1dShape& s) {
  const ConvGemmPlan p = conv_gemm_plan(s, s.cout);
  return p.taps > 1 ? p.inner * s.cin : 0;
}

struct ConvColumnsArgs {
  int64_t steps, width, ksize, dilation;
  int64_t k0, taps;
  int64_t dir;       // -1: look back (cols of x), +1: look ahead (rcols of dy)
  int64_t n0, rows;  // the chunk: rows n0 .. n0 + rows of B*T
};

// out[r, j*width + c] = in[b, t + dir*shift_(k0+j), c] for the chunk's row n = n0 + r = b*T + t; 0 outside [0, T).
// A block copies whole rows (grid-stride over them), its threads along the channels: reads and writes coalesce,
// and the 64-bit divisions happen once per row, not per element.
struct ConvColumnsKernel {
  template <class Ctx> AD_HD static void run(Ctx& ctx, ConvColumnsArgs a, const float* in, float* out) {
    const int64_t row = a.taps * a.width;
    for (int64_t r = ctx.block_idx().x; r < a.rows; r += ctx.grid_dim().x) {
      const int64_t n = a.n0 + r, t = n % a.steps;
      for (int64_t j = 0; j < a.taps; ++j) {
        const int64_t ts = t + a.dir * (a.ksize - 1 - (a.k0 + j)) * a.dilation;
        const bool inside = ts >= 0 && ts < a.steps;
        const float* src = in + (inside ? (n - t + ts) * a.width : 0);
        float* dst = out + r * row + j * a.width;
        for (int64_t c = ctx.thread_idx().x; c < a.width; c += ctx.block_dim().x) dst[c] = inside ? src[c] : 0.f;
      }
    }
  }
};

// wt[j*C_out + o, c] = w[k0 + j, c, o] for j < taps. Small (K*C_in*C_out floats), so a plain loop.
struct ConvWeightTransposeKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* w, float* wt, int64_t k0, int64_t taps, int64_t cin, int64_t cout) {
    AD_GRID_STRIDE_LOOP(ctx, e, taps * cout * cin) {
      const int64_t c = e % cin, o = (e / cin) % cout, j = e / (cin * cout);
      wt[e] = w[((k0 + j) * cin + c) * cout + o];
    }
  }
};

template <class L>
void launch_conv_columns(L& l, const Conv1dShape& s, const ConvGemmPlan& p, int64_t width, int64_t dir, int64_t n0,
                         int64_t rows, const float* in, float* out) {
  if (rows * p.inner == 0) return;
  ConvColumnsArgs a{s.steps, width, s.ksize, s.dilation, p.k0, p.taps, dir, n0, rows};
  const unsigned threads = width >= 128 ? 128u : 32u;
  l.template launch<ConvColumnsKernel>(LaunchConfig{{unsigned(rows < 16384 ? rows : 16384)}, {threads}, 0}, a, in,
                                       out);
}

// The launchers take the GEMM as `gemm`, callable like the backend's (kernels/gemm.h: row-major, trans_a, trans_b,
// M, N, K, alpha, A, lda, B, ldb, beta, C, ldc), and their workspaces from the caller:
//   cols: conv_gemm_plan(s, width, max_floats).cols_floats floats (width C_in for forward and dW, C_out for dx).
template <class L, class Gemm>
void launch_conv_gemm_forward(L& l, const Gemm& gemm, const Conv1dShape& s, const float* x, const float* w,
                              const float* bias, float* y, float* cols,
                              int64_t max_floats = kConvGemmWorkspaceFloats) {
  const int64_t rows = s.batch * s.steps;
  if (rows == 0 || s.cout == 0) return;
  const ConvGemmPlan p = conv_gemm_plan(s, s.cin, max_floats);
  const float* wk = w + p.k0 * s.cin * s.cout;
  if (p.taps == 1) {
    gemm(false, false, rows, s.cout, p.inner, 1.f, x, s.cin, wk, s.cout, 0.f, y, s.cout);
  } else {
    for (int64_t n0 = 0; n0 < rows; n0 += p.chunk_rows) {
      const int64_t rc = rows - n0 < p.chunk_rows ? rows - n0 : p.chunk_rows;
      launch_conv_columns(l, s, p, s.cin, -1, n0, rc, x, cols);
      gemm(false, false, rc, s.cout, p.inner, 1.f, cols, p.inner, wk, s.cout, 0.f, y + n0 * s.cout, s.cout);
    }
  }
  if (bias) launch_add_bias_rows(l, y, bias, rows, s.cout);
}

// wt: conv_gemm_wt_floats(s) floats.
template <class L, class Gemm>
void launch_conv_gemm_backward_data(L& l, const Gemm& gemm, const Conv1dShape& s, const float* dy, const float* w,
                                    float* dx, float* cols, float* wt,
                                    int64_t max_floats = kConvGemmWorkspaceFloats) {
  const int64_t rows = s.batch * s.steps;
  if (rows == 0 || s.cin == 0) return;
  const ConvGemmPlan p = conv_gemm_plan(s, s.cout, max_floats);
  if (p.taps == 1) {  // dx = dy W_(K-1)^T, W's last block [C_in, C_out] read transposed
    gemm(false, true, rows, s.cin, s.cout, 1.f, dy, s.cout, w + (s.ksize - 1) * s.cin * s.cout, s.cout, 0.f, dx,
         s.cin);
    return;
  }
  if (p.inner > 0)
    l.template launch<ConvWeightTransposeKernel>(pointwise_config(p.inner * s.cin), w, wt, p.k0, p.taps, s.cin,
                                                 s.cout);
  for (int64_t n0 = 0; n0 < rows; n0 += p.chunk_rows) {
    const int64_t rc = rows - n0 < p.chunk_rows ? rows - n0 : p.chunk_rows;
    launch_conv_columns(l, s, p, s.cout, +1, n0, rc, dy, cols);
    gemm(false, false, rc, s.cin, p.inner, 1.f, cols, p.inner, wt, s.cin, 0.f, dx + n0 * s.cin, s.cin);
  }
}

// dw (and db when not null) accumulate; partial: column_sum_workspace(B*T, C_out) floats (kernels/elementwise.cuh).
template <class L, class Gemm>
void launch_conv_gemm_backward_params(L& l, const Gemm& gemm, const Conv1dShape& s, const float* x,
                                      const float* dy, float* dw, float* db, float* cols, float* partial,
                                      int64_t max_floats = kConvGemmWorkspaceFloats) {
  const int64_t rows = s.batch * s.steps;
  if (rows == 0 || s.cout == 0) return;
  const ConvGemmPlan p = conv_gemm_plan(s, s.cin, max_floats);
  float* dwk = dw + p.k0 * s.cin * s.cout;
  if (p.taps == 1) {
    gemm(true, false, p.inner, s.cout, rows, 1.f, x, s.cin, dy, s.cout, 1.f, dwk, s.cout);
  } else {
    for (int64_t n0 = 0; n0 < rows; n0 += p.chunk_rows) {  // chunks add into dW in order
      const int64_t rc = rows - n0 < p.chunk_rows ? rows - n0 : p.chunk_rows;
      launch_conv_columns(l, s, p, s.cin, -1, n0, rc, x, cols);
      gemm(true, false, p.inner, s.cout, rc, 1.f, cols, p.inner, dy + n0 * s.cout, s.cout, 1.f, dwk, s.cout);
    }
  }
  if (db) launch_column_sums(l, dy, db, partial, rows, s.cout, 1.f, true);
}

}  // namespace ad
