#include "kernels/device_backend.h"
#include "kernels/elementwise.cuh"
#include "runtime/tensor.h"

namespace ad::AD_BACKEND {

void axpby(const float* a, const float* b, float* out, int64_t n, float alpha, float beta) {
  DeviceLauncher l;
  launch_axpby(l, a, b, out, n, alpha, beta);
}
void scale(const float* x, float* y, int64_t n, float alpha) {
  DeviceLauncher l;
  launch_scale(l, x, y, n, alpha);
}
void mul(const float* a, const float* b, float* out, int64_t n) {
  DeviceLauncher l;
  launch_mul(l, a, b, out, n);
}
void fill(float* x, int64_t n, float value) {
  DeviceLauncher l;
  launch_fill(l, x, n, value);
}
void add_bias_rows(float* x, const float* bias, int64_t rows, int64_t cols) {
  DeviceLauncher l;
  launch_add_bias_rows(l, x, bias, rows, cols);
}
void column_sums(const float* x, float* out, int64_t rows, int64_t cols, float scale, bool accumulate) {
  Tensor partial = Tensor::empty({column_sum_workspace(rows, cols) + 1}, DType::F32, kBackendDevice);
  DeviceLauncher l;
  launch_column_sums(l, x, out, partial.data<float>(), rows, cols, scale, accumulate);
}

}  // namespace ad::AD_BACKEND
