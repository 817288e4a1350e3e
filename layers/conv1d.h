// Causal dilated 1-D convolution layer (Keras Conv1D(filters, kernel_size, dilation_rate,
// padding="causal")): x [B, T, C_in] -> y [B, T, C_out], channels last, stride 1.
// Parameters "weight" [K, C_in, C_out] (Keras kernel layout, Glorot-uniform init with
// limit sqrt(6 / (K*C_in + K*C_out)), drawn from Philox with the given seed) and "bias" [C_out] (zeros).
// forward keeps x; backward accumulates into weight.grad / bias.grad and returns dx.
#pragma once
#include <cstdint>

#include "kernels/dilated_conv1d.h"
#include "layers/parameter.h"

namespace ad {

class CausalConv1d : public Module {
 public:
  CausalConv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t dilation, uint64_t seed,
               DType dtype = DType::F32, Device device = Device::CPU);

  Tensor forward(const Tensor& x);
  Tensor backward(const Tensor& dy);
  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;

  Parameter& weight() { return weight_; }
  Parameter& bias() { return bias_; }
  int64_t in_channels() const { return cin_; }
  int64_t out_channels() const { return cout_; }
  int64_t kernel_size() const { return k_; }
  int64_t dilation() const { return d_; }
  // Time steps an output sees: (K-1)*d + 1, itself included.
  int64_t receptive_field() const { return (k_ - 1) * d_ + 1; }

 private:
  int64_t cin_, cout_, k_, d_;
  Parameter weight_, bias_;
  Tensor x_;
};

}  // namespace ad
