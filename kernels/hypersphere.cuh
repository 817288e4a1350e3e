// Hypersphere terms (see hypersphere.h). One block walks the batch with a block-stride loop; the batch sums
// (and Softmax's maximum) go through block_reduce (a fixed tree), so runs repeat exactly. The backward recomputes
// u_i and sum u from d2 and R rather than keeping them from the forward: it is a handful of flops per case.
// Both weight forms share the backward: weight = u / S gives dL/du_i = (g_i - sum_j g_j weight_j) / S, times
// du/dx (exp(x) or u itself, both 0 where x <= 0).
#pragma once
#include <cmath>

#include "kernels/hypersphere.h"
#include "kernels/launch.h"
#include "kernels/reduce.cuh"  // block_reduce, pow2_threads

namespace ad {

// u(x) and du/dx of one case, x = R^2 - d2; `shift` = max_j relu(x_j) for Softmax (unused otherwise).
struct SampleWeight {
  float u, du_dx;
};
AD_HD inline SampleWeight sample_weight(HypersphereWeight form, float x, float shift) {
  if (form == HypersphereWeight::ExpMinusOne) {
    const float e = expf(x);
    return {fmaxf(e - 1.f, 0.f) + float(kHypersphereWeightFloor), x > 0.f ? e : 0.f};
  }
  const float u = expf(fmaxf(x, 0.f) - shift);
  return {u, x > 0.f ? u : 0.f};
}

// max_j relu(R^2 - d2_j) over the batch for Softmax (0 for ExpMinusOne); every thread gets it.
template <class Ctx>
AD_HD inline float weight_shift(Ctx& ctx, float* buf, HypersphereWeight form, const float* d2, float r2, int64_t B) {
  if (form != HypersphereWeight::Softmax) return 0.f;
  float m = 0.f;
  for (int64_t i = ctx.thread_idx().x; i < B; i += ctx.block_dim().x) m = fmaxf(m, r2 - d2[i]);
  return block_reduce(ctx, buf, m, MaxOp{});
}

struct HypersphereForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* d2, const float* radius, float* residue, float* weight, int64_t B,
                        HypersphereWeight form) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const float r2 = radius[0] * radius[0];
    const float shift = weight_shift(ctx, buf, form, d2, r2, B);
    float local = 0.f;
    for (int64_t i = ctx.thread_idx().x; i < B; i += ctx.block_dim().x) {
      residue[i] = fmaxf(d2[i] - r2, 0.f);
      const float u = sample_weight(form, r2 - d2[i], shift).u;
      weight[i] = u;
      local += u;
    }
    const float total = block_reduce(ctx, buf, local, SumOp{});
    for (int64_t i = ctx.thread_idx().x; i < B; i += ctx.block_dim().x) weight[i] /= total;
  }
};

struct HypersphereBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* d2, const float* radius, const float* dresidue, const float* dweight,
                        float* dd2, float* dradius, int64_t B, HypersphereWeight form) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const float R = radius[0], r2 = R * R;
    const float shift = weight_shift(ctx, buf, form, d2, r2, B);
    float su = 0.f, sgu = 0.f;
    for (int64_t i = ctx.thread_idx().x; i < B; i += ctx.block_dim().x) {
      const float u = sample_weight(form, r2 - d2[i], shift).u;
      su += u;
      sgu += dweight[i] * u;
    }
    const float total = block_reduce(ctx, buf, su, SumOp{});
    const float gw = block_reduce(ctx, buf, sgu, SumOp{}) / total;  // sum_j g_j weight_j
    float dr = 0.f;
    for (int64_t i = ctx.thread_idx().x; i < B; i += ctx.block_dim().x) {
      const float dx = (dweight[i] - gw) / total * sample_weight(form, r2 - d2[i], shift).du_dx;
      const float dres = d2[i] - r2 > 0.f ? dresidue[i] : 0.f;
      dd2[i] = dres - dx;
      dr += 2.f * R * (dx - dres);
    }
    dr = block_reduce(ctx, buf, dr, SumOp{});
    if (ctx.thread_idx().x == 0) dradius[0] = dr;
  }
};

inline LaunchConfig hypersphere_config(int64_t B) {
  const unsigned threads = pow2_threads(B, 32, 256);
  return LaunchConfig{{1}, {threads}, threads * sizeof(float)};
}

template <class L>
void launch_hypersphere_forward(L& l, const float* d2, const float* radius, float* residue, float* weight,
                                int64_t B, HypersphereWeight form = HypersphereWeight::ExpMinusOne) {
  l.template launch<HypersphereForwardKernel>(hypersphere_config(B), d2, radius, residue, weight, B, form);
}

template <class L>
void launch_hypersphere_backward(L& l, const float* d2, const float* radius, const float* dresidue,
                                 const float* dweight, float* dd2, float* dradius, int64_t B,
                                 HypersphereWeight form = HypersphereWeight::ExpMinusOne) {
  l.template launch<HypersphereBackwardKernel>(hypersphere_config(B), d2, radius, dresidue, dweight, dd2, dradius,
                                               B, form);
}

}  // namespace ad
