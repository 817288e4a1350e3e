#include "kernels/accumulate.cuh"
#include "kernels/device_backend.h"

namespace ad::AD_BACKEND {

void accumulate_terms(const float* x, int64_t n, double scale, double* acc, bool with_total) {
  DeviceLauncher l;
  launch_accumulate_terms(l, x, n, scale, acc, with_total);
}

}  // namespace ad::AD_BACKEND
