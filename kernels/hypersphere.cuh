// Hypersphere terms (see hypersphere.h). One block walks the batch with a block-stride loop; the batch sums
// go through block_reduce (a fixed tree), so runs repeat exactly. The backward recomputes u_i and sum u
// from d2 and R rather than keeping them from the forward: it is a handful of flops per case.
#pragma once
#include <cmath>

#include "kernels/hypersphere.h"
#include "kernels/launch.h"
#include "kernels/reduce.cuh"  // block_reduce, pow2_threads

namespace ad {

struct HypersphereForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* d2, const float* radius, float* residue, float* weight, int64_t B) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const float r2 = radius[0] * radius[0];
    float local = 0.f;
    for (int64_t i = ctx.thread_idx().x; i < B; i += ctx.block_dim().x) {
      residue[i] = fmaxf(d2[i] - r2, 0.f);
      const float u = fmaxf(expf(r2 - d2[i]) - 1.f, 0.f) + float(kHypersphereWeightFloor);
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
                        float* dd2, float* dradius, int64_t B) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const float R = radius[0], r2 = R * R;
    float su = 0.f, sgu = 0.f;
    for (int64_t i = ctx.thread_idx().x; i < B; i += ctx.block_dim().x) {
      const float u = fmaxf(expf(r2 - d2[i]) - 1.f, 0.f) + float(kHypersphereWeightFloor);
      su += u;
      sgu += dweight[i] * u;
    }
    const float total = block_reduce(ctx, buf, su, SumOp{});
    const float gw = block_reduce(ctx, buf, sgu, SumOp{}) / total;  // sum_j g_j weight_j
    float dr = 0.f;
    for (int64_t i = ctx.thread_idx().x; i < B; i += ctx.block_dim().x) {
      const float x = r2 - d2[i];
      // du/dx = exp(x) where exp(x) - 1 > 0, i.e. x > 0.
      const float dx = x > 0.f ? (dweight[i] - gw) / total * expf(x) : 0.f;
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
                                int64_t B) {
  l.template launch<HypersphereForwardKernel>(hypersphere_config(B), d2, radius, residue, weight, B);
}

template <class L>
void launch_hypersphere_backward(L& l, const float* d2, const float* radius, const float* dresidue,
                                 const float* dweight, float* dd2, float* dradius, int64_t B) {
  l.template launch<HypersphereBackwardKernel>(hypersphere_config(B), d2, radius, dresidue, dweight, dd2, dradius,
                                               B);
}

}  // namespace ad
