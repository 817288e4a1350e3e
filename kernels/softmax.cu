#include "kernels/device_backend.h"
#include "kernels/softmax.cuh"

namespace ad::AD_BACKEND {

void softmax_forward(const float* x, float* y, int64_t rows, int64_t cols) {
  DeviceLauncher l;
  launch_softmax_forward(l, x, y, rows, cols);
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  DeviceLauncher l;
  launch_softmax_backward(l, y, dy, dx, rows, cols);
}

}  // namespace ad::AD_BACKEND
