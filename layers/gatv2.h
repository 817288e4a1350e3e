// GATv2 layer with the max over heads (MUAD's graph stage: DGL GATv2Conv(in, out, heads, negative_slope,
// share_weights=False, bias=True) followed by MaxPool1d over the head axis):
//   S = x W_s^T + b_s,  T = x W_d^T + b_d   ([N, heads*out] each, two Linear layers)
//   y = gatv2(graph; S, T, att)             ([N, out]; kernels/graph_attention.h, max over heads fused)
// The graph's rows are the edges' targets: row i lists the sources j whose messages node i receives.
// Parameters: fc_src, fc_dst (Glorot-uniform weights, zero bias), att [heads*out] (Glorot-uniform over
// fan_in = heads*out, fan_out = out).
#pragma once
#include <cstdint>
#include <string>

#include "kernels/graph_attention.h"
#include "layers/linear.h"
#include "layers/parameter.h"

namespace ad {

class Gatv2Layer : public Module {
 public:
  Gatv2Layer(std::string name, int in, int out, int heads, double negative_slope, uint64_t seed,
             Device device = Device::CPU, DType dtype = DType::F32);

  // x [N, in] -> y [N, out]; keeps what backward needs (the graph by reference).
  Tensor forward(const AttentionGraph& g, const Tensor& x);
  // Accumulates every parameter's gradient; returns dx.
  Tensor backward(const Tensor& dy);

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  const Tensor& attention() const { return attn_; }  // [nnz, heads] of the last forward
  Linear& fc_src() { return fc_src_; }
  Linear& fc_dst() { return fc_dst_; }
  Parameter& att() { return att_; }

 private:
  std::string name_;
  Gatv2Options opt_;
  Linear fc_src_, fc_dst_;
  Parameter att_;
  const AttentionGraph* g_ = nullptr;
  Tensor src_, dst_, attn_, arg_;
};

}  // namespace ad
