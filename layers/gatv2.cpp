#include "layers/gatv2.h"

#include <cmath>
#include <random>

#include "kernels/elementwise.h"

namespace ad {

namespace {
Tensor glorot_vector(int64_t n, double fan_in, double fan_out, uint64_t seed, Device device, DType dtype) {
  std::mt19937_64 gen(seed);
  const double limit = std::sqrt(6.0 / (fan_in + fan_out));
  std::uniform_real_distribution<double> dist(-limit, limit);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = dist(gen);
  return Tensor::from_vector(v, {n}, dtype).to(device);
}
}  // namespace

Gatv2Layer::Gatv2Layer(std::string name, int in, int out, int heads, double negative_slope, uint64_t seed,
                       Device device, DType dtype)
    : name_(std::move(name)),
      fc_src_("fc_src", in, heads * out, /*bias=*/true, seed, device, dtype),
      fc_dst_("fc_dst", in, heads * out, /*bias=*/true, seed + 1, device, dtype),
      att_("att", glorot_vector(int64_t(heads) * out, double(heads) * out, out, seed + 2, device, dtype)) {
  AD_CHECK(heads >= 1, "Gatv2Layer", name_, ": heads must be >= 1, got ", heads);
  opt_.heads = heads;
  opt_.negative_slope = negative_slope;
}

void Gatv2Layer::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  const std::string base = join_name(prefix, name_);
  fc_src_.collect_parameters(base, out);
  fc_dst_.collect_parameters(base, out);
  att_.name = join_name(base, "att");
  out.push_back(&att_);
}

Tensor Gatv2Layer::forward(const AttentionGraph& g, const Tensor& x) {
  AD_CHECK(x.dim() == 2 && x.size(0) == g.nodes(), "Gatv2Layer::forward", name_, ": features ", x.describe(),
           " do not match a graph of ", g.nodes(), " nodes");
  g_ = &g;
  src_ = fc_src_.forward(x);
  dst_ = fc_dst_.forward(x);
  const int64_t n = x.size(0), D = src_.size(1) / opt_.heads;
  attn_ = Tensor::empty({g.edges(), opt_.heads}, x.dtype(), x.device());
  arg_ = Tensor::empty({n, D}, DType::I32, x.device());
  Tensor y = Tensor::empty({n, D}, x.dtype(), x.device());
  gatv2_forward(g, src_, dst_, att_.value, opt_, attn_, y, arg_);
  return y;
}

Tensor Gatv2Layer::backward(const Tensor& dy) {
  AD_CHECK(g_ != nullptr, "Gatv2Layer::backward", name_, ": backward before forward");
  const DType dt = dy.dtype();
  const Device dev = dy.device();
  Tensor edge_grad = Tensor::empty({g_->edges(), opt_.heads}, dt, dev);
  Tensor rows = Tensor::empty(src_.shape(), dt, dev), dsrc = Tensor::empty(src_.shape(), dt, dev),
         ddst = Tensor::empty(src_.shape(), dt, dev), datt = Tensor::empty(att_.value.shape(), dt, dev);
  gatv2_backward(*g_, src_, dst_, att_.value, attn_, arg_, dy, opt_, edge_grad, rows, dsrc, ddst, datt);
  add(att_.grad, datt, att_.grad);
  Tensor dx = fc_src_.backward(dsrc);
  Tensor dx2 = fc_dst_.backward(ddst);
  add(dx, dx2, dx);
  return dx;
}

}  // namespace ad
