#include "kernels/activation.h"

#include <omp.h>

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
// Splits [0, n) into one contiguous chunk per OpenMP thread (one parallel region, no per-element scheduling).
template <class F> void in_chunks(int64_t n, F body) {
  if (n < kCpuParallelMin) return body(int64_t(0), n);
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    body(n * t / nt, n * (t + 1) / nt);
  }
}

// One loop per activation (the switch hoisted out) so that each loop body vectorises.
template <class T, class F> void map(const T* x, T* y, int64_t n, F f) {
  in_chunks(n, [&](int64_t lo, int64_t hi) {
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) y[i] = f(x[i]);
  });
}
template <class T, class F> void map_grad(const T* x, const T* y, const T* dy, T* dx, int64_t n, F f) {
  in_chunks(n, [&](int64_t lo, int64_t hi) {
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) dx[i] = dy[i] * f(x[i], y[i]);
  });
}

// The f32 loops of the exp-based activations, cloned for AVX-512 / AVX2 (AD_CPU_CLONES, fast_math.h).
// Profile of DC-VAE's CPU step: the baseline build ran ELU's loop as scalar code (GCC did not if-convert its
// select) and tanh's 4 lanes wide, together ~40% of the step once the matrix products used AVX-512. Here
// both sides of each select are computed, so every clone vectorises. Same formulas as the generic loops below (fast_expf, tanh_of).
AD_CPU_CLONES void elu_forward_f32(const float* x, float* y, int64_t lo, int64_t hi, float alpha) {
  for (int64_t i = lo; i < hi; ++i) {
    const float v = x[i], negative = alpha * (fast_expf(std::min(v, 0.0f)) - 1.0f);
    y[i] = v > 0.0f ? v : negative;
  }
}
AD_CPU_CLONES void elu_backward_f32(const float* x, const float* dy, float* dx, int64_t lo, int64_t hi, float alpha) {
  for (int64_t i = lo; i < hi; ++i) {
    const float v = x[i], negative = alpha * fast_expf(std::min(v, 0.0f));
    dx[i] = dy[i] * (v > 0.0f ? 1.0f : negative);
  }
}
AD_CPU_CLONES void tanh_forward_f32(const float* x, float* y, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; ++i) y[i] = tanh_of(x[i]);
}
AD_CPU_CLONES void sigmoid_forward_f32(const float* x, float* y, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; ++i) y[i] = 1.0f / (1.0f + fast_expf(-x[i]));
}
}  // namespace

template <class T> void activation_forward(Activation a, const T* x, T* y, int64_t n, T p) {
  if constexpr (std::is_same_v<T, float>) {
    switch (a) {
      case Activation::ELU: return in_chunks(n, [&](int64_t lo, int64_t hi) { elu_forward_f32(x, y, lo, hi, p); });
      case Activation::Tanh: return in_chunks(n, [&](int64_t lo, int64_t hi) { tanh_forward_f32(x, y, lo, hi); });
      case Activation::Sigmoid:
        return in_chunks(n, [&](int64_t lo, int64_t hi) { sigmoid_forward_f32(x, y, lo, hi); });
      default: break;
    }
  }
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
  if constexpr (std::is_same_v<T, float>) {
    if (a == Activation::ELU)
      return in_chunks(n, [&](int64_t lo, int64_t hi) { elu_backward_f32(x, dy, dx, lo, hi, p); });
  }
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
  if (x.is_device()) {
    check_dtype(op, x, DType::F32);
    AD_ON_DEVICE(op, x, activation_forward(a, x.data<float>(), y.data<float>(), x.numel(), param));
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
  if (x.is_device()) {
    check_dtype(op, x, DType::F32);
    AD_ON_DEVICE(op, x, activation_backward(a, x.data<float>(), y.data<float>(), dy.data<float>(),
                                            dx.data<float>(), x.numel(), param));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::activation_backward<T>(a, x.data<T>(), y.data<T>(), dy.data<T>(), dx.data<T>(), x.numel(), T(param));
    });
  }
}

}  // namespace ad
