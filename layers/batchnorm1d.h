// Batch normalization over the last (channel) dim, Keras BatchNormalization(axis=-1) semantics
// (momentum 0.99, epsilon 1e-3, biased batch variance; see kernels/batchnorm1d.h). Works on any
// input [..., C] (DC-VAE: [B, T, C]) by viewing it as [N, C].
// Parameters "gamma" (ones) and "beta" (zeros); buffers "running_mean" (zeros) and "running_var"
// (ones), which are not trained but must be saved with a checkpoint: buffers() lists them.
// Training mode (the default) normalizes with batch statistics and updates the running ones;
// inference mode uses the running statistics. backward() is for training mode.
#pragma once
#include <utility>

#include "kernels/batchnorm1d.h"
#include "layers/parameter.h"

namespace ad {

class BatchNorm1d : public Module {
 public:
  explicit BatchNorm1d(int64_t channels, DType dtype = DType::F32, Device device = Device::CPU,
                       BatchNormOptions options = {});

  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }

  Tensor forward(const Tensor& x);
  // Training mode on the CPU: forward(act(pre)) with the activation applied inside this layer's first pass
  // (batchnorm1d_activation_train_forward); act(pre) is kept as this layer's input. For backward_through.
  Tensor forward_after(const Tensor& pre, Activation act, float param);
  // dx for the last training-mode forward; accumulates gamma.grad and beta.grad.
  Tensor backward(const Tensor& dy);
  // The gradient one step further back, through the activation whose output this layer normalised
  // (x = act(pre)): d loss / d pre, in one pass on the CPU (batchnorm1d_activation_train_backward); same
  // accumulation into gamma.grad and beta.grad. CPU tensors and batchnorm_fuses_activation_backward only.
  Tensor backward_through(const Tensor& dy, Activation act, float param);

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  // ("<prefix>.running_mean", &tensor), ("<prefix>.running_var", &tensor); a checkpoint loader may
  // assign or copy_from into them (shape [C], the parameters' dtype).
  void buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor*>>& out);

  Parameter& gamma() { return gamma_; }
  Parameter& beta() { return beta_; }
  Tensor& running_mean() { return running_mean_; }
  Tensor& running_var() { return running_var_; }
  int64_t channels() const { return c_; }
  const BatchNormOptions& options() const { return opt_; }

 private:
  int64_t c_;
  BatchNormOptions opt_;
  bool training_ = true;
  Parameter gamma_, beta_;
  Tensor running_mean_, running_var_;
  Tensor x_, save_mean_, save_var_;  // from the last training-mode forward
};

}  // namespace ad
