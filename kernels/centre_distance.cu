#include "kernels/centre_distance.cuh"
#include "kernels/device_backend.h"

namespace ad::AD_BACKEND {

void centre_distance_forward(CentreDistance kind, const float* z, const float* c, float* out, int64_t B, int64_t K,
                             int64_t H, int64_t D) {
  DeviceLauncher l;
  launch_centre_distance_forward(l, kind, z, c, out, B, K, H, D);
}

void centre_distance_backward(CentreDistance kind, const float* z, const float* c, const float* dout, float* dz,
                              float* dc, int64_t B, int64_t K, int64_t H, int64_t D) {
  DeviceLauncher l;
  Tensor coef;
  if (kind == CentreDistance::HalfCosine) coef = Tensor::empty({3 * B * K * H + 1}, DType::F32, kBackendDevice);
  launch_centre_distance_backward(l, kind, z, c, dout, coef.defined() ? coef.data<float>() : nullptr, dz, dc, B, K,
                                  H, D);
}

}  // namespace ad::AD_BACKEND
