#include "kernels/device_backend.h"
#include "kernels/embedding.cuh"

namespace ad::AD_BACKEND {

void embedding_forward(const int32_t* ids, const float* weight, float* out, int64_t n, int64_t dim) {
  DeviceLauncher l;
  launch_embedding_forward(l, ids, weight, out, n, dim);
}

void embedding_backward(const int32_t* rows, const int32_t* offsets, const int32_t* positions, int64_t groups,
                        const float* dout, float* dweight, int64_t dim) {
  DeviceLauncher l;
  launch_embedding_backward(l, rows, offsets, positions, groups, dout, dweight, dim);
}

}  // namespace ad::AD_BACKEND
