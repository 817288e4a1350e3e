// Activation kernels: one thread per element, grid-stride loop so any n fits a bounded grid.
// Forward and backward share the pointwise formulas below; the CPU reference in activation.cpp
// is written separately so the emulated test compares two independent codes.
#pragma once
#include <cmath>

#include "kernels/activation.h"
#include "kernels/launch.h"

namespace ad {

AD_HD inline float activation_value(Activation a, float x, float p) {
  switch (a) {
    case Activation::Identity: return x;
    case Activation::ReLU: return x > 0.f ? x : 0.f;
    case Activation::LeakyReLU: return x > 0.f ? x : p * x;
    case Activation::ELU: return x > 0.f ? x : p * expm1f(x);
    case Activation::Tanh: return tanhf(x);
    case Activation::Sigmoid: return 1.f / (1.f + expf(-x));
    case Activation::Softplus: return x > 20.f ? x : log1pf(expf(x));
  }
  return x;
}

// f'(x), from x or from y = f(x).
AD_HD inline float activation_slope(Activation a, float x, float y, float p) {
  switch (a) {
    case Activation::Identity: return 1.f;
    case Activation::ReLU: return x > 0.f ? 1.f : 0.f;
    case Activation::LeakyReLU: return x > 0.f ? 1.f : p;
    case Activation::ELU: return x > 0.f ? 1.f : y + p;
    case Activation::Tanh: return 1.f - y * y;
    case Activation::Sigmoid: return y * (1.f - y);
    case Activation::Softplus: return 1.f / (1.f + expf(-x));
  }
  return 1.f;
}

struct ActivationForwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, Activation a, const float* x, float* y, int64_t n, float p) {
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride)
      y[i] = activation_value(a, x[i], p);
  }
};

struct ActivationBackwardKernel {
  template <class Ctx>
  AD_HD static void run(Ctx& ctx, Activation a, const float* x, const float* y, const float* dy, float* dx,
                        int64_t n, float p) {
    int64_t stride = int64_t(ctx.block_dim().x) * ctx.grid_dim().x;
    for (int64_t i = int64_t(ctx.block_idx().x) * ctx.block_dim().x + ctx.thread_idx().x; i < n; i += stride)
      dx[i] = dy[i] * activation_slope(a, x[i], y[i], p);
  }
};

// Grid capped at 4096 blocks; the grid-stride loop covers the rest.
inline LaunchConfig pointwise_config(int64_t n, unsigned threads = 256) {
  unsigned b = blocks_for(n, threads);
  return LaunchConfig{{b < 4096u ? b : 4096u}, {threads}, 0};
}

template <class L>
void launch_activation_forward(L& l, Activation a, const float* x, float* y, int64_t n, float p) {
  l.template launch<ActivationForwardKernel>(pointwise_config(n), a, x, y, n, p);
}
template <class L>
void launch_activation_backward(L& l, Activation a, const float* x, const float* y, const float* dy, float* dx,
                                int64_t n, float p) {
  l.template launch<ActivationBackwardKernel>(pointwise_config(n), a, x, y, dy, dx, n, p);
}

}  // namespace ad
