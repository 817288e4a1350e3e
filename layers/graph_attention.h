// AnomalyDAE's structure-encoder attention layer (one head; the official NodeAttention):
//   F = H W (no bias);  f_src = F a1 + c1;  f_dst = F a2 + c2   (a "1x1 conv" each, with bias)
//   Z = sparse_attention(Â; F, f_src, f_dst) + b                (kernels/graph_attention.h)
// W, a1, a2 are Linear layers ([out, in] weights, Glorot); b is zero-initialised. The backward returns dH
// and accumulates every parameter's gradient.
#pragma once
#include <cstdint>
#include <string>

#include "kernels/graph_attention.h"
#include "layers/linear.h"
#include "layers/parameter.h"

namespace ad {

class GraphAttentionLayer : public Module {
 public:
  GraphAttentionLayer(std::string name, int in, int out, GraphAttentionOptions opt, uint64_t seed,
                      Device device = Device::CPU, DType dtype = DType::F32);

  // h [N, in] -> z [N, out]; keeps what backward needs (the graph by reference).
  Tensor forward(const AttentionGraph& g, const Tensor& h);
  Tensor backward(const Tensor& dz);

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  const Tensor& attention() const { return attn_; }  // [nnz] weights of the last forward
  const GraphAttentionOptions& options() const { return opt_; }

 private:
  std::string name_;
  GraphAttentionOptions opt_;
  Linear proj_, att_src_, att_dst_;
  Parameter bias_;
  const AttentionGraph* g_ = nullptr;
  Tensor feat_, f_src_, f_dst_, attn_;
};

}  // namespace ad
