// Reparameterization kernels: one thread per latent element, grid-stride loop (bounded grid).
// eps is drawn in the kernel from the counter-based Philox generator at counter offset + i, so
// nothing but (seed, offset) travels between forward and backward, and the CPU reference draws the
// very same numbers. dmu is written after dz is read, so dmu may alias dz.
#pragma once
#include <cmath>

#include "kernels/gaussian.h"
#include "kernels/launch.h"
#include "runtime/philox.h"

namespace ad {

struct ReparamForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* mu, const float* logvar, float* z, int64_t n, uint64_t seed,
                        uint64_t offset, bool mean_only) {
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride)
      z[i] = mean_only ? mu[i] : mu[i] + expf(0.5f * logvar[i]) * philox_normal(seed, offset, uint64_t(i));
  }
};

struct ReparamBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* logvar, const float* dz, float* dmu, float* dlogvar, int64_t n,
                        uint64_t seed, uint64_t offset, bool mean_only) {
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride) {
      const float g = dz[i];
      dlogvar[i] = mean_only ? 0.f : g * 0.5f * expf(0.5f * logvar[i]) * philox_normal(seed, offset, uint64_t(i));
      dmu[i] = g;
    }
  }
};

inline LaunchConfig reparam_config(int64_t n, unsigned threads = 256) {
  unsigned b = blocks_for(n, threads);
  return LaunchConfig{{b < 4096u ? b : 4096u}, {threads}, 0};
}

template <class L>
void launch_reparam_forward(L& l, const float* mu, const float* logvar, float* z, int64_t n, uint64_t seed,
                            uint64_t offset, bool mean_only) {
  l.template launch<ReparamForwardKernel>(reparam_config(n), mu, logvar, z, n, seed, offset, mean_only);
}

template <class L>
void launch_reparam_backward(L& l, const float* logvar, const float* dz, float* dmu, float* dlogvar, int64_t n,
                             uint64_t seed, uint64_t offset, bool mean_only) {
  l.template launch<ReparamBackwardKernel>(reparam_config(n), logvar, dz, dmu, dlogvar, n, seed, offset, mean_only);
}

}  // namespace ad
