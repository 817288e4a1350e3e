// Sums of a tensor viewed as [rows, cols] (rows = x.size(0), cols = numel / rows): per column (axis 0,
// "sum over rows") or per row (axis 1, "sum over columns"), the total sum / mean / sum of squares into a
// one-element tensor, and the backward of each (a broadcast). CPU reference (f32, f64, accumulating in
// double) in reduce.cpp; CUDA kernels (shared-memory block reductions) in reduce.cuh/.cu.
#pragma once
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

// axis 0: out[c] = scale * sum_r x[r, c] (out has cols elements);
// axis 1: out[r] = scale * sum_c x[r, c] (out has rows elements). scale = 1/n gives a mean.
void sum_axis(const Tensor& x, int axis, Tensor& out, double scale = 1.0);
// dx[r, c] = scale * dout[c] (axis 0) or scale * dout[r] (axis 1); dx viewed as [dx.size(0), rest].
void sum_axis_backward(const Tensor& dout, int axis, Tensor& dx, double scale = 1.0);

// out (one element) = sum / mean / sum of squares of all elements. The mean of nothing is 0.
void sum_all(const Tensor& x, Tensor& out);
void mean_all(const Tensor& x, Tensor& out);
void sum_squares(const Tensor& x, Tensor& out);
// dx[i] = dout[0] (sum) or dout[0] / n (mean).
void sum_all_backward(const Tensor& dout, Tensor& dx);
void mean_all_backward(const Tensor& dout, Tensor& dx);

namespace cpu {
template <class T> void sum_axis(const T* x, T* out, int64_t rows, int64_t cols, int axis, T scale);
// axis 0 / 1 as above; axis -1: every element gets dout[0].
template <class T> void broadcast(const T* dout, T* dx, int64_t rows, int64_t cols, int axis, T scale);
// scale * sum of x[i] (or x[i]^2 when square), accumulated in double.
template <class T> T sum_all(const T* x, int64_t n, bool square, T scale);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void sum_axis(const float* x, float* out, int64_t rows, int64_t cols, int axis, float scale);
void broadcast(const float* dout, float* dx, int64_t rows, int64_t cols, int axis, float scale);
// Writes to device memory out[0]; allocates its per-block workspace from the caching allocator.
void sum_all(const float* x, float* out, int64_t n, bool square, float scale);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
