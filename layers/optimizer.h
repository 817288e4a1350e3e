// Optimizers over a list of Parameters (value and grad), with PyTorch's semantics: Adam (L2 weight decay
// added to the gradient, bias correction from a step counter) and SGD with momentum. Both can clip the
// gradients by their global L2 norm first (torch.nn.utils.clip_grad_norm_: scale max_norm / (norm + 1e-6)
// when the norm exceeds max_norm); the scale is applied inside the fused update, the stored gradients are
// left as they are. State tensors live on each parameter's device.
#pragma once
#include <cstdint>
#include <vector>

#include "layers/parameter.h"

namespace ad {

// sqrt(sum of squares of every gradient) (one host sync per CUDA parameter).
double global_grad_norm(const std::vector<Parameter*>& params);
// Scales the gradients in place when their global norm exceeds max_norm; returns the norm before clipping.
double clip_grad_norm(const std::vector<Parameter*>& params, double max_norm);

class Optimizer {
 public:
  explicit Optimizer(std::vector<Parameter*> params) : params_(std::move(params)) {}
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad() {
    for (Parameter* p : params_) p->grad.zero_();
  }
  int64_t step_count() const { return step_; }
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
  // Global gradient norm seen by the last step (before clipping); 0 when clipping is off.
  double last_grad_norm() const { return last_grad_norm_; }
  const std::vector<Parameter*>& parameters() const { return params_; }

 protected:
  // Gradient scale for this step from the clipping threshold (0 = off).
  double clip_scale(double max_norm);

  std::vector<Parameter*> params_;
  int64_t step_ = 0;
  double last_grad_norm_ = 0;
};

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  double max_grad_norm = 0.0;  // 0: no clipping
};

class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Parameter*> params, AdamOptions opts = {});
  void step() override;
  double lr() const override { return opts_.lr; }
  void set_lr(double lr) override { opts_.lr = lr; }
  const AdamOptions& options() const { return opts_; }
  // First and second moment estimates of parameter i.
  const Tensor& exp_avg(size_t i) const { return m_.at(i); }
  const Tensor& exp_avg_sq(size_t i) const { return v_.at(i); }

 private:
  AdamOptions opts_;
  std::vector<Tensor> m_, v_;
};

struct SgdOptions {
  double lr = 1e-2, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
  double max_grad_norm = 0.0;  // 0: no clipping
};

class SGD : public Optimizer {
 public:
  explicit SGD(std::vector<Parameter*> params, SgdOptions opts = {});
  void step() override;
  double lr() const override { return opts_.lr; }
  void set_lr(double lr) override { opts_.lr = lr; }
  const SgdOptions& options() const { return opts_; }

 private:
  SgdOptions opts_;
  std::vector<Tensor> buf_;
};

}  // namespace ad
