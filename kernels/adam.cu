#include "kernels/adam.cuh"
#include "kernels/cuda_launch.cuh"

namespace ad::cuda {

void adam_step(float* p, const float* g, float* m, float* v, int64_t n, const AdamKernelParams& k) {
  CudaLauncher l;
  launch_adam_step(l, p, g, m, v, n, k);
}

void sgd_step(float* p, const float* g, float* buf, int64_t n, const SgdKernelParams& k) {
  CudaLauncher l;
  launch_sgd_step(l, p, g, buf, n, k);
}

}  // namespace ad::cuda
