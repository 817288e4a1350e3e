#include "kernels/accumulate.cuh"
#include "kernels/cuda_launch.cuh"

namespace ad::cuda {

void accumulate_terms(const float* x, int64_t n, double scale, double* acc, bool with_total) {
  CudaLauncher l;
  launch_accumulate_terms(l, x, n, scale, acc, with_total);
}

}  // namespace ad::cuda
