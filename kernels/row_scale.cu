#include "kernels/device_backend.h"
#include "kernels/row_scale.cuh"

namespace ad::AD_BACKEND {

void scale_rows_into_columns(const float* z, const float* w, float* out, int64_t rows, int64_t d, int64_t f,
                             int64_t offset) {
  DeviceLauncher l;
  launch_scale_rows_into_columns(l, z, w, out, rows, d, f, offset);
}

void scale_rows_into_columns_backward(const float* z, const float* w, const float* dout, float* dz, float* dw,
                                      int64_t rows, int64_t d, int64_t f, int64_t offset) {
  DeviceLauncher l;
  launch_scale_rows_into_columns_backward(l, z, w, dout, dz, dw, rows, d, f, offset);
}

}  // namespace ad::AD_BACKEND
