#include "kernels/device_backend.h"
#include "kernels/dilated_conv1d.cuh"
#include "runtime/tensor.h"

namespace ad::AD_BACKEND {

void dilated_conv1d_forward(const Conv1dShape& s, const float* x, const float* w, const float* bias, float* y) {
  DeviceLauncher l;
  launch_dilated_conv1d_forward(l, s, x, w, bias, y);
}

void dilated_conv1d_backward_data(const Conv1dShape& s, const float* dy, const float* w, float* dx) {
  DeviceLauncher l;
  launch_dilated_conv1d_backward_data(l, s, dy, w, dx);
}

void dilated_conv1d_backward_params(const Conv1dShape& s, const float* x, const float* dy, float* dw, float* db) {
  Tensor partial = Tensor::empty({conv_weight_grad_workspace(s) + 1}, DType::F32, kBackendDevice);
  DeviceLauncher l;
  launch_dilated_conv1d_backward_params(l, s, x, dy, dw, db, partial.data<float>());
}

}  // namespace ad::AD_BACKEND
