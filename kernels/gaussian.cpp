#include "kernels/gaussian.h"

#include <cmath>

#include "kernels/dispatch.h"
#include "runtime/philox.h"

namespace ad {

namespace cpu {
template <class T>
void reparam_forward(const T* mu, const T* logvar, T* z, int64_t n, uint64_t seed, uint64_t offset,
                     bool mean_only) {
#pragma omp parallel for if (n >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    if (mean_only) {
      z[i] = mu[i];
    } else {
      const T eps = T(philox_normal(seed, offset, uint64_t(i)));
      z[i] = mu[i] + std::exp(T(0.5) * logvar[i]) * eps;
    }
  }
}

template <class T>
void reparam_backward(const T* logvar, const T* dz, T* dmu, T* dlogvar, int64_t n, uint64_t seed, uint64_t offset,
                      bool mean_only) {
#pragma omp parallel for if (n >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const T g = dz[i];
    if (mean_only) {
      dlogvar[i] = T(0);
    } else {
      const T eps = T(philox_normal(seed, offset, uint64_t(i)));
      dlogvar[i] = g * T(0.5) * std::exp(T(0.5) * logvar[i]) * eps;
    }
    dmu[i] = g;
  }
}

template void reparam_forward<float>(const float*, const float*, float*, int64_t, uint64_t, uint64_t, bool);
template void reparam_forward<double>(const double*, const double*, double*, int64_t, uint64_t, uint64_t, bool);
template void reparam_backward<float>(const float*, const float*, float*, float*, int64_t, uint64_t, uint64_t,
                                      bool);
template void reparam_backward<double>(const double*, const double*, double*, double*, int64_t, uint64_t,
                                       uint64_t, bool);

namespace {
template <class T> T sigma_of(T v, VarianceForm form) {
  return form == VarianceForm::LogVar ? std::exp(T(0.5) * v) : std::sqrt(v);
}
template <class T> T dsigma_of(T v, VarianceForm form) {
  return form == VarianceForm::LogVar ? T(0.5) * std::exp(T(0.5) * v) : T(0.5) / std::sqrt(v);
}

template <class T>
void reparam_kl_forward(const T* mu, const T* v, T* z, T* kl, int64_t R, int64_t C, uint64_t seed, uint64_t offset,
                        VarianceForm form, bool mean_only) {
#pragma omp parallel for if (R * C >= kCpuParallelMin)
  for (int64_t r = 0; r < R; ++r) {
    double s = 0;
    for (int64_t c = 0; c < C; ++c) {
      const int64_t i = r * C + c;
      z[i] = mean_only ? mu[i] : mu[i] + sigma_of(v[i], form) * T(philox_normal(seed, offset, uint64_t(i)));
      s += 1.0 + double(v[i]) - double(mu[i]) * double(mu[i]) - std::exp(double(v[i]));
    }
    kl[r] = T(-0.5 * s);
  }
}

template <class T>
void reparam_kl_backward(const T* mu, const T* v, const T* dz, const T* dkl, T* dmu, T* dv, int64_t R, int64_t C,
                         uint64_t seed, uint64_t offset, VarianceForm form, bool mean_only) {
#pragma omp parallel for if (R * C >= kCpuParallelMin)
  for (int64_t i = 0; i < R * C; ++i) {
    const T g = dz[i], k = dkl[i / C];
    const T noise = mean_only ? T(0) : g * dsigma_of(v[i], form) * T(philox_normal(seed, offset, uint64_t(i)));
    dv[i] = noise + k * T(0.5) * (std::exp(v[i]) - T(1));
    dmu[i] = g + k * mu[i];
  }
}
}  // namespace
}  // namespace cpu

namespace {
// mu, logvar and z alike (shape, device, a floating dtype).
void check_reparam_forward(const char* op, const Tensor& mu, const Tensor& logvar, const Tensor& z) {
  check_same_shape(op, mu, logvar);
  check_same_shape(op, mu, z);
  check_same_device(op, mu, logvar);
  check_same_device(op, mu, z);
  check_floating(op, mu);
  check_dtype(op, logvar, mu.dtype());
  check_dtype(op, z, mu.dtype());
}
void check_reparam_backward(const char* op, const Tensor& logvar, const Tensor& dz, const Tensor& dmu,
                            const Tensor& dlogvar) {
  check_same_shape(op, logvar, dz);
  check_same_shape(op, logvar, dmu);
  check_same_shape(op, logvar, dlogvar);
  check_same_device(op, logvar, dz);
  check_same_device(op, logvar, dmu);
  check_same_device(op, logvar, dlogvar);
  check_floating(op, logvar);
  check_dtype(op, dz, logvar.dtype());
  check_dtype(op, dmu, logvar.dtype());
  check_dtype(op, dlogvar, logvar.dtype());
}
}  // namespace

void reparam_forward(const Tensor& mu, const Tensor& logvar, Tensor& z, uint64_t seed, uint64_t offset,
                     bool mean_only) {
  const char* op = "reparam_forward";
  check_reparam_forward(op, mu, logvar, z);
  if (mu.is_device()) {
    check_dtype(op, mu, DType::F32);
    AD_ON_DEVICE(op, mu, reparam_forward(mu.data<float>(), logvar.data<float>(), z.data<float>(), mu.numel(),
                                         seed, offset, mean_only));
  } else {
    dispatch_floating(op, mu.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::reparam_forward<T>(mu.data<T>(), logvar.data<T>(), z.data<T>(), mu.numel(), seed, offset, mean_only);
    });
  }
}

void reparam_backward(const Tensor& logvar, const Tensor& dz, Tensor& dmu, Tensor& dlogvar, uint64_t seed,
                      uint64_t offset, bool mean_only) {
  const char* op = "reparam_backward";
  check_reparam_backward(op, logvar, dz, dmu, dlogvar);
  if (logvar.is_device()) {
    check_dtype(op, logvar, DType::F32);
    AD_ON_DEVICE(op, logvar, reparam_backward(logvar.data<float>(), dz.data<float>(), dmu.data<float>(),
                                              dlogvar.data<float>(), logvar.numel(), seed, offset, mean_only));
  } else {
    dispatch_floating(op, logvar.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::reparam_backward<T>(logvar.data<T>(), dz.data<T>(), dmu.data<T>(), dlogvar.data<T>(), logvar.numel(),
                               seed, offset, mean_only);
    });
  }
}

namespace {
void check_device_offset(const char* op, const Tensor& like, const Tensor& device_offset) {
  AD_CHECK(like.is_device(), op, "a device offset is for a device's captured step, got ", like.describe());
  check_dtype(op, like, DType::F32);
  check_same_device(op, like, device_offset);
  check_dtype(op, device_offset, DType::I64);
  AD_CHECK(device_offset.numel() == 1, op, "device offset ", device_offset.describe(), ", expected one element");
}
}  // namespace

void reparam_forward(const Tensor& mu, const Tensor& logvar, Tensor& z, uint64_t seed, const Tensor& device_offset) {
  const char* op = "reparam_forward";
  check_reparam_forward(op, mu, logvar, z);
  check_device_offset(op, mu, device_offset);
  AD_ON_DEVICE(op, mu, reparam_forward_device_offset(mu.data<float>(), logvar.data<float>(), z.data<float>(),
                                                            mu.numel(), seed, device_offset.data<int64_t>()));
}

void reparam_backward(const Tensor& logvar, const Tensor& dz, Tensor& dmu, Tensor& dlogvar, uint64_t seed,
                      const Tensor& device_offset) {
  const char* op = "reparam_backward";
  check_reparam_backward(op, logvar, dz, dmu, dlogvar);
  check_device_offset(op, logvar, device_offset);
  AD_ON_DEVICE(op, logvar, reparam_backward_device_offset(logvar.data<float>(), dz.data<float>(), dmu.data<float>(),
                                                             dlogvar.data<float>(), logvar.numel(), seed,
                                                             device_offset.data<int64_t>()));
}

void reparam_kl_forward(const Tensor& mu, const Tensor& v, Tensor& z, Tensor& kl, uint64_t seed, uint64_t offset,
                        VarianceForm form, bool mean_only) {
  const char* op = "reparam_kl_forward";
  AD_CHECK(mu.defined() && mu.dim() == 2, op, "mu must be [R, C], got ", mu.defined() ? mu.describe() : "undefined");
  check_floating(op, mu);
  for (const Tensor* t : std::initializer_list<const Tensor*>{&v, &z}) {
    check_same_shape(op, mu, *t);
    check_same_device(op, mu, *t);
    check_dtype(op, *t, mu.dtype());
  }
  const int64_t R = mu.size(0), C = mu.size(1);
  AD_CHECK(kl.defined() && kl.shape() == Shape{R} && kl.dtype() == mu.dtype(), op, "kl must be [", R, "], got ",
           kl.defined() ? kl.describe() : "undefined");
  check_same_device(op, mu, kl);
  if (mu.is_device()) {
    check_dtype(op, mu, DType::F32);
    AD_ON_DEVICE(op, mu, reparam_kl_forward(mu.data<float>(), v.data<float>(), z.data<float>(),
                                            kl.data<float>(), R, C, seed, offset, form, mean_only));
    return;
  }
  dispatch_floating(op, mu.dtype(), [&](auto t) {
    using T = decltype(t);
    cpu::reparam_kl_forward<T>(mu.data<T>(), v.data<T>(), z.data<T>(), kl.data<T>(), R, C, seed, offset, form,
                               mean_only);
  });
}

void reparam_kl_backward(const Tensor& mu, const Tensor& v, const Tensor& dz, const Tensor& dkl, Tensor& dmu,
                         Tensor& dv, uint64_t seed, uint64_t offset, VarianceForm form, bool mean_only) {
  const char* op = "reparam_kl_backward";
  AD_CHECK(mu.defined() && mu.dim() == 2, op, "mu must be [R, C], got ", mu.defined() ? mu.describe() : "undefined");
  check_floating(op, mu);
  for (const Tensor* t : std::initializer_list<const Tensor*>{&v, &dz, &dmu, &dv}) {
    check_same_shape(op, mu, *t);
    check_same_device(op, mu, *t);
    check_dtype(op, *t, mu.dtype());
  }
  const int64_t R = mu.size(0), C = mu.size(1);
  AD_CHECK(dkl.defined() && dkl.shape() == Shape{R} && dkl.dtype() == mu.dtype(), op, "dkl must be [", R, "], got ",
           dkl.defined() ? dkl.describe() : "undefined");
  check_same_device(op, mu, dkl);
  if (mu.is_device()) {
    check_dtype(op, mu, DType::F32);
    AD_ON_DEVICE(op, mu, reparam_kl_backward(mu.data<float>(), v.data<float>(), dz.data<float>(),
                                             dkl.data<float>(), dmu.data<float>(), dv.data<float>(), R, C,
                                             seed, offset, form, mean_only));
    return;
  }
  dispatch_floating(op, mu.dtype(), [&](auto t) {
    using T = decltype(t);
    cpu::reparam_kl_backward<T>(mu.data<T>(), v.data<T>(), dz.data<T>(), dkl.data<T>(), dmu.data<T>(), dv.data<T>(),
                                R, C, seed, offset, form, mean_only);
  });
}

}  // namespace ad
