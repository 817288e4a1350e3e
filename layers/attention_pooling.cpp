#include "layers/attention_pooling.h"

#include "kernels/elementwise.h"

namespace ad {

AttentionPoolLayer::AttentionPoolLayer(std::string name, int channels, uint64_t seed, Device device, DType dtype)
    : name_(std::move(name)), gate_("gate", channels, 1, /*bias=*/true, seed, device, dtype) {}

void AttentionPoolLayer::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  gate_.collect_parameters(join_name(prefix, name_), out);
}

Tensor AttentionPoolLayer::forward(const Tensor& x, const Tensor& graph_ptr) {
  x_ = x;
  graph_ptr_ = graph_ptr;
  const int64_t n = x.size(0);
  Tensor gate = gate_.forward(x).view({n});
  weight_ = Tensor::empty({n}, x.dtype(), x.device());
  Tensor out = Tensor::empty({graph_ptr.numel() - 1, x.size(1)}, x.dtype(), x.device());
  attention_pool_forward(x, gate, graph_ptr, weight_, out);
  return out;
}

Tensor AttentionPoolLayer::backward(const Tensor& dout) {
  AD_CHECK(x_.defined(), "AttentionPoolLayer::backward", name_, ": backward before forward");
  const int64_t n = x_.size(0);
  Tensor dx = Tensor::empty(x_.shape(), x_.dtype(), x_.device()), dgate = Tensor::empty({n}, x_.dtype(), x_.device());
  attention_pool_backward(x_, weight_, graph_ptr_, dout, dx, dgate);
  Tensor dx2 = gate_.backward(dgate.view({n, 1}));
  add(dx, dx2, dx);
  return dx;
}

}  // namespace ad
