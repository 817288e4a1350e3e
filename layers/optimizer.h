// Optimizers over a list of Parameters (value and grad), with PyTorch's semantics: Adam (L2 weight decay
// added to the gradient, bias correction from a step counter) and SGD with momentum. Both can clip the
// gradients by their global L2 norm first (torch.nn.utils.clip_grad_norm_: scale max_norm / (norm + 1e-6)
// when the norm exceeds max_norm); the scale is applied inside the fused update, the stored gradients are
// left as they are.
//
// An optimizer gathers its parameters into one flat ParameterBuffer when it is built (layers/parameter.h):
// values in one tensor, gradients in another, each Parameter a view of its segment. Its state (Adam's
// moments, SGD's momentum) is laid out the same way, so a step is ONE launch of the fused update over the
// whole buffer and zero_grad() ONE memset, whatever the number of parameters. Every parameter therefore
// shares one dtype, device and set of options (no model here uses per-parameter learning rates or weight
// decay). Build the optimizer after the network is on its device; moving a parameter afterwards
// (Parameter::to) takes it out of the buffer and the next step says so.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/adam.h"
#include "layers/parameter.h"
#include "runtime/staging.h"

namespace ad {

// sqrt(sum of squares of every gradient) (one host sync per CUDA parameter; an optimizer's own clipping
// reads its flat gradient buffer instead, one sync per step).
double global_grad_norm(const std::vector<Parameter*>& params);
// Scales the gradients in place when their global norm exceeds max_norm; returns the norm before clipping.
double clip_grad_norm(const std::vector<Parameter*>& params, double max_norm);

class Optimizer {
 public:
  // Adopts `params` into one flat buffer (values and gradients copied in; the Parameters become views).
  explicit Optimizer(std::vector<Parameter*> params);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  // One memset of the gradient buffer.
  void zero_grad() { buffer_->zero_grad(); }
  int64_t step_count() const { return step_; }
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
  // Global gradient norm seen by the last step (before clipping); 0 when clipping is off.
  double last_grad_norm() const { return last_grad_norm_; }
  const std::vector<Parameter*>& parameters() const { return params_; }
  const ParameterBuffer& buffer() const { return *buffer_; }

 protected:
  // Gradient scale for this step from the clipping threshold (0 = off).
  double clip_scale(double max_norm);
  // Fails when a parameter left the buffer since construction (moved, or adopted by another optimizer).
  void check_buffer(const char* op) const;

  std::vector<Parameter*> params_;
  std::shared_ptr<ParameterBuffer> buffer_;
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
  ~Adam() override;
  void step() override;
  // For a captured step (runtime/step_graph.h), whose launch arguments are frozen: from now on advance()
  // counts the step and sends its scalars (lr / bias_correction1, sqrt(bias_correction2)) to the device
  // asynchronously, and step() only launches the update, which reads them there; call advance() before every
  // step(), outside the capture. The same bits as the plain form. A device only, without clipping.
  void use_device_scalars();
  void advance();
  bool uses_device_scalars() const { return scalars_.defined(); }
  double lr() const override { return opts_.lr; }
  void set_lr(double lr) override { opts_.lr = lr; }
  const AdamOptions& options() const { return opts_; }
  // First and second moment estimates of parameter i (views of the flat moments).
  Tensor exp_avg(size_t i) const { return buffer_->segment(m_, i); }
  Tensor exp_avg_sq(size_t i) const { return buffer_->segment(v_, i); }

 private:
  AdamStepArgs step_args() const;

  AdamOptions opts_;
  Tensor m_, v_;  // laid out like the parameter buffer
  Tensor scalars_;  // f32 [2] on the device, with use_device_scalars()
  std::unique_ptr<BatchUploader> uploader_;
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
  Tensor buf_;  // momentum, laid out like the parameter buffer (undefined without momentum)
};

}  // namespace ad
