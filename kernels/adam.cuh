// Fused Adam / SGD update kernels: one thread per element (grid-stride), reading p, g and the state once
// and writing p and the state once. An optimizer runs them once over its flat parameter buffer
// (layers/parameter.h), so one launch updates every parameter.
// Adam's step-dependent scalars come either with the launch (AdamKernelParams) or, for a captured step whose
// launch arguments are frozen (runtime/step_graph.h), from device memory: step_scalars[0] = lr /
// bias_correction1, step_scalars[1] = sqrt(bias_correction2), both computed in f32 exactly as the kernel
// computes them from AdamKernelParams, so the two forms give the same bits.
#pragma once
#include <cmath>

#include "kernels/activation.cuh"  // pointwise_config
#include "kernels/adam.h"
#include "kernels/launch.h"

namespace ad {

struct AdamKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, float* p, const float* g, float* m, float* v, int64_t n, AdamKernelParams k,
                        const float* step_scalars) {
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    const float step_size = step_scalars ? step_scalars[0] : k.lr / k.bias_correction1;
    const float sqrt_bc2 = step_scalars ? step_scalars[1] : k.sqrt_bias_correction2;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride) {
      float pi = p[i];
      float gi = g[i] * k.grad_scale + k.weight_decay * pi;
      float mi = k.beta1 * m[i] + (1.f - k.beta1) * gi;
      float vi = k.beta2 * v[i] + (1.f - k.beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - step_size * mi / (sqrtf(vi) / sqrt_bc2 + k.eps);
    }
  }
};

struct SgdKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, float* p, const float* g, float* buf, int64_t n, SgdKernelParams k) {
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride) {
      float pi = p[i];
      float d = g[i] * k.grad_scale + k.weight_decay * pi;
      if (k.momentum != 0.f) {
        float b = k.first_step ? d : k.momentum * buf[i] + (1.f - k.dampening) * d;
        buf[i] = b;
        d = k.nesterov ? d + k.momentum * b : b;
      }
      p[i] = pi - k.lr * d;
    }
  }
};

template <class L>
void launch_adam_step(L& l, float* p, const float* g, float* m, float* v, int64_t n, const AdamKernelParams& k,
                      const float* step_scalars = nullptr) {
  l.template launch<AdamKernel>(pointwise_config(n), p, g, m, v, n, k, step_scalars);
}
template <class L> void launch_sgd_step(L& l, float* p, const float* g, float* buf, int64_t n, const SgdKernelParams& k) {
  l.template launch<SgdKernel>(pointwise_config(n), p, g, buf, n, k);
}

}  // namespace ad
