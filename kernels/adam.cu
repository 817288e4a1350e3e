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

}  // namespace ad::AD_BACKEND
