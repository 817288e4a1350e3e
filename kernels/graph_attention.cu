#include "kernels/cuda_launch.cuh"
#include "kernels/graph_attention.cuh"

namespace ad::cuda {

void graph_attention_forward(const GatGraphView& g, const GatParams& p, const float* feat, const float* f_src,
                             const float* f_dst, float* attn, float* out) {
  CudaLauncher l;
  launch_graph_attention_forward(l, g, p, feat, f_src, f_dst, attn, out);
}

void graph_attention_backward(const GatGraphView& g, const GatParams& p, const float* feat, const float* f_src,
                              const float* f_dst, const float* attn, const float* dout, float* edge_grad,
                              float* dfeat, float* df_src, float* df_dst) {
  CudaLauncher l;
  launch_graph_attention_backward(l, g, p, feat, f_src, f_dst, attn, dout, edge_grad, dfeat, df_src, df_dst);
}

}  // namespace ad::cuda
