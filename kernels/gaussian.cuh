// Reparameterization kernels: one thread per latent element, grid-stride loop (bounded grid).
// eps is drawn in the kernel from the counter-based Philox generator at counter offset + i, so
// nothing but (seed, offset) travels between forward and backward, and the CPU reference draws the
// very same numbers. dmu is written after dz is read, so dmu may alias dz.
// offset_base (nullable) adds a counter offset read from device memory when the kernel runs: a captured step
// (runtime/step_graph.h), whose launch arguments are frozen, draws fresh noise each replay that way.
#pragma once
#include <cmath>

#include "kernels/gaussian.h"
#include "kernels/launch.h"
#include "kernels/reduce.cuh"
#include "kernels/shared_size.h"
#include "runtime/philox.h"

namespace ad {

struct ReparamForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* mu, const float* logvar, float* z, int64_t n, uint64_t seed,
                        uint64_t offset, bool mean_only, const int64_t* offset_base) {
    if (offset_base) offset += uint64_t(*offset_base);
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride)
      z[i] = mean_only ? mu[i] : mu[i] + expf(0.5f * logvar[i]) * philox_normal(seed, offset, uint64_t(i));
  }
};

struct ReparamBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* logvar, const float* dz, float* dmu, float* dlogvar, int64_t n,
                        uint64_t seed, uint64_t offset, bool mean_only, const int64_t* offset_base) {
    if (offset_base) offset += uint64_t(*offset_base);
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
                            uint64_t offset, bool mean_only, const int64_t* offset_base = nullptr) {
  l.template launch<ReparamForwardKernel>(reparam_config(n), mu, logvar, z, n, seed, offset, mean_only, offset_base);
}

template <class L>
void launch_reparam_backward(L& l, const float* logvar, const float* dz, float* dmu, float* dlogvar, int64_t n,
                             uint64_t seed, uint64_t offset, bool mean_only, const int64_t* offset_base = nullptr) {
  l.template launch<ReparamBackwardKernel>(reparam_config(n), logvar, dz, dmu, dlogvar, n, seed, offset, mean_only,
                                           offset_base);
}

// ---- fused z + KL (math in gaussian.h) ----------------------------------------------------------------
// Forward: one block per row (grid-stride over rows), threads over the row's channels, block_reduce for the
// row's KL (a `threads` override must be a multiple of 32: block_reduce works warp by warp). Backward:
// elementwise, grid-stride, row = i / C for dkl.
AD_HD inline float reparam_sigma(float v, VarianceForm form) {
  return form == VarianceForm::LogVar ? expf(0.5f * v) : sqrtf(v);
}
AD_HD inline float reparam_dsigma(float v, VarianceForm form) {
  return form == VarianceForm::LogVar ? 0.5f * expf(0.5f * v) : 0.5f / sqrtf(v);
}

struct ReparamKlForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* mu, const float* v, float* z, float* kl, int64_t R, int64_t C,
                        uint64_t seed, uint64_t offset, VarianceForm form, bool mean_only) {
    float* buf = shared_array<float>(ctx, ctx.block_dim().x);
    const unsigned t = ctx.thread_idx().x, nt = ctx.block_dim().x;
    for (int64_t r = ctx.block_idx().x; r < R; r += ctx.grid_dim().x) {
      float s = 0.f;
      for (int64_t c = t; c < C; c += nt) {
        const int64_t i = r * C + c;
        z[i] = mean_only ? mu[i] : mu[i] + reparam_sigma(v[i], form) * philox_normal(seed, offset, uint64_t(i));
        s += 1.f + v[i] - mu[i] * mu[i] - expf(v[i]);
      }
      s = block_reduce(ctx, buf, s, SumOp{});
      if (t == 0) kl[r] = -0.5f * s;
    }
  }
};

struct ReparamKlBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, const float* mu, const float* v, const float* dz, const float* dkl, float* dmu,
                        float* dv, int64_t R, int64_t C, uint64_t seed, uint64_t offset, VarianceForm form,
                        bool mean_only) {
    const int64_t n = R * C, stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride) {
      const float g = dz[i], k = dkl[i / C];
      const float noise =
          mean_only ? 0.f : g * reparam_dsigma(v[i], form) * philox_normal(seed, offset, uint64_t(i));
      dv[i] = noise + k * 0.5f * (expf(v[i]) - 1.f);
      dmu[i] = g + k * mu[i];
    }
  }
};

template <class L>
void launch_reparam_kl_forward(L& l, const float* mu, const float* v, float* z, float* kl, int64_t R, int64_t C,
                               uint64_t seed, uint64_t offset, VarianceForm form, bool mean_only,
                               unsigned threads = 0) {
  const unsigned nt = threads ? threads : pow2_threads(C, 32, 256);
  const unsigned blocks = R < 4096 ? unsigned(R) : 4096u;
  l.template launch<ReparamKlForwardKernel>(LaunchConfig{{blocks}, {nt}, shared_floats(nt)}, mu, v, z, kl, R, C, seed,
                                            offset, form, mean_only);
}

template <class L>
void launch_reparam_kl_backward(L& l, const float* mu, const float* v, const float* dz, const float* dkl, float* dmu,
                                float* dv, int64_t R, int64_t C, uint64_t seed, uint64_t offset, VarianceForm form,
                                bool mean_only) {
  l.template launch<ReparamKlBackwardKernel>(reparam_config(R * C), mu, v, dz, dkl, dmu, dv, R, C, seed, offset, form,
                                             mean_only);
}

}  // namespace ad
