#include "kernels/elementwise.h"

#include <vector>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
template <class T> void axpby(const T* a, const T* b, T* out, int64_t n, T alpha, T beta) {
#pragma omp parallel for if (n >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = beta == T(0) ? alpha * a[i] : alpha * a[i] + beta * b[i];
}
template <class T> void scale(const T* x, T* y, int64_t n, T alpha) {
#pragma omp parallel for if (n >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
}
template <class T> void mul(const T* a, const T* b, T* out, int64_t n) {
#pragma omp parallel for if (n >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}
template <class T> void fill(T* x, int64_t n, T value) {
  for (int64_t i = 0; i < n; ++i) x[i] = value;
}
template <class T> void add_bias_rows(T* x, const T* bias, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols >= kCpuParallelMin)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) x[r * cols + c] += bias[c];
}
template <class T> void column_sums(const T* x, T* out, int64_t rows, int64_t cols, T scale, bool accumulate) {
  std::vector<double> s(size_t(cols), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) s[size_t(c)] += x[r * cols + c];
  for (int64_t c = 0; c < cols; ++c) out[c] = (accumulate ? out[c] : T(0)) + scale * T(s[size_t(c)]);
}

#define AD_INSTANTIATE(T)                                                               \
  template void axpby<T>(const T*, const T*, T*, int64_t, T, T);                         \
  template void scale<T>(const T*, T*, int64_t, T);                                      \
  template void mul<T>(const T*, const T*, T*, int64_t);                                 \
  template void fill<T>(T*, int64_t, T);                                                 \
  template void add_bias_rows<T>(T*, const T*, int64_t, int64_t);                        \
  template void column_sums<T>(const T*, T*, int64_t, int64_t, T, bool);
AD_INSTANTIATE(float)
AD_INSTANTIATE(double)
#undef AD_INSTANTIATE
}  // namespace cpu

namespace {
void check_same(const char* op, const Tensor& a, const Tensor& b) {
  check_same_shape(op, a, b);
  check_same_device(op, a, b);
  AD_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch: ", a.describe(), " vs ", b.describe());
}
}  // namespace

void add(const Tensor& a, const Tensor& b, Tensor& out, double alpha, double beta) {
  const char* op = "add";
  check_floating(op, a);
  check_same(op, a, b);
  check_same(op, a, out);
  if (a.is_device()) {
    check_dtype(op, a, DType::F32);
    AD_ON_DEVICE(op, a, axpby(a.data<float>(), b.data<float>(), out.data<float>(), a.numel(), float(alpha),
                              float(beta)));
  } else {
    dispatch_floating(op, a.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::axpby<T>(a.data<T>(), b.data<T>(), out.data<T>(), a.numel(), T(alpha), T(beta));
    });
  }
}

void axpby(double alpha, const Tensor& x, double beta, Tensor& y) { add(x, y, y, alpha, beta); }

void scale(const Tensor& x, double alpha, Tensor& y) {
  const char* op = "scale";
  check_floating(op, x);
  check_same(op, x, y);
  if (x.is_device()) {
    check_dtype(op, x, DType::F32);
    AD_ON_DEVICE(op, x, scale(x.data<float>(), y.data<float>(), x.numel(), float(alpha)));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::scale<T>(x.data<T>(), y.data<T>(), x.numel(), T(alpha));
    });
  }
}

void mul(const Tensor& a, const Tensor& b, Tensor& out) {
  const char* op = "mul";
  check_floating(op, a);
  check_same(op, a, b);
  check_same(op, a, out);
  if (a.is_device()) {
    check_dtype(op, a, DType::F32);
    AD_ON_DEVICE(op, a, mul(a.data<float>(), b.data<float>(), out.data<float>(), a.numel()));
  } else {
    dispatch_floating(op, a.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::mul<T>(a.data<T>(), b.data<T>(), out.data<T>(), a.numel());
    });
  }
}

void fill(Tensor& x, double value) {
  [[maybe_unused]] const char* op = "fill";
  if (x.is_device() && x.dtype() == DType::F32) {
    AD_ON_DEVICE(op, x, fill(x.data<float>(), x.numel(), float(value)));
  } else {
    x.fill_(value);  // CPU, or a non-f32 CUDA tensor (host fill + copy)
  }
}

namespace {
int64_t bias_rows(const char* op, const Tensor& x, const Tensor& bias) {
  int64_t cols = bias.numel();
  AD_CHECK(x.dim() >= 1 && x.size(x.dim() - 1) == cols, op, "last dim of ", x.describe(),
           " does not match bias ", bias.describe());
  return cols == 0 ? 0 : x.numel() / cols;
}
}  // namespace

void add_bias_rows(Tensor& x, const Tensor& bias) {
  const char* op = "add_bias_rows";
  check_floating(op, x);
  check_same_device(op, x, bias);
  AD_CHECK(x.dtype() == bias.dtype(), op, "dtype mismatch: ", x.describe(), " vs ", bias.describe());
  int64_t rows = bias_rows(op, x, bias), cols = bias.numel();
  if (x.is_device()) {
    check_dtype(op, x, DType::F32);
    AD_ON_DEVICE(op, x, add_bias_rows(x.data<float>(), bias.data<float>(), rows, cols));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::add_bias_rows<T>(x.data<T>(), bias.data<T>(), rows, cols);
    });
  }
}

void add_bias_rows_backward(const Tensor& dy, Tensor& dbias, bool accumulate) {
  const char* op = "add_bias_rows_backward";
  check_floating(op, dy);
  check_same_device(op, dy, dbias);
  AD_CHECK(dy.dtype() == dbias.dtype(), op, "dtype mismatch: ", dy.describe(), " vs ", dbias.describe());
  int64_t rows = bias_rows(op, dy, dbias), cols = dbias.numel();
  if (dy.is_device()) {
    check_dtype(op, dy, DType::F32);
    AD_ON_DEVICE(op, dy, column_sums(dy.data<float>(), dbias.data<float>(), rows, cols, 1.0f, accumulate));
  } else {
    dispatch_floating(op, dy.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::column_sums<T>(dy.data<T>(), dbias.data<T>(), rows, cols, T(1), accumulate);
    });
  }
}

}  // namespace ad
