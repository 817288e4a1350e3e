// Fused loss kernels: per-element values, or values reduced per block (block_reduce) then summed by
// SumFinalKernel; the backward computes every requested input gradient in one pass.
#pragma once
#include <cmath>

#include "kernels/launch.h"
#include "kernels/loss.h"
#include "kernels/reduce.cuh"

namespace ad {

AD_HD inline float loss_value(LossKind k, float a, float b, float c, float param) {
  switch (k) {
    case LossKind::MSE: {
      float d = a - b;
      return d * d;
    }
    case LossKind::BCEWithLogits: return (a > 0.f ? a : 0.f) - a * b + log1pf(expf(-fabsf(a)));
    case LossKind::GaussianNLL: {
      float z = (a - b) * expf(-c);
      return 0.5f * z * z + c + param;
    }
    case LossKind::KLStdNormal: return -0.5f * (1.f + b - a * a - expf(b));
  }
  return 0.f;
}

// Gradients of loss_value with respect to a, b, c, times g.
AD_HD inline void loss_grad(LossKind k, float a, float b, float c, float g, float& da, float& db, float& dc) {
  da = db = dc = 0.f;
  switch (k) {
    case LossKind::MSE:
      da = 2.f * (a - b) * g;
      db = -da;
      break;
    case LossKind::BCEWithLogits: {
      float e = expf(-fabsf(a));  // stable sigmoid
      float sig = a >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
      da = (sig - b) * g;
      db = -a * g;
      break;
    }
    case LossKind::GaussianNLL: {
      float inv = expf(-c), z = (a - b) * inv;
      da = g * z * inv;
      db = -da;
      dc = g * (1.f - z * z);
      break;
    }
    case LossKind::KLStdNormal:
      da = g * a;
      db = g * 0.5f * (expf(b) - 1.f);
      break;
  }
}

struct LossForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, LossKind k, const float* a, const float* b, const float* c, float* out, int64_t n,
                        float param) {
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride)
      out[i] = loss_value(k, a[i], b[i], c ? c[i] : 0.f, param);
  }
};

// Per-block sums of the per-element loss into partial[block] (pass 1 of a reduced loss).
struct LossPartialKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, LossKind k, const float* a, const float* b, const float* c, float* partial,
                        int64_t n, float param) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    float s = 0.f;
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride)
      s += loss_value(k, a[i], b[i], c ? c[i] : 0.f, param);
    s = block_reduce(ctx, buf, s, SumOp{});
    if (ctx.thread_idx().x == 0) partial[ctx.block_idx().x] = s;
  }
};

struct LossBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, LossKind k, const float* a, const float* b, const float* c, const float* dout,
                        bool scalar_dout, float gscale, float* da, float* db, float* dc, int64_t n) {
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride) {
      float g = (scalar_dout ? dout[0] : dout[i]) * gscale, ga, gb, gc;
      loss_grad(k, a[i], b[i], c ? c[i] : 0.f, g, ga, gb, gc);
      if (da) da[i] = ga;
      if (db) db[i] = gb;
      if (dc) dc[i] = gc;
    }
  }
};

// Reduction::None: out holds n values and `partial` is unused (may be null). Mean/Sum: out[0], and
// `partial` holds sum_all_blocks(n) floats.
template <class L>
void launch_loss_forward(L& l, LossKind k, const float* a, const float* b, const float* c, float* out,
                         float* partial, int64_t n, float param, Reduction r) {
  if (r == Reduction::None) {
    l.template launch<LossForwardKernel>(pointwise_config(n), k, a, b, c, out, n, param);
    return;
  }
  unsigned blocks = sum_all_blocks(n);
  float scale = r == Reduction::Mean ? (n > 0 ? 1.f / float(n) : 0.f) : 1.f;
  l.template launch<LossPartialKernel>(LaunchConfig{{blocks}, {kSumThreads}, kSumThreads * sizeof(float)}, k, a, b,
                                       c, partial, n, param);
  l.template launch<SumFinalKernel>(LaunchConfig{{1}, {kSumThreads}, kSumThreads * sizeof(float)}, partial, out,
                                    int64_t(blocks), scale);
}

template <class L>
void launch_loss_backward(L& l, LossKind k, const float* a, const float* b, const float* c, const float* dout,
                          bool scalar_dout, float gscale, float* da, float* db, float* dc, int64_t n) {
  l.template launch<LossBackwardKernel>(pointwise_config(n), k, a, b, c, dout, scalar_dout, gscale, da, db, dc, n);
}

}  // namespace ad
