#include "layers/self_attention.h"

#include <cmath>
#include <random>

#include "kernels/self_attention.h"

namespace ad {

namespace {
Tensor uniform(std::mt19937_64& gen, const Shape& shape, double bound, Device device, DType dtype) {
  std::uniform_real_distribution<double> dist(-bound, bound);
  std::vector<double> v(size_t(shape.numel()));
  for (double& x : v) x = dist(gen);
  return Tensor::from_vector(v, shape, dtype).to(device);
}
}  // namespace

SelfAttention::SelfAttention(std::string name, int64_t hidden, int64_t attention, int64_t heads, uint64_t seed,
                             Device device, DType dtype)
    : name_(std::move(name)) {
  AD_CHECK(hidden > 0 && attention > 0 && heads > 0, "SelfAttention", name_,
           ": hidden, attention and heads must be positive");
  std::mt19937_64 gen(seed);
  const double bound1 = 1.0 / std::sqrt(double(hidden)), bound2 = 1.0 / std::sqrt(double(attention));
  w1_ = Parameter("W1.weight", uniform(gen, {attention, hidden}, bound1, device, dtype));
  b1_ = Parameter("W1.bias", uniform(gen, {attention}, bound1, device, dtype));
  w2_ = Parameter("W2.weight", uniform(gen, {heads, attention}, bound2, device, dtype));
  b2_ = Parameter("W2.bias", uniform(gen, {heads}, bound2, device, dtype));
}

void SelfAttention::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  const std::string base = join_name(prefix, name_);
  for (auto [p, n] : {std::pair{&w1_, "W1.weight"}, {&b1_, "W1.bias"}, {&w2_, "W2.weight"}, {&b2_, "W2.bias"}}) {
    p->name = join_name(base, n);
    out.push_back(p);
  }
}

Tensor SelfAttention::forward(const Tensor& H) {
  AD_CHECK(H.dim() == 3, "SelfAttention::forward", name_, ": expected [batch, time, hidden], got ", H.describe());
  const int64_t B = H.size(0), T = H.size(1), D = H.size(2), A = w1_.value.size(0), K = w2_.value.size(0);
  h_ = H;
  // U is ours alone: reuse its buffer while the shape holds (a fresh 24 MB per inference batch costs page faults).
  if (!u_.defined() || u_.shape() != Shape{B, T, A} || u_.dtype() != H.dtype() || u_.device() != H.device())
    u_ = Tensor::empty({B, T, A}, H.dtype(), H.device());
  attn_ = Tensor::empty({B, K, T}, H.dtype(), H.device());
  Tensor M = Tensor::empty({B, K, D}, H.dtype(), H.device());
  self_attention_forward(H, w1_.value, b1_.value, w2_.value, b2_.value, u_, attn_, M);
  return M;
}

Tensor SelfAttention::backward(const Tensor& dM) {
  AD_CHECK(h_.defined(), "SelfAttention::backward", name_, ": backward before forward");
  Tensor dH = Tensor::empty(h_.shape(), h_.dtype(), h_.device());
  self_attention_backward(h_, w1_.value, w2_.value, u_, attn_, dM, dH, w1_.grad, b1_.grad, w2_.grad, b2_.grad);
  return dH;
}

}  // namespace ad
