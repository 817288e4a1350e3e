#include "kernels/device_backend.h"
#include "kernels/gaussian.cuh"

namespace ad::AD_BACKEND {

void reparam_forward(const float* mu, const float* logvar, float* z, int64_t n, uint64_t seed, uint64_t offset,
                     bool mean_only) {
  DeviceLauncher l;
  launch_reparam_forward(l, mu, logvar, z, n, seed, offset, mean_only);
}

void reparam_backward(const float* logvar, const float* dz, float* dmu, float* dlogvar, int64_t n, uint64_t seed,
                      uint64_t offset, bool mean_only) {
  DeviceLauncher l;
  launch_reparam_backward(l, logvar, dz, dmu, dlogvar, n, seed, offset, mean_only);
}

void reparam_kl_forward(const float* mu, const float* v, float* z, float* kl, int64_t rows, int64_t cols,
                        uint64_t seed, uint64_t offset, VarianceForm form, bool mean_only) {
  DeviceLauncher l;
  launch_reparam_kl_forward(l, mu, v, z, kl, rows, cols, seed, offset, form, mean_only);
}

void reparam_kl_backward(const float* mu, const float* v, const float* dz, const float* dkl, float* dmu, float* dv,
                         int64_t rows, int64_t cols, uint64_t seed, uint64_t offset, VarianceForm form,
                         bool mean_only) {
  DeviceLauncher l;
  launch_reparam_kl_backward(l, mu, v, dz, dkl, dmu, dv, rows, cols, seed, offset, form, mean_only);
}

void reparam_forward_device_offset(const float* mu, const float* logvar, float* z, int64_t n, uint64_t seed,
                                   const int64_t* offset) {
  DeviceLauncher l;
  launch_reparam_forward(l, mu, logvar, z, n, seed, 0, false, offset);
}

void reparam_backward_device_offset(const float* logvar, const float* dz, float* dmu, float* dlogvar, int64_t n,
                                    uint64_t seed, const int64_t* offset) {
  DeviceLauncher l;
  launch_reparam_backward(l, logvar, dz, dmu, dlogvar, n, seed, 0, false, offset);
}

}  // namespace ad::AD_BACKEND
