// Linear layer on a sparse CSR input: y = x W + b with W stored [in, out] (the layout SpMM wants; the
// official AnomalyDAE Dense layer's layout too) and b [out]. The input is a constant (attributes), so the
// backward gives parameter gradients only: dW += x^T dy (through x's transpose, passed once at forward),
// db += column sums of dy. Glorot-uniform weights drawn on the CPU from `seed`; zero bias.
#pragma once
#include <cstdint>
#include <string>

#include "layers/parameter.h"
#include "runtime/csr.h"

namespace ad {

class SparseLinear : public Module {
 public:
  SparseLinear(std::string name, int64_t in, int64_t out, bool bias, uint64_t seed, Device device = Device::CPU,
               DType dtype = DType::F32);

  // x [rows, in] and its transpose x_t [in, rows] (both kept by reference for backward).
  Tensor forward(const CsrMatrix& x, const CsrMatrix& x_t);
  void backward(const Tensor& dy);

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  Parameter& weight() { return weight_; }
  Parameter* bias() { return has_bias_ ? &bias_ : nullptr; }

 private:
  std::string name_;
  int64_t in_, out_;
  bool has_bias_;
  Parameter weight_, bias_;
  const CsrMatrix* x_t_ = nullptr;
};

}  // namespace ad
