// Structured multi-head self-attention layer (kernels/self_attention.h): H [B, T, D] -> M [B, K, D], with the
// attention weights [B, K, T] kept for explanations. Parameters W1 [A, D], b1 [A], W2 [K, A], b2 [K] with
// PyTorch's nn.Linear initialisation (weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in))), drawn on the
// CPU from `seed`.
#pragma once
#include <cstdint>
#include <string>

#include "layers/parameter.h"

namespace ad {

class SelfAttention : public Module {
 public:
  SelfAttention(std::string name, int64_t hidden, int64_t attention, int64_t heads, uint64_t seed,
                Device device = Device::CPU, DType dtype = DType::F32);

  Tensor forward(const Tensor& H);  // keeps H, U and the attention for backward
  Tensor backward(const Tensor& dM);  // accumulates parameter gradients, returns dH
  const Tensor& attention() const { return attn_; }  // [B, K, T] of the last forward

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  Parameter& W1() { return w1_; }
  Parameter& b1() { return b1_; }
  Parameter& W2() { return w2_; }
  Parameter& b2() { return b2_; }

 private:
  std::string name_;
  Parameter w1_, b1_, w2_, b2_;
  Tensor h_, u_, attn_;
};

}  // namespace ad
