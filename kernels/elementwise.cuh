// Elementwise kernels (grid-stride loops) and the column-sum kernel behind add_bias_rows_backward.
#pragma once
#include "kernels/activation.cuh"  // pointwise_config
#include "kernels/elementwise.h"
#include "kernels/launch.h"

namespace ad {

#define AD_GRID_STRIDE_LOOP(ctx, i, n)                                                                \
  for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x,              \
               i##_stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;                            \
       i < (n); i += i##_stride)

struct AxpbyKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* a, const float* b, float* out, int64_t n, float alpha, float beta) {
    AD_GRID_STRIDE_LOOP(ctx, i, n) out[i] = beta == 0.f ? alpha * a[i] : alpha * a[i] + beta * b[i];
  }
};

struct ScaleKernel {
  template <class Ctx> AD_HD static void run(Ctx& ctx, const float* x, float* y, int64_t n, float alpha) {
    AD_GRID_STRIDE_LOOP(ctx, i, n) y[i] = alpha * x[i];
  }
};

struct MulKernel {
  template <class Ctx> AD_HD static void run(Ctx& ctx, const float* a, const float* b, float* out, int64_t n) {
    AD_GRID_STRIDE_LOOP(ctx, i, n) out[i] = a[i] * b[i];
  }
};

struct FillKernel {
  template <class Ctx> AD_HD static void run(Ctx& ctx, float* x, int64_t n, float value) {
    AD_GRID_STRIDE_LOOP(ctx, i, n) x[i] = value;
  }
};

struct AddBiasRowsKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, float* x, const float* bias, int64_t rows, int64_t cols) {
    AD_GRID_STRIDE_LOOP(ctx, i, rows * cols) x[i] += bias[i % cols];
  }
};

// Column sums of x[rows, cols]. Block (32, 8): threadIdx.x picks the column (coalesced reads along a
// row), threadIdx.y strides over rows; the 8 partial sums per column are combined by a tree in shared
// memory. grid.x covers the columns 32 at a time; grid.y splits tall inputs into row slices. With one
// slice the block writes its column sums; with several, each slice stores its sums in a workspace
// [slice][cols] and ColumnSumFinishKernel adds them up in slice order. Either way the result is the same
// on every run (float atomics over the slices made it depend on the order blocks finish).
struct ColumnSumKernel {
  static constexpr unsigned kCols = 32, kRows = 8;
  static constexpr int64_t kRowsPerSlice = 512;
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, float* out, float* partial, int64_t rows, int64_t cols,
                        float scale, bool accumulate) {
    unsigned tx = ctx.thread_idx().x, ty = ctx.thread_idx().y, bx = ctx.block_dim().x, by = ctx.block_dim().y;
    float* buf = shared_array<float>(ctx, size_t(bx) * by);
    int64_t c = int64_t(ctx.block_idx().x) * bx + tx;
    unsigned slices = ctx.grid_dim().y;
    int64_t per = (rows + slices - 1) / slices;
    int64_t r0 = int64_t(ctx.block_idx().y) * per, r1 = r0 + per < rows ? r0 + per : rows;
    float s = 0.f;
    if (c < cols)
      for (int64_t r = r0 + ty; r < r1; r += by) s += x[r * cols + c];
    buf[ty * bx + tx] = s;
    ctx.sync();
    for (unsigned h = by / 2; h > 0; h /= 2) {
      if (ty < h) buf[ty * bx + tx] += buf[(ty + h) * bx + tx];
      ctx.sync();
    }
    if (ty == 0 && c < cols) {
      if (slices > 1) partial[int64_t(ctx.block_idx().y) * cols + c] = buf[tx];
      else out[c] = accumulate ? out[c] + scale * buf[tx] : scale * buf[tx];
    }
  }
};

// out[c] = (accumulate ? out[c] : 0) + scale * sum over slices of partial[slice][c], slices in order.
struct ColumnSumFinishKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* partial, float* out, int64_t slices, int64_t cols, float scale,
                        bool accumulate) {
    AD_GRID_STRIDE_LOOP(ctx, c, cols) {
      float s = 0.f;
      for (int64_t sl = 0; sl < slices; ++sl) s += partial[sl * cols + c];
      out[c] = accumulate ? out[c] + scale * s : scale * s;
    }
  }
};

inline unsigned column_sum_slices(int64_t rows) {
  int64_t s = rows / ColumnSumKernel::kRowsPerSlice;
  return unsigned(s < 1 ? 1 : (s > 1024 ? 1024 : s));
}

// Floats of workspace launch_column_sums needs (0 when one slice covers the rows).
inline int64_t column_sum_workspace(int64_t rows, int64_t cols) {
  const unsigned slices = column_sum_slices(rows);
  return slices > 1 ? int64_t(slices) * cols : 0;
}

inline LaunchConfig column_sum_config(int64_t rows, int64_t cols) {
  using K = ColumnSumKernel;
  return LaunchConfig{{blocks_for(cols, K::kCols), column_sum_slices(rows)}, {K::kCols, K::kRows},
                      K::kCols * K::kRows * sizeof(float)};
}

template <class L>
void launch_axpby(L& l, const float* a, const float* b, float* out, int64_t n, float alpha, float beta) {
  l.template launch<AxpbyKernel>(pointwise_config(n), a, b, out, n, alpha, beta);
}
template <class L> void launch_scale(L& l, const float* x, float* y, int64_t n, float alpha) {
  l.template launch<ScaleKernel>(pointwise_config(n), x, y, n, alpha);
}
template <class L> void launch_mul(L& l, const float* a, const float* b, float* out, int64_t n) {
  l.template launch<MulKernel>(pointwise_config(n), a, b, out, n);
}
template <class L> void launch_fill(L& l, float* x, int64_t n, float value) {
  l.template launch<FillKernel>(pointwise_config(n), x, n, value);
}
template <class L> void launch_add_bias_rows(L& l, float* x, const float* bias, int64_t rows, int64_t cols) {
  if (cols == 0) return;
  l.template launch<AddBiasRowsKernel>(pointwise_config(rows * cols), x, bias, rows, cols);
}
// `partial` holds column_sum_workspace(rows, cols) floats (may be null when that is 0).
template <class L>
void launch_column_sums(L& l, const float* x, float* out, float* partial, int64_t rows, int64_t cols, float scale,
                        bool accumulate) {
  if (cols == 0) return;
  LaunchConfig cfg = column_sum_config(rows, cols);
  l.template launch<ColumnSumKernel>(cfg, x, out, partial, rows, cols, scale, accumulate);
  if (cfg.grid.y > 1)
    l.template launch<ColumnSumFinishKernel>(pointwise_config(cols), static_cast<const float*>(partial), out,
                                             int64_t(cfg.grid.y), cols, scale, accumulate);
}

}  // namespace ad
