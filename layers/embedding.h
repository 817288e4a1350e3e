// Embedding layer: [..] int32 ids (host) -> [.., dim] rows of a [vocab, dim] table. PyTorch's default
// initialisation N(0, 1), drawn on the CPU from `seed` (std::mt19937_64). Backward is deterministic
// (kernels/embedding.h).
#pragma once
#include <cstdint>
#include <string>

#include "layers/parameter.h"

namespace ad {

class Embedding : public Module {
 public:
  Embedding(std::string name, int64_t vocab, int64_t dim, uint64_t seed, Device device = Device::CPU,
            DType dtype = DType::F32);

  Tensor forward(const Tensor& ids);  // keeps ids for backward
  void backward(const Tensor& dout);  // accumulates into weight().grad

  void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) override;
  Parameter& weight() { return weight_; }
  int64_t vocab() const { return weight_.value.size(0); }
  int64_t dim() const { return weight_.value.size(1); }

 private:
  std::string name_;
  Parameter weight_;
  Tensor ids_;
};

}  // namespace ad
