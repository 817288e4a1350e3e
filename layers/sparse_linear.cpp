#include "layers/sparse_linear.h"

#include <cmath>
#include <random>

#include "kernels/elementwise.h"
#include "kernels/spmm.h"

namespace ad {

SparseLinear::SparseLinear(std::string name, int64_t in, int64_t out, bool bias, uint64_t seed, Device device,
                           DType dtype)
    : name_(std::move(name)), in_(in), out_(out), has_bias_(bias) {
  AD_CHECK(in > 0 && out > 0, "SparseLinear", name_, ": sizes must be positive, got in=", in, " out=", out);
  std::mt19937_64 gen(seed);
  double limit = std::sqrt(6.0 / double(in + out));
  std::uniform_real_distribution<double> dist(-limit, limit);
  std::vector<double> w(size_t(in) * size_t(out));
  for (double& v : w) v = dist(gen);
  Tensor wt = Tensor::from_vector(w, {in, out}, dtype);
  weight_ = Parameter("weight", device == Device::CPU ? wt : wt.to(device));
  if (bias) bias_ = Parameter("bias", Tensor::zeros({out}, dtype, device));
}

void SparseLinear::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  std::string base = join_name(prefix, name_);
  weight_.name = join_name(base, "weight");
  out.push_back(&weight_);
  if (has_bias_) {
    bias_.name = join_name(base, "bias");
    out.push_back(&bias_);
  }
}

Tensor SparseLinear::forward(const CsrMatrix& x, const CsrMatrix& x_t) {
  AD_CHECK(x.cols == in_ && x_t.rows == in_ && x_t.cols == x.rows, "SparseLinear::forward", name_, ": expected [rows, ",
           in_, "] and its transpose, got ", x.describe(), " and ", x_t.describe());
  x_t_ = &x_t;
  Tensor y = Tensor::empty({x.rows, out_}, weight_.value.dtype(), weight_.value.device());
  spmm(x, weight_.value, y);
  if (has_bias_) add_bias_rows(y, bias_.value);
  return y;
}

void SparseLinear::backward(const Tensor& dy) {
  AD_CHECK(x_t_ != nullptr, "SparseLinear::backward", name_, ": backward before forward");
  AD_CHECK(dy.dim() == 2 && dy.size(0) == x_t_->cols && dy.size(1) == out_, "SparseLinear::backward", name_,
           ": gradient ", dy.describe(), " does not match output [", x_t_->cols, ", ", out_, "]");
  spmm(*x_t_, dy, weight_.grad, /*accumulate=*/true);  // dW += x^T dy
  if (has_bias_) add_bias_rows_backward(dy, bias_.grad, /*accumulate=*/true);
}

}  // namespace ad
