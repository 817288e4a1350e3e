#include "layers/graph_attention.h"

#include "kernels/elementwise.h"

namespace ad {

GraphAttentionLayer::GraphAttentionLayer(std::string name, int in, int out, GraphAttentionOptions opt, uint64_t seed,
                                         Device device, DType dtype)
    : name_(std::move(name)),
      opt_(opt),
      proj_("proj", in, out, /*bias=*/false, seed, device, dtype),
      att_src_("att_src", out, 1, /*bias=*/true, seed + 1, device, dtype),
      att_dst_("att_dst", out, 1, /*bias=*/true, seed + 2, device, dtype),
      bias_("bias", Tensor::zeros({out}, dtype, device)) {}

void GraphAttentionLayer::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  std::string base = join_name(prefix, name_);
  proj_.collect_parameters(base, out);
  att_src_.collect_parameters(base, out);
  att_dst_.collect_parameters(base, out);
  bias_.name = join_name(base, "bias");
  out.push_back(&bias_);
}

Tensor GraphAttentionLayer::forward(const AttentionGraph& g, const Tensor& h) {
  AD_CHECK(h.dim() == 2 && h.size(0) == g.nodes(), "GraphAttentionLayer::forward", name_, ": features ",
           h.describe(), " do not match a graph of ", g.nodes(), " nodes");
  g_ = &g;
  feat_ = proj_.forward(h);
  int64_t n = h.size(0);
  f_src_ = att_src_.forward(feat_).view({n});
  f_dst_ = att_dst_.forward(feat_).view({n});
  attn_ = Tensor::empty({g.edges()}, h.dtype(), h.device());
  Tensor z = Tensor::empty(feat_.shape(), h.dtype(), h.device());
  graph_attention_forward(g, feat_, f_src_, f_dst_, opt_, attn_, z);
  add_bias_rows(z, bias_.value);
  return z;
}

Tensor GraphAttentionLayer::backward(const Tensor& dz) {
  AD_CHECK(g_ != nullptr, "GraphAttentionLayer::backward", name_, ": backward before forward");
  add_bias_rows_backward(dz, bias_.grad, /*accumulate=*/true);
  int64_t n = feat_.size(0);
  Tensor edge_grad = Tensor::empty({g_->edges()}, dz.dtype(), dz.device());
  Tensor dfeat = Tensor::empty(feat_.shape(), dz.dtype(), dz.device());
  Tensor df_src = Tensor::empty({n}, dz.dtype(), dz.device()), df_dst = Tensor::empty({n}, dz.dtype(), dz.device());
  graph_attention_backward(*g_, feat_, f_src_, f_dst_, attn_, dz, opt_, edge_grad, dfeat, df_src, df_dst);
  Tensor d1 = att_src_.backward(df_src.view({n, 1}));
  Tensor d2 = att_dst_.backward(df_dst.view({n, 1}));
  add(dfeat, d1, dfeat);
  add(dfeat, d2, dfeat);
  return proj_.backward(dfeat);
}

}  // namespace ad
