#include "kernels/softmax.h"

#include <cmath>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
template <class T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols >= kCpuParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    T m = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) m = std::max(m, xr[c]);
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += std::exp(double(xr[c] - m));
    for (int64_t c = 0; c < cols; ++c) yr[c] = T(std::exp(double(xr[c] - m)) / s);
  }
}

template <class T> void softmax_backward(const T* y, const T* dy, T* dx, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols >= kCpuParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y + r * cols;
    const T* dyr = dy + r * cols;
    T* dxr = dx + r * cols;
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += double(dyr[c]) * yr[c];
    for (int64_t c = 0; c < cols; ++c) dxr[c] = T(yr[c] * (dyr[c] - s));
  }
}

template void softmax_forward<float>(const float*, float*, int64_t, int64_t);
template void softmax_forward<double>(const double*, double*, int64_t, int64_t);
template void softmax_backward<float>(const float*, const float*, float*, int64_t, int64_t);
template void softmax_backward<double>(const double*, const double*, double*, int64_t, int64_t);
}  // namespace cpu

namespace {
void rows_cols(const Tensor& x, int64_t& rows, int64_t& cols) {
  AD_CHECK(x.dim() >= 1, "softmax", "needs at least 1 dim, got ", x.describe());
  cols = x.size(x.dim() - 1);
  rows = cols == 0 ? 0 : x.numel() / cols;
}
void check_pair(const char* op, const Tensor& a, const Tensor& b) {
  check_floating(op, a);
  check_same_shape(op, a, b);
  check_same_device(op, a, b);
  AD_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch: ", a.describe(), " vs ", b.describe());
}
}  // namespace

void softmax_forward(const Tensor& x, Tensor& y) {
  const char* op = "softmax_forward";
  check_pair(op, x, y);
  int64_t rows, cols;
  rows_cols(x, rows, cols);
  if (x.is_device()) {
    check_dtype(op, x, DType::F32);
    AD_ON_DEVICE(op, x, softmax_forward(x.data<float>(), y.data<float>(), rows, cols));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::softmax_forward<T>(x.data<T>(), y.data<T>(), rows, cols);
    });
  }
}

void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx) {
  const char* op = "softmax_backward";
  check_pair(op, y, dy);
  check_pair(op, y, dx);
  int64_t rows, cols;
  rows_cols(y, rows, cols);
  if (y.is_device()) {
    check_dtype(op, y, DType::F32);
    AD_ON_DEVICE(op, y, softmax_backward(y.data<float>(), dy.data<float>(), dx.data<float>(), rows, cols));
  } else {
    dispatch_floating(op, y.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::softmax_backward<T>(y.data<T>(), dy.data<T>(), dx.data<T>(), rows, cols);
    });
  }
}

}  // namespace ad
