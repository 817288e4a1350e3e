#include "kernels/device_backend.h"
#include "kernels/loss.cuh"
#include "runtime/tensor.h"

namespace ad::AD_BACKEND {

void loss_forward(LossKind k, const float* a, const float* b, const float* c, float* out, int64_t n, float param,
                  Reduction r) {
  DeviceLauncher l;
  if (r == Reduction::None) {
    launch_loss_forward(l, k, a, b, c, out, nullptr, n, param, r);
    return;
  }
  Tensor partial = Tensor::empty({int64_t(sum_all_blocks(n))}, DType::F32, kBackendDevice);
  launch_loss_forward(l, k, a, b, c, out, partial.data<float>(), n, param, r);
}

void loss_backward(LossKind k, const float* a, const float* b, const float* c, const float* dout, bool scalar_dout,
                   float gscale, float* da, float* db, float* dc, int64_t n) {
  DeviceLauncher l;
  launch_loss_backward(l, k, a, b, c, dout, scalar_dout, gscale, da, db, dc, n);
}

}  // namespace ad::AD_BACKEND
