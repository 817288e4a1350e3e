#include "kernels/activation.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/dispatch.h"
#include "kernels/fast_math.h"

namespace ad {

Activation parse_activation(const std::string& name) {
  if (name == "linear" || name == "identity" || name == "none") return Activation::Identity;
  if (name == "relu") return Activation::ReLU;
  if (name == "leaky_relu" || name == "leakyrelu") return Activation::LeakyReLU;
  if (name == "elu") return Activation::ELU;
  if (name == "tanh") return Activation::Tanh;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "softplus") return Activation::Softplus;
  AD_FAIL("parse_activation", "unknown activation '", name,
          "' (known: linear, relu, leaky_relu, elu, tanh, sigmoid, softplus)");
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Identity: return "linear";
    case Activation::ReLU: return "relu";
    case Activation::LeakyReLU: return "leaky_relu";
    case Activation::ELU: return "elu";
    case Activation::Tanh: return "tanh";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Softplus: return "softplus";
  }
  return "?";
}

namespace cpu {
namespace {
// One loop per activation (the switch hoisted out) so that each loop body vectorises.
template <class T, class F> void map(const T* x, T* y, int64_t n, F f) {
#pragma omp parallel for simd if (n >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}
template <class T, class F> void map_grad(const T* x, const T* y, const T* dy, T* dx, int64_t n, F f) {
#pragma omp parallel for simd if (n >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * f(x[i], y[i]);
}
}  // namespace

template <class T> void activation_forward(Activation a, const T* x, T* y, int64_t n, T p) {
  switch (a) {
    case Activation::Identity: return map(x, y, n, [](T v) { return v; });
    case Activation::ReLU: return map(x, y, n, [](T v) { return v > T(0) ? v : T(0); });
    case Activation::LeakyReLU: return map(x, y, n, [p](T v) { return v > T(0) ? v : p * v; });
    // exp(min(v, 0)) - 1 rather than expm1: the same to ~1e-7 absolute, and it vectorises.
    case Activation::ELU:
      return map(x, y, n, [p](T v) { return v > T(0) ? v : p * (exp_of(std::min(v, T(0))) - T(1)); });
    case Activation::Tanh: return map(x, y, n, [](T v) { return tanh_of(v); });
    case Activation::Sigmoid: return map(x, y, n, [](T v) { return T(1) / (T(1) + exp_of(-v)); });
    case Activation::Softplus: return map(x, y, n, [](T v) { return v > T(20) ? v : std::log1p(std::exp(v)); });
  }
}

template <class T>
void activation_backward(Activation a, const T* x, const T* y, const T* dy, T* dx, int64_t n, T p) {
  switch (a) {
    case Activation::Identity: return map_grad(x, y, dy, dx, n, [](T, T) { return T(1); });
    case Activation::ReLU: return map_grad(x, y, dy, dx, n, [](T v, T) { return v > T(0) ? T(1) : T(0); });
    case Activation::LeakyReLU: return map_grad(x, y, dy, dx, n, [p](T v, T) { return v > T(0) ? T(1) : p; });
    case Activation::ELU:
      return map_grad(x, y, dy, dx, n, [p](T v, T) { return v > T(0) ? T(1) : p * exp_of(std::min(v, T(0))); });
    case Activation::Tanh: return map_grad(x, y, dy, dx, n, [](T, T t) { return T(1) - t * t; });
    case Activation::Sigmoid: return map_grad(x, y, dy, dx, n, [](T, T s) { return s * (T(1) - s); });
    case Activation::Softplus: return map_grad(x, y, dy, dx, n, [](T v, T) { return T(1) / (T(1) + std::exp(-v)); });
  }
}

template void activation_forward<float>(Activation, const float*, float*, int64_t, float);
template void activation_forward<double>(Activation, const double*, double*, int64_t, double);
template void activation_backward<float>(Activation, const float*, const float*, const float*, float*, int64_t,
                                         float);
template void activation_backward<double>(Activation, const double*, const double*, const double*, double*,
                                          int64_t, double);
}  // namespace cpu

void activation_forward(Activation a, const Tensor& x, Tensor& y, float param) {
  const char* op = "activation_forward";
  check_same_shape(op, x, y);
  check_same_device(op, x, y);
  check_floating(op, x);
  if (x.is_cuda()) {
    check_dtype(op, x, DType::F32);
    AD_WITH_CUDA_ONLY(op, cuda::activation_forward(a, x.data<float>(), y.data<float>(), x.numel(), param));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::activation_forward<T>(a, x.data<T>(), y.data<T>(), x.numel(), T(param));
    });
  }
}

void activation_backward(Activation a, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx,
                         float param) {
  const char* op = "activation_backward";
  check_same_shape(op, x, dy);
  check_same_shape(op, x, dx);
  check_same_device(op, x, dx);
  if (x.is_cuda()) {
    check_dtype(op, x, DType::F32);
    AD_WITH_CUDA_ONLY(op, cuda::activation_backward(a, x.data<float>(), y.data<float>(), dy.data<float>(),
                                                    dx.data<float>(), x.numel(), param));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::activation_backward<T>(a, x.data<T>(), y.data<T>(), dy.data<T>(), dx.data<T>(), x.numel(), T(param));
    });
  }
}

}  // namespace ad
