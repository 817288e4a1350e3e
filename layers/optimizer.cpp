#include "layers/optimizer.h"

#include <cmath>

#include "kernels/adam.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace ad {

double global_grad_norm(const std::vector<Parameter*>& params) {
  double s = 0;
  for (Parameter* p : params) {
    if (p->grad.numel() == 0) continue;
    Tensor out = Tensor::empty({1}, p->grad.dtype(), p->grad.device());
    sum_squares(p->grad, out);
    s += out.item();
  }
  return std::sqrt(s);
}

double clip_grad_norm(const std::vector<Parameter*>& params, double max_norm) {
  double norm = global_grad_norm(params);
  double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    for (Parameter* p : params) scale(p->grad, coef, p->grad);
  return norm;
}

double Optimizer::clip_scale(double max_norm) {
  if (max_norm <= 0) {
    last_grad_norm_ = 0;
    return 1.0;
  }
  last_grad_norm_ = global_grad_norm(params_);
  double coef = max_norm / (last_grad_norm_ + 1e-6);
  return coef < 1.0 ? coef : 1.0;
}

Adam::Adam(std::vector<Parameter*> params, AdamOptions opts) : Optimizer(std::move(params)), opts_(opts) {
  AD_CHECK(opts_.lr >= 0 && opts_.eps >= 0 && opts_.beta1 >= 0 && opts_.beta1 < 1 && opts_.beta2 >= 0 &&
               opts_.beta2 < 1 && opts_.weight_decay >= 0,
           "Adam", "invalid options: lr ", opts_.lr, ", betas (", opts_.beta1, ", ", opts_.beta2, "), eps ", opts_.eps,
           ", weight_decay ", opts_.weight_decay);
  for (Parameter* p : params_) {
    m_.push_back(Tensor::zeros(p->value.shape(), p->value.dtype(), p->value.device()));
    v_.push_back(Tensor::zeros(p->value.shape(), p->value.dtype(), p->value.device()));
  }
}

void Adam::step() {
  double gscale = clip_scale(opts_.max_grad_norm);
  ++step_;
  AdamStepArgs a;
  a.lr = opts_.lr;
  a.beta1 = opts_.beta1;
  a.beta2 = opts_.beta2;
  a.eps = opts_.eps;
  a.weight_decay = opts_.weight_decay;
  a.bias_correction1 = 1.0 - std::pow(opts_.beta1, double(step_));
  a.bias_correction2 = 1.0 - std::pow(opts_.beta2, double(step_));
  a.grad_scale = gscale;
  for (size_t i = 0; i < params_.size(); ++i) {
    Parameter* p = params_[i];
    if (m_[i].device() != p->value.device()) {  // the parameter moved since construction
      m_[i] = m_[i].to(p->value.device());
      v_[i] = v_[i].to(p->value.device());
    }
    adam_step(p->value, p->grad, m_[i], v_[i], a);
  }
}

SGD::SGD(std::vector<Parameter*> params, SgdOptions opts) : Optimizer(std::move(params)), opts_(opts) {
  AD_CHECK(opts_.lr >= 0 && opts_.momentum >= 0 && opts_.weight_decay >= 0, "SGD", "invalid options: lr ", opts_.lr,
           ", momentum ", opts_.momentum, ", weight_decay ", opts_.weight_decay);
  AD_CHECK(!opts_.nesterov || (opts_.momentum > 0 && opts_.dampening == 0), "SGD",
           "Nesterov momentum requires a momentum and zero dampening");
  for (Parameter* p : params_)
    buf_.push_back(opts_.momentum != 0 ? Tensor::zeros(p->value.shape(), p->value.dtype(), p->value.device())
                                       : Tensor());
}

void SGD::step() {
  double gscale = clip_scale(opts_.max_grad_norm);
  SgdStepArgs a;
  a.lr = opts_.lr;
  a.momentum = opts_.momentum;
  a.dampening = opts_.dampening;
  a.weight_decay = opts_.weight_decay;
  a.nesterov = opts_.nesterov;
  a.grad_scale = gscale;
  a.first_step = step_ == 0;
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Parameter* p = params_[i];
    if (buf_[i].defined() && buf_[i].device() != p->value.device()) buf_[i] = buf_[i].to(p->value.device());
    sgd_step(p->value, p->grad, buf_[i], a);
  }
}

}  // namespace ad
