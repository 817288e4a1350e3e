#include "kernels/reduce.h"

#include <vector>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
template <class T> void sum_axis(const T* x, T* out, int64_t rows, int64_t cols, int axis, T scale) {
  if (axis == 0) {
    std::vector<double> s(size_t(cols), 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) s[size_t(c)] += x[r * cols + c];
    for (int64_t c = 0; c < cols; ++c) out[c] = T(s[size_t(c)] * scale);
  } else {
#pragma omp parallel for if (rows * cols >= kCpuParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0;
      for (int64_t c = 0; c < cols; ++c) s += x[r * cols + c];
      out[r] = T(s * scale);
    }
  }
}

template <class T> void broadcast(const T* dout, T* dx, int64_t rows, int64_t cols, int axis, T scale) {
#pragma omp parallel for if (rows * cols >= kCpuParallelMin)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dx[r * cols + c] = scale * dout[axis == 0 ? c : axis == 1 ? r : 0];
}

template <class T> T sum_all(const T* x, int64_t n, bool square, T scale) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += square ? double(x[i]) * x[i] : double(x[i]);
  return T(s * scale);
}

template void sum_axis<float>(const float*, float*, int64_t, int64_t, int, float);
template void sum_axis<double>(const double*, double*, int64_t, int64_t, int, double);
template void broadcast<float>(const float*, float*, int64_t, int64_t, int, float);
template void broadcast<double>(const double*, double*, int64_t, int64_t, int, double);
template float sum_all<float>(const float*, int64_t, bool, float);
template double sum_all<double>(const double*, int64_t, bool, double);
}  // namespace cpu

namespace {
// [rows, cols] view of x: rows = size(0), cols = the rest.
void rows_cols(const Tensor& x, int64_t& rows, int64_t& cols) {
  AD_CHECK(x.dim() >= 1, "reduce", "needs at least 1 dim, got ", x.describe());
  rows = x.size(0);
  cols = 1;
  for (int i = 1; i < x.dim(); ++i) cols *= x.size(i);
}

void check_pair(const char* op, const Tensor& a, const Tensor& b) {
  check_floating(op, a);
  check_same_device(op, a, b);
  AD_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch: ", a.describe(), " vs ", b.describe());
}

void total(const char* op, const Tensor& x, Tensor& out, bool square, bool mean) {
  check_pair(op, x, out);
  AD_CHECK(out.numel() == 1, op, "output must have one element, got ", out.describe());
  int64_t n = x.numel();
  double scale = mean ? (n > 0 ? 1.0 / double(n) : 0.0) : 1.0;
  if (x.is_device()) {
    check_dtype(op, x, DType::F32);
    AD_ON_DEVICE(op, x, sum_all(x.data<float>(), out.data<float>(), n, square, float(scale)));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      out.data<T>()[0] = cpu::sum_all<T>(x.data<T>(), n, square, T(scale));
    });
  }
}

void total_backward(const char* op, const Tensor& dout, Tensor& dx, bool mean) {
  check_pair(op, dout, dx);
  AD_CHECK(dout.numel() == 1, op, "gradient must have one element, got ", dout.describe());
  int64_t n = dx.numel();
  double scale = mean ? (n > 0 ? 1.0 / double(n) : 0.0) : 1.0;
  if (dx.is_device()) {
    check_dtype(op, dx, DType::F32);
    AD_ON_DEVICE(op, dx, broadcast(dout.data<float>(), dx.data<float>(), 1, n, -1, float(scale)));
  } else {
    dispatch_floating(op, dx.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::broadcast<T>(dout.data<T>(), dx.data<T>(), 1, n, -1, T(scale));
    });
  }
}
}  // namespace

void sum_axis(const Tensor& x, int axis, Tensor& out, double scale) {
  const char* op = "sum_axis";
  check_pair(op, x, out);
  AD_CHECK(axis == 0 || axis == 1, op, "axis must be 0 or 1, got ", axis);
  int64_t rows, cols;
  rows_cols(x, rows, cols);
  AD_CHECK(out.numel() == (axis == 0 ? cols : rows), op, "output ", out.describe(), " does not fit axis ", axis,
           " of ", x.describe());
  if (x.is_device()) {
    check_dtype(op, x, DType::F32);
    AD_ON_DEVICE(op, x, sum_axis(x.data<float>(), out.data<float>(), rows, cols, axis, float(scale)));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::sum_axis<T>(x.data<T>(), out.data<T>(), rows, cols, axis, T(scale));
    });
  }
}

void sum_axis_backward(const Tensor& dout, int axis, Tensor& dx, double scale) {
  const char* op = "sum_axis_backward";
  check_pair(op, dout, dx);
  AD_CHECK(axis == 0 || axis == 1, op, "axis must be 0 or 1, got ", axis);
  int64_t rows, cols;
  rows_cols(dx, rows, cols);
  AD_CHECK(dout.numel() == (axis == 0 ? cols : rows), op, "gradient ", dout.describe(), " does not fit axis ",
           axis, " of ", dx.describe());
  if (dx.is_device()) {
    check_dtype(op, dx, DType::F32);
    AD_ON_DEVICE(op, dx, broadcast(dout.data<float>(), dx.data<float>(), rows, cols, axis, float(scale)));
  } else {
    dispatch_floating(op, dx.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::broadcast<T>(dout.data<T>(), dx.data<T>(), rows, cols, axis, T(scale));
    });
  }
}

void sum_all(const Tensor& x, Tensor& out) { total("sum_all", x, out, false, false); }
void mean_all(const Tensor& x, Tensor& out) { total("mean_all", x, out, false, true); }
void sum_squares(const Tensor& x, Tensor& out) { total("sum_squares", x, out, true, false); }
void sum_all_backward(const Tensor& dout, Tensor& dx) { total_backward("sum_all_backward", dout, dx, false); }
void mean_all_backward(const Tensor& dout, Tensor& dx) { total_backward("mean_all_backward", dout, dx, true); }

}  // namespace ad
