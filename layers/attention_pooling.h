// Global attention pooling layer (DGL GlobalAttentionPooling(gate_nn = Linear(C, 1)), MUAD's readout):
// gate = x w^T + b per node, softmax over each graph's nodes, weighted sum -> one vector per graph
// (kernels/attention_pooling.h). The batch's node layout is graph_ptr (I64 [B+1], on x's device).
#pragma once
#include <string>

#include "kernels/attention_pooling.h"
#include "layers/linear.h"
#include "layers/parameter.h"

namespace ad {

class AttentionPoolLayer : public Module {
 public:
  AttentionPoolLayer(std::string name, int channels, uint64_t seed, Device device = Device::CPU,
                     DType dtype = DType::F32);
  // x [N, C] -> [B, C]; keeps x, the weights and graph_ptr for backward.
  Tensor forward(const Tensor& x, const Tensor& graph_ptr);
  Tensor backward(const Tensor& dout);
  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  const Tensor& weights() const { return weight_; }
  Linear& gate() { return gate_; }

 private:
  std::string name_;
  Linear gate_;
  Tensor x_, graph_ptr_, weight_;
};

}  // namespace ad
