// Row softmax kernels: one block per row, threads stride over the columns, block_reduce (reduce.cuh)
// for the row max and the sum of exponentials (forward) or of dy * y (backward).
#pragma once
#include <cmath>

#include "kernels/launch.h"
#include "kernels/reduce.cuh"
#include "kernels/softmax.h"

namespace ad {

struct SoftmaxForwardKernel {
  template <class Ctx> AD_HD static void run(Ctx& ctx, const float* x, float* y, int64_t cols) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    int64_t off = int64_t(ctx.block_idx().x) * cols;
    float m = -INFINITY;
    for (int64_t c = t; c < cols; c += nt) m = m > x[off + c] ? m : x[off + c];
    m = block_reduce(ctx, buf, m, MaxOp{});
    float s = 0.f;
    for (int64_t c = t; c < cols; c += nt) s += expf(x[off + c] - m);
    s = block_reduce(ctx, buf, s, SumOp{});
    float inv = 1.f / s;
    for (int64_t c = t; c < cols; c += nt) y[off + c] = expf(x[off + c] - m) * inv;
  }
};

struct SoftmaxBackwardKernel {
  template <class Ctx> AD_HD static void run(Ctx& ctx, const float* y, const float* dy, float* dx, int64_t cols) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    int64_t off = int64_t(ctx.block_idx().x) * cols;
    float s = 0.f;
    for (int64_t c = t; c < cols; c += nt) s += dy[off + c] * y[off + c];
    s = block_reduce(ctx, buf, s, SumOp{});
    for (int64_t c = t; c < cols; c += nt) dx[off + c] = y[off + c] * (dy[off + c] - s);
  }
};

inline LaunchConfig softmax_config(int64_t rows, int64_t cols) {
  unsigned t = pow2_threads(cols, 32, 256);
  return LaunchConfig{{unsigned(rows)}, {t}, t * sizeof(float)};
}

template <class L> void launch_softmax_forward(L& l, const float* x, float* y, int64_t rows, int64_t cols) {
  l.template launch<SoftmaxForwardKernel>(softmax_config(rows, cols), x, y, cols);
}
template <class L>
void launch_softmax_backward(L& l, const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  l.template launch<SoftmaxBackwardKernel>(softmax_config(rows, cols), y, dy, dx, cols);
}

}  // namespace ad
