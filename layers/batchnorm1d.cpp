#include "layers/batchnorm1d.h"

namespace ad {

BatchNorm1d::BatchNorm1d(int64_t channels, DType dtype, Device device, BatchNormOptions options)
    : c_(channels), opt_(options) {
  AD_CHECK(c_ >= 1, "BatchNorm1d", "channels must be >= 1, got ", c_);
  gamma_ = Parameter("gamma", Tensor::full({c_}, 1.0, dtype, device));
  beta_ = Parameter("beta", Tensor::zeros({c_}, dtype, device));
  running_mean_ = Tensor::zeros({c_}, dtype, device);
  running_var_ = Tensor::full({c_}, 1.0, dtype, device);
}

Tensor BatchNorm1d::forward(const Tensor& x) {
  const char* op = "BatchNorm1d::forward";
  AD_CHECK(x.dim() >= 2 && x.size(x.dim() - 1) == c_, op, "expected x [..., ", c_, "], got ", x.describe());
  // Module::to moves parameters only; the running statistics follow the data here.
  if (running_mean_.device() != x.device()) running_mean_ = running_mean_.to(x.device());
  if (running_var_.device() != x.device()) running_var_ = running_var_.to(x.device());
  const Tensor x2 = x.view({x.numel() / c_, c_});
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor y2 = y.view(x2.shape());
  if (training_) {
    x_ = x2;
    save_mean_ = Tensor::empty({c_}, x.dtype(), x.device());
    save_var_ = Tensor::empty({c_}, x.dtype(), x.device());
    batchnorm1d_train_forward(x2, gamma_.value, beta_.value, y2, save_mean_, save_var_, running_mean_, running_var_,
                              opt_);
  } else {
    batchnorm1d_inference_forward(x2, gamma_.value, beta_.value, running_mean_, running_var_, y2, opt_);
  }
  return y;
}

Tensor BatchNorm1d::forward_after(const Tensor& pre, Activation act, float param) {
  const char* op = "BatchNorm1d::forward_after";
  AD_CHECK(training_, op, "training mode only");
  AD_CHECK(pre.dim() >= 2 && pre.size(pre.dim() - 1) == c_, op, "expected pre [..., ", c_, "], got ", pre.describe());
  const Tensor pre2 = pre.view({pre.numel() / c_, c_});
  Tensor x = Tensor::empty(pre2.shape(), pre.dtype(), pre.device());
  Tensor y = Tensor::empty(pre.shape(), pre.dtype(), pre.device());
  Tensor y2 = y.view(pre2.shape());
  save_mean_ = Tensor::empty({c_}, pre.dtype(), pre.device());
  save_var_ = Tensor::empty({c_}, pre.dtype(), pre.device());
  batchnorm1d_activation_train_forward(act, param, pre2, x, gamma_.value, beta_.value, y2, save_mean_, save_var_,
                                       running_mean_, running_var_, opt_);
  x_ = x;
  return y;
}

Tensor BatchNorm1d::backward(const Tensor& dy) {
  const char* op = "BatchNorm1d::backward";
  AD_CHECK(x_.defined(), op, "needs a training-mode forward first");
  AD_CHECK(dy.numel() == x_.numel() && dy.size(dy.dim() - 1) == c_, op, "dy ", dy.describe(),
           " does not match the forward input ", x_.describe());
  Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  Tensor dx2 = dx.view(x_.shape());
  batchnorm1d_train_backward(x_, gamma_.value, save_mean_, save_var_, dy.view(x_.shape()), dx2, gamma_.grad,
                             beta_.grad, opt_);
  return dx;
}

Tensor BatchNorm1d::backward_through(const Tensor& dy, Activation act, float param) {
  const char* op = "BatchNorm1d::backward_through";
  AD_CHECK(x_.defined(), op, "needs a training-mode forward first");
  AD_CHECK(dy.numel() == x_.numel() && dy.size(dy.dim() - 1) == c_, op, "dy ", dy.describe(),
           " does not match the forward input ", x_.describe());
  Tensor dpre = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  Tensor dpre2 = dpre.view(x_.shape());
  batchnorm1d_activation_train_backward(act, param, x_, gamma_.value, save_mean_, save_var_, dy.view(x_.shape()),
                                        dpre2, gamma_.grad, beta_.grad, opt_);
  return dpre;
}

void BatchNorm1d::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  gamma_.name = join_name(prefix, "gamma");
  beta_.name = join_name(prefix, "beta");
  out.push_back(&gamma_);
  out.push_back(&beta_);
}

void BatchNorm1d::buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor*>>& out) {
  out.emplace_back(join_name(prefix, "running_mean"), &running_mean_);
  out.emplace_back(join_name(prefix, "running_var"), &running_var_);
}

}  // namespace ad
