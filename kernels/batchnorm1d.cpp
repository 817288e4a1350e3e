#include "kernels/batchnorm1d.h"

#include <cmath>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
// Per channel, two passes (mean, then centred squares) with double accumulators: the accurate side
// of the parity tests.
template <class T>
void batchnorm1d_train_forward(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_var,
                               T* running_mean, T* running_var, int64_t n, int64_t c, T momentum, T eps) {
#pragma omp parallel for if (n * c > 65536)
  for (int64_t j = 0; j < c; ++j) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(x[i * c + j]);
    const double mean = n > 0 ? s / double(n) : 0.0;
    double v = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double d = double(x[i * c + j]) - mean;
      v += d * d;
    }
    const double var = n > 0 ? v / double(n) : 0.0;
    const double invstd = 1.0 / std::sqrt(var + double(eps));
    for (int64_t i = 0; i < n; ++i)
      y[i * c + j] = T((double(x[i * c + j]) - mean) * invstd * double(gamma[j]) + double(beta[j]));
    save_mean[j] = T(mean);
    save_var[j] = T(var);
    if (running_mean) running_mean[j] = momentum * running_mean[j] + (T(1) - momentum) * T(mean);
    if (running_var) running_var[j] = momentum * running_var[j] + (T(1) - momentum) * T(var);
  }
}

template <class T>
void batchnorm1d_inference_forward(const T* x, const T* gamma, const T* beta, const T* running_mean,
                                   const T* running_var, T* y, int64_t n, int64_t c, T eps) {
#pragma omp parallel for if (n * c > 65536)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < c; ++j) {
      const T invstd = T(1) / std::sqrt(running_var[j] + eps);
      y[i * c + j] = (x[i * c + j] - running_mean[j]) * invstd * gamma[j] + beta[j];
    }
}

template <class T>
void batchnorm1d_train_backward(const T* x, const T* gamma, const T* save_mean, const T* save_var, const T* dy,
                                T* dx, T* dgamma, T* dbeta, int64_t n, int64_t c, T eps) {
#pragma omp parallel for if (n * c > 65536)
  for (int64_t j = 0; j < c; ++j) {
    const double mean = double(save_mean[j]), invstd = 1.0 / std::sqrt(double(save_var[j]) + double(eps));
    double sdy = 0, sdyx = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double g = double(dy[i * c + j]);
      sdy += g;
      sdyx += g * (double(x[i * c + j]) - mean) * invstd;
    }
    const double scale = double(gamma[j]) * invstd, inv_n = n > 0 ? 1.0 / double(n) : 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double xhat = (double(x[i * c + j]) - mean) * invstd;
      dx[i * c + j] = T(scale * (double(dy[i * c + j]) - sdy * inv_n - xhat * sdyx * inv_n));
    }
    dgamma[j] += T(sdyx);
    dbeta[j] += T(sdy);
  }
}

#define AD_BN_INSTANTIATE(T)                                                                                  \
  template void batchnorm1d_train_forward<T>(const T*, const T*, const T*, T*, T*, T*, T*, T*, int64_t, int64_t, \
                                             T, T);                                                           \
  template void batchnorm1d_inference_forward<T>(const T*, const T*, const T*, const T*, const T*, T*, int64_t,  \
                                                 int64_t, T);                                                 \
  template void batchnorm1d_train_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,      \
                                              int64_t, int64_t, T);
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
  if (x.is_cuda()) check_dtype(op, x, DType::F32);
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
  if (x.is_cuda()) {
    AD_WITH_CUDA_ONLY(op, cuda::batchnorm1d_train_forward(
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
  if (x.is_cuda()) {
    AD_WITH_CUDA_ONLY(op, cuda::batchnorm1d_inference_forward(x.data<float>(), gamma.data<float>(),
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
  if (x.is_cuda()) {
    AD_WITH_CUDA_ONLY(op, cuda::batchnorm1d_train_backward(x.data<float>(), gamma.data<float>(),
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

}  // namespace ad
