// Layer normalisation over the last axis with affine parameters (torch.nn.LayerNorm(C), eps 1e-5; gamma = 1,
// beta = 0 at start). Leading axes are flattened to rows. Math in kernels/layer_norm.h.
#pragma once
#include <string>

#include "kernels/layer_norm.h"
#include "layers/parameter.h"

namespace ad {

class LayerNormLayer : public Module {
 public:
  LayerNormLayer(std::string name, int channels, double eps = 1e-5, Device device = Device::CPU,
                 DType dtype = DType::F32);
  Tensor forward(const Tensor& x);
  Tensor backward(const Tensor& dy);
  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  Parameter& gamma() { return gamma_; }
  Parameter& beta() { return beta_; }

 private:
  std::string name_;
  int channels_;
  double eps_;
  Parameter gamma_, beta_;
  Tensor x_, mean_, rstd_;
  Shape shape_;
};

}  // namespace ad
