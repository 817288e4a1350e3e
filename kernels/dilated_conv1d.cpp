#include "kernels/dilated_conv1d.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/gemm.h"
#include "kernels/shifted_rows_f32.h"

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

// The CPU path ops run on: each pass is ONE matrix product over all B*T rows (OpenBLAS), the K taps side by
// side in its inner dimension (causal im2col). With W [K, C_in, C_out] read as a [K*C_in, C_out] matrix:
//   forward:  y      = cols(x) W + bias,   cols(x)[n, k*C_in + c] = x[b, t - shift_k, c] (0 before t = 0)
//   dW:       dW    += cols(x)^T dy
//   dx:       dx     = rcols(dy) W^T,      rcols(dy)[n, k*C_out + o] = dy[b, t + shift_k, o] (0 past T)
// with shift_k = (K-1-k)*d. One product with inner size K*C_in runs at a higher fraction of BLAS peak than K
// products of C_in plus shifted adds, and writes y / dx / dW directly (profile of DC-VAE's original
// configuration: the per-tap version spent ~10% of a training step zeroing fresh temporaries). Taps that
// only ever read padding (shift_k >= T) are left out; they are a prefix k < first_tap, so the rest of W is
// one contiguous block. The im2col buffers are per thread and kept between calls. This does the same
// arithmetic as the loops in namespace cpu (the reference the tests compare against) at BLAS speed.
// f32 on a CPU with AVX-512 (the path models train on) skips both the im2col copy and BLAS: the direct
// kernels of kernels/shifted_rows_f32.h read x (or dy) at the shifted rows in place (DC-VAE's original
// configuration: the copies and OpenBLAS's packing had cost as much as the products, perf), and
// dilated_conv1d_backward runs dx and dW in one parallel region. f64 and other CPUs keep im2col + BLAS.
namespace cpu_blas {
namespace {
template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, T beta, T* c) {
  cpu::gemm<T>(ta, tb, m, n, k, T(1), a, lda, b, tb ? k : n, beta, c, n);
}

// A growing buffer per thread and slot, reused across calls (no allocation or page zeroing per pass).
template <class T> T* scratch(int slot, int64_t count) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& b = buffers[slot];
  if (b.size() < size_t(count)) b.resize(size_t(count));
  return b.data();
}

int64_t first_tap(const Conv1dShape& s) {
  const int64_t reachable = (s.steps - 1) / s.dilation;  // largest K-1-k whose shift stays inside the window
  return std::max<int64_t>(0, s.ksize - 1 - reachable);
}

// out[n, j*width + c] = in[b, t + dir * shift_(k0+j), c] for j < taps, 0 outside [0, T).
template <class T>
void shifted_columns(const Conv1dShape& s, const T* in, int64_t width, int64_t k0, int64_t dir, T* out) {
  const int64_t taps = s.ksize - k0, row = taps * width;
  const int64_t rows = s.batch * s.steps;
#pragma omp parallel for if (rows * row >= 4 * kCpuParallelMin)
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t b = n / s.steps, t = n % s.steps;
    T* o = out + n * row;
    for (int64_t j = 0; j < taps; ++j) {
      const int64_t ts = t + dir * (s.ksize - 1 - (k0 + j)) * s.dilation;
      if (ts < 0 || ts >= s.steps)
        std::fill(o + j * width, o + (j + 1) * width, T(0));
      else
        std::copy(in + (b * s.steps + ts) * width, in + (b * s.steps + ts + 1) * width, o + j * width);
    }
  }
}

// Row offsets in time of taps k0..K-1: dir * shift_k.
std::vector<int64_t> tap_offsets(const Conv1dShape& s, int64_t k0, int64_t dir) {
  std::vector<int64_t> off;
  for (int64_t k = k0; k < s.ksize; ++k) off.push_back(dir * (s.ksize - 1 - k) * s.dilation);
  return off;
}

// db += sum over rows of dy, into a local row first: the compiler must assume db may alias dy, and would not
// vectorise the loop.
template <class T> void add_bias_gradient(const Conv1dShape& s, const T* dy, T* db) {
  std::vector<T> acc(size_t(s.cout), T(0));
  T* a = acc.data();
  for (int64_t n = 0; n < s.batch * s.steps; ++n)
    for (int64_t o = 0; o < s.cout; ++o) a[o] += dy[n * s.cout + o];
  for (int64_t o = 0; o < s.cout; ++o) db[o] += a[o];
}
}  // namespace

template <class T> void dilated_conv1d_forward(const Conv1dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t rows = s.batch * s.steps, k0 = first_tap(s), inner = (s.ksize - k0) * s.cin;
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_direct::shifted_rows_available()) {
      const std::vector<int64_t> off = tap_offsets(s, k0, -1);
      return cpu_direct::shifted_rows_product(s.batch, s.steps, x, s.cin, s.ksize - k0, off.data(),
                                              w + k0 * s.cin * s.cout, false, s.cout, bias, y);
    }
  }
  if (bias) {
#pragma omp parallel for if (rows * s.cout >= 4 * kCpuParallelMin)
    for (int64_t n = 0; n < rows; ++n) std::copy(bias, bias + s.cout, y + n * s.cout);
  }
  const T* cols = x;  // a single tap (shift 0) reads x as it is
  if (inner != s.cin) {
    T* buf = scratch<T>(0, rows * inner);
    shifted_columns(s, x, s.cin, k0, -1, buf);
    cols = buf;
  }
  gemm(false, false, rows, s.cout, inner, cols, inner, w + k0 * s.cin * s.cout, bias ? T(1) : T(0), y);
}

template <class T> void dilated_conv1d_backward_data(const Conv1dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t rows = s.batch * s.steps, k0 = first_tap(s), taps = s.ksize - k0, inner = taps * s.cout;
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_direct::shifted_rows_available()) {
      const std::vector<int64_t> off = tap_offsets(s, k0, +1);
      return cpu_direct::shifted_rows_product(s.batch, s.steps, dy, s.cout, taps, off.data(), w + k0 * s.cin * s.cout,
                                              true, s.cin, nullptr, dx);
    }
  }
  // wt[(j*C_out + o), c] = w[k0 + j, c, o]: each tap's [C_in, C_out] block transposed (K*C_in*C_out values).
  T* wt = scratch<T>(1, inner * s.cin);
  for (int64_t j = 0; j < taps; ++j)
    for (int64_t c = 0; c < s.cin; ++c)
      for (int64_t o = 0; o < s.cout; ++o) wt[(j * s.cout + o) * s.cin + c] = w[((k0 + j) * s.cin + c) * s.cout + o];
  const T* cols = dy;
  if (taps > 1) {
    T* buf = scratch<T>(0, rows * inner);
    shifted_columns(s, dy, s.cout, k0, +1, buf);
    cols = buf;
  }
  gemm(false, false, rows, s.cin, inner, cols, inner, wt, T(0), dx);
}

template <class T>
void dilated_conv1d_backward_params(const Conv1dShape& s, const T* x, const T* dy, T* dw, T* db) {
  const int64_t rows = s.batch * s.steps, k0 = first_tap(s), inner = (s.ksize - k0) * s.cin;
  bool direct = false;
  if constexpr (std::is_same_v<T, float>) {
    if ((direct = cpu_direct::shifted_rows_available())) {
      const std::vector<int64_t> off = tap_offsets(s, k0, -1);
      cpu_direct::shifted_rows_gradient(s.batch, s.steps, x, s.cin, s.ksize - k0, off.data(), dy, s.cout,
                                        dw + k0 * s.cin * s.cout);
    }
  }
  if (!direct) {
    const T* cols = x;
    if (inner != s.cin) {
      T* buf = scratch<T>(0, rows * inner);
      shifted_columns(s, x, s.cin, k0, -1, buf);
      cols = buf;
    }
    gemm(true, false, inner, s.cout, rows, cols, inner, dy, T(1), dw + k0 * s.cin * s.cout);
  }
  if (db) add_bias_gradient(s, dy, db);
}

template <class T>
void dilated_conv1d_backward(const Conv1dShape& s, const T* x, const T* dy, const T* w, T* dx, T* dw, T* db) {
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_direct::shifted_rows_available()) {
      const int64_t k0 = first_tap(s);
      const std::vector<int64_t> off = tap_offsets(s, k0, -1);
      cpu_direct::shifted_rows_backward(s.batch, s.steps, x, s.cin, s.ksize - k0, off.data(), w + k0 * s.cin * s.cout,
                                        dy, s.cout, dx, dw + k0 * s.cin * s.cout);
      if (db) add_bias_gradient(s, dy, db);
      return;
    }
  }
  dilated_conv1d_backward_data(s, dy, w, dx);
  dilated_conv1d_backward_params(s, x, dy, dw, db);
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

void dilated_conv1d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y, int64_t dilation,
                            ConvPath path) {
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
  if (x.is_device()) {
    check_dtype(op, x, DType::F32);
    AD_ON_DEVICE(op, x, dilated_conv1d_forward(s, x.data<float>(), w.data<float>(),
                                               bias.defined() ? bias.data<float>() : nullptr,
                                               y.data<float>(), path));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu_blas::dilated_conv1d_forward<T>(s, x.data<T>(), w.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
                                     y.data<T>());
    });
  }
}

namespace {
Conv1dShape check_backward_data(const char* op, const Tensor& dy, const Tensor& w, const Tensor& dx,
                                int64_t dilation) {
  Conv1dShape s = conv1d_shape(op, dx, w, dilation);
  check_floating(op, dy);
  check_dtype(op, w, dy.dtype());
  check_dtype(op, dx, dy.dtype());
  check_same_device(op, dy, w);
  check_same_device(op, dy, dx);
  AD_CHECK(dy.shape() == Shape({s.batch, s.steps, s.cout}), op, "dy must be [", s.batch, ",", s.steps, ",",
           s.cout, "], got ", dy.describe());
  return s;
}

Conv1dShape check_backward_params(const char* op, const Tensor& x, const Tensor& dy, const Tensor& dw,
                                  const Tensor& db, int64_t dilation) {
  Conv1dShape s = conv1d_shape(op, x, dw, dilation);
  check_floating(op, x);
  check_dtype(op, dy, x.dtype());
  check_dtype(op, dw, x.dtype());
  check_same_device(op, x, dy);
  check_same_device(op, x, dw);
  check_bias(op, db, x, s.cout);
  AD_CHECK(dy.shape() == Shape({s.batch, s.steps, s.cout}), op, "dy must be [", s.batch, ",", s.steps, ",",
           s.cout, "], got ", dy.describe());
  return s;
}
}  // namespace

void dilated_conv1d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, int64_t dilation,
                                  ConvPath path) {
  const char* op = "dilated_conv1d_backward_data";
  const Conv1dShape s = check_backward_data(op, dy, w, dx, dilation);
  if (dy.is_device()) {
    check_dtype(op, dy, DType::F32);
    AD_ON_DEVICE(op, dy, dilated_conv1d_backward_data(s, dy.data<float>(), w.data<float>(), dx.data<float>(),
                                                            path));
  } else {
    dispatch_floating(op, dy.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu_blas::dilated_conv1d_backward_data<T>(s, dy.data<T>(), w.data<T>(), dx.data<T>());
    });
  }
}

void dilated_conv1d_backward_params(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor& db, int64_t dilation,
                                    ConvPath path) {
  const char* op = "dilated_conv1d_backward_params";
  const Conv1dShape s = check_backward_params(op, x, dy, dw, db, dilation);
  if (x.is_device()) {
    check_dtype(op, x, DType::F32);
    AD_ON_DEVICE(op, x, dilated_conv1d_backward_params(s, x.data<float>(), dy.data<float>(),
                                                       dw.data<float>(),
                                                       db.defined() ? db.data<float>() : nullptr, path));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu_blas::dilated_conv1d_backward_params<T>(s, x.data<T>(), dy.data<T>(), dw.data<T>(),
                                             db.defined() ? db.data<T>() : nullptr);
    });
  }
}

void dilated_conv1d_backward(const Tensor& x, const Tensor& dy, const Tensor& w, Tensor& dx, Tensor& dw, Tensor& db,
                             int64_t dilation, ConvPath path) {
  if (x.is_device()) {  // the device ops are separate launches anyway
    dilated_conv1d_backward_data(dy, w, dx, dilation, path);
    dilated_conv1d_backward_params(x, dy, dw, db, dilation, path);
    return;
  }
  const char* op = "dilated_conv1d_backward";
  const Conv1dShape s = check_backward_data(op, dy, w, dx, dilation);
  check_backward_params(op, x, dy, dw, db, dilation);
  dispatch_floating(op, x.dtype(), [&](auto t) {
    using T = decltype(t);
    cpu_blas::dilated_conv1d_backward<T>(s, x.data<T>(), dy.data<T>(), w.data<T>(), dx.data<T>(), dw.data<T>(),
                                         db.defined() ? db.data<T>() : nullptr);
  });
}

}  // namespace ad
