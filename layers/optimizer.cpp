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

Optimizer::Optimizer(std::vector<Parameter*> params)
    : params_(std::move(params)), buffer_(ParameterBuffer::adopt(params_)) {}

void Optimizer::check_buffer(const char* op) const {
  for (Parameter* p : params_)
    AD_CHECK(p->buffer == buffer_, op, "parameter '", p->name, "' left the optimizer's flat buffer after the ",
             "optimizer was built (moved to another device, or adopted by another optimizer)");
}

double Optimizer::clip_scale(double max_norm) {
  if (max_norm <= 0) {
    last_grad_norm_ = 0;
    return 1.0;
  }
  // The gaps between segments hold zero gradients, so the buffer's norm is the parameters' norm.
  Tensor out = Tensor::empty({1}, buffer_->dtype(), buffer_->device());
  sum_squares(buffer_->grads(), out);
  last_grad_norm_ = std::sqrt(out.item());
  double coef = max_norm / (last_grad_norm_ + 1e-6);
  return coef < 1.0 ? coef : 1.0;
}

Adam::Adam(std::vector<Parameter*> params, AdamOptions opts) : Optimizer(std::move(params)), opts_(opts) {
  AD_CHECK(opts_.lr >= 0 && opts_.eps >= 0 && opts_.beta1 >= 0 && opts_.beta1 < 1 && opts_.beta2 >= 0 &&
               opts_.beta2 < 1 && opts_.weight_decay >= 0,
           "Adam", "invalid options: lr ", opts_.lr, ", betas (", opts_.beta1, ", ", opts_.beta2, "), eps ", opts_.eps,
           ", weight_decay ", opts_.weight_decay);
  m_ = Tensor::zeros({buffer_->numel()}, buffer_->dtype(), buffer_->device());
  v_ = Tensor::zeros({buffer_->numel()}, buffer_->dtype(), buffer_->device());
}

Adam::~Adam() = default;

AdamStepArgs Adam::step_args() const {
  AdamStepArgs a;
  a.lr = opts_.lr;
  a.beta1 = opts_.beta1;
  a.beta2 = opts_.beta2;
  a.eps = opts_.eps;
  a.weight_decay = opts_.weight_decay;
  a.bias_correction1 = 1.0 - std::pow(opts_.beta1, double(step_));
  a.bias_correction2 = 1.0 - std::pow(opts_.beta2, double(step_));
  return a;
}

void Adam::use_device_scalars() {
  AD_CHECK(buffer_->device() != Device::CPU, "Adam::use_device_scalars", "parameters on the CPU");
  AD_CHECK(opts_.max_grad_norm <= 0, "Adam::use_device_scalars", "gradient clipping reads the norm on the host");
  scalars_ = Tensor::zeros({2}, DType::F32, buffer_->device());
  uploader_ = std::make_unique<BatchUploader>(buffer_->device());
}

void Adam::advance() {
  AD_CHECK(uses_device_scalars(), "Adam::advance", "call use_device_scalars() first");
  ++step_;
  std::array<float, 2> k = adam_step_scalars(step_args());
  uploader_->upload_into(Tensor::from_vector({double(k[0]), double(k[1])}, {2}, DType::F32), scalars_);
}

void Adam::step() {
  check_buffer("Adam::step");
  Tensor values = buffer_->values();
  if (uses_device_scalars()) {  // advance() counted the step; the kernel reads its scalars on the device
    adam_step(values, buffer_->grads(), m_, v_, step_args(), scalars_);
    return;
  }
  double gscale = clip_scale(opts_.max_grad_norm);
  ++step_;
  AdamStepArgs a = step_args();
  a.grad_scale = gscale;
  adam_step(values, buffer_->grads(), m_, v_, a);  // one launch over every parameter
}

SGD::SGD(std::vector<Parameter*> params, SgdOptions opts) : Optimizer(std::move(params)), opts_(opts) {
  AD_CHECK(opts_.lr >= 0 && opts_.momentum >= 0 && opts_.weight_decay >= 0, "SGD", "invalid options: lr ", opts_.lr,
           ", momentum ", opts_.momentum, ", weight_decay ", opts_.weight_decay);
  AD_CHECK(!opts_.nesterov || (opts_.momentum > 0 && opts_.dampening == 0), "SGD",
           "Nesterov momentum requires a momentum and zero dampening");
  if (opts_.momentum != 0) buf_ = Tensor::zeros({buffer_->numel()}, buffer_->dtype(), buffer_->device());
}

void SGD::step() {
  check_buffer("SGD::step");
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
  Tensor values = buffer_->values();
  sgd_step(values, buffer_->grads(), buf_, a);  // one launch over every parameter
}

}  // namespace ad
