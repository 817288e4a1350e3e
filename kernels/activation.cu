#include "kernels/activation.cuh"
#include "kernels/cuda_launch.cuh"

namespace ad::cuda {

void activation_forward(Activation a, const float* x, float* y, int64_t n, float param) {
  CudaLauncher l;
  launch_activation_forward(l, a, x, y, n, param);
}

void activation_backward(Activation a, const float* x, const float* y, const float* dy, float* dx, int64_t n,
                         float param) {
  CudaLauncher l;
  launch_activation_backward(l, a, x, y, dy, dx, n, param);
}

}  // namespace ad::cuda
