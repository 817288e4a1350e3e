#include "kernels/adam.h"

#include <cmath>

#include "kernels/dispatch.h"

namespace ad {

AdamKernelParams adam_kernel_params(const AdamStepArgs& a) {
  return AdamKernelParams{float(a.lr),
                          float(a.beta1),
                          float(a.beta2),
                          float(a.eps),
                          float(a.weight_decay),
                          float(a.bias_correction1),
                          float(std::sqrt(a.bias_correction2)),
                          float(a.grad_scale)};
}

SgdKernelParams sgd_kernel_params(const SgdStepArgs& a) {
  return SgdKernelParams{float(a.lr),           float(a.momentum), float(a.dampening), float(a.weight_decay),
                         float(a.grad_scale),   a.nesterov,        a.first_step};
}

namespace cpu {
template <class T> void adam_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamStepArgs& a) {
  const T b1 = T(a.beta1), b2 = T(a.beta2), wd = T(a.weight_decay), gs = T(a.grad_scale), eps = T(a.eps);
  const T step_size = T(a.lr / a.bias_correction1), sqrt_bc2 = T(std::sqrt(a.bias_correction2));
#pragma omp parallel for if (n >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T gi = g[i] * gs + wd * p[i];
    m[i] = b1 * m[i] + (T(1) - b1) * gi;
    v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_bc2 + eps);
  }
}

template <class T> void sgd_step(T* p, const T* g, T* buf, int64_t n, const SgdStepArgs& a) {
  const T mom = T(a.momentum), damp = T(a.dampening), wd = T(a.weight_decay), gs = T(a.grad_scale), lr = T(a.lr);
#pragma omp parallel for if (n >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i] * gs + wd * p[i];
    if (mom != T(0)) {
      buf[i] = a.first_step ? d : mom * buf[i] + (T(1) - damp) * d;
      d = a.nesterov ? d + mom * buf[i] : buf[i];
    }
    p[i] -= lr * d;
  }
}

template void adam_step<float>(float*, const float*, float*, float*, int64_t, const AdamStepArgs&);
template void adam_step<double>(double*, const double*, double*, double*, int64_t, const AdamStepArgs&);
template void sgd_step<float>(float*, const float*, float*, int64_t, const SgdStepArgs&);
template void sgd_step<double>(double*, const double*, double*, int64_t, const SgdStepArgs&);
}  // namespace cpu

namespace {
void check_like(const char* op, const Tensor& p, const Tensor& t) {
  check_same_shape(op, p, t);
  check_same_device(op, p, t);
  AD_CHECK(p.dtype() == t.dtype(), op, "dtype mismatch: ", p.describe(), " vs ", t.describe());
}
}  // namespace

void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamStepArgs& args) {
  const char* op = "adam_step";
  check_floating(op, param);
  check_like(op, param, grad);
  check_like(op, param, m);
  check_like(op, param, v);
  if (param.is_device()) {
    check_dtype(op, param, DType::F32);
    AD_ON_DEVICE(op, param, adam_step(param.data<float>(), grad.data<float>(), m.data<float>(), v.data<float>(),
                                      param.numel(), adam_kernel_params(args)));
  } else {
    dispatch_floating(op, param.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::adam_step<T>(param.data<T>(), grad.data<T>(), m.data<T>(), v.data<T>(), param.numel(), args);
    });
  }
}

void sgd_step(Tensor& param, const Tensor& grad, Tensor& momentum_buf, const SgdStepArgs& args) {
  const char* op = "sgd_step";
  check_floating(op, param);
  check_like(op, param, grad);
  bool use_buf = args.momentum != 0.0;
  if (use_buf) check_like(op, param, momentum_buf);
  if (param.is_device()) {
    check_dtype(op, param, DType::F32);
    AD_ON_DEVICE(op, param, sgd_step(param.data<float>(), grad.data<float>(),
                                     use_buf ? momentum_buf.data<float>() : nullptr, param.numel(),
                                     sgd_kernel_params(args)));
  } else {
    dispatch_floating(op, param.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::sgd_step<T>(param.data<T>(), grad.data<T>(), use_buf ? momentum_buf.data<T>() : nullptr, param.numel(),
                       args);
    });
  }
}

std::array<float, 2> adam_step_scalars(const AdamStepArgs& a) {
  const AdamKernelParams k = adam_kernel_params(a);
  return {k.lr / k.bias_correction1, k.sqrt_bias_correction2};
}

void adam_step(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, const AdamStepArgs& args,
               const Tensor& step_scalars) {
  const char* op = "adam_step";
  check_floating(op, param);
  check_like(op, param, grad);
  check_like(op, param, m);
  check_like(op, param, v);
  check_same_device(op, param, step_scalars);
  check_dtype(op, step_scalars, DType::F32);
  AD_CHECK(step_scalars.numel() == 2, op, "step scalars ", step_scalars.describe(), ", expected 2");
  AD_CHECK(param.is_device(), op, "device step scalars are for a device's captured step, got ", param.describe());
  check_dtype(op, param, DType::F32);
  AD_ON_DEVICE(op, param, adam_step_device_scalars(param.data<float>(), grad.data<float>(), m.data<float>(),
                                                       v.data<float>(), param.numel(), adam_kernel_params(args),
                                                       step_scalars.data<float>()));
}

}  // namespace ad
