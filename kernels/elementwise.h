// Elementwise ops on same-shape tensors, the per-column bias add used by Linear, and its backward
// (column sums). CPU reference (f32, f64) in elementwise.cpp, CUDA kernels in elementwise.cuh/.cu.
// Outputs may alias inputs (every element is read before it is written by the same thread).
#pragma once
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

// out = alpha * a + beta * b. With beta == 0, b is not read (it may hold NaN).
void add(const Tensor& a, const Tensor& b, Tensor& out, double alpha = 1.0, double beta = 1.0);
// y = alpha * x + beta * y (BLAS axpby; beta == 0 ignores the old y).
void axpby(double alpha, const Tensor& x, double beta, Tensor& y);
// y = alpha * x (y may be x).
void scale(const Tensor& x, double alpha, Tensor& y);
// out = a * b elementwise.
void mul(const Tensor& a, const Tensor& b, Tensor& out);
// Every element = value (on the device without a host round trip).
void fill(Tensor& x, double value);
// x viewed as [rows, cols] with cols = bias.numel(): x[r, c] += bias[c].
void add_bias_rows(Tensor& x, const Tensor& bias);
// dbias[c] = sum_r dy[r, c] (dy viewed as [rows, dbias.numel()]); accumulate adds to dbias instead.
void add_bias_rows_backward(const Tensor& dy, Tensor& dbias, bool accumulate = false);

namespace cpu {
template <class T> void axpby(const T* a, const T* b, T* out, int64_t n, T alpha, T beta);
template <class T> void scale(const T* x, T* y, int64_t n, T alpha);
template <class T> void mul(const T* a, const T* b, T* out, int64_t n);
template <class T> void fill(T* x, int64_t n, T value);
template <class T> void add_bias_rows(T* x, const T* bias, int64_t rows, int64_t cols);
// out[c] = scale * sum_r x[r, c] (+ out[c] when accumulate).
template <class T> void column_sums(const T* x, T* out, int64_t rows, int64_t cols, T scale, bool accumulate);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void axpby(const float* a, const float* b, float* out, int64_t n, float alpha, float beta);
void scale(const float* x, float* y, int64_t n, float alpha);
void mul(const float* a, const float* b, float* out, int64_t n);
void fill(float* x, int64_t n, float value);
void add_bias_rows(float* x, const float* bias, int64_t rows, int64_t cols);
void column_sums(const float* x, float* out, int64_t rows, int64_t cols, float scale, bool accumulate);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
