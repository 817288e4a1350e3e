// Batch-norm kernels for x [N, C], channels last (N = B*T rows; C is tens in DC-VAE, N is thousands).
//
// Train forward and backward need per-channel reductions over all N rows. One block per 32 channels (the
// old shape) gave DC-VAE a single block on a GPU with 100+ SMs, so the rows are cut into fixed chunks and the
// grid is (channel groups) x (chunk slots), enough blocks to fill the GPU:
//   1. partial kernel: a block owns 32 channels (blockDim.x = 32, a warp reads 32 consecutive floats of a
//      row: coalesced) and blockDim.y rows at a time, and loops over chunks k = blockIdx.y, += gridDim.y. Per
//      chunk it writes one partial per channel into the workspace: the chunk's mean and centred sum of
//      squares (forward; two passes over a chunk that is still in cache), or sum dy and sum dy*xhat
//      (backward). The column totals inside a block go through shared memory once (a [rows][33] transpose,
//      padded against bank conflicts), then each warp reduces a channel's column with register shuffles.
//   2. finish kernel: a warp per channel merges that channel's chunk partials: lane l folds chunks l, l+32,
//      ... in order, then a shfl_down tree folds the lanes. Forward partials are merged with Chan's
//      parallel-variance formula (mean and M2, no sum-of-squares cancellation when |mean| >> std).
//   3. a pointwise pass: y (the inference kernel on the batch statistics) or dx.
// Determinism: the chunk size is a function of N alone and every fold has a fixed order, so the result is
// bitwise the same under any schedule and for any number of blocks in the grid (tests vary both); it changes
// only with blockDim.y (the per-thread row stride inside a chunk), which the launchers fix at 32.
// Inference mode is pointwise: one thread per element, grid-stride loop.
#pragma once
#include <cmath>

#include "kernels/batchnorm1d.h"
#include "kernels/launch.h"

namespace ad {

namespace bn_detail {
constexpr unsigned kChannels = 32;       // blockDim.x of the partial kernels
constexpr unsigned kRows = 32;           // default blockDim.y: 1024-thread blocks
constexpr unsigned kPitch = 33;          // row pitch of the transpose buffer
constexpr int64_t kMinChunkRows = 256;   // 8 rows per thread at blockDim.y = 32
constexpr int64_t kMaxChunks = 2048;     // bounds the workspace and the finish kernel's serial fold
constexpr unsigned kMaxSlots = 1024;     // blocks along y; a GPU is full long before
constexpr unsigned kFinishWarps = 8;     // channels per block of the finish kernels

// Rows per chunk: a function of n alone, so the partials (and the result) never depend on the grid.
AD_HD inline int64_t chunk_rows(int64_t n) {
  int64_t r = kMinChunkRows;
  while (r * kMaxChunks < n) r *= 2;
  return r;
}
AD_HD inline int64_t chunks(int64_t n) { return (n + chunk_rows(n) - 1) / chunk_rows(n); }

// Column totals of a [blockDim.y][32] tile: thread (tx, ty) contributes v for channel tx; every thread gets
// its channel's total over ty. One shared-memory transpose, then warp w reduces channels w, w + warps, ...
// with a shfl_xor butterfly. `red` holds blockDim.y * kPitch floats, `tot` 32. Ends with a barrier.
template <class Ctx>
AD_HD inline float column_total(Ctx& ctx, float* red, float* tot, float v, int call_line = __builtin_LINE()) {
  BarrierScope<Ctx> scope(ctx, call_line);
  const unsigned tx = ctx.thread_idx().x, ty = ctx.thread_idx().y, rows = ctx.block_dim().y;
  red[ty * kPitch + tx] = v;
  ctx.sync();
  for (unsigned ch = ty; ch < kChannels; ch += rows) {  // warp ty, lane tx
    float s = tx < rows ? red[tx * kPitch + ch] : 0.f;
    for (int offset = int(kWarpSize) / 2; offset > 0; offset /= 2) s += ctx.shfl_xor(kFullWarp, s, offset);
    if (tx == 0) tot[ch] = s;
  }
  ctx.sync();
  const float r = tot[tx];
  ctx.sync();
  return r;
}

// Chan et al.'s merge of two (count, mean, M2) summaries into a; either may be empty.
AD_HD inline void chan_merge(float& na, float& ma, float& m2a, float nb, float mb, float m2b) {
  if (nb == 0.f) return;
  if (na == 0.f) {
    na = nb, ma = mb, m2a = m2b;
    return;
  }
  const float n = na + nb, delta = mb - ma;
  ma = ma + delta * (nb / n);
  m2a = m2a + m2b + delta * delta * (na * nb / n);
  na = n;
}
}  // namespace bn_detail

// Pass 1 of the train forward: ws[(k * C + j) * 2 + {0, 1}] = mean and M2 of channel j over chunk k.
struct BatchNormStatsPartialKernel {
  template <class Ctx> AD_HD static void run(Ctx& ctx, const float* x, float* ws, int64_t n, int64_t c) {
    using namespace bn_detail;
    const unsigned tx = ctx.thread_idx().x, ty = ctx.thread_idx().y, rows = ctx.block_dim().y;
    const int64_t j = int64_t(ctx.block_idx().x) * kChannels + tx;
    const bool valid = j < c;
    float* red = shared_array<float>(ctx, size_t(rows) * kPitch);
    float* tot = shared_array<float>(ctx, kChannels);
    const int64_t per = chunk_rows(n), nchunks = chunks(n);
    for (int64_t k = ctx.block_idx().y; k < nchunks; k += ctx.grid_dim().y) {
      const int64_t r0 = k * per, r1 = r0 + per < n ? r0 + per : n;
      float s = 0.f;
      if (valid)
        for (int64_t i = r0 + ty; i < r1; i += rows) s += x[i * c + j];
      const float mean = column_total(ctx, red, tot, s) / float(r1 - r0);
      float m2 = 0.f;
      if (valid)
        for (int64_t i = r0 + ty; i < r1; i += rows) {
          const float d = x[i * c + j] - mean;
          m2 += d * d;
        }
      m2 = column_total(ctx, red, tot, m2);
      if (ty == 0 && valid) {
        ws[(k * c + j) * 2] = mean;
        ws[(k * c + j) * 2 + 1] = m2;
      }
    }
  }
};

// Pass 2 of the train forward, a warp per channel: merge the chunks, write the batch statistics and the
// running averages.
struct BatchNormStatsFinishKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* ws, float* save_mean, float* save_var, float* running_mean,
                        float* running_var, int64_t n, int64_t c, float momentum) {
    using namespace bn_detail;
    const int64_t j = int64_t(ctx.block_idx().x) * (ctx.block_dim().x / kWarpSize) + ctx.warp_id();
    if (j >= c) return;  // whole warps leave together; no barriers here
    const unsigned lane = ctx.lane_id();
    const int64_t per = chunk_rows(n), nchunks = chunks(n);
    float cnt = 0.f, mean = 0.f, m2 = 0.f;
    for (int64_t k = lane; k < nchunks; k += kWarpSize) {
      const int64_t r1 = (k + 1) * per < n ? (k + 1) * per : n;
      chan_merge(cnt, mean, m2, float(r1 - k * per), ws[(k * c + j) * 2], ws[(k * c + j) * 2 + 1]);
    }
    for (unsigned offset = kWarpSize / 2; offset > 0; offset /= 2) {
      const float nb = ctx.shfl_down(kFullWarp, cnt, offset), mb = ctx.shfl_down(kFullWarp, mean, offset),
                  m2b = ctx.shfl_down(kFullWarp, m2, offset);
      if (lane < offset) chan_merge(cnt, mean, m2, nb, mb, m2b);
    }
    if (lane != 0) return;
    const float var = cnt > 0.f ? m2 / cnt : 0.f;
    save_mean[j] = mean;
    save_var[j] = var;
    if (running_mean) running_mean[j] = momentum * running_mean[j] + (1.0f - momentum) * mean;
    if (running_var) running_var[j] = momentum * running_var[j] + (1.0f - momentum) * var;
  }
};

// Inference, and pass 3 of the train forward (on the batch statistics).
struct BatchNormInferenceKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* gamma, const float* beta, const float* mean,
                        const float* var, float* y, int64_t n, int64_t c, float eps) {
    const int64_t total = n * c, stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < total; i += stride) {
      const int64_t j = i % c;
      y[i] = (x[i] - mean[j]) * (1.0f / sqrtf(var[j] + eps)) * gamma[j] + beta[j];
    }
  }
};

// Pass 1 of the backward: ws[(k * C + j) * 2 + {0, 1}] = sum dy and sum dy * xhat of channel j over chunk k.
struct BatchNormGradPartialKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* save_mean, const float* save_var, const float* dy,
                        float* ws, int64_t n, int64_t c, float eps) {
    using namespace bn_detail;
    const unsigned tx = ctx.thread_idx().x, ty = ctx.thread_idx().y, rows = ctx.block_dim().y;
    const int64_t j = int64_t(ctx.block_idx().x) * kChannels + tx;
    const bool valid = j < c;
    float* red = shared_array<float>(ctx, size_t(rows) * kPitch);
    float* tot = shared_array<float>(ctx, kChannels);
    const float mean = valid ? save_mean[j] : 0.f;
    const float invstd = valid ? 1.0f / sqrtf(save_var[j] + eps) : 0.f;
    const int64_t per = chunk_rows(n), nchunks = chunks(n);
    for (int64_t k = ctx.block_idx().y; k < nchunks; k += ctx.grid_dim().y) {
      const int64_t r0 = k * per, r1 = r0 + per < n ? r0 + per : n;
      float sdy = 0.f, sdyx = 0.f;
      if (valid)
        for (int64_t i = r0 + ty; i < r1; i += rows) {
          const float g = dy[i * c + j];
          sdy += g;
          sdyx += g * (x[i * c + j] - mean) * invstd;
        }
      sdy = column_total(ctx, red, tot, sdy);
      sdyx = column_total(ctx, red, tot, sdyx);
      if (ty == 0 && valid) {
        ws[(k * c + j) * 2] = sdy;
        ws[(k * c + j) * 2 + 1] = sdyx;
      }
    }
  }
};

// Pass 2 of the backward, a warp per channel: the chunk sums folded in order; dgamma/dbeta accumulate and
// coef[j], coef[C + j] = sum dy / N, sum dy*xhat / N for pass 3.
struct BatchNormGradFinishKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* ws, float* coef, float* dgamma, float* dbeta, int64_t n, int64_t c) {
    using namespace bn_detail;
    const int64_t j = int64_t(ctx.block_idx().x) * (ctx.block_dim().x / kWarpSize) + ctx.warp_id();
    if (j >= c) return;  // whole warps leave together; no barriers here
    const unsigned lane = ctx.lane_id();
    const int64_t nchunks = chunks(n);
    float sdy = 0.f, sdyx = 0.f;
    for (int64_t k = lane; k < nchunks; k += kWarpSize) {
      sdy += ws[(k * c + j) * 2];
      sdyx += ws[(k * c + j) * 2 + 1];
    }
    for (unsigned offset = kWarpSize / 2; offset > 0; offset /= 2) {
      sdy += ctx.shfl_down(kFullWarp, sdy, offset);
      sdyx += ctx.shfl_down(kFullWarp, sdyx, offset);
    }
    if (lane != 0) return;
    const float inv_n = n > 0 ? 1.0f / float(n) : 0.f;
    coef[j] = sdy * inv_n;
    coef[c + j] = sdyx * inv_n;
    dgamma[j] += sdyx;
    dbeta[j] += sdy;
  }
};

// Pass 3 of the backward: dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
struct BatchNormInputGradKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* x, const float* gamma, const float* save_mean, const float* save_var,
                        const float* dy, const float* coef, float* dx, int64_t n, int64_t c, float eps) {
    const int64_t total = n * c, stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < total; i += stride) {
      const int64_t j = i % c;
      const float invstd = 1.0f / sqrtf(save_var[j] + eps);
      const float xhat = (x[i] - save_mean[j]) * invstd;
      dx[i] = gamma[j] * invstd * (dy[i] - coef[j] - xhat * coef[c + j]);
    }
  }
};

// Floats of workspace the train forward and backward need: two per (chunk, channel), then 2C coefficients.
inline int64_t batchnorm_workspace(int64_t n, int64_t c) { return (bn_detail::chunks(n) * 2 + 2) * c; }

// Grid of the partial kernels: channel groups x chunk slots. `max_slots` (0 = the default cap) only moves
// work between blocks, never the result; tests vary it.
inline LaunchConfig batchnorm_partial_config(int64_t n, int64_t c, unsigned rows, unsigned max_slots) {
  using namespace bn_detail;
  const unsigned cap = max_slots ? max_slots : kMaxSlots;
  const int64_t k = chunks(n);
  const unsigned slots = k < 1 ? 1u : (k < int64_t(cap) ? unsigned(k) : cap);
  return LaunchConfig{{blocks_for(c, kChannels), slots},
                      {kChannels, rows},
                      (size_t(rows) * kPitch + kChannels) * sizeof(float) + 16};
}
inline LaunchConfig batchnorm_finish_config(int64_t c) {
  return LaunchConfig{{blocks_for(c, bn_detail::kFinishWarps)}, {bn_detail::kFinishWarps * kWarpSize}, 0};
}
inline LaunchConfig batchnorm_pointwise_config(int64_t n, int64_t c) {
  const unsigned b = blocks_for(n * c, 256);
  return LaunchConfig{{b < 4096u ? b : 4096u}, {256}, 0};
}

// `workspace` holds batchnorm_workspace(n, c) floats. `rows` = blockDim.y of the partial kernel (1..32).
template <class L>
void launch_batchnorm1d_train_forward(L& l, const float* x, const float* gamma, const float* beta, float* y,
                                      float* save_mean, float* save_var, float* running_mean, float* running_var,
                                      float* workspace, int64_t n, int64_t c, float momentum, float eps,
                                      unsigned rows = bn_detail::kRows, unsigned max_slots = 0) {
  if (c == 0) return;
  l.template launch<BatchNormStatsPartialKernel>(batchnorm_partial_config(n, c, rows, max_slots), x, workspace, n,
                                                 c);
  l.template launch<BatchNormStatsFinishKernel>(batchnorm_finish_config(c), static_cast<const float*>(workspace),
                                                save_mean, save_var, running_mean, running_var, n, c, momentum);
  if (n > 0)
    l.template launch<BatchNormInferenceKernel>(batchnorm_pointwise_config(n, c), x, gamma, beta,
                                                static_cast<const float*>(save_mean),
                                                static_cast<const float*>(save_var), y, n, c, eps);
}

template <class L>
void launch_batchnorm1d_inference_forward(L& l, const float* x, const float* gamma, const float* beta,
                                          const float* running_mean, const float* running_var, float* y, int64_t n,
                                          int64_t c, float eps) {
  if (n * c == 0) return;
  l.template launch<BatchNormInferenceKernel>(batchnorm_pointwise_config(n, c), x, gamma, beta, running_mean,
                                              running_var, y, n, c, eps);
}

template <class L>
void launch_batchnorm1d_train_backward(L& l, const float* x, const float* gamma, const float* save_mean,
                                       const float* save_var, const float* dy, float* dx, float* dgamma, float* dbeta,
                                       float* workspace, int64_t n, int64_t c, float eps,
                                       unsigned rows = bn_detail::kRows, unsigned max_slots = 0) {
  if (c == 0) return;
  float* coef = workspace + bn_detail::chunks(n) * 2 * c;
  l.template launch<BatchNormGradPartialKernel>(batchnorm_partial_config(n, c, rows, max_slots), x, save_mean,
                                                save_var, dy, workspace, n, c, eps);
  l.template launch<BatchNormGradFinishKernel>(batchnorm_finish_config(c), static_cast<const float*>(workspace), coef,
                                               dgamma, dbeta, n, c);
  if (n > 0)
    l.template launch<BatchNormInputGradKernel>(batchnorm_pointwise_config(n, c), x, gamma, save_mean, save_var, dy,
                                                static_cast<const float*>(coef), dx, n, c, eps);
}

}  // namespace ad
