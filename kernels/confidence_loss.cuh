// Confidence-loss kernels (confidence_loss.h). Forward: one block; each thread sums its rows' terms (rows
// strided by the block size), block_reduce combines them in a fixed order: no atomics, the same bits every
// run. MUAD's batches are small (tens to hundreds of rows), so one block is not the bottleneck; a batch of
// millions would want a two-pass reduce. Backward: one thread per row (K is small: the classes).
#pragma once
#include <cmath>

#include "kernels/activation.cuh"  // pointwise_config
#include "kernels/confidence_loss.h"
#include "kernels/launch.h"
#include "kernels/reduce.cuh"

namespace ad {

struct ConfidenceLossForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* prob, const float* conf, const int64_t* labels, float* terms,
                        int64_t rows, int64_t k) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    float ce = 0.f, mse = 0.f;
    for (int64_t i = ctx.thread_idx().x; i < rows; i += ctx.block_dim().x) {
      const float p = prob[i * k + labels[i]], d = conf[i] - p;
      ce -= logf(p > 1e-30f ? p : 1e-30f);
      mse += d * d;
    }
    ce = block_reduce(ctx, buf, ce, SumOp{});
    mse = block_reduce(ctx, buf, mse, SumOp{});
    if (ctx.thread_idx().x == 0) {
      terms[0] = ce / float(rows);
      terms[1] = mse / float(rows);
    }
  }
};

struct ConfidenceLossBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* prob, const float* conf, const int64_t* labels,
                        const float* dconf_extra, float ce_weight, float mse_weight, bool target_detached,
                        float* dlogits, float* dconf_pre, int64_t rows, int64_t k) {
    const int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    const float inv_rows = 1.f / float(rows);
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < rows; i += stride) {
      const int64_t y = labels[i];
      const float c = conf[i], pt = prob[i * k + y], dmse = mse_weight * 2.f * (c - pt) * inv_rows;
      for (int64_t j = 0; j < k; ++j) {
        const float p = prob[i * k + j], hot = j == y ? 1.f : 0.f;
        const float via_target = target_detached ? 0.f : -dmse * pt * (hot - p);
        dlogits[i * k + j] = ce_weight * (p - hot) * inv_rows + via_target;
      }
      dconf_pre[i] = ((dconf_extra ? dconf_extra[i] : 0.f) + dmse) * c * (1.f - c);
    }
  }
};

template <class L>
void launch_confidence_loss_forward(L& l, const float* prob, const float* conf, const int64_t* labels, float* terms,
                                    int64_t rows, int64_t k) {
  const unsigned t = pow2_threads(rows, 32, 256);
  l.template launch<ConfidenceLossForwardKernel>(LaunchConfig{{1}, {t}, t * unsigned(sizeof(float))}, prob, conf,
                                                 labels, terms, rows, k);
}
template <class L>
void launch_confidence_loss_backward(L& l, const float* prob, const float* conf, const int64_t* labels,
                                     const float* dconf_extra, float ce_weight, float mse_weight,
                                     bool target_detached, float* dlogits, float* dconf_pre, int64_t rows,
                                     int64_t k) {
  if (rows == 0) return;
  l.template launch<ConfidenceLossBackwardKernel>(pointwise_config(rows), prob, conf, labels, dconf_extra,
                                                  ce_weight, mse_weight, target_detached, dlogits, dconf_pre, rows,
                                                  k);
}

}  // namespace ad
