#include "kernels/activation.cuh"
#include "kernels/device_backend.h"

namespace ad::AD_BACKEND {

void activation_forward(Activation a, const float* x, float* y, int64_t n, float param) {
  DeviceLauncher l;
  launch_activation_forward(l, a, x, y, n, param);
}

void activation_backward(Activation a, const float* x, const float* y, const float* dy, float* dx, int64_t n,
                         float param) {
  DeviceLauncher l;
  launch_activation_backward(l, a, x, y, dy, dx, n, param);
}

}  // namespace ad::AD_BACKEND
