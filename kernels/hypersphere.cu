#include "kernels/device_backend.h"
#include "kernels/hypersphere.cuh"

namespace ad::AD_BACKEND {

void hypersphere_forward(const float* d2, const float* radius, float* residue, float* weight, int64_t B,
                         HypersphereWeight form) {
  DeviceLauncher l;
  launch_hypersphere_forward(l, d2, radius, residue, weight, B, form);
}

void hypersphere_backward(const float* d2, const float* radius, const float* dresidue, const float* dweight,
                          float* dd2, float* dradius, int64_t B, HypersphereWeight form) {
  DeviceLauncher l;
  launch_hypersphere_backward(l, d2, radius, dresidue, dweight, dd2, dradius, B, form);
}

}  // namespace ad::AD_BACKEND
