#include "layers/embedding.h"

#include <random>

#include "kernels/embedding.h"

namespace ad {

Embedding::Embedding(std::string name, int64_t vocab, int64_t dim, uint64_t seed, Device device, DType dtype)
    : name_(std::move(name)) {
  AD_CHECK(vocab > 0 && dim > 0, "Embedding", name_, ": vocab and dim must be positive, got ", vocab, " and ", dim);
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<double> w(size_t(vocab * dim));
  for (double& v : w) v = dist(gen);
  weight_ = Parameter("weight", Tensor::from_vector(w, {vocab, dim}, dtype).to(device));
}

void Embedding::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  weight_.name = join_name(join_name(prefix, name_), "weight");
  out.push_back(&weight_);
}

Tensor Embedding::forward(const Tensor& ids) {
  std::vector<int64_t> shape = ids.shape().to_vector();
  shape.push_back(dim());
  Tensor out = Tensor::empty(Shape(shape), weight_.value.dtype(), weight_.value.device());
  embedding_forward(ids, weight_.value, out);
  ids_ = ids;
  return out;
}

void Embedding::backward(const Tensor& dout) {
  AD_CHECK(ids_.defined(), "Embedding::backward", name_, ": backward before forward");
  embedding_backward(ids_, dout, weight_.grad);
}

}  // namespace ad
