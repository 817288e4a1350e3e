#include "kernels/attention_pooling.cuh"
#include "kernels/device_backend.h"

namespace ad::AD_BACKEND {

void attention_pool_forward(const float* x, const float* gate, const int64_t* graph_ptr, float* weight, float* out,
                            int64_t graphs, int64_t channels) {
  DeviceLauncher l;
  launch_attention_pool_forward(l, x, gate, graph_ptr, weight, out, graphs, channels);
}

void attention_pool_backward(const float* x, const float* weight, const int64_t* graph_ptr, const float* dout,
                             float* dx, float* dgate, int64_t graphs, int64_t channels) {
  DeviceLauncher l;
  launch_attention_pool_backward(l, x, weight, graph_ptr, dout, dx, dgate, graphs, channels);
}

}  // namespace ad::AD_BACKEND
