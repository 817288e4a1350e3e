#include "layers/layer_norm.h"

namespace ad {

LayerNormLayer::LayerNormLayer(std::string name, int channels, double eps, Device device, DType dtype)
    : name_(std::move(name)),
      channels_(channels),
      eps_(eps),
      gamma_("weight", Tensor::full({channels}, 1.0, dtype, device)),
      beta_("bias", Tensor::zeros({channels}, dtype, device)) {}

void LayerNormLayer::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  const std::string base = join_name(prefix, name_);
  gamma_.name = join_name(base, "weight");
  beta_.name = join_name(base, "bias");
  out.push_back(&gamma_);
  out.push_back(&beta_);
}

Tensor LayerNormLayer::forward(const Tensor& x) {
  AD_CHECK(x.dim() >= 1 && x.size(x.dim() - 1) == channels_, "LayerNormLayer::forward", name_, ": expected [..., ",
           channels_, "], got ", x.describe());
  shape_ = x.shape();
  const int64_t rows = x.numel() / channels_;
  x_ = x.view({rows, channels_});
  mean_ = Tensor::empty({rows}, x.dtype(), x.device());
  rstd_ = Tensor::empty({rows}, x.dtype(), x.device());
  Tensor y = Tensor::empty({rows, channels_}, x.dtype(), x.device());
  layer_norm_forward(x_, gamma_.value, beta_.value, eps_, y, mean_, rstd_);
  return y.view(shape_);
}

Tensor LayerNormLayer::backward(const Tensor& dy) {
  AD_CHECK(x_.defined(), "LayerNormLayer::backward", name_, ": backward before forward");
  Tensor dx = Tensor::empty(x_.shape(), x_.dtype(), x_.device());
  layer_norm_backward(x_, gamma_.value, mean_, rstd_, dy.view(x_.shape()), dx, gamma_.grad, beta_.grad, true);
  return dx.view(shape_);
}

}  // namespace ad
