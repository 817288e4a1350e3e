// Batch-norm kernels for x [N, C], channels last (N = B*T rows, C small: tens in DC-VAE).
//
// Train forward and backward need per-channel reductions over all N rows. A block owns 32 channels
// (blockDim.x = 32, so a warp reads 32 consecutive floats of a row: coalesced) and blockDim.y rows
// at a time; each thread accumulates its strided rows in registers, the block then reduces the
// blockDim.y partials per channel in shared memory. Because one block sees every row of its channels,
// it can follow the reduction with the elementwise pass (y, or dx) without a second launch or
// atomics, and dgamma/dbeta get a plain, deterministic +=. The forward does two passes for the
// statistics (mean, then centred squares) rather than sum and sum of squares, which cancels badly
// when |mean| >> std. Inference mode is pointwise: one thread per element, grid-stride loop.
#pragma once
#include <cmath>

#include "kernels/batchnorm1d.h"
#include "kernels/launch.h"

namespace ad {

namespace bn_detail {
constexpr unsigned kChannels = 32;  // blockDim.x
// Sums the blockDim.y partials of each channel column: red is [blockDim.y][32]; the result is
// valid in thread row 0. Callers sync before reusing red.
template <class Ctx> AD_HD inline float column_total(Ctx& ctx, const float* red) {
  float s = 0.f;
  for (unsigned r = 0; r < ctx.block_dim().y; ++r) s += red[r * kChannels + ctx.thread_idx().x];
  return s;
}
}  // namespace bn_detail

struct BatchNormTrainForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                        float* save_var, float* running_mean, float* running_var, int64_t n, int64_t c,
                        float momentum, float eps) {
    using namespace bn_detail;
    const unsigned tx = ctx.thread_idx().x, ty = ctx.thread_idx().y, rows = ctx.block_dim().y;
    const int64_t j = int64_t(ctx.block_idx().x) * kChannels + tx;
    const bool valid = j < c;
    float* red = shared_array<float>(ctx, rows * kChannels);
    float* stat = shared_array<float>(ctx, 2 * kChannels);  // mean, invstd

    float s = 0.f;
    if (valid)
      for (int64_t i = ty; i < n; i += rows) s += x[i * c + j];
    red[ty * kChannels + tx] = s;
    ctx.sync();
    if (ty == 0) stat[tx] = n > 0 ? column_total(ctx, red) / float(n) : 0.f;
    ctx.sync();
    const float mean = stat[tx];
    float v = 0.f;
    if (valid)
      for (int64_t i = ty; i < n; i += rows) {
        const float d = x[i * c + j] - mean;
        v += d * d;
      }
    red[ty * kChannels + tx] = v;
    ctx.sync();
    if (ty == 0) {
      const float var = n > 0 ? column_total(ctx, red) / float(n) : 0.f;
      stat[kChannels + tx] = 1.0f / sqrtf(var + eps);
      if (valid) {
        save_mean[j] = mean;
        save_var[j] = var;
        if (running_mean) running_mean[j] = momentum * running_mean[j] + (1.0f - momentum) * mean;
        if (running_var) running_var[j] = momentum * running_var[j] + (1.0f - momentum) * var;
      }
    }
    ctx.sync();
    if (!valid) return;
    const float scale = stat[kChannels + tx] * gamma[j], shift = beta[j];
    for (int64_t i = ty; i < n; i += rows) y[i * c + j] = (x[i * c + j] - mean) * scale + shift;
  }
};

struct BatchNormInferenceKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* gamma, const float* beta, const float* running_mean,
                        const float* running_var, float* y, int64_t n, int64_t c, float eps) {
    const int64_t total = n * c, stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < total; i += stride) {
      const int64_t j = i % c;
      y[i] = (x[i] - running_mean[j]) * (1.0f / sqrtf(running_var[j] + eps)) * gamma[j] + beta[j];
    }
  }
};

struct BatchNormTrainBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* gamma, const float* save_mean, const float* save_var,
                        const float* dy, float* dx, float* dgamma, float* dbeta, int64_t n, int64_t c, float eps) {
    using namespace bn_detail;
    const unsigned tx = ctx.thread_idx().x, ty = ctx.thread_idx().y, rows = ctx.block_dim().y;
    const int64_t j = int64_t(ctx.block_idx().x) * kChannels + tx;
    const bool valid = j < c;
    float* red_dy = shared_array<float>(ctx, rows * kChannels);
    float* red_dyx = shared_array<float>(ctx, rows * kChannels);
    float* coef = shared_array<float>(ctx, 2 * kChannels);  // sum dy / N, sum dy*xhat / N

    const float mean = valid ? save_mean[j] : 0.f;
    const float invstd = valid ? 1.0f / sqrtf(save_var[j] + eps) : 0.f;
    float sdy = 0.f, sdyx = 0.f;
    if (valid)
      for (int64_t i = ty; i < n; i += rows) {
        const float g = dy[i * c + j];
        sdy += g;
        sdyx += g * (x[i * c + j] - mean) * invstd;
      }
    red_dy[ty * kChannels + tx] = sdy;
    red_dyx[ty * kChannels + tx] = sdyx;
    ctx.sync();
    if (ty == 0) {
      const float tdy = column_total(ctx, red_dy), tdyx = column_total(ctx, red_dyx);
      const float inv_n = n > 0 ? 1.0f / float(n) : 0.f;
      coef[tx] = tdy * inv_n;
      coef[kChannels + tx] = tdyx * inv_n;
      if (valid) {
        dgamma[j] += tdyx;
        dbeta[j] += tdy;
      }
    }
    ctx.sync();
    if (!valid) return;
    const float mdy = coef[tx], mdyx = coef[kChannels + tx], scale = gamma[j] * invstd;
    for (int64_t i = ty; i < n; i += rows) {
      const float xhat = (x[i * c + j] - mean) * invstd;
      dx[i * c + j] = scale * (dy[i * c + j] - mdy - xhat * mdyx);
    }
  }
};

// `rows` = blockDim.y (threads per channel); 32 gives 1024-thread blocks.
inline LaunchConfig batchnorm_reduce_config(int64_t c, unsigned rows, int arrays) {
  return LaunchConfig{{unsigned((c + bn_detail::kChannels - 1) / bn_detail::kChannels)},
                      {bn_detail::kChannels, rows},
                      size_t(arrays) * rows * bn_detail::kChannels * sizeof(float) +
                          2 * bn_detail::kChannels * sizeof(float)};
}

template <class L>
void launch_batchnorm1d_train_forward(L& l, const float* x, const float* gamma, const float* beta, float* y,
                                      float* save_mean, float* save_var, float* running_mean, float* running_var,
                                      int64_t n, int64_t c, float momentum, float eps, unsigned rows = 32) {
  if (c == 0) return;
  l.template launch<BatchNormTrainForwardKernel>(batchnorm_reduce_config(c, rows, 1), x, gamma, beta, y, save_mean,
                                                 save_var, running_mean, running_var, n, c, momentum, eps);
}

template <class L>
void launch_batchnorm1d_inference_forward(L& l, const float* x, const float* gamma, const float* beta,
                                          const float* running_mean, const float* running_var, float* y, int64_t n,
                                          int64_t c, float eps) {
  const unsigned b = blocks_for(n * c, 256);
  l.template launch<BatchNormInferenceKernel>(LaunchConfig{{b < 4096u ? b : 4096u}, {256}, 0}, x, gamma, beta,
                                              running_mean, running_var, y, n, c, eps);
}

template <class L>
void launch_batchnorm1d_train_backward(L& l, const float* x, const float* gamma, const float* save_mean,
                                       const float* save_var, const float* dy, float* dx, float* dgamma, float* dbeta,
                                       int64_t n, int64_t c, float eps, unsigned rows = 32) {
  if (c == 0) return;
  l.template launch<BatchNormTrainBackwardKernel>(batchnorm_reduce_config(c, rows, 2), x, gamma, save_mean, save_var,
                                                  dy, dx, dgamma, dbeta, n, c, eps);
}

}  // namespace ad
