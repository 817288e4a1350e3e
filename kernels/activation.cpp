#include "kernels/activation.h"

#include <cmath>

#include "kernels/dispatch.h"

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
template <class T> void activation_forward(Activation a, const T* x, T* y, int64_t n, T p) {
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    T v = x[i];
    switch (a) {
      case Activation::Identity: y[i] = v; break;
      case Activation::ReLU: y[i] = std::max(v, T(0)); break;
      case Activation::LeakyReLU: y[i] = v > 0 ? v : p * v; break;
      case Activation::ELU: y[i] = v > 0 ? v : p * std::expm1(v); break;
      case Activation::Tanh: y[i] = std::tanh(v); break;
      case Activation::Sigmoid: y[i] = T(1) / (T(1) + std::exp(-v)); break;
      case Activation::Softplus: y[i] = v > T(20) ? v : std::log1p(std::exp(v)); break;
    }
  }
}

template <class T>
void activation_backward(Activation a, const T* x, const T* y, const T* dy, T* dx, int64_t n, T p) {
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    T v = x[i], d;
    switch (a) {
      case Activation::Identity: d = 1; break;
      case Activation::ReLU: d = v > 0 ? 1 : 0; break;
      case Activation::LeakyReLU: d = v > 0 ? 1 : p; break;
      case Activation::ELU: d = v > 0 ? T(1) : p * std::exp(v); break;
      case Activation::Tanh: d = T(1) - y[i] * y[i]; break;
      case Activation::Sigmoid: d = y[i] * (T(1) - y[i]); break;
      case Activation::Softplus: d = T(1) / (T(1) + std::exp(-v)); break;
      default: d = 1;
    }
    dx[i] = dy[i] * d;
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
