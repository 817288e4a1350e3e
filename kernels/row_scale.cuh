// Row-scale kernels (row_scale.h). Forward: one thread per element of z (grid-stride), each adds to its own
// out element, so blocks written at the same offset by successive launches stay ordered. Backward: one thread
// per row walks its D columns, writing dz and summing dw in column order (deterministic; D is a hidden size,
// tens of columns).
#pragma once
#include "kernels/activation.cuh"  // pointwise_config
#include "kernels/launch.h"
#include "kernels/row_scale.h"

namespace ad {

struct ScaleRowsIntoColumnsKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* z, const float* w, float* out, int64_t rows, int64_t d, int64_t f,
                        int64_t offset) {
    const int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x, n = rows * d;
    for (int64_t e = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; e < n; e += stride) {
      const int64_t i = e / d, c = e - i * d;
      out[i * f + offset + c] += w[i] * z[e];
    }
  }
};

struct ScaleRowsIntoColumnsBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* z, const float* w, const float* dout, float* dz, float* dw,
                        int64_t rows, int64_t d, int64_t f, int64_t offset) {
    const int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < rows; i += stride) {
      float s = 0.f;
      for (int64_t c = 0; c < d; ++c) {
        const float g = dout[i * f + offset + c];
        dz[i * d + c] = g * w[i];
        s += g * z[i * d + c];
      }
      dw[i] = s;
    }
  }
};

template <class L>
void launch_scale_rows_into_columns(L& l, const float* z, const float* w, float* out, int64_t rows, int64_t d,
                                    int64_t f, int64_t offset) {
  if (rows * d == 0) return;
  l.template launch<ScaleRowsIntoColumnsKernel>(pointwise_config(rows * d), z, w, out, rows, d, f, offset);
}
template <class L>
void launch_scale_rows_into_columns_backward(L& l, const float* z, const float* w, const float* dout, float* dz,
                                             float* dw, int64_t rows, int64_t d, int64_t f, int64_t offset) {
  if (rows == 0) return;
  l.template launch<ScaleRowsIntoColumnsBackwardKernel>(pointwise_config(rows, 128), z, w, dout, dz, dw, rows, d, f,
                                                        offset);
}

}  // namespace ad
