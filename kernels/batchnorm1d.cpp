#include "kernels/batchnorm1d.h"

#include <omp.h>

#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/fast_math.h"

namespace ad {

namespace cpu {
namespace {
// sum over rows i of f(i, j) for each channel j, in double: rows are split over threads, each adds whole
// rows into its own c-vector (contiguous, vectorisable), and the vectors are added in thread order, so the
// result does not depend on which thread finishes first.
template <class F> std::vector<double> column_sums(int64_t n, int64_t c, F f) {
  const int threads = n * c >= kCpuParallelMin ? omp_get_max_threads() : 1;
  std::vector<double> parts(static_cast<size_t>(threads * c), 0.0);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    double* acc = parts.data() + omp_get_thread_num() * c;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < c; ++j) acc[j] += f(i, j);
  }
  std::vector<double> total(static_cast<size_t>(c), 0.0);
  for (int t = 0; t < threads; ++t)
    for (int64_t j = 0; j < c; ++j) total[size_t(j)] += parts[size_t(t * c + j)];
  return total;
}

// The f32 passes, cloned for AVX-512 / AVX2 (AD_CPU_CLONES): in the x86-64 baseline build these double
// accumulations ran 2 lanes wide, ~15% of DC-VAE's CPU training step (perf). Same arithmetic as the generic
// lambdas (f64 accumulators per channel, each thread's rows in order, threads added in order); the clones may
// fuse multiply-adds, so results agree to f64 rounding, not bit for bit, across CPUs.
AD_CPU_CLONES void add_rows_f32(const float* x, int64_t lo, int64_t hi, int64_t c, double* acc) {
  for (int64_t i = lo; i < hi; ++i)
    for (int64_t j = 0; j < c; ++j) acc[j] += double(x[i * c + j]);
}
AD_CPU_CLONES void add_centred_squares_f32(const float* x, const double* mu, int64_t lo, int64_t hi, int64_t c,
                                           double* acc) {
  for (int64_t i = lo; i < hi; ++i)
    for (int64_t j = 0; j < c; ++j) {
      const double d = double(x[i * c + j]) - mu[j];
      acc[j] += d * d;
    }
}
// acc[0..c) += dy, acc[c..2c) += dy (x - mean) invstd: both backward sums in one pass over the rows.
AD_CPU_CLONES void add_backward_sums_f32(const float* x, const float* dy, const float* mean, const double* is,
                                         int64_t lo, int64_t hi, int64_t c, double* acc) {
  for (int64_t i = lo; i < hi; ++i)
    for (int64_t j = 0; j < c; ++j) {
      const double g = double(dy[i * c + j]);
      acc[j] += g;
      acc[c + j] += g * (double(x[i * c + j]) - double(mean[j])) * is[j];
    }
}
AD_CPU_CLONES void scale_shift_f32(const float* x, const double* sc, const double* sh, int64_t lo, int64_t hi,
                                   int64_t c, float* y) {
  for (int64_t i = lo; i < hi; ++i)
    for (int64_t j = 0; j < c; ++j) y[i * c + j] = float(double(x[i * c + j]) * sc[j] + sh[j]);
}
AD_CPU_CLONES void inference_affine_f32(const float* x, const float* sc, const float* sh, int64_t lo, int64_t hi,
                                        int64_t c, float* y) {
  for (int64_t i = lo; i < hi; ++i)
    for (int64_t j = 0; j < c; ++j) y[i * c + j] = x[i * c + j] * sc[j] + sh[j];
}
// then: the activation whose output x is, its derivative read off x (see batchnorm1d_activation_train_backward);
// Identity: none. The test is loop-invariant (GCC unswitches it).
AD_CPU_CLONES void backward_dx_f32(const float* x, const float* dy, const double* pa, const double* pb,
                                   const double* pk, int64_t lo, int64_t hi, int64_t c, Activation then,
                                   float alpha, float* dx) {
  for (int64_t i = lo; i < hi; ++i)
    for (int64_t j = 0; j < c; ++j) {
      const float a = x[i * c + j];
      float v = float(pa[j] * double(dy[i * c + j]) + pb[j] * double(a) + pk[j]);
      if (then == Activation::Tanh) v *= 1.0f - a * a;
      if (then == Activation::ELU) v *= a > 0.0f ? 1.0f : a + alpha;
      dx[i * c + j] = v;
    }
}

// column_sums for a pass given as add(lo, hi, acc) over a row range: `width` accumulators per thread,
// added in thread order (as column_sums).
template <class Add> std::vector<double> column_sums_f32(int64_t n, int64_t c, int64_t width, Add add) {
  const int threads = n * c >= kCpuParallelMin ? omp_get_max_threads() : 1;
  std::vector<double> parts(static_cast<size_t>(threads * width), 0.0);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    add(n * t / nt, n * (t + 1) / nt, parts.data() + t * width);
  }
  std::vector<double> total(static_cast<size_t>(width), 0.0);
  for (int t = 0; t < threads; ++t)
    for (int64_t j = 0; j < width; ++j) total[size_t(j)] += parts[size_t(t * width + j)];
  return total;
}

// Rows split over threads in one parallel region: body(lo, hi).
template <class Body> void row_chunks(int64_t n, int64_t c, Body body) {
  if (n * c < kCpuParallelMin) return body(int64_t(0), n);
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    body(n * t / nt, n * (t + 1) / nt);
  }
}
}  // namespace

// Per channel, two passes (mean, then centred squares) with double accumulators: the accurate side
// of the parity tests. Passes run row by row (channels contiguous) for memory order.
// The train-mode forward; with pre, x = act(pre) is computed first, inside the mean's pass (each thread
// applies the activation to its rows, then sums them while they are in cache: one parallel region and one
// pass over memory fewer; the same row split, so the same bits).
template <class T>
void train_forward(const T* pre, Activation act, T param, T* x_out, const T* gamma, const T* beta, T* y,
                   T* save_mean, T* save_var, T* running_mean, T* running_var, int64_t n, int64_t c, T momentum,
                   T eps) {
  const T* x = x_out;
  const double inv_n = n > 0 ? 1.0 / double(n) : 0.0;
  constexpr bool f32 = std::is_same_v<T, float>;
  std::vector<double> mean;
  if constexpr (f32) {
    mean = column_sums_f32(n, c, c, [&](int64_t lo, int64_t hi, double* acc) {
      if (pre) activation_forward<float>(act, pre + lo * c, x_out + lo * c, (hi - lo) * c, param);
      add_rows_f32(x, lo, hi, c, acc);
    });
  } else {
    if (pre) activation_forward<T>(act, pre, x_out, n * c, param);
    mean = column_sums(n, c, [&](int64_t i, int64_t j) { return double(x[i * c + j]); });
  }
  for (double& m : mean) m *= inv_n;
  const double* mu = mean.data();
  std::vector<double> var;
  if constexpr (f32)
    var = column_sums_f32(n, c, c, [&](int64_t lo, int64_t hi, double* acc) {
      add_centred_squares_f32(x, mu, lo, hi, c, acc);
    });
  else
    var = column_sums(n, c, [&](int64_t i, int64_t j) {
      const double d = double(x[i * c + j]) - mu[j];
      return d * d;
    });
  std::vector<double> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) {
    var[size_t(j)] *= inv_n;
    const double invstd = 1.0 / std::sqrt(var[size_t(j)] + double(eps));
    scale[size_t(j)] = invstd * double(gamma[j]);
    shift[size_t(j)] = double(beta[j]) - mu[j] * scale[size_t(j)];
    save_mean[j] = T(mu[j]);
    save_var[j] = T(var[size_t(j)]);
    if (running_mean) running_mean[j] = momentum * running_mean[j] + (T(1) - momentum) * T(mu[j]);
    if (running_var) running_var[j] = momentum * running_var[j] + (T(1) - momentum) * T(var[size_t(j)]);
  }
  const double* sc = scale.data();
  const double* sh = shift.data();
  if constexpr (f32) {
    row_chunks(n, c, [&](int64_t lo, int64_t hi) { scale_shift_f32(x, sc, sh, lo, hi, c, y); });
    return;
  }
#pragma omp parallel for if (n * c >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j) y[i * c + j] = T(double(x[i * c + j]) * sc[j] + sh[j]);
}

template <class T>
void batchnorm1d_train_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_var,
                               T* running_mean, T* running_var, int64_t n, int64_t c, T momentum, T eps) {
  train_forward<T>(nullptr, Activation::Identity, T(0), const_cast<T*>(x), gamma, beta, y, save_mean, save_var,
                   running_mean, running_var, n, c, momentum, eps);
}

template <class T>
void batchnorm1d_activation_train_forward(Activation act, T param, const T* pre, T* x, const T* gamma,
                                          const T* beta, T* y, T* save_mean, T* save_var, T* running_mean,
                                          T* running_var, int64_t n, int64_t c, T momentum, T eps) {
  train_forward<T>(pre, act, param, x, gamma, beta, y, save_mean, save_var, running_mean, running_var, n, c,
                   momentum, eps);
}

template <class T>
void batchnorm1d_inference_forward(const T* x, const T* gamma, const T* beta, const T* running_mean,
                                   const T* running_var, T* y, int64_t n, int64_t c, T eps) {
  // y = x * scale + shift per channel, the two vectors computed once (not a sqrt per element).
  std::vector<T> scale(static_cast<size_t>(c)), shift(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) {
    const T invstd = T(1) / std::sqrt(running_var[j] + eps);
    scale[size_t(j)] = invstd * gamma[j];
    shift[size_t(j)] = beta[j] - running_mean[j] * invstd * gamma[j];
  }
  const T* sc = scale.data();
  const T* sh = shift.data();
  if constexpr (std::is_same_v<T, float>) {
    row_chunks(n, c, [&](int64_t lo, int64_t hi) { inference_affine_f32(x, sc, sh, lo, hi, c, y); });
    return;
  }
#pragma omp parallel for if (n * c >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j) y[i * c + j] = x[i * c + j] * sc[j] + sh[j];
}

// The train-mode backward, then (unless Identity) the backward of the activation that produced x.
template <class T>
void train_backward(const T* x, const T* gamma, const T* save_mean, const T* save_var, const T* dy, T* dx,
                    T* dgamma, T* dbeta, int64_t n, int64_t c, T eps, Activation then, T alpha) {
  const double inv_n = n > 0 ? 1.0 / double(n) : 0.0;
  std::vector<double> invstd(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) invstd[size_t(j)] = 1.0 / std::sqrt(double(save_var[j]) + double(eps));
  const double* is = invstd.data();
  constexpr bool f32 = std::is_same_v<T, float>;
  std::vector<double> sdy, sdyx;
  if constexpr (f32) {
    std::vector<double> both = column_sums_f32(n, c, 2 * c, [&](int64_t lo, int64_t hi, double* acc) {
      add_backward_sums_f32(x, dy, save_mean, is, lo, hi, c, acc);
    });
    sdy.assign(both.begin(), both.begin() + c);
    sdyx.assign(both.begin() + c, both.end());
  } else {
    sdy = column_sums(n, c, [&](int64_t i, int64_t j) { return double(dy[i * c + j]); });
    sdyx = column_sums(n, c, [&](int64_t i, int64_t j) {
      return double(dy[i * c + j]) * (double(x[i * c + j]) - double(save_mean[j])) * is[j];
    });
  }
  // dx = scale (dy - sdy/n - xhat sdyx/n), xhat = (x - mean) invstd, as dx = a dy + b x + k per channel.
  std::vector<double> ca(static_cast<size_t>(c)), cb(static_cast<size_t>(c)), ck(static_cast<size_t>(c));
  for (int64_t j = 0; j < c; ++j) {
    const double scale = double(gamma[j]) * is[j], m = double(save_mean[j]);
    ca[size_t(j)] = scale;
    cb[size_t(j)] = -scale * is[j] * sdyx[size_t(j)] * inv_n;
    ck[size_t(j)] = -scale * sdy[size_t(j)] * inv_n + scale * m * is[j] * sdyx[size_t(j)] * inv_n;
    dgamma[j] += T(sdyx[size_t(j)]);
    dbeta[j] += T(sdy[size_t(j)]);
  }
  const double *pa = ca.data(), *pb = cb.data(), *pk = ck.data();
  if constexpr (f32) {
    row_chunks(n, c, [&](int64_t lo, int64_t hi) { backward_dx_f32(x, dy, pa, pb, pk, lo, hi, c, then, alpha, dx); });
    return;
  }
#pragma omp parallel for if (n * c >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j) {
      const T a = x[i * c + j];
      T v = T(pa[j] * double(dy[i * c + j]) + pb[j] * double(a) + pk[j]);
      if (then == Activation::Tanh) v *= T(1) - a * a;
      if (then == Activation::ELU) v *= a > T(0) ? T(1) : a + alpha;
      dx[i * c + j] = v;
    }
}

template <class T>
void batchnorm1d_train_backward(const T* x, const T* gamma, const T* save_mean, const T* save_var, const T* dy,
                                T* dx, T* dgamma, T* dbeta, int64_t n, int64_t c, T eps) {
  train_backward(x, gamma, save_mean, save_var, dy, dx, dgamma, dbeta, n, c, eps, Activation::Identity, T(0));
}

template <class T>
void batchnorm1d_activation_train_backward(Activation act, T param, const T* x, const T* gamma, const T* save_mean,
                                           const T* save_var, const T* dy, T* dpre, T* dgamma, T* dbeta, int64_t n,
                                           int64_t c, T eps) {
  train_backward(x, gamma, save_mean, save_var, dy, dpre, dgamma, dbeta, n, c, eps, act, param);
}

#define AD_BN_INSTANTIATE(T)                                                                                  \
  template void batchnorm1d_train_forward<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*, int64_t, int64_t, \
                                             T, T);                                                           \
  template void batchnorm1d_inference_forward<T>(const T*, const T*, const T*, const T*, const T*, T*, int64_t,  \
                                                 int64_t, T);                                                 \
  template void batchnorm1d_train_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,      \
                                              int64_t, int64_t, T);                                           \
  template void batchnorm1d_activation_train_forward<T>(Activation, T, const T*, T*, const T*, const T*, T*, T*, \
                                                        T*, T*, T*, int64_t, int64_t, T, T);                  \
  template void batchnorm1d_activation_train_backward<T>(Activation, T, const T*, const T*, const T*, const T*,  \
                                                         const T*, T*, T*, T*, int64_t, int64_t, T);
AD_BN_INSTANTIATE(float)
AD_BN_INSTANTIATE(double)
#undef AD_BN_INSTANTIATE
}  // namespace cpu

namespace {
// x must be [N, C]; every per-channel tensor must be [C] with x's dtype and device.
int64_t check_bn(const char* op, const Tensor& x, std::initializer_list<const Tensor*> per_channel) {
  AD_CHECK(x.dim() == 2, op, "x must be [N, C] (view [B,T,C] as [B*T, C]), got ", x.describe());
  check_floating(op, x);
  const int64_t c = x.size(1);
  for (const Tensor* t : per_channel) {
    if (!t->defined()) continue;
    AD_CHECK(t->dim() == 1 && t->size(0) == c, op, "per-channel tensor must be [", c, "], got ", t->describe());
    check_dtype(op, *t, x.dtype());
    check_same_device(op, x, *t);
  }
  if (x.is_device()) check_dtype(op, x, DType::F32);
  return c;
}

template <class T> T* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
}  // namespace

void batchnorm1d_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& y,
                               Tensor& save_mean, Tensor& save_var, Tensor& running_mean, Tensor& running_var,
                               const BatchNormOptions& opt) {
  const char* op = "batchnorm1d_train_forward";
  const int64_t c = check_bn(op, x, {&gamma, &beta, &save_mean, &save_var, &running_mean, &running_var});
  AD_CHECK(gamma.defined() && beta.defined() && save_mean.defined() && save_var.defined(), op,
           "gamma, beta, save_mean and save_var are required");
  check_same_shape(op, x, y);
  check_same_device(op, x, y);
  check_dtype(op, y, x.dtype());
  const int64_t n = x.size(0);
  if (x.is_device()) {
    AD_ON_DEVICE(op, x, batchnorm1d_train_forward(
                      x.data<float>(), gamma.data<float>(), beta.data<float>(), y.data<float>(),
                      save_mean.data<float>(), save_var.data<float>(), ptr_or_null<float>(running_mean),
                      ptr_or_null<float>(running_var), n, c, opt.momentum, opt.eps));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::batchnorm1d_train_forward<T>(x.data<T>(), gamma.data<T>(), beta.data<T>(), y.data<T>(),
                                        save_mean.data<T>(), save_var.data<T>(), ptr_or_null<T>(running_mean),
                                        ptr_or_null<T>(running_var), n, c, T(opt.momentum), T(opt.eps));
    });
  }
}

void batchnorm1d_inference_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                   const Tensor& running_mean, const Tensor& running_var, Tensor& y,
                                   const BatchNormOptions& opt) {
  const char* op = "batchnorm1d_inference_forward";
  const int64_t c = check_bn(op, x, {&gamma, &beta, &running_mean, &running_var});
  AD_CHECK(gamma.defined() && beta.defined() && running_mean.defined() && running_var.defined(), op,
           "gamma, beta, running_mean and running_var are required");
  check_same_shape(op, x, y);
  check_same_device(op, x, y);
  check_dtype(op, y, x.dtype());
  const int64_t n = x.size(0);
  if (x.is_device()) {
    AD_ON_DEVICE(op, x, batchnorm1d_inference_forward(x.data<float>(), gamma.data<float>(),
                                                      beta.data<float>(), running_mean.data<float>(),
                                                      running_var.data<float>(), y.data<float>(), n, c,
                                                      opt.eps));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::batchnorm1d_inference_forward<T>(x.data<T>(), gamma.data<T>(), beta.data<T>(), running_mean.data<T>(),
                                            running_var.data<T>(), y.data<T>(), n, c, T(opt.eps));
    });
  }
}

void batchnorm1d_train_backward(const Tensor& x, const Tensor& gamma, const Tensor& save_mean,
                                const Tensor& save_var, const Tensor& dy, Tensor& dx, Tensor& dgamma, Tensor& dbeta,
                                const BatchNormOptions& opt) {
  const char* op = "batchnorm1d_train_backward";
  const int64_t c = check_bn(op, x, {&gamma, &save_mean, &save_var, &dgamma, &dbeta});
  AD_CHECK(gamma.defined() && save_mean.defined() && save_var.defined() && dgamma.defined() && dbeta.defined(), op,
           "gamma, save_mean, save_var, dgamma and dbeta are required");
  check_same_shape(op, x, dy);
  check_same_shape(op, x, dx);
  check_same_device(op, x, dy);
  check_same_device(op, x, dx);
  check_dtype(op, dy, x.dtype());
  check_dtype(op, dx, x.dtype());
  const int64_t n = x.size(0);
  if (x.is_device()) {
    AD_ON_DEVICE(op, x, batchnorm1d_train_backward(x.data<float>(), gamma.data<float>(),
                                                   save_mean.data<float>(), save_var.data<float>(),
                                                   dy.data<float>(), dx.data<float>(), dgamma.data<float>(),
                                                   dbeta.data<float>(), n, c, opt.eps));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::batchnorm1d_train_backward<T>(x.data<T>(), gamma.data<T>(), save_mean.data<T>(), save_var.data<T>(),
                                         dy.data<T>(), dx.data<T>(), dgamma.data<T>(), dbeta.data<T>(), n, c,
                                         T(opt.eps));
    });
  }
}

void batchnorm1d_activation_train_forward(Activation act, float param, const Tensor& pre, Tensor& x,
                                          const Tensor& gamma, const Tensor& beta, Tensor& y, Tensor& save_mean,
                                          Tensor& save_var, Tensor& running_mean, Tensor& running_var,
                                          const BatchNormOptions& opt) {
  const char* op = "batchnorm1d_activation_train_forward";
  const int64_t c = check_bn(op, pre, {&gamma, &beta, &save_mean, &save_var, &running_mean, &running_var});
  AD_CHECK(gamma.defined() && beta.defined() && save_mean.defined() && save_var.defined(), op,
           "gamma, beta, save_mean and save_var are required");
  AD_CHECK(!pre.is_device(), op, "CPU tensors only (on a device: activation_forward, then batchnorm1d_train_forward)");
  for (Tensor* t : {&x, &y}) {
    check_same_shape(op, pre, *t);
    check_same_device(op, pre, *t);
    check_dtype(op, *t, pre.dtype());
  }
  dispatch_floating(op, pre.dtype(), [&](auto t) {
    using T = decltype(t);
    cpu::batchnorm1d_activation_train_forward<T>(act, T(param), pre.data<T>(), x.data<T>(), gamma.data<T>(),
                                                 beta.data<T>(), y.data<T>(), save_mean.data<T>(), save_var.data<T>(),
                                                 ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var),
                                                 pre.size(0), c, T(opt.momentum), T(opt.eps));
  });
}

bool batchnorm_fuses_activation_backward(Activation a, float param) {
  return a == Activation::Identity || a == Activation::Tanh || (a == Activation::ELU && param >= 0.0f);
}

void batchnorm1d_activation_train_backward(Activation act, float param, const Tensor& x, const Tensor& gamma,
                                           const Tensor& save_mean, const Tensor& save_var, const Tensor& dy,
                                           Tensor& dpre, Tensor& dgamma, Tensor& dbeta, const BatchNormOptions& opt) {
  const char* op = "batchnorm1d_activation_train_backward";
  const int64_t c = check_bn(op, x, {&gamma, &save_mean, &save_var, &dgamma, &dbeta});
  AD_CHECK(gamma.defined() && save_mean.defined() && save_var.defined() && dgamma.defined() && dbeta.defined(), op,
           "gamma, save_mean, save_var, dgamma and dbeta are required");
  AD_CHECK(!x.is_device(), op, "CPU tensors only (on a device: batchnorm1d_train_backward, then activation_backward)");
  AD_CHECK(batchnorm_fuses_activation_backward(act, param), op, "activation ", activation_name(act),
           " is not supported (batchnorm_fuses_activation_backward)");
  check_same_shape(op, x, dy);
  check_same_shape(op, x, dpre);
  check_same_device(op, x, dy);
  check_same_device(op, x, dpre);
  check_dtype(op, dy, x.dtype());
  check_dtype(op, dpre, x.dtype());
  dispatch_floating(op, x.dtype(), [&](auto t) {
    using T = decltype(t);
    cpu::batchnorm1d_activation_train_backward<T>(act, T(param), x.data<T>(), gamma.data<T>(), save_mean.data<T>(),
                                                  save_var.data<T>(), dy.data<T>(), dpre.data<T>(), dgamma.data<T>(),
                                                  dbeta.data<T>(), x.size(0), c, T(opt.eps));
  });
}

}  // namespace ad
