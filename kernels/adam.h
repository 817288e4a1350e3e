// Fused optimizer updates, one pass over (param, grad, state) per parameter tensor:
//   Adam (PyTorch's torch.optim.Adam with L2 weight decay added to the gradient):
//     g = grad * grad_scale + weight_decay * p
//     m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
//     p -= (lr / bias_correction1) * m / (sqrt(v) / sqrt(bias_correction2) + eps)
//   SGD with momentum (torch.optim.SGD):
//     g = grad * grad_scale + weight_decay * p
//     buf = first_step ? g : momentum buf + (1 - dampening) g;   g = nesterov ? g + momentum buf : buf
//     p -= lr g                (no buffer when momentum == 0)
// grad_scale carries gradient clipping by global norm without rewriting the gradients.
// CPU reference (f32, f64) in adam.cpp; CUDA kernels in adam.cuh/.cu.
#pragma once
#include <array>
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

struct AdamStepArgs {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  double bias_correction1 = 1.0, bias_correction2 = 1.0;  // 1 - beta^t for step t
  double grad_scale = 1.0;
};

struct SgdStepArgs {
  double lr = 1e-2, momentum = 0.0, dampening = 0.0, weight_decay = 0.0, grad_scale = 1.0;
  bool nesterov = false;
  bool first_step = true;  // the momentum buffer starts as the first gradient
};

// Same shape, dtype and device for all; m and v are updated in place.
void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamStepArgs& args);
// The same with the step-dependent scalars read from device memory (kernels/adam.cuh): step_scalars is an f32
// [2] tensor on param's device holding adam_step_scalars(args). A device path only (captured steps).
void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamStepArgs& args,
               const Tensor& step_scalars);
// lr / bias_correction1 and sqrt(bias_correction2), rounded as the kernel rounds them.
std::array<float, 2> adam_step_scalars(const AdamStepArgs& args);
// momentum_buf is ignored (may be undefined) when args.momentum == 0.
void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf, const SgdStepArgs& args);

// Kernel form of the step arguments (f32, with sqrt(bias_correction2) precomputed).
struct AdamKernelParams {
  float lr, beta1, beta2, eps, weight_decay, bias_correction1, sqrt_bias_correction2, grad_scale;
};
struct SgdKernelParams {
  float lr, momentum, dampening, weight_decay, grad_scale;
  bool nesterov, first_step;
};
AdamKernelParams adam_kernel_params(const AdamStepArgs& a);
SgdKernelParams sgd_kernel_params(const SgdStepArgs& a);

namespace cpu {
template <class T> void adam_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamStepArgs& args);
template <class T> void sgd_step(T* p, const T* g, T* buf, int64_t n, const SgdStepArgs& args);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void adam_step(float* p, const float* g, float* m, float* v, int64_t n, const AdamKernelParams& k);
void sgd_step(float* p, const float* g, float* buf, int64_t n, const SgdKernelParams& k);
void adam_step_device_scalars(float* p, const float* g, float* m, float* v, int64_t n, const AdamKernelParams& k,
                              const float* step_scalars);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
