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
}  // namespace cpu

void reparam_forward(const Tensor& mu, const Tensor& logvar, Tensor& z, uint64_t seed, uint64_t offset,
                     bool mean_only) {
  const char* op = "reparam_forward";
  check_same_shape(op, mu, logvar);
  check_same_shape(op, mu, z);
  check_same_device(op, mu, logvar);
  check_same_device(op, mu, z);
  check_floating(op, mu);
  check_dtype(op, logvar, mu.dtype());
  check_dtype(op, z, mu.dtype());
  if (mu.is_cuda()) {
    check_dtype(op, mu, DType::F32);
    AD_WITH_CUDA_ONLY(op, cuda::reparam_forward(mu.data<float>(), logvar.data<float>(), z.data<float>(), mu.numel(),
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
  if (logvar.is_cuda()) {
    check_dtype(op, logvar, DType::F32);
    AD_WITH_CUDA_ONLY(op, cuda::reparam_backward(logvar.data<float>(), dz.data<float>(), dmu.data<float>(),
                                                 dlogvar.data<float>(), logvar.numel(), seed, offset, mean_only));
  } else {
    dispatch_floating(op, logvar.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::reparam_backward<T>(logvar.data<T>(), dz.data<T>(), dmu.data<T>(), dlogvar.data<T>(), logvar.numel(),
                               seed, offset, mean_only);
    });
  }
}

}  // namespace ad
