// Global attention pooling over the graphs of a batch (Li et al. 2016; DGL's GlobalAttentionPooling with a
// gate network and no feature network, as MUAD uses it): for graph b with nodes graph_ptr[b] .. graph_ptr[b+1]
//   w_n   = softmax over the graph's nodes of gate_n      (gate_n = the layer's Linear(C -> 1) of x_n)
//   out_b = sum_n w_n x_n
// Backward: dx_n = w_n dout_b;  dgate_n = w_n (dout_b . x_n - sum_m w_m dout_b . x_m).
// A graph without nodes pools to zeros. The batch's node layout is the CSR-like graph_ptr (I64 [B+1]).
// CPU reference (f32, f64) in attention_pooling.cpp; CUDA kernels in attention_pooling.cuh/.cu.
#pragma once
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

// x [N, C], gate [N], graph_ptr I64 [B+1] (on x's device) -> weight [N], out [B, C] (allocated by the caller).
void attention_pool_forward(const Tensor& x, const Tensor& gate, const Tensor& graph_ptr, Tensor& weight,
                            Tensor& out);
// dout [B, C] -> dx [N, C], dgate [N] (overwritten).
void attention_pool_backward(const Tensor& x, const Tensor& weight, const Tensor& graph_ptr, const Tensor& dout,
                             Tensor& dx, Tensor& dgate);

AD_DEVICE_BACKENDS(
void attention_pool_forward(const float* x, const float* gate, const int64_t* graph_ptr, float* weight, float* out,
                            int64_t graphs, int64_t channels);
void attention_pool_backward(const float* x, const float* weight, const int64_t* graph_ptr, const float* dout,
                             float* dx, float* dgate, int64_t graphs, int64_t channels);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
