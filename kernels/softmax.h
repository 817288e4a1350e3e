// Softmax over the last dim: x viewed as [rows, cols] with cols = x.size(-1).
// Forward subtracts the row max; backward dx = y * (dy - sum_c dy * y). CPU reference (f32, f64) in
// softmax.cpp; CUDA kernels (one block per row, shared-memory reductions) in softmax.cuh/.cu.
#pragma once
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

void softmax_forward(const Tensor& x, Tensor& y);  // y may alias x
void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx);  // dx may alias dy

namespace cpu {
template <class T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols);
template <class T> void softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
