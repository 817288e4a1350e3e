#include "kernels/adam.cuh"
#include "kernels/device_backend.h"

namespace ad::AD_BACKEND {

void adam_step(float* p, const float* g, float* m, float* v, int64_t n, const AdamKernelParams& k) {
  DeviceLauncher l;
  launch_adam_step(l, p, g, m, v, n, k);
}

void sgd_step(float* p, const float* g, float* buf, int64_t n, const SgdKernelParams& k) {
  DeviceLauncher l;
  launch_sgd_step(l, p, g, buf, n, k);
}

void adam_step_device_scalars(float* p, const float* g, float* m, float* v, int64_t n, const AdamKernelParams& k,
                              const float* step_scalars) {
  DeviceLauncher l;
  launch_adam_step(l, p, g, m, v, n, k, step_scalars);
}

}  // namespace ad::AD_BACKEND
