#include "kernels/device_backend.h"
#include "kernels/reduce.cuh"
#include "runtime/tensor.h"

namespace ad::AD_BACKEND {

void sum_axis(const float* x, float* out, int64_t rows, int64_t cols, int axis, float scale) {
  Tensor partial = Tensor::empty({(axis == 0 ? column_sum_workspace(rows, cols) : 0) + 1}, DType::F32, kBackendDevice);
  DeviceLauncher l;
  launch_sum_axis(l, x, out, partial.data<float>(), rows, cols, axis, scale);
}

void broadcast(const float* dout, float* dx, int64_t rows, int64_t cols, int axis, float scale) {
  DeviceLauncher l;
  launch_broadcast(l, dout, dx, rows, cols, axis, scale);
}

void sum_all(const float* x, float* out, int64_t n, bool square, float scale) {
  Tensor partial = Tensor::empty({int64_t(sum_all_blocks(n))}, DType::F32, kBackendDevice);
  DeviceLauncher l;
  launch_sum_all(l, x, partial.data<float>(), out, n, square, scale);
}

}  // namespace ad::AD_BACKEND
