// Pointwise activations y = f(x) and their backward dx = dy * f'(x).
// CPU reference (f32 and f64) in activation.cpp, CUDA kernel in activation.cuh/.cu.
#pragma once
#include <string>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

enum class Activation { Identity, ReLU, LeakyReLU, ELU, Tanh, Sigmoid, Softplus };

Activation parse_activation(const std::string& name);  // "relu", "leaky_relu", "elu", ...
const char* activation_name(Activation a);

// `param` is the LeakyReLU negative slope or the ELU alpha; ignored by the others.
void activation_forward(Activation a, const Tensor& x, Tensor& y, float param = 0.0f);
// Uses x and y (whichever the derivative is cheaper from); dx may alias dy.
void activation_backward(Activation a, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor& dx,
                         float param = 0.0f);

namespace cpu {
template <class T> void activation_forward(Activation a, const T* x, T* y, int64_t n, T param);
template <class T>
void activation_backward(Activation a, const T* x, const T* y, const T* dy, T* dx, int64_t n, T param);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void activation_forward(Activation a, const float* x, float* y, int64_t n, float param);
void activation_backward(Activation a, const float* x, const float* y, const float* dy, float* dx, int64_t n,
                         float param);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
