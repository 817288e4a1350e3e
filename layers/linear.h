// Fully connected layer y = x W^T + b with W: [out, in] (PyTorch's layout) and b: [out].
// x may have any leading dims ([..., in] -> [..., out]). Glorot-uniform weights drawn on the CPU from
// `seed` (std::mt19937_64), then copied to the device; zero bias.
#pragma once
#include <cstdint>
#include <string>

#include "layers/parameter.h"

namespace ad {

class Linear : public Module {
 public:
  Linear(std::string name, int in, int out, bool bias, uint64_t seed, Device device = Device::CPU,
         DType dtype = DType::F32);

  // Keeps x for backward.
  Tensor forward(const Tensor& x);
  // Accumulates dW += dy^T x and db += column sums of dy; returns dx = dy W.
  Tensor backward(const Tensor& dy);

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;

  Parameter& weight() { return weight_; }
  Parameter* bias() { return has_bias_ ? &bias_ : nullptr; }
  int in_features() const { return in_; }
  int out_features() const { return out_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  int in_, out_;
  bool has_bias_;
  Parameter weight_, bias_;
  Tensor x_;  // forward input, viewed as [rows, in]
  Shape x_shape_;
};

}  // namespace ad
