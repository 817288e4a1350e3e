#include "kernels/device_backend.h"
#include "kernels/layer_norm.cuh"

namespace ad::AD_BACKEND {

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean,
                        float* rstd, int64_t rows, int64_t cols) {
  DeviceLauncher l;
  launch_layer_norm_forward(l, x, gamma, beta, eps, y, mean, rstd, rows, cols);
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         float* dx, float* dgamma, float* dbeta, int64_t rows, int64_t cols, bool accumulate) {
  DeviceLauncher l;
  launch_layer_norm_backward(l, x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, cols, accumulate);
}

}  // namespace ad::AD_BACKEND
