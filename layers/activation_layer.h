// Activation as a layer: forward keeps x and y, backward returns dx.
#pragma once
#include "kernels/activation.h"
#include "layers/parameter.h"

namespace ad {

class ActivationLayer : public Module {
 public:
  explicit ActivationLayer(Activation a, float param = 0.0f) : a_(a), param_(param) {}
  Tensor forward(const Tensor& x) {
    x_ = x;
    y_ = Tensor::empty(x.shape(), x.dtype(), x.device());
    activation_forward(a_, x, y_, param_);
    return y_;
  }
  Tensor backward(const Tensor& dy) {
    Tensor dx = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
    activation_backward(a_, x_, y_, dy, dx, param_);
    return dx;
  }
  void collect_parameters(const std::string&, std::vector<Parameter*>&) override {}
  Activation activation() const { return a_; }
  float param() const { return param_; }

 private:
  Activation a_;
  float param_;
  Tensor x_, y_;
};

}  // namespace ad
