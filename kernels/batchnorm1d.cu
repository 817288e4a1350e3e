#include "kernels/batchnorm1d.cuh"
#include "kernels/device_backend.h"
#include "runtime/tensor.h"

namespace ad::AD_BACKEND {

void batchnorm1d_train_forward(const float* x, const float* gamma, const float* beta, float* y, float* save_mean,
                               float* save_var, float* running_mean, float* running_var, int64_t n, int64_t c,
                               float momentum, float eps) {
  Tensor workspace = Tensor::empty({batchnorm_workspace(n, c) + 1}, DType::F32, kBackendDevice);
  DeviceLauncher l;
  launch_batchnorm1d_train_forward(l, x, gamma, beta, y, save_mean, save_var, running_mean, running_var,
                                   workspace.data<float>(), n, c, momentum, eps);
}

void batchnorm1d_inference_forward(const float* x, const float* gamma, const float* beta, const float* running_mean,
                                   const float* running_var, float* y, int64_t n, int64_t c, float eps) {
  DeviceLauncher l;
  launch_batchnorm1d_inference_forward(l, x, gamma, beta, running_mean, running_var, y, n, c, eps);
}

void batchnorm1d_train_backward(const float* x, const float* gamma, const float* save_mean, const float* save_var,
                                const float* dy, float* dx, float* dgamma, float* dbeta, int64_t n, int64_t c,
                                float eps) {
  Tensor workspace = Tensor::empty({batchnorm_workspace(n, c) + 1}, DType::F32, kBackendDevice);
  DeviceLauncher l;
  launch_batchnorm1d_train_backward(l, x, gamma, save_mean, save_var, dy, dx, dgamma, dbeta, workspace.data<float>(),
                                    n, c, eps);
}

}  // namespace ad::AD_BACKEND
