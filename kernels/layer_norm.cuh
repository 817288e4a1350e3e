// Layer-norm kernels (math in layer_norm.h). Rows are short (MUAD: 128 channels) and many, so one block per
// row with threads over the channels and block_reduce for the two row statistics (mean first, then the
// centred sum of squares: no cancellation from E[x^2] - E[x]^2). The parameter gradients are column sums
// over every row: a separate launch with one thread per column walking the rows in order (deterministic,
// no atomics; the row count per batch is small). A `threads` override must be a multiple of 32
// (block_reduce works warp by warp).
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/launch.h"
#include "kernels/layer_norm.h"
#include "kernels/reduce.cuh"
#include "kernels/shared_size.h"

namespace ad {

struct LayerNormForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* gamma, const float* beta, float eps, float* y,
                        float* mean, float* rstd, int64_t C) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t r = ctx.block_idx().x;
    const float* xr = x + r * C;
    float s = 0.f;
    for (int64_t c = t; c < C; c += nt) s += xr[c];
    const float m = block_reduce(ctx, buf, s, SumOp{}) / float(C);
    float q = 0.f;
    for (int64_t c = t; c < C; c += nt) q += (xr[c] - m) * (xr[c] - m);
    const float rs = 1.f / sqrtf(block_reduce(ctx, buf, q, SumOp{}) / float(C) + eps);
    for (int64_t c = t; c < C; c += nt) y[r * C + c] = (xr[c] - m) * rs * gamma[c] + beta[c];
    if (t == 0) {
      mean[r] = m;
      rstd[r] = rs;
    }
  }
};

struct LayerNormBackwardRowKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* gamma, const float* mean, const float* rstd,
                        const float* dy, float* dx, int64_t C) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    const int64_t r = ctx.block_idx().x;
    const float m = mean[r], rs = rstd[r];
    float s1 = 0.f, s2 = 0.f;
    for (int64_t c = t; c < C; c += nt) {
      const float g = dy[r * C + c] * gamma[c];
      s1 += g;
      s2 += g * (x[r * C + c] - m) * rs;
    }
    s1 = block_reduce(ctx, buf, s1, SumOp{}) / float(C);
    s2 = block_reduce(ctx, buf, s2, SumOp{}) / float(C);
    for (int64_t c = t; c < C; c += nt) {
      const float xhat = (x[r * C + c] - m) * rs;
      dx[r * C + c] = rs * (dy[r * C + c] * gamma[c] - s1 - xhat * s2);
    }
  }
};

struct LayerNormParamGradKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* mean, const float* rstd, const float* dy,
                        float* dgamma, float* dbeta, int64_t R, int64_t C, bool accumulate) {
    const int64_t c = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x;
    if (c >= C) return;
    float g = 0.f, b = 0.f;
    for (int64_t r = 0; r < R; ++r) {
      g += dy[r * C + c] * (x[r * C + c] - mean[r]) * rstd[r];
      b += dy[r * C + c];
    }
    dgamma[c] = accumulate ? dgamma[c] + g : g;
    dbeta[c] = accumulate ? dbeta[c] + b : b;
  }
};

template <class L>
void launch_layer_norm_forward(L& l, const float* x, const float* gamma, const float* beta, float eps, float* y,
                               float* mean, float* rstd, int64_t R, int64_t C, unsigned threads = 0) {
  const unsigned nt = threads ? threads : pow2_threads(C, 32, 256);
  l.template launch<LayerNormForwardKernel>(LaunchConfig{{unsigned(R)}, {nt}, shared_floats(nt)}, x, gamma, beta,
                                            eps, y, mean, rstd, C);
}

template <class L>
void launch_layer_norm_backward(L& l, const float* x, const float* gamma, const float* mean, const float* rstd,
                                const float* dy, float* dx, float* dgamma, float* dbeta, int64_t R, int64_t C,
                                bool accumulate, unsigned threads = 0) {
  const unsigned nt = threads ? threads : pow2_threads(C, 32, 256);
  l.template launch<LayerNormBackwardRowKernel>(LaunchConfig{{unsigned(R)}, {nt}, shared_floats(nt)}, x, gamma,
                                                mean, rstd, dy, dx, C);
  const unsigned ct = threads ? threads : 128;
  l.template launch<LayerNormParamGradKernel>(LaunchConfig{{blocks_for(C, ct)}, {ct}, 0}, x, mean, rstd, dy, dgamma,
                                              dbeta, R, C, accumulate);
}

}  // namespace ad
