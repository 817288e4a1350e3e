#include "kernels/dilated_conv1d.h"

#include <algorithm>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/gemm.h"

namespace ad {

Conv1dShape conv1d_shape(const char* op, const Tensor& x, const Tensor& w, int64_t dilation) {
  AD_CHECK(x.dim() == 3, op, "x must be [B, T, C_in], got ", x.describe());
  AD_CHECK(w.dim() == 3, op, "w must be [K, C_in, C_out], got ", w.describe());
  AD_CHECK(w.size(1) == x.size(2), op, "x ", x.describe(), " has ", x.size(2), " channels but w ", w.describe(),
           " expects ", w.size(1));
  AD_CHECK(dilation >= 1, op, "dilation must be >= 1, got ", dilation);
  AD_CHECK(w.size(0) >= 1, op, "kernel size must be >= 1, got ", w.describe());
  return Conv1dShape{x.size(0), x.size(1), x.size(2), w.size(2), w.size(0), dilation};
}

namespace cpu {
// The references loop in the order that keeps the innermost loop on contiguous channels and
// accumulate in double, so they are also the accurate side of the GPU parity tests.
template <class T> void dilated_conv1d_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t rows = s.batch * s.steps;
#pragma omp parallel for if (rows * s.cout * s.cin >= kCpuParallelMin)
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t b = n / s.steps, t = n % s.steps;
    std::vector<double> acc(size_t(s.cout));
    for (int64_t o = 0; o < s.cout; ++o) acc[o] = bias ? double(bias[o]) : 0.0;
    for (int64_t k = 0; k < s.ksize; ++k) {
      const int64_t ts = t - (s.ksize - 1 - k) * s.dilation;
      if (ts < 0) continue;
      const T* xr = x + (b * s.steps + ts) * s.cin;
      for (int64_t c = 0; c < s.cin; ++c) {
        const double xv = xr[c];
        const T* wr = w + (k * s.cin + c) * s.cout;
        for (int64_t o = 0; o < s.cout; ++o) acc[o] += xv * double(wr[o]);
      }
    }
    T* yr = y + n * s.cout;
    for (int64_t o = 0; o < s.cout; ++o) yr[o] = T(acc[o]);
  }
}

template <class T> void dilated_conv1d_backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t rows = s.batch * s.steps;
#pragma omp parallel for if (rows * s.cout * s.cin >= kCpuParallelMin)
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t b = n / s.steps, t = n % s.steps;
    T* dxr = dx + n * s.cin;
    for (int64_t c = 0; c < s.cin; ++c) {
      double acc = 0;
      for (int64_t k = 0; k < s.ksize; ++k) {
        const int64_t tf = t + (s.ksize - 1 - k) * s.dilation;  // the output this input feeds through tap k
        if (tf >= s.steps) continue;
        const T* dyr = dy + (b * s.steps + tf) * s.cout;
        const T* wr = w + (k * s.cin + c) * s.cout;
        for (int64_t o = 0; o < s.cout; ++o) acc += double(wr[o]) * double(dyr[o]);
      }
      dxr[c] = T(acc);
    }
  }
}

template <class T>
void dilated_conv1d_backward_params(const Conv1dShape& s, const T* x, const T* dy, T* dw, T* db) {
  const int64_t rows = s.batch * s.steps;
#pragma omp parallel for collapse(2) if (rows * s.cout * s.cin >= kCpuParallelMin)
  for (int64_t k = 0; k < s.ksize; ++k)
    for (int64_t c = 0; c < s.cin; ++c) {
      const int64_t shift = (s.ksize - 1 - k) * s.dilation;
      std::vector<double> acc(size_t(s.cout), 0.0);
      for (int64_t n = 0; n < rows; ++n) {
        const int64_t b = n / s.steps, t = n % s.steps;
        if (t - shift < 0) continue;
        const double xv = x[(b * s.steps + t - shift) * s.cin + c];
        const T* dyr = dy + n * s.cout;
        for (int64_t o = 0; o < s.cout; ++o) acc[o] += xv * double(dyr[o]);
      }
      T* dwr = dw + (k * s.cin + c) * s.cout;
      for (int64_t o = 0; o < s.cout; ++o) dwr[o] += T(acc[o]);
    }
  if (db) {
    std::vector<double> acc(size_t(s.cout), 0.0);
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t o = 0; o < s.cout; ++o) acc[o] += double(dy[n * s.cout + o]);
    for (int64_t o = 0; o < s.cout; ++o) db[o] += T(acc[o]);
  }
}

template void dilated_conv1d_forward<float>(const Conv1dShape&, const float*, const float*, const float*, float*);
template void dilated_conv1d_forward<double>(const Conv1dShape&, const double*, const double*, const double*,
                                             double*);
template void dilated_conv1d_backward_data<float>(const Conv1dShape&, const float*, const float*, float*);
template void dilated_conv1d_backward_data<double>(const Conv1dShape&, const double*, const double*, double*);
template void dilated_conv1d_backward_params<float>(const Conv1dShape&, const float*, const float*, float*, float*);
template void dilated_conv1d_backward_params<double>(const Conv1dShape&, const double*, const double*, double*,
                                                     double*);
}  // namespace cpu

// The CPU path ops run on: per tap k, one large GEMM over all B*T rows (OpenBLAS), then a shifted add.
// Tap k reads input `shift = (K-1-k)*d` steps back, so y[b, t] += (x W_k)[b, t - shift] for t >= shift;
// this does the same arithmetic as the loops in namespace cpu (the reference the tests compare against)
// at BLAS speed.
namespace cpu_blas {
namespace {
template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T beta, T* c) {
  cpu::gemm<T>(ta, tb, m, n, k, T(1), a, ta ? m : k, b, tb ? k : n, beta, c, n);
}
}  // namespace

template <class T> void dilated_conv1d_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t rows = s.batch * s.steps;
  const bool par = rows * s.cout >= kCpuParallelMin;
#pragma omp parallel for if (par)
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t o = 0; o < s.cout; ++o) y[n * s.cout + o] = bias ? bias[o] : T(0);
  std::vector<T> z(size_t(rows * s.cout));
  for (int64_t k = 0; k < s.ksize; ++k) {
    const int64_t shift = (s.ksize - 1 - k) * s.dilation;
    if (shift >= s.steps) continue;
    gemm(false, false, rows, s.cout, s.cin, x, w + k * s.cin * s.cout, T(0), z.data());
#pragma omp parallel for if (par)
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t t = shift; t < s.steps; ++t) {
        T* yr = y + (b * s.steps + t) * s.cout;
        const T* zr = z.data() + (b * s.steps + t - shift) * s.cout;
        for (int64_t o = 0; o < s.cout; ++o) yr[o] += zr[o];
      }
  }
}

template <class T> void dilated_conv1d_backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t rows = s.batch * s.steps;
  const bool par = rows * s.cin >= kCpuParallelMin;
  std::fill(dx, dx + rows * s.cin, T(0));
  std::vector<T> g(size_t(rows * s.cin));
  for (int64_t k = 0; k < s.ksize; ++k) {
    const int64_t shift = (s.ksize - 1 - k) * s.dilation;
    if (shift >= s.steps) continue;
    gemm(false, true, rows, s.cin, s.cout, dy, w + k * s.cin * s.cout, T(0), g.data());
#pragma omp parallel for if (par)
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t t = 0; t + shift < s.steps; ++t) {
        T* dr = dx + (b * s.steps + t) * s.cin;
        const T* gr = g.data() + (b * s.steps + t + shift) * s.cin;
        for (int64_t c = 0; c < s.cin; ++c) dr[c] += gr[c];
      }
  }
}

template <class T>
void dilated_conv1d_backward_params(const Conv1dShape& s, const T* x, const T* dy, T* dw, T* db) {
  const int64_t rows = s.batch * s.steps;
  std::vector<T> shifted(size_t(rows * s.cout));
  for (int64_t k = 0; k < s.ksize; ++k) {
    const int64_t shift = (s.ksize - 1 - k) * s.dilation;
    if (shift >= s.steps) continue;
    // shifted[b, t] = dy[b, t + shift] (0 past the end): then dW_k += x^T shifted.
    std::fill(shifted.begin(), shifted.end(), T(0));
    for (int64_t b = 0; b < s.batch; ++b)
      std::copy(dy + (b * s.steps + shift) * s.cout, dy + (b + 1) * s.steps * s.cout,
                shifted.begin() + b * s.steps * s.cout);
    gemm(true, false, s.cin, s.cout, rows, x, shifted.data(), T(1), dw + k * s.cin * s.cout);
  }
  if (db)
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t o = 0; o < s.cout; ++o) db[o] += dy[n * s.cout + o];
}
}  // namespace cpu_blas

namespace {
void check_bias(const char* op, const Tensor& bias, const Tensor& ref, int64_t cout) {
  if (!bias.defined()) return;
  AD_CHECK(bias.dim() == 1 && bias.size(0) == cout, op, "bias must be [", cout, "], got ", bias.describe());
  check_same_device(op, ref, bias);
  check_dtype(op, bias, ref.dtype());
}
}  // namespace

void dilated_conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y, int64_t dilation) {
  const char* op = "dilated_conv1d_forward";
  Conv1dShape s = conv1d_shape(op, x, w, dilation);
  check_floating(op, x);
  check_dtype(op, w, x.dtype());
  check_dtype(op, y, x.dtype());
  check_same_device(op, x, w);
  check_same_device(op, x, y);
  check_bias(op, bias, x, s.cout);
  AD_CHECK(y.shape() == Shape({s.batch, s.steps, s.cout}), op, "y must be [", s.batch, ",", s.steps, ",", s.cout,
           "], got ", y.describe());
  if (x.is_cuda()) {
    check_dtype(op, x, DType::F32);
    AD_WITH_CUDA_ONLY(op, cuda::dilated_conv1d_forward(s, x.data<float>(), w.data<float>(),
                                                       bias.defined() ? bias.data<float>() : nullptr,
                                                       y.data<float>()));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu_blas::dilated_conv1d_forward<T>(s, x.data<T>(), w.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
                                     y.data<T>());
    });
  }
}

void dilated_conv1d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, int64_t dilation) {
  const char* op = "dilated_conv1d_backward_data";
  Conv1dShape s = conv1d_shape(op, dx, w, dilation);
  check_floating(op, dy);
  check_dtype(op, w, dy.dtype());
  check_dtype(op, dx, dy.dtype());
  check_same_device(op, dy, w);
  check_same_device(op, dy, dx);
  AD_CHECK(dy.shape() == Shape({s.batch, s.steps, s.cout}), op, "dy must be [", s.batch, ",", s.steps, ",",
           s.cout, "], got ", dy.describe());
  if (dy.is_cuda()) {
    check_dtype(op, dy, DType::F32);
    AD_WITH_CUDA_ONLY(op, cuda::dilated_conv1d_backward_data(s, dy.data<float>(), w.data<float>(), dx.data<float>()));
  } else {
    dispatch_floating(op, dy.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu_blas::dilated_conv1d_backward_data<T>(s, dy.data<T>(), w.data<T>(), dx.data<T>());
    });
  }
}

void dilated_conv1d_backward_params(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor& db, int64_t dilation) {
  const char* op = "dilated_conv1d_backward_params";
  Conv1dShape s = conv1d_shape(op, x, dw, dilation);
  check_floating(op, x);
  check_dtype(op, dy, x.dtype());
  check_dtype(op, dw, x.dtype());
  check_same_device(op, x, dy);
  check_same_device(op, x, dw);
  check_bias(op, db, x, s.cout);
  AD_CHECK(dy.shape() == Shape({s.batch, s.steps, s.cout}), op, "dy must be [", s.batch, ",", s.steps, ",",
           s.cout, "], got ", dy.describe());
  if (x.is_cuda()) {
    check_dtype(op, x, DType::F32);
    AD_WITH_CUDA_ONLY(op, cuda::dilated_conv1d_backward_params(s, x.data<float>(), dy.data<float>(),
                                                               dw.data<float>(),
                                                               db.defined() ? db.data<float>() : nullptr));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu_blas::dilated_conv1d_backward_params<T>(s, x.data<T>(), dy.data<T>(), dw.data<T>(),
                                             db.defined() ? db.data<T>() : nullptr);
    });
  }
}

}  // namespace ad
