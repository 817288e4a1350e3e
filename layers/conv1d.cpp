#include "layers/conv1d.h"

#include <cmath>

#include "runtime/philox.h"

namespace ad {

CausalConv1d::CausalConv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t dilation,
                           uint64_t seed, DType dtype, Device device)
    : cin_(in_channels), cout_(out_channels), k_(kernel_size), d_(dilation) {
  const char* op = "CausalConv1d";
  AD_CHECK(cin_ >= 1 && cout_ >= 1, op, "channel counts must be >= 1, got ", cin_, " -> ", cout_);
  AD_CHECK(k_ >= 1, op, "kernel size must be >= 1, got ", k_);
  AD_CHECK(d_ >= 1, op, "dilation must be >= 1, got ", d_);
  // Keras glorot_uniform: fan_in = K*C_in, fan_out = K*C_out (receptive field times channels).
  const double limit = std::sqrt(6.0 / double(k_ * cin_ + k_ * cout_));
  std::vector<double> w(size_t(k_ * cin_ * cout_));
  for (size_t i = 0; i < w.size(); ++i) w[i] = limit * (2.0 * double(philox_uniform(seed, 0, i)) - 1.0);
  weight_ = Parameter("weight", Tensor::from_vector(w, {k_, cin_, cout_}, dtype).to(device));
  bias_ = Parameter("bias", Tensor::zeros({cout_}, dtype, device));
}

Tensor CausalConv1d::forward(const Tensor& x) {
  AD_CHECK(x.dim() == 3 && x.size(2) == cin_, "CausalConv1d::forward", "expected x [B, T, ", cin_, "], got ",
           x.describe());
  x_ = x;
  Tensor y = Tensor::empty({x.size(0), x.size(1), cout_}, x.dtype(), x.device());
  dilated_conv1d_forward(x, weight_.value, bias_.value, y, d_);
  return y;
}

Tensor CausalConv1d::backward(const Tensor& dy) {
  AD_CHECK(x_.defined(), "CausalConv1d::backward", "called before forward");
  AD_CHECK(dy.shape() == Shape({x_.size(0), x_.size(1), cout_}), "CausalConv1d::backward", "expected dy [",
           x_.size(0), ", ", x_.size(1), ", ", cout_, "], got ", dy.describe());
  Tensor dx = Tensor::empty(x_.shape(), x_.dtype(), x_.device());
  dilated_conv1d_backward(x_, dy, weight_.value, dx, weight_.grad, bias_.grad, d_);
  return dx;
}

void CausalConv1d::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  weight_.name = join_name(prefix, "weight");
  bias_.name = join_name(prefix, "bias");
  out.push_back(&weight_);
  out.push_back(&bias_);
}

}  // namespace ad
