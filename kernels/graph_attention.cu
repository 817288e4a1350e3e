#include "kernels/device_backend.h"
#include "kernels/gatv2.cuh"
#include "kernels/graph_attention.cuh"
#include "runtime/tensor.h"

namespace ad::AD_BACKEND {

void graph_attention_forward(const GatGraphView& g, const GatParams& p, const float* feat, const float* f_src,
                             const float* f_dst, float* attn, float* out) {
  Tensor ws = Tensor::empty({gat_workspace(g, p.channels) + 1}, DType::F32, kBackendDevice);
  DeviceLauncher l;
  launch_graph_attention_forward(l, g, p, feat, f_src, f_dst, attn, out, ws.data<float>());
}

void graph_attention_backward(const GatGraphView& g, const GatParams& p, const float* feat, const float* f_src,
                              const float* f_dst, const float* attn, const float* dout, float* edge_grad,
                              float* dfeat, float* df_src, float* df_dst) {
  Tensor ws = Tensor::empty({gat_workspace(g, p.channels) + 1}, DType::F32, kBackendDevice);
  DeviceLauncher l;
  launch_graph_attention_backward(l, g, p, feat, f_src, f_dst, attn, dout, edge_grad, dfeat, df_src, df_dst,
                                  ws.data<float>());
}

void gatv2_forward(const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst, const float* att,
                   float* attn, float* out, int32_t* arg) {
  Tensor ws = Tensor::empty({gatv2_workspace(g, p.heads, p.head_dim) + 1}, DType::F32, kBackendDevice);
  DeviceLauncher l;
  launch_gatv2_forward(l, g, p, src, dst, att, attn, out, arg, ws.data<float>());
}

void gatv2_backward(const GatGraphView& g, const Gatv2Params& p, const float* src, const float* dst, const float* att,
                    const float* attn, const int32_t* arg, const float* dout, float* edge_grad, float* datt_rows,
                    float* dsrc, float* ddst) {
  Tensor ws = Tensor::empty({gatv2_workspace(g, p.heads, p.head_dim) + 1}, DType::F32, kBackendDevice);
  DeviceLauncher l;
  launch_gatv2_backward(l, g, p, src, dst, att, attn, arg, dout, edge_grad, datt_rows, dsrc, ddst, ws.data<float>());
}

}  // namespace ad::AD_BACKEND
